#include "fs/restore_target.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fs/id_names.h"
#include "fs/metadata.h"
#include "fs/open_beneath.h"
#include "test_util.h"

namespace ks {
namespace {

using ks::testing::Exists;
using ks::testing::IsRoot;
using ks::testing::Lstat;
using ks::testing::ReadFile;
using ks::testing::SetMtime;
using ks::testing::TempDir;
using ks::testing::TrySetXattr;
using ks::testing::WriteFile;

constexpr uint64_t kMiB = 1024 * 1024;

Node MakeNode(NodeType type, std::string name) {
  Node node;
  node.type = type;
  node.name = std::move(name);
  node.mode = 0644;
  node.uid = geteuid();
  node.gid = getegid();
  return node;
}

void WriteAll(int fd, const std::string& data) {
  ASSERT_EQ(write(fd, data.data(), data.size()), ssize_t(data.size()));
}

// Each test gets a target directory and, next to it, an "outside" directory
// with one file that no operation on the target may ever touch.
class RestoreTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_path_ = tmp_ / "target";
    outside_ = tmp_ / "outside";
    ASSERT_EQ(mkdir(outside_.c_str(), 0755), 0);
    ASSERT_EQ(chmod(outside_.c_str(), 0755), 0);
    WriteFile(outside_ + "/secret", "keep");
    ASSERT_EQ(chmod((outside_ + "/secret").c_str(), 0644), 0);
    SetMtime(outside_ + "/secret", 1'000'000'000, 0);
    SetMtime(outside_, 1'000'000'000, 0);
    outside_before_ = Snapshot();
    auto t = RestoreTarget::Open(target_path_, options_);
    ASSERT_TRUE(t) << t.error().message();
    target_ = std::move(*t);
  }

  // Everything about the outside directory that a stray write could change.
  std::string Snapshot() {
    std::string s;
    for (const std::string& p : {outside_, outside_ + "/secret"}) {
      struct stat st = Lstat(p);
      s += std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + " " +
           std::to_string(st.st_nlink) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_size) + ";";
      char buf[256];
      ssize_t n = llistxattr(p.c_str(), buf, sizeof buf);
      if (n > 0) s += std::string(buf, size_t(n));
    }
    auto names = ListDirectory(outside_);
    if (names)
      for (const auto& n : *names) s += "/" + n;
    return s + ReadFile(outside_ + "/secret");
  }

  void ExpectOutsideUntouched() { EXPECT_EQ(Snapshot(), outside_before_); }

  void PlantSymlink(const std::string& name, const std::string& to) {
    ASSERT_EQ(symlink(to.c_str(), (target_path_ + "/" + name).c_str()), 0);
  }

  int root() const { return target_->root_fd(); }
  std::string T(const std::string& rel) const { return target_path_ + "/" + rel; }

