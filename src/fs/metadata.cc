#include "fs/metadata.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "fs/id_names.h"
#include "fs/quote.h"

namespace ks {
namespace {

// How often a size-then-read sequence (readlink, listxattr, getxattr) is
// retried when the value grows between the two calls.
constexpr int kMaxRaceRetries = 8;

std::unexpected<Error> SysFail(const std::string& what, const std::string& path) {
  return Fail(ErrnoError(errno, what + " " + QuoteName(path)));
}

NodeType TypeOf(mode_t mode) {
  if (S_ISDIR(mode)) return NodeType::kDir;
  if (S_ISLNK(mode)) return NodeType::kSymlink;
  if (S_ISCHR(mode)) return NodeType::kCharDev;
  if (S_ISBLK(mode)) return NodeType::kBlockDev;
  if (S_ISFIFO(mode)) return NodeType::kFifo;
  if (S_ISSOCK(mode)) return NodeType::kSocket;
  return NodeType::kFile;
}

int64_t Nanos(const timespec& ts) { return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec; }

// readlink(2) truncates silently, so grow the buffer until the target fits
// with room to spare (st_size is only a hint: it is 0 on some file systems
// such as /proc and the link may change after lstat).
Result<std::string> ReadLinkTarget(const std::string& path, off_t size_hint) {
  size_t size = size_hint > 0 ? size_t(size_hint) + 1 : 256;
  for (;;) {
    std::string buf(size, '\0');
    ssize_t n = readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return SysFail("cannot read symlink", path);
    if (size_t(n) < buf.size()) {
      buf.resize(size_t(n));
      return buf;
    }
    if (size >= (size_t{1} << 20)) {
      return Fail(ErrorKind::kIo, "cannot read symlink " + QuoteName(path) + ": target too long");
    }
    size *= 2;
  }
}

// xattrs we cannot read for lack of privilege or support are left out: the
// backup should not fail because security.* is hidden from a non-root user.
bool SkippableXattrError(int err) { return err == EPERM || err == EACCES || err == ENOTSUP; }

// Returns the NUL-separated list of xattr names of `path` (not following a
// symlink). The list may grow between the size query and the read (ERANGE):
// then ask again.
Result<std::string> ListXattrNames(const std::string& path) {
  for (int attempt = 0; attempt < kMaxRaceRetries; attempt++) {
    ssize_t size = llistxattr(path.c_str(), nullptr, 0);
    if (size < 0 && SkippableXattrError(errno)) return std::string();
    if (size < 0) return SysFail("cannot list extended attributes of", path);
    if (size == 0) return std::string();
    std::string names(size_t(size), '\0');
    ssize_t n = llistxattr(path.c_str(), names.data(), names.size());
    if (n >= 0) {
      names.resize(size_t(n));
      return names;
    }
    if (errno != ERANGE) return SysFail("cannot list extended attributes of", path);
  }
  return Fail(ErrorKind::kIo,
              "cannot list extended attributes of " + QuoteName(path) + ": they keep changing");
}

// Reads one xattr value; nullopt when it should be skipped (vanished since
// listing, or not readable with our privileges).
Result<std::optional<Bytes>> ReadXattr(const std::string& path, const std::string& name) {
  const std::string what = "cannot read extended attribute " + name + " of";
  for (int attempt = 0; attempt < kMaxRaceRetries; attempt++) {
    ssize_t size = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0 && (errno == ENODATA || SkippableXattrError(errno))) return std::nullopt;
    if (size < 0) return SysFail(what, path);
    // One spare byte keeps the buffer non-null for an empty value (a null
    // buffer would mean "query the size" again).
    Bytes value(size_t(size) + 1);
    ssize_t n = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (n >= 0) {
      value.resize(size_t(n));
      return value;
    }
    if (errno == ENODATA || SkippableXattrError(errno)) return std::nullopt;
    if (errno != ERANGE) return SysFail(what, path);
  }
  return Fail(ErrorKind::kIo, what + " " + QuoteName(path) + ": it keeps changing");
}

// All readable xattrs of `path` (including the POSIX ACLs, which Linux
// exposes as system.posix_acl_access / system.posix_acl_default), sorted by
// name.
Result<std::vector<Xattr>> ReadXattrs(const std::string& path) {
  KS_ASSIGN(std::string names, ListXattrNames(path));
  std::vector<Xattr> out;
  for (size_t pos = 0; pos < names.size();) {
    size_t end = names.find('\0', pos);
    if (end == std::string::npos) end = names.size();
    std::string name = names.substr(pos, end - pos);
    pos = end + 1;
    if (name.empty()) continue;
    KS_ASSIGN(std::optional<Bytes> value, ReadXattr(path, name));
    if (value) out.push_back(Xattr{std::move(name), std::move(*value)});
  }
  std::sort(out.begin(), out.end(), [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return out;
}

Node NodeFromStat(const struct stat& st, const std::string& name) {
  Node node;
  node.type = TypeOf(st.st_mode);
  node.name = name;
  node.mode = st.st_mode & 07777;
  node.uid = st.st_uid;
  node.gid = st.st_gid;
  node.user = UserNameOf(st.st_uid);
  node.group = GroupNameOf(st.st_gid);
  node.mtime_ns = Nanos(st.st_mtim);
  node.ctime_ns = Nanos(st.st_ctim);
  node.inode = st.st_ino;
  node.device = st.st_dev;
  node.links = st.st_nlink;
  if (node.type == NodeType::kFile) node.size = uint64_t(st.st_size);
  if (node.type == NodeType::kCharDev || node.type == NodeType::kBlockDev) node.rdev = st.st_rdev;
  return node;
}

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

}  // namespace

Result<Node> StatNodeAt(int dirfd, const std::string& name, const std::string& path) {
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return SysFail("cannot stat", path);
  return NodeFromStat(st, name);
}

Status ReadNodeDetails(const std::string& path, Node& node) {
  if (node.type == NodeType::kSymlink) {
    // The node does not keep lstat's size (the target's length): the read
    // starts from a default buffer and grows as needed.
    KS_ASSIGN(node.link_target, ReadLinkTarget(path, 0));
  }
  KS_ASSIGN(node.xattrs, ReadXattrs(path));
  return Ok();
}

Result<Node> ReadNodeMetadata(const std::string& path, const std::string& name) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return SysFail("cannot stat", path);
  Node node = NodeFromStat(st, name);
  if (node.type == NodeType::kSymlink) {
    KS_ASSIGN(node.link_target, ReadLinkTarget(path, st.st_size));
  }
  KS_ASSIGN(node.xattrs, ReadXattrs(path));
  return node;
}

bool SameInodeState(const Node& a, const Node& b) {
  return a.type == b.type && a.inode == b.inode && a.device == b.device && a.size == b.size &&
         a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns;
}

Result<std::vector<std::string>> ListDirectory(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysFail("cannot open directory", path);
  auto names = ListDirectoryAt(fd, path);
  close(fd);
  return names;
}

Result<std::vector<std::string>> ListDirectoryAt(int dirfd, const std::string& path) {
  // fdopendir takes the descriptor it is given: hand it a copy, so the
  // caller's stays open for lookups relative to it.
  int copy = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return SysFail("cannot open directory", path);
  std::unique_ptr<DIR, DirCloser> dir(fdopendir(copy));
  if (!dir) {
    int err = errno;
    close(copy);
    errno = err;
    return SysFail("cannot open directory", path);
  }
  rewinddir(dir.get());  // the copy shares the caller's position
  std::vector<std::string> names;
  for (;;) {
    errno = 0;  // readdir returns NULL both at the end and on error
    const dirent* entry = readdir(dir.get());
    if (!entry) {
      if (errno != 0) return SysFail("cannot read directory", path);
      break;
    }
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  // std::string compares as unsigned char via char_traits, i.e. bytewise.
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace ks
