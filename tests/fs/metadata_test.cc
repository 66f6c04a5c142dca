#include "fs/metadata.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "fs/id_names.h"
#include "fs/unique_fd.h"
#include "test_util.h"

namespace ks {
namespace {

using ks::testing::Lstat;
using ks::testing::SetMtime;
using ks::testing::TempDir;
using ks::testing::TrySetXattr;
using ks::testing::WriteFile;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

const Xattr* FindXattr(const Node& node, std::string_view name) {
  for (const Xattr& x : node.xattrs)
    if (x.name == name) return &x;
  return nullptr;
}

TEST(ReadNodeMetadata, RegularFile) {
  TempDir tmp;
  const std::string path = tmp / "f";
  WriteFile(path, "hello");
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  SetMtime(path, 1'700'000'000, 123'456'789);
  const struct stat st = Lstat(path);

  auto node = ReadNodeMetadata(path, "f");
  ASSERT_TRUE(node) << node.error().message();
  EXPECT_EQ(node->type, NodeType::kFile);
  EXPECT_EQ(node->name, "f");
  EXPECT_EQ(node->mode, 0640u);
  EXPECT_EQ(node->size, 5u);
  EXPECT_EQ(node->mtime_ns, 1'700'000'000'123'456'789LL);
  EXPECT_EQ(node->ctime_ns, int64_t(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec);
  EXPECT_EQ(node->inode, st.st_ino);
  EXPECT_EQ(node->device, st.st_dev);
  EXPECT_EQ(node->links, 1u);
  EXPECT_EQ(node->uid, geteuid());
  EXPECT_EQ(node->gid, getegid());
  EXPECT_EQ(node->rdev, 0u);
  EXPECT_TRUE(node->link_target.empty());
  if (const passwd* pw = getpwuid(geteuid())) {
    EXPECT_EQ(node->user, pw->pw_name);
  }
}

TEST(ReadNodeMetadata, SetgidAndStickyBitsAreKept) {
  TempDir tmp;
  const std::string path = tmp / "d";
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(chmod(path.c_str(), 03775), 0);
  auto node = ReadNodeMetadata(path, "d");
  ASSERT_TRUE(node) << node.error().message();
  EXPECT_EQ(node->mode, 03775u);
}

TEST(ReadNodeMetadata, Directory) {
  TempDir tmp;
  const std::string path = tmp / "d";
  ASSERT_EQ(mkdir(path.c_str(), 0750), 0);
  ASSERT_EQ(chmod(path.c_str(), 0750), 0);
  auto node = ReadNodeMetadata(path, "d");
  ASSERT_TRUE(node) << node.error().message();
  EXPECT_EQ(node->type, NodeType::kDir);
  EXPECT_EQ(node->mode, 0750u);
  EXPECT_EQ(node->size, 0u) << "size is recorded for regular files only";
  EXPECT_GE(node->links, 2u);
}

TEST(ReadNodeMetadata, SymlinkTargetIsReadInFullAsRawBytes) {
  TempDir tmp;
  // Longer than any small first guess, with bytes that are not UTF-8.
  std::string target = "\xff\xfe/not-utf8/";
  target += std::string(4000 - target.size(), 'x');
  const std::string path = tmp / "link";
  ASSERT_EQ(symlink(target.c_str(), path.c_str()), 0);
  SetMtime(path, 1'600'000'000, 42);

  auto node = ReadNodeMetadata(path, "link");
  ASSERT_TRUE(node) << node.error().message();
  EXPECT_EQ(node->type, NodeType::kSymlink);
  EXPECT_EQ(node->link_target, target);
  EXPECT_EQ(node->size, 0u);
  EXPECT_EQ(node->mtime_ns, 1'600'000'000'000'000'042LL);
}

TEST(ReadNodeMetadata, SymlinkIsNotFollowed) {
  TempDir tmp;
  const std::string file = tmp / "file";
  WriteFile(file, "0123456789");
  ASSERT_EQ(chmod(file.c_str(), 0600), 0);
  const bool have_xattrs = TrySetXattr(file, "user.secret", "value");
  const std::string link = tmp / "link";
  ASSERT_EQ(symlink("file", link.c_str()), 0);

  auto node = ReadNodeMetadata(link, "link");
  ASSERT_TRUE(node) << node.error().message();
  EXPECT_EQ(node->type, NodeType::kSymlink);
  EXPECT_EQ(node->link_target, "file");
  EXPECT_EQ(node->inode, Lstat(link).st_ino);
  EXPECT_NE(node->inode, Lstat(file).st_ino);
  EXPECT_EQ(node->size, 0u);
  if (have_xattrs) {
    EXPECT_EQ(FindXattr(*node, "user.secret"), nullptr);
  }
}

TEST(ReadNodeMetadata, Fifo) {
  TempDir tmp;
  const std::string path = tmp / "fifo";
  ASSERT_EQ(mkfifo(path.c_str(), 0620), 0);
  ASSERT_EQ(chmod(path.c_str(), 0620), 0);
  auto node = ReadNodeMetadata(path, "fifo");
  ASSERT_TRUE(node) << node.error().message();
  EXPECT_EQ(node->type, NodeType::kFifo);
  EXPECT_EQ(node->mode, 0620u);
  EXPECT_EQ(node->size, 0u);
}

TEST(ReadNodeMetadata, CharDeviceHasRdev) {
  struct stat st;
  if (lstat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode)) GTEST_SKIP() << "no /dev/null";
  auto node = ReadNodeMetadata("/dev/null", "null");
  ASSERT_TRUE(node) << node.error().message();
  EXPECT_EQ(node->type, NodeType::kCharDev);
  EXPECT_EQ(node->rdev, st.st_rdev);
  EXPECT_EQ(major(node->rdev), 1u);
  EXPECT_EQ(minor(node->rdev), 3u);
  EXPECT_EQ(node->size, 0u);
}

// The two-step read (relative lstat, then details) gives what the one-step
// read gives, for every kind of entry the walk meets.
TEST(StatNodeAt, WithDetailsEqualsReadNodeMetadata) {
  TempDir tmp;
  WriteFile(tmp / "f", "contents");
  (void)TrySetXattr(tmp / "f", "user.k", "v");
  ASSERT_EQ(::mkdir((tmp / "d").c_str(), 0750), 0);
  ASSERT_EQ(::symlink(std::string(300, 't').c_str(), (tmp / "l").c_str()), 0);
  UniqueFd dfd(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(dfd.valid());
  for (const char* name : {"f", "d", "l"}) {
    auto one = ReadNodeMetadata(tmp / name, name);
    ASSERT_TRUE(one) << one.error().message();
    auto two = StatNodeAt(dfd.get(), name, tmp / name);
    ASSERT_TRUE(two) << two.error().message();
    EXPECT_TRUE(two->xattrs.empty() && two->link_target.empty()) << name;
    ASSERT_TRUE(ReadNodeDetails(tmp / name, *two));
    EXPECT_EQ(*one, *two) << name;
    EXPECT_TRUE(SameInodeState(*one, *two)) << name;
  }
  auto missing = StatNodeAt(dfd.get(), "nope", tmp / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
}

// Setting an xattr changes the inode's ctime: the walk relies on it to
// reuse the parent's xattrs for entries in the same state.
TEST(SameInodeState, XattrChangeIsSeen) {
  TempDir tmp;
  WriteFile(tmp / "f", "x");
  auto before = ReadNodeMetadata(tmp / "f", "f");
  ASSERT_TRUE(before);
  ::usleep(20000);  // beyond the file system's timestamp granularity
  if (!TrySetXattr(tmp / "f", "user.new", "1")) GTEST_SKIP() << "no xattr support";
  auto after = ReadNodeMetadata(tmp / "f", "f");
  ASSERT_TRUE(after);
  EXPECT_FALSE(SameInodeState(*before, *after));
  EXPECT_TRUE(SameInodeState(*after, *after));
}

TEST(ReadNodeMetadata, XattrsAreSortedWithRawValues) {
  TempDir tmp;
  const std::string path = tmp / "f";
  WriteFile(path, "");
  if (!TrySetXattr(path, "user.zeta", "last")) GTEST_SKIP() << "no xattr support";
  ASSERT_TRUE(TrySetXattr(path, "user.alpha", std::string("\0\x01\xff", 3)));
  ASSERT_TRUE(TrySetXattr(path, "user.empty", ""));
  ASSERT_TRUE(TrySetXattr(path, "user.big", std::string(3000, 'b')));

  auto node = ReadNodeMetadata(path, "f");
  ASSERT_TRUE(node) << node.error().message();
  std::vector<Xattr> user;
  for (const Xattr& x : node->xattrs)
    if (x.name.starts_with("user.")) user.push_back(x);
  const std::vector<Xattr> want = {
      {"user.alpha", B(std::string("\0\x01\xff", 3))},
      {"user.big", B(std::string(3000, 'b'))},
      {"user.empty", {}},
      {"user.zeta", B("last")},
  };
  EXPECT_EQ(user, want);
  EXPECT_TRUE(std::is_sorted(node->xattrs.begin(), node->xattrs.end(),
                             [](const Xattr& a, const Xattr& b) { return a.name < b.name; }));
}

TEST(ReadNodeMetadata, CapturesPosixAcls) {
  if (!ks::testing::HaveSetfacl()) GTEST_SKIP() << "setfacl not installed";
  TempDir tmp;
  const std::string file = tmp / "f";
  const std::string dir = tmp / "d";
  WriteFile(file, "x");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  if (!ks::testing::Setfacl("-m u:12345:r", file)) GTEST_SKIP() << "no ACL support";
  ASSERT_TRUE(ks::testing::Setfacl("-d -m g::rx", dir));

  auto f = ReadNodeMetadata(file, "f");
  ASSERT_TRUE(f) << f.error().message();
  const Xattr* access = FindXattr(*f, "system.posix_acl_access");
  ASSERT_NE(access, nullptr);
  EXPECT_FALSE(access->value.empty());

  auto d = ReadNodeMetadata(dir, "d");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_NE(FindXattr(*d, "system.posix_acl_default"), nullptr);
}

TEST(ReadNodeMetadata, MissingPathIsNotFound) {
  TempDir tmp;
  auto node = ReadNodeMetadata(tmp / "nope", "nope");
  ASSERT_FALSE(node);
  EXPECT_EQ(node.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(node.error().message().find("nope"), std::string::npos);
}

TEST(ReadNodeMetadata, ConcurrentCallsAgree) {
  TempDir tmp;
  const std::string path = tmp / "f";
  WriteFile(path, "x");
  auto first = ReadNodeMetadata(path, "f");
  ASSERT_TRUE(first);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; i++) {
        auto node = ReadNodeMetadata(path, "f");
        if (!node || node->user != first->user || node->group != first->group) mismatches++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(IdNames, RoundTripForRootAndUnknown) {
  EXPECT_EQ(UserNameOf(0), "root");
  EXPECT_EQ(UidOfUser("root"), 0u);
  EXPECT_EQ(GidOfGroup(GroupNameOf(0)), 0u);
  EXPECT_EQ(UidOfUser("ks-no-such-user-7f3a"), std::nullopt);
  EXPECT_EQ(UidOfUser(""), std::nullopt);
  EXPECT_EQ(UserNameOf(3'999'999'999u), "");
}

TEST(ListDirectory, SortedBytewiseWithoutDots) {
  TempDir tmp;
  for (const char* name : {"b", "a", "C", "\xff-high", ".hidden", "a b"}) {
    WriteFile(tmp / name, "");
  }
  ASSERT_EQ(mkdir((tmp / "dir").c_str(), 0700), 0);
  auto names = ListDirectory(tmp.path());
  ASSERT_TRUE(names) << names.error().message();
  const std::vector<std::string> want = {".hidden", "C", "a", "a b", "b", "dir", "\xff-high"};
  EXPECT_EQ(*names, want);
}

TEST(ListDirectory, EmptyDirectory) {
  TempDir tmp;
  auto names = ListDirectory(tmp.path());
  ASSERT_TRUE(names) << names.error().message();
  EXPECT_TRUE(names->empty());
}

// Listing through an open descriptor gives the same names, leaves the
// descriptor open and usable, and can be repeated.
TEST(ListDirectory, AtAnOpenDescriptor) {
  TempDir tmp;
  for (const char* n : {"b", "a", "c"}) WriteFile(tmp / n, "");
  UniqueFd dfd(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(dfd.valid());
  for (int round = 0; round < 2; round++) {
    auto names = ListDirectoryAt(dfd.get(), tmp.path());
    ASSERT_TRUE(names) << names.error().message();
    EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(*names, ListDirectory(tmp.path()).value());
  }
  EXPECT_TRUE(StatNodeAt(dfd.get(), "a", tmp / "a"));
  auto bad = ListDirectoryAt(-1, tmp / "nope");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("nope"), std::string::npos);
}

TEST(ListDirectory, Errors) {
  TempDir tmp;
  WriteFile(tmp / "f", "");
  auto not_dir = ListDirectory(tmp / "f");
  ASSERT_FALSE(not_dir);
  EXPECT_NE(not_dir.error().message().find("f'"), std::string::npos);
  auto missing = ListDirectory(tmp / "missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
}

}  // namespace
}  // namespace ks