  TempDir tmp_;
  std::string target_path_, outside_, outside_before_;
  RestoreOptions options_;
  std::unique_ptr<RestoreTarget> target_;
};

TEST(RestoreTargetNames, IsSafeName) {
  EXPECT_TRUE(RestoreTarget::IsSafeName("a"));
  EXPECT_TRUE(RestoreTarget::IsSafeName("..."));
  EXPECT_TRUE(RestoreTarget::IsSafeName(".hidden"));
  EXPECT_TRUE(RestoreTarget::IsSafeName("a\\b"));
  EXPECT_TRUE(RestoreTarget::IsSafeName("\xff\n"));
  EXPECT_FALSE(RestoreTarget::IsSafeName(""));
  EXPECT_FALSE(RestoreTarget::IsSafeName("."));
  EXPECT_FALSE(RestoreTarget::IsSafeName(".."));
  EXPECT_FALSE(RestoreTarget::IsSafeName("a/b"));
  EXPECT_FALSE(RestoreTarget::IsSafeName("/"));
  EXPECT_FALSE(RestoreTarget::IsSafeName(std::string_view("a\0b", 3)));
}

TEST(RestoreTargetOpen, CreatesMissingTargetWithMode0700) {
  TempDir tmp;
  const std::string path = tmp / "x/y/target";
  auto t = RestoreTarget::Open(path, {});
  ASSERT_TRUE(t) << t.error().message();
  const struct stat st = Lstat(path);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  struct stat root_st;
  ASSERT_EQ(fstat((*t)->root_fd(), &root_st), 0);
  EXPECT_EQ(root_st.st_ino, st.st_ino);
}

TEST(RestoreTargetOpen, MayBeReachedThroughASymlink) {
  TempDir tmp;
  ASSERT_EQ(mkdir((tmp / "real").c_str(), 0700), 0);
  ASSERT_EQ(symlink("real", (tmp / "via").c_str()), 0);
  auto t = RestoreTarget::Open(tmp / "via", {});
  ASSERT_TRUE(t) << t.error().message();
  struct stat st;
  ASSERT_EQ(fstat((*t)->root_fd(), &st), 0);
  EXPECT_EQ(st.st_ino, Lstat(tmp / "real").st_ino);
}

TEST(RestoreTargetOpen, RejectsEmptyPathAndFiles) {
  EXPECT_EQ(RestoreTarget::Open("", {}).error().kind(), ErrorKind::kInvalidArgument);
  TempDir tmp;
  WriteFile(tmp / "f", "");
  EXPECT_FALSE(RestoreTarget::Open(tmp / "f", {}));
}

TEST_F(RestoreTargetTest, UnsafeNamesAreRejected) {
  WriteFile(T("f"), "");
  for (const std::string& bad :
       std::vector<std::string>{"..", ".", "", "a/b", "/etc", std::string("a\0b", 3)}) {
    SCOPED_TRACE("name: " + bad);
    Node file = MakeNode(NodeType::kFile, bad);
    Node dir = MakeNode(NodeType::kDir, bad);
    Node link = MakeNode(NodeType::kSymlink, bad);
    link.link_target = "x";
    const std::string quoted = bad.find('\0') == std::string::npos ? "'" + bad + "'" : "'a\\x00b'";
    auto check = [&](const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(e.message().find(quoted), std::string::npos) << e.message();
    };
    check(target_->MakeDir(root(), dir).error());
    check(target_->CreateFile(root(), file).error());
    check(target_->MakeOther(root(), link).error());
    check(target_->HardLink("f", root(), bad).error());
    check(target_->ApplyMetadata(root(), file).error());
  }
  // Nothing was created next to or above the target.
  auto names = ListDirectory(target_path_);
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, std::vector<std::string>{"f"});
  EXPECT_EQ(ListDirectory(tmp_.path()).value(), (std::vector<std::string>{"outside", "target"}));
  ExpectOutsideUntouched();
}

