// Helpers shared by the fs tests: a temporary directory per test and small
// file system shortcuts.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace ks::testing {

// Makes every directory below `path` writable and searchable (tests create
// restrictive modes), then removes the tree. Symlinks are never followed.
inline void ForceRemoveTree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    chmod(path.c_str(), 0700);
    if (DIR* d = opendir(path.c_str())) {
      while (const dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") ForceRemoveTree(path + "/" + name);
      }
      closedir(d);
    }
    rmdir(path.c_str());
  } else {
    unlink(path.c_str());
  }
}

// A fresh directory for one test, removed with everything in it afterwards.
class TempDir {
 public:
  TempDir() {
    std::string base = ::testing::TempDir();
    if (base.empty()) base = "/tmp/";
    if (base.back() != '/') base += '/';
    std::string tmpl = base + "ks-fs-test-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed: " << errno;
    path_ = tmpl;
  }
  ~TempDir() { ForceRemoveTree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& content) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, content.data(), content.size()), ssize_t(content.size()));
  close(fd);
}

inline std::string ReadFile(const std::string& path) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<cannot open>";
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  close(fd);
  return out;
}

inline struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path << ": " << errno;
  return st;
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Sets mtime (and atime) of `path` without following a symlink.
inline void SetMtime(const std::string& path, int64_t sec, long nsec) {
  const timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// Sets a user.* xattr; false when the file system does not support xattrs
// (the caller then skips its test).
inline bool TrySetXattr(const std::string& path, const std::string& name,
                        const std::string& value) {
  if (setxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) == 0) return true;
  EXPECT_TRUE(errno == ENOTSUP) << "setxattr " << name << " on " << path << ": " << errno;
  return false;
}

inline bool HaveSetfacl() { return std::system("command -v setfacl >/dev/null 2>&1") == 0; }

// Runs `setfacl <args> '<path>'`; false if it fails (e.g. no ACL support).
inline bool Setfacl(const std::string& args, const std::string& path) {
  std::string cmd = "setfacl " + args + " '" + path + "' 2>/dev/null";
  return std::system(cmd.c_str()) == 0;
}

inline bool IsRoot() { return geteuid() == 0; }

}  // namespace ks::testing