TEST_F(RestoreTargetTest, UnsafeRelativePathsAreRejected) {
  ASSERT_EQ(mkdir(T("a").c_str(), 0700), 0);
  WriteFile(T("a/f"), "");
  for (const std::string bad : {"..", "../outside", "/tmp", "a/../a", "a//f", "a/", "./a", "a/."}) {
    SCOPED_TRACE("path: " + bad);
    EXPECT_EQ(target_->OpenDirBeneath(bad).error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(OpenDirBeneathFd(root(), bad, false).error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(target_->HardLink(bad + "/f", root(), "h").error().kind(),
              ErrorKind::kInvalidArgument);
  }
  EXPECT_EQ(target_->HardLink("..", root(), "h").error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(target_->HardLink("a/..", root(), "h").error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(target_->HardLink("", root(), "h").error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_FALSE(Exists(T("h")));
}

TEST_F(RestoreTargetTest, ErrorMessagesStayOnOneLine) {
  auto r = target_->CreateFile(root(), MakeNode(NodeType::kFile, "evil\n/name"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("'evil\\n/name'"), std::string::npos);
}

TEST_F(RestoreTargetTest, OpenDirBeneath) {
  ASSERT_EQ(mkdir(T("a").c_str(), 0700), 0);
  ASSERT_EQ(mkdir(T("a/b").c_str(), 0700), 0);
  for (bool use_openat2 : {true, false}) {
    SCOPED_TRACE(use_openat2 ? "openat2" : "component walk");
    auto fd = OpenDirBeneathFd(root(), "a/b", use_openat2);
    ASSERT_TRUE(fd) << fd.error().message();
    struct stat st;
    ASSERT_EQ(fstat(fd->get(), &st), 0);
    EXPECT_EQ(st.st_ino, Lstat(T("a/b")).st_ino);

    auto root_again = OpenDirBeneathFd(root(), "", use_openat2);
    ASSERT_TRUE(root_again);
    ASSERT_EQ(fstat(root_again->get(), &st), 0);
    EXPECT_EQ(st.st_ino, Lstat(target_path_).st_ino);
    EXPECT_NE(root_again->get(), root());

    EXPECT_EQ(OpenDirBeneathFd(root(), "a/missing", use_openat2).error().kind(),
              ErrorKind::kNotFound);
  }
}

TEST_F(RestoreTargetTest, OpenDirBeneathNeverFollowsSymlinks) {
  ASSERT_EQ(mkdir((outside_ + "/sub").c_str(), 0755), 0);
  outside_before_ = Snapshot();
  ASSERT_EQ(mkdir(T("a").c_str(), 0700), 0);
  PlantSymlink("evil", outside_);
  PlantSymlink("a/evil", outside_);
  PlantSymlink("rel", "a");  // even a symlink staying inside is refused
  for (bool use_openat2 : {true, false}) {
    SCOPED_TRACE(use_openat2 ? "openat2" : "component walk");
    for (const char* path : {"evil", "evil/sub", "a/evil", "a/evil/sub", "rel"}) {
      SCOPED_TRACE(path);
      auto fd = OpenDirBeneathFd(root(), path, use_openat2);
      ASSERT_FALSE(fd);
      EXPECT_NE(fd.error().message().find("symlink"), std::string::npos) << fd.error().message();
    }
  }
  EXPECT_FALSE(target_->OpenDirBeneath("evil/sub"));
  ExpectOutsideUntouched();
}

TEST_F(RestoreTargetTest, MakeDirReplacesPlantedSymlink) {
  PlantSymlink("evil", outside_);
  auto fd = target_->MakeDir(root(), MakeNode(NodeType::kDir, "evil"));
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_TRUE(S_ISDIR(Lstat(T("evil")).st_mode));
  auto child = target_->CreateFile(fd->get(), MakeNode(NodeType::kFile, "secret"));
  ASSERT_TRUE(child) << child.error().message();
  WriteAll(child->get(), "pwned");
  EXPECT_EQ(ReadFile(T("evil/secret")), "pwned");
  ExpectOutsideUntouched();
}

TEST_F(RestoreTargetTest, MakeDirReusesRealDirectoryAndReplacesFile) {
  ASSERT_EQ(mkdir(T("d").c_str(), 0700), 0);
  WriteFile(T("d/child"), "c");
  auto fd = target_->MakeDir(root(), MakeNode(NodeType::kDir, "d"));
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_EQ(ReadFile(T("d/child")), "c");

  WriteFile(T("f"), "old");
  auto fd2 = target_->MakeDir(root(), MakeNode(NodeType::kDir, "f"));
  ASSERT_TRUE(fd2) << fd2.error().message();
  EXPECT_TRUE(S_ISDIR(Lstat(T("f")).st_mode));
  EXPECT_EQ(Lstat(T("f")).st_mode & 07777, 0700u);
}

TEST_F(RestoreTargetTest, CreateFileReplacesPlantedSymlink) {
  PlantSymlink("evil", outside_ + "/secret");
  PlantSymlink("dangling", outside_ + "/new-file");
  for (const char* name : {"evil", "dangling"}) {
    Node node = MakeNode(NodeType::kFile, name);
    node.size = 5;
    auto fd = target_->CreateFile(root(), node);
    ASSERT_TRUE(fd) << fd.error().message();
    WriteAll(fd->get(), "pwned");
    EXPECT_TRUE(S_ISREG(Lstat(T(name)).st_mode));
    EXPECT_EQ(ReadFile(T(name)), "pwned");
  }
  EXPECT_FALSE(Exists(outside_ + "/new-file"));
  ExpectOutsideUntouched();
}

TEST_F(RestoreTargetTest, CreateFileNeverWritesThroughPlantedHardLink) {
  ASSERT_EQ(link((outside_ + "/secret").c_str(), T("hl").c_str()), 0);
  outside_before_ = Snapshot();  // the link count went up
  Node node = MakeNode(NodeType::kFile, "hl");
  node.size = 0;
  auto fd = target_->CreateFile(root(), node);
  ASSERT_TRUE(fd) << fd.error().message();
  WriteAll(fd->get(), "pwned");
  EXPECT_EQ(ReadFile(outside_ + "/secret"), "keep");
  EXPECT_EQ(ReadFile(T("hl")), "pwned");
  EXPECT_NE(Lstat(T("hl")).st_ino, Lstat(outside_ + "/secret").st_ino);
}

TEST_F(RestoreTargetTest, CreateFileReplacesExistingContent) {
  WriteFile(T("f"), std::string(1000, 'x'));
  Node node = MakeNode(NodeType::kFile, "f");
  node.size = 3;
  auto fd = target_->CreateFile(root(), node);
  ASSERT_TRUE(fd) << fd.error().message();
  fd->Reset();
  EXPECT_EQ(ReadFile(T("f")), std::string(3, '\0'));
  EXPECT_EQ(Lstat(T("f")).st_mode & 07777, 0600u);
}

TEST_F(RestoreTargetTest, CreateFileWithDirectoryInTheWay) {
  ASSERT_EQ(mkdir(T("d").c_str(), 0700), 0);
  WriteFile(T("d/keep"), "k");
  auto fd = target_->CreateFile(root(), MakeNode(NodeType::kFile, "d"));
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_NE(fd.error().message().find("'d'"), std::string::npos);
  EXPECT_EQ(ReadFile(T("d/keep")), "k");
}

TEST_F(RestoreTargetTest, CreateFileIsSparse) {
  Node node = MakeNode(NodeType::kFile, "sparse");
  node.size = 100 * kMiB;
  auto fd = target_->CreateFile(root(), node);
  ASSERT_TRUE(fd) << fd.error().message();
  struct stat st;
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), 100 * kMiB);
  EXPECT_LT(uint64_t(st.st_blocks) * 512, kMiB) << "st_blocks=" << st.st_blocks;
}

TEST_F(RestoreTargetTest, HardLinkSharesInode) {
  auto dir = target_->MakeDir(root(), MakeNode(NodeType::kDir, "sub"));
  ASSERT_TRUE(dir);
  auto fd = target_->CreateFile(dir->get(), MakeNode(NodeType::kFile, "a"));
  ASSERT_TRUE(fd);
  WriteAll(fd->get(), "shared");
  WriteFile(T("b"), "to be replaced");

  ASSERT_TRUE(target_->HardLink("sub/a", root(), "b"));
  EXPECT_EQ(Lstat(T("b")).st_ino, Lstat(T("sub/a")).st_ino);
  EXPECT_EQ(Lstat(T("b")).st_nlink, 2u);
  EXPECT_EQ(ReadFile(T("b")), "shared");

  // Repeating is harmless: the entry is already that inode.
  auto again = target_->HardLink("sub/a", root(), "b");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(Lstat(T("b")).st_nlink, 2u);

  auto same_dir = target_->HardLink("b", dir->get(), "c");
  ASSERT_TRUE(same_dir) << same_dir.error().message();
  EXPECT_EQ(Lstat(T("sub/c")).st_nlink, 3u);

  auto missing = target_->HardLink("sub/missing", root(), "d");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
}

TEST_F(RestoreTargetTest, HardLinkNeverFollowsSymlinks) {
  PlantSymlink("evil", outside_);
  auto through = target_->HardLink("evil/secret", root(), "h");
  ASSERT_FALSE(through);
  EXPECT_FALSE(Exists(T("h")));

  // A symlink as the source is linked itself, not its target.
  auto self = target_->HardLink("evil", root(), "h2");
  ASSERT_TRUE(self) << self.error().message();
  EXPECT_TRUE(S_ISLNK(Lstat(T("h2")).st_mode));
  EXPECT_EQ(Lstat(T("h2")).st_ino, Lstat(T("evil")).st_ino);

  // The new name itself being a planted symlink: replaced, not followed.
  WriteFile(T("src"), "s");
  PlantSymlink("h3", outside_ + "/secret");
  ASSERT_TRUE(target_->HardLink("src", root(), "h3"));
  EXPECT_EQ(Lstat(T("h3")).st_ino, Lstat(T("src")).st_ino);
  ExpectOutsideUntouched();
}

TEST_F(RestoreTargetTest, MakeOtherCreatesSpecialEntries) {
  Node link = MakeNode(NodeType::kSymlink, "link");
  link.link_target = "\xff../../outside/raw";
  ASSERT_TRUE(target_->MakeOther(root(), link));
  char buf[256];
  ssize_t n = readlink(T("link").c_str(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, size_t(n)), link.link_target);

  ASSERT_TRUE(target_->MakeOther(root(), MakeNode(NodeType::kFifo, "fifo")));
  EXPECT_TRUE(S_ISFIFO(Lstat(T("fifo")).st_mode));
  ASSERT_TRUE(target_->MakeOther(root(), MakeNode(NodeType::kSocket, "sock")));
  EXPECT_TRUE(S_ISSOCK(Lstat(T("sock")).st_mode));

  // Replacing: a symlink where a fifo was, and vice versa.
  Node relink = MakeNode(NodeType::kSymlink, "fifo");
  relink.link_target = "x";
  ASSERT_TRUE(target_->MakeOther(root(), relink));
  EXPECT_TRUE(S_ISLNK(Lstat(T("fifo")).st_mode));
  PlantSymlink("evil", outside_);
  ASSERT_TRUE(target_->MakeOther(root(), MakeNode(NodeType::kFifo, "evil")));
  EXPECT_TRUE(S_ISFIFO(Lstat(T("evil")).st_mode));

  Node empty_link = MakeNode(NodeType::kSymlink, "bad");
  EXPECT_FALSE(target_->MakeOther(root(), empty_link));
  EXPECT_EQ(target_->MakeOther(root(), MakeNode(NodeType::kFile, "f")).error().kind(),
            ErrorKind::kInternal);
  ExpectOutsideUntouched();
}

TEST_F(RestoreTargetTest, MakeOtherDevice) {
  Node dev = MakeNode(NodeType::kCharDev, "null");
  dev.rdev = makedev(1, 3);
  auto r = target_->MakeOther(root(), dev);
  if (!IsRoot()) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), ErrorKind::kPermission);
    return;
  }
  if (!r && r.error().kind() == ErrorKind::kPermission) GTEST_SKIP() << "no CAP_MKNOD";
  ASSERT_TRUE(r) << r.error().message();
  const struct stat st = Lstat(T("null"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
}

TEST_F(RestoreTargetTest, ApplyMetadataNeverFollowsSymlinks) {
  PlantSymlink("evil", outside_);
  PlantSymlink("evil-file", outside_ + "/secret");
  for (const char* name : {"evil", "evil-file"}) {
    for (NodeType type : {NodeType::kFile, NodeType::kDir, NodeType::kSymlink}) {
      Node node = MakeNode(type, name);
      node.mode = 07777;
      node.uid = 4242;
      node.gid = 4343;
      node.mtime_ns = 5;
      node.xattrs = {{"user.pwned", Bytes{1}}};
      auto r = target_->ApplyMetadata(root(), node);
      EXPECT_TRUE(r) << r.error().message();
    }
  }
  EXPECT_EQ(Lstat(T("evil")).st_mtim.tv_nsec, 5);
  ExpectOutsideUntouched();
}

TEST_F(RestoreTargetTest, ApplyMetadataOnMissingEntry) {
  auto r = target_->ApplyMetadata(root(), MakeNode(NodeType::kFile, "missing"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find("'missing' in restore target"), std::string::npos);
}

// The fields a restore must reproduce.
void ExpectSameMetadata(const Node& want, const Node& got) {
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.mode, want.mode) << std::oct << got.mode << " vs " << want.mode;
  EXPECT_EQ(got.mtime_ns, want.mtime_ns);
  EXPECT_EQ(got.size, want.size);
  EXPECT_EQ(got.link_target, want.link_target);
  EXPECT_EQ(got.rdev, want.rdev);
  EXPECT_EQ(got.xattrs, want.xattrs);
  if (IsRoot()) {
    EXPECT_EQ(got.uid, want.uid);
    EXPECT_EQ(got.gid, want.gid);
    EXPECT_EQ(got.user, want.user);
    EXPECT_EQ(got.group, want.group);
  }
}

class RoundTripTest : public RestoreTargetTest {
 protected:
  void SetUp() override {
    RestoreTargetTest::SetUp();
    src_ = tmp_ / "src";
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
  }

  // As root, gives `path` an owner that exists nowhere, so the numeric
  // fallback is exercised; then sets the mode (chown clears setgid).
  void Prepare(const std::string& path, mode_t mode) {
    if (IsRoot()) {
      ASSERT_EQ(lchown(path.c_str(), 4242, 4343), 0);
    }
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }

  Node Read(const std::string& path, const std::string& name) {
    auto node = ReadNodeMetadata(path, name);
    EXPECT_TRUE(node) << node.error().message();
    return node ? *node : Node{};
  }

  std::string src_;
};

// Both ways of applying a file's metadata: by name in its directory, and
// through the descriptor it was written with (what the restorer uses).
TEST_F(RoundTripTest, RegularFileWithSetgidXattrsAclAndNanoseconds) {
  for (bool through_fd : {false, true}) {
    SCOPED_TRACE(through_fd ? "through the descriptor" : "by name");
    const std::string name = through_fd ? "g" : "f";
    const std::string path = src_ + "/" + name;
    WriteFile(path, "content");
    Prepare(path, 02754);
    const bool xattrs = TrySetXattr(path, "user.comment", std::string("ward 7\0", 7));
    if (ks::testing::HaveSetfacl()) ks::testing::Setfacl("-m u:12345:rw,m::r", path);
    SetMtime(path, 1'234'567'890, 987'654'321);
    const Node want = Read(path, name);
    ASSERT_EQ(want.mode & 07000, 02000u);
    if (xattrs) {
      ASSERT_FALSE(want.xattrs.empty());
    }

    auto fd = target_->CreateFile(root(), want);
    ASSERT_TRUE(fd) << fd.error().message();
    WriteAll(fd->get(), "content");
    Status applied = Ok();
    if (through_fd) {
      applied = target_->ApplyFileMetadata(fd->get(), want);
      fd->Reset();
    } else {
      fd->Reset();
      applied = target_->ApplyMetadata(root(), want);
    }
    ASSERT_TRUE(applied) << applied.error().message();
    ExpectSameMetadata(want, Read(T(name), name));
  }
}

TEST_F(RoundTripTest, DirectoryWithSetgidAndDefaultAcl) {
  const std::string path = src_ + "/d";
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  Prepare(path, 02775);
  TrySetXattr(path, "user.dept", "radiology");
  if (ks::testing::HaveSetfacl()) ks::testing::Setfacl("-d -m u:12345:rx", path);
  SetMtime(path, 1'500'000'000, 1);
  const Node want = Read(path, "d");

  auto fd = target_->MakeDir(root(), want);
  ASSERT_TRUE(fd) << fd.error().message();
  // Children are written before the directory's metadata is applied.
  auto child = target_->CreateFile(fd->get(), MakeNode(NodeType::kFile, "child"));
  ASSERT_TRUE(child);
  auto applied = target_->ApplyMetadata(root(), want);
  ASSERT_TRUE(applied) << applied.error().message();
  ExpectSameMetadata(want, Read(T("d"), "d"));
}

TEST_F(RoundTripTest, SymlinkAndFifo) {
  ASSERT_EQ(symlink("../some/where", (src_ + "/l").c_str()), 0);
  if (IsRoot()) {
    ASSERT_EQ(lchown((src_ + "/l").c_str(), 4242, 4343), 0);
  }
  SetMtime(src_ + "/l", 1'111'111'111, 222'222'222);
  ASSERT_EQ(mkfifo((src_ + "/p").c_str(), 0600), 0);
  Prepare(src_ + "/p", 0640);
  SetMtime(src_ + "/p", 1'111'111'111, 333);

  for (const char* name : {"l", "p"}) {
    SCOPED_TRACE(name);
    const Node want = Read(src_ + "/" + name, name);
    ASSERT_TRUE(target_->MakeOther(root(), want));
    auto applied = target_->ApplyMetadata(root(), want);
    ASSERT_TRUE(applied) << applied.error().message();
    ExpectSameMetadata(want, Read(T(name), name));
  }
}

TEST_F(RestoreTargetTest, TimesBeforeTheEpoch) {
  ASSERT_TRUE(target_->CreateFile(root(), MakeNode(NodeType::kFile, "old")));
  Node node = MakeNode(NodeType::kFile, "old");
  node.mtime_ns = -1'500'000'000;  // 1969-12-31 23:59:58.5
  ASSERT_TRUE(target_->ApplyMetadata(root(), node));
  const struct stat st = Lstat(T("old"));
  EXPECT_EQ(st.st_mtim.tv_sec, -2);
  EXPECT_EQ(st.st_mtim.tv_nsec, 500'000'000);
}

TEST_F(RestoreTargetTest, OwnerByNameThenNumeric) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  Node node = MakeNode(NodeType::kFile, "f");
  ASSERT_TRUE(target_->CreateFile(root(), node));
  node.uid = 4242;
  node.gid = 4343;
  node.user = "root";
  node.group = GroupNameOf(0);
  ASSERT_TRUE(target_->ApplyMetadata(root(), node));
  EXPECT_EQ(Lstat(T("f")).st_uid, 0u);
  EXPECT_EQ(Lstat(T("f")).st_gid, 0u);

  node.user = "ks-no-such-user-7f3a";
  node.group = "ks-no-such-group-7f3a";
  ASSERT_TRUE(target_->ApplyMetadata(root(), node));
  EXPECT_EQ(Lstat(T("f")).st_uid, 4242u);
  EXPECT_EQ(Lstat(T("f")).st_gid, 4343u);
}

TEST_F(RestoreTargetTest, NumericOwnerWhenNotByName) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  auto numeric = RestoreTarget::Open(target_path_, {.restore_owner = true, .owner_by_name = false});
  ASSERT_TRUE(numeric);
  Node node = MakeNode(NodeType::kFile, "f");
  ASSERT_TRUE((*numeric)->CreateFile(root(), node));
  node.uid = 4242;
  node.gid = 4343;
  node.user = "root";
  node.group = GroupNameOf(0);
  ASSERT_TRUE((*numeric)->ApplyMetadata(root(), node));
  EXPECT_EQ(Lstat(T("f")).st_uid, 4242u);
  EXPECT_EQ(Lstat(T("f")).st_gid, 4343u);
}

TEST_F(RestoreTargetTest, SetuidDroppedWhenOwnerNotRestored) {
  auto no_owner = RestoreTarget::Open(target_path_, {.restore_owner = false});
  ASSERT_TRUE(no_owner);
  Node node = MakeNode(NodeType::kFile, "foreign");
  ASSERT_TRUE((*no_owner)->CreateFile(root(), node));
  node.mode = 06755;
  node.uid = geteuid() + 4242;
  node.gid = getegid() + 4343;
  ASSERT_TRUE((*no_owner)->ApplyMetadata(root(), node));
  EXPECT_EQ(Lstat(T("foreign")).st_mode & 07777, 0755u);
  EXPECT_EQ(Lstat(T("foreign")).st_uid, geteuid());

  // The entry already has the snapshot's owner: nothing to drop.
  Node own = MakeNode(NodeType::kFile, "own");
  ASSERT_TRUE((*no_owner)->CreateFile(root(), own));
  own.mode = 06755;
  ASSERT_TRUE((*no_owner)->ApplyMetadata(root(), own));
  EXPECT_EQ(Lstat(T("own")).st_mode & 07777, 06755u);

  // Directories keep setgid (it only steers group inheritance).
  Node dir = MakeNode(NodeType::kDir, "shared");
  ASSERT_TRUE((*no_owner)->MakeDir(root(), dir));
  dir.mode = 02770;
  dir.gid = getegid() + 4343;
  ASSERT_TRUE((*no_owner)->ApplyMetadata(root(), dir));
  EXPECT_EQ(Lstat(T("shared")).st_mode & 07777, 02770u);
}

TEST_F(RestoreTargetTest, UsableFromSeveralThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      Node dir = MakeNode(NodeType::kDir, "t" + std::to_string(t));
      auto fd = target_->MakeDir(root(), dir);
      if (!fd) return void(failures++);
      for (int i = 0; i < 50; i++) {
        Node f = MakeNode(NodeType::kFile, "f" + std::to_string(i));
        f.size = 10;
        if (!target_->CreateFile(fd->get(), f) || !target_->ApplyMetadata(fd->get(), f)) failures++;
      }
      if (!target_->ApplyMetadata(root(), dir)) failures++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ListDirectory(T("t3")).value().size(), 50u);
}

}  // namespace
}  // namespace ks
