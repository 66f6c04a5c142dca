#include "fs/restore_target.h"

#include <array>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "fs/id_names.h"
#include "fs/open_beneath.h"
#include "fs/quote.h"

namespace ks {
namespace {

// How often creating an entry is retried when something reappears under its
// name between removing the old entry and creating the new one.
constexpr int kMaxReplaceRetries = 4;

// "cannot <what> 'name' in restore target", the start of every error message.
std::string Cannot(std::string_view what, std::string_view name) {
  return "cannot " + std::string(what) + " " + QuoteName(name) + " in restore target";
}

std::unexpected<Error> SysFail(std::string_view what, std::string_view name) {
  return Fail(ErrnoError(errno, Cannot(what, name)));
}

Status CheckName(std::string_view name, std::string_view what) {
  if (RestoreTarget::IsSafeName(name)) return Ok();
  return Fail(ErrorKind::kInvalidArgument,
              Cannot(what, name) + ": unsafe name (empty, '.', '..' or containing '/' or NUL)");
}

// Removes a non-directory entry `name` so a new one can take its place.
// A directory in the way is an error: removing a tree implicitly could
// destroy data the operator meant to keep.
Status RemoveNonDir(int parent_fd, const std::string& name, std::string_view what) {
  if (unlinkat(parent_fd, name.c_str(), 0) == 0 || errno == ENOENT) return Ok();
  if (errno == EISDIR) {
    return Fail(ErrorKind::kAlreadyExists,
                Cannot(what, name) + ": a directory with that name is in the way");
  }
  return Fail(ErrnoError(errno, Cannot(what, name) + ": cannot remove the existing entry"));
}

// Runs `create()`, a call that fails with EEXIST instead of reusing an
// existing entry (O_EXCL, mknodat, symlinkat, linkat), and replaces a
// non-directory that is in the way. Creating exclusively means nothing
// planted in the target (a symlink, or a hard link to a file outside the
// target) is ever written through.
template <typename Create>
Status CreateReplacing(int parent_fd, const std::string& name, std::string_view what,
                       Create create) {
  for (int attempt = 0; attempt < kMaxReplaceRetries; attempt++) {
    if (create() == 0) return Ok();
    if (errno != EEXIST) return SysFail(what, name);
    KS_TRY(RemoveNonDir(parent_fd, name, what));
  }
  return Fail(ErrorKind::kAlreadyExists,
              Cannot(what, name) + ": the name keeps being recreated by someone else");
}

// Like `mkdir -p` with mode 0700 for directories it creates.
Status MakeDirs(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); pos++) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return Fail(ErrnoError(errno, "cannot create restore target " + QuoteName(prefix)));
    }
  }
  return Ok();
}

struct Owner {
  uint32_t uid, gid;
  bool operator==(const Owner&) const = default;
};

// The owner the snapshot asks for on this machine: by name first (as tar and
// restic do), numeric ids when the name is unknown here.
Owner WantedOwner(const Node& node, const RestoreOptions& options) {
  Owner want{node.uid, node.gid};
  if (options.owner_by_name) {
    if (auto uid = UidOfUser(node.user)) want.uid = *uid;
    if (auto gid = GidOfGroup(node.group)) want.gid = *gid;
  }
  return want;
}

// Sets the owner if allowed and returns the owner the entry has afterwards.
// `change(uid, gid)` is fchownat or fchown, returning 0 or -1 with errno.
template <typename Chown>
Result<Owner> ApplyOwner(const std::string& name, const struct stat& st, Owner want,
                         const RestoreOptions& options, Chown change) {
  Owner have{st.st_uid, st.st_gid};
  if (!options.restore_owner || geteuid() != 0 || have == want) return have;
  if (change(want.uid, want.gid) == 0) return want;
  // Privileges refused even as root (root squash on NFS: EPERM; ids not
  // mapped in a user namespace: EINVAL): keep the restoring user as owner.
  if (errno == EPERM || errno == EINVAL) return have;
  return SysFail("set owner of", name);
}

// setuid/setgid on a file that did not get its snapshot owner would grant
// the restoring user's (often root's) privileges to whoever runs it, so those
// bits are dropped then, as GNU tar does. On directories they only steer
// inheritance and are kept.
uint32_t SafeMode(uint32_t mode, mode_t st_mode, Owner have, Owner want) {
  mode &= 07777;
  if (S_ISDIR(st_mode)) return mode;
  if (have.uid != want.uid) mode &= ~uint32_t(S_ISUID);
  if (have.gid != want.gid) mode &= ~uint32_t(S_ISGID);
  return mode;
}

// Flags for opening an existing file or directory just to act on the inode:
// no symlink following, no blocking on a fifo swapped in, no controlling tty.
int InodeOpenFlags(mode_t st_mode) {
  int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  return S_ISDIR(st_mode) ? flags | O_DIRECTORY : flags;
}

Status ApplyMode(int parent_fd, const std::string& name, mode_t st_mode, uint32_t mode) {
  if (fchmodat(parent_fd, name.c_str(), mode, AT_SYMLINK_NOFOLLOW) == 0) return Ok();
  if (errno != ENOTSUP) return SysFail("set mode of", name);
  // glibc emulates AT_SYMLINK_NOFOLLOW through /proc/self/fd and reports
  // ENOTSUP when /proc is not mounted (a rescue system, a chroot). Files and
  // directories can then be opened without following and fchmod'ed; opening
  // a device could have side effects, so special files need /proc.
  if (!S_ISREG(st_mode) && !S_ISDIR(st_mode)) {
    return Fail(ErrorKind::kUnsupported,
                Cannot("set mode of", name) + ": special files need /proc mounted");
  }
  UniqueFd fd(openat(parent_fd, name.c_str(), InodeOpenFlags(st_mode)));
  if (!fd.valid()) return SysFail("open to set mode", name);
  if (fchmod(fd.get(), mode) != 0) return SysFail("set mode of", name);
  return Ok();
}

// xattrs the file system or our privileges refuse (security.* as non-root,
// user.* on a symlink or device, a file system without xattrs) are skipped.
bool SkippableXattrError(int err) { return err == EPERM || err == EACCES || err == ENOTSUP; }

template <typename Set>
Status SetEachXattr(const Node& node, Set set) {
  for (const Xattr& x : node.xattrs) {
    if (set(x) == 0 || SkippableXattrError(errno)) continue;
    return SysFail("set extended attribute " + x.name + " of", node.name);
  }
  return Ok();
}

Status ApplyXattrs(int parent_fd, const Node& node, mode_t st_mode) {
  if (node.xattrs.empty()) return Ok();
  if (S_ISREG(st_mode) || S_ISDIR(st_mode)) {
    UniqueFd fd(openat(parent_fd, node.name.c_str(), InodeOpenFlags(st_mode)));
    if (!fd.valid()) return SysFail("open to set extended attributes", node.name);
    return SetEachXattr(node, [&](const Xattr& x) {
      return fsetxattr(fd.get(), x.name.c_str(), x.value.data(), x.value.size(), 0);
    });
  }
  // A symlink cannot be opened for writing without following it, and opening
  // a device has side effects; address the entry through our directory
  // descriptor in /proc instead. The last component is not followed.
  const std::string path = "/proc/self/fd/" + std::to_string(parent_fd) + "/" + node.name;
  return SetEachXattr(node, [&](const Xattr& x) {
    int rc = lsetxattr(path.c_str(), x.name.c_str(), x.value.data(), x.value.size(), 0);
    if (rc != 0 && errno == ENOENT) errno = ENOTSUP;  // no /proc: skip
    return rc;
  });
}

timespec ToTimespec(int64_t ns) {
  int64_t sec = ns / 1'000'000'000;
  int64_t rem = ns % 1'000'000'000;
  if (rem < 0) {  // times before 1970: tv_nsec must stay in [0, 1e9)
    rem += 1'000'000'000;
    sec -= 1;
  }
  return timespec{time_t(sec), long(rem)};
}

// The access time is not in the snapshot; use the modification time.
std::array<timespec, 2> NodeTimes(const Node& node) {
  return {ToTimespec(node.mtime_ns), ToTimespec(node.mtime_ns)};
}

Status ApplyTimes(int parent_fd, const Node& node) {
  const auto times = NodeTimes(node);
  if (utimensat(parent_fd, node.name.c_str(), times.data(), AT_SYMLINK_NOFOLLOW) != 0) {
    return SysFail("set times of", node.name);
  }
  return Ok();
}

Status MakeSpecial(int parent_fd, const Node& node, mode_t type, dev_t rdev) {
  std::string what = std::string("create ") + NodeTypeName(node.type);
  // Permissions stay restrictive until ApplyMetadata has set the owner.
  Status s = CreateReplacing(parent_fd, node.name, what, [&] {
    return mknodat(parent_fd, node.name.c_str(), type | 0600, rdev);
  });
  if (!s && s.error().kind() == ErrorKind::kPermission && (S_ISCHR(type) || S_ISBLK(type))) {
    return Fail(ErrorKind::kPermission,
                s.error().message() + " (device nodes can only be restored by root)");
  }
  return s;
}

}  // namespace

bool RestoreTarget::IsSafeName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Result<std::unique_ptr<RestoreTarget>> RestoreTarget::Open(const std::string& target_dir,
                                                           RestoreOptions options) {
  if (target_dir.empty()) {
    return Fail(ErrorKind::kInvalidArgument, "restore target path is empty");
  }
  KS_TRY(MakeDirs(target_dir));
  // Symlinks in the operator-given path itself are followed on purpose.
  UniqueFd root(open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    return Fail(ErrnoError(errno, "cannot open restore target " + QuoteName(target_dir)));
  }
  return std::unique_ptr<RestoreTarget>(new RestoreTarget(std::move(root), options));
}

Result<UniqueFd> RestoreTarget::OpenDirBeneath(const std::string& rel_path) const {
  return OpenDirBeneathFd(root_.get(), rel_path);
}

Result<UniqueFd> RestoreTarget::MakeDir(int parent_fd, const Node& node) const {
  KS_TRY(CheckName(node.name, "create directory"));
  const char* name = node.name.c_str();
  for (int attempt = 0; attempt < kMaxReplaceRetries; attempt++) {
    if (mkdirat(parent_fd, name, 0700) != 0 && errno != EEXIST) {
      return SysFail("create directory", node.name);
    }
    // Just created or already there: open without following. A real
    // directory is reused; anything else (a file, a planted symlink) is
    // removed and the directory created again.
    UniqueFd fd(openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.valid()) return fd;
    if (errno != ENOTDIR && errno != ELOOP && errno != ENOENT) {
      return SysFail("open directory", node.name);
    }
    if (unlinkat(parent_fd, name, 0) != 0 && errno != ENOENT) {
      return SysFail("remove the entry in the way of directory", node.name);
    }
  }
  return Fail(ErrorKind::kAlreadyExists, Cannot("create directory", node.name) +
                                             ": the name keeps being recreated by someone else");
}

Result<UniqueFd> RestoreTarget::CreateFile(int parent_fd, const Node& node) const {
  KS_TRY(CheckName(node.name, "create file"));
  UniqueFd fd;
  KS_TRY(CreateReplacing(parent_fd, node.name, "create file", [&] {
    fd = UniqueFd(openat(parent_fd, node.name.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    return fd.valid() ? 0 : -1;
  }));
  // Extending with ftruncate leaves a hole: ranges the restorer never writes
  // (e.g. all-zero chunks it skips) take no disk space.
  if (ftruncate(fd.get(), off_t(node.size)) != 0) return SysFail("size file", node.name);
  return fd;
}

Status RestoreTarget::MakeOther(int parent_fd, const Node& node) const {
  KS_TRY(CheckName(node.name, std::string("create ") + NodeTypeName(node.type)));
  switch (node.type) {
    case NodeType::kSymlink:
      if (node.link_target.empty() || node.link_target.find('\0') != std::string::npos) {
        return Fail(ErrorKind::kCorrupt,
                    Cannot("create symlink", node.name) + ": invalid target in snapshot");
      }
      return CreateReplacing(parent_fd, node.name, "create symlink", [&] {
        return symlinkat(node.link_target.c_str(), parent_fd, node.name.c_str());
      });
    case NodeType::kFifo:
      return MakeSpecial(parent_fd, node, S_IFIFO, 0);
    case NodeType::kSocket:
      return MakeSpecial(parent_fd, node, S_IFSOCK, 0);
    case NodeType::kCharDev:
      return MakeSpecial(parent_fd, node, S_IFCHR, dev_t(node.rdev));
    case NodeType::kBlockDev:
      return MakeSpecial(parent_fd, node, S_IFBLK, dev_t(node.rdev));
    case NodeType::kFile:
    case NodeType::kDir:
      break;
  }
  return Fail(ErrorKind::kInternal,
              Cannot("create", node.name) + ": MakeOther called for a " + NodeTypeName(node.type));
}

Status RestoreTarget::HardLink(const std::string& existing_rel_path, int parent_fd,
                               const std::string& name) const {
  KS_TRY(CheckName(name, "create hard link"));
  const std::string what = Cannot("create hard link", name);
  const size_t slash = existing_rel_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : existing_rel_path.substr(0, slash);
  const std::string leaf =
      slash == std::string::npos ? existing_rel_path : existing_rel_path.substr(slash + 1);
  if (!IsSafeName(leaf)) {
    return Fail(ErrorKind::kInvalidArgument,
                what + ": unsafe link source " + QuoteName(existing_rel_path));
  }
  auto src_dir = OpenDirBeneath(dir);
  if (!src_dir) return Fail(src_dir.error().With(what));
  struct stat src;
  if (fstatat(src_dir->get(), leaf.c_str(), &src, AT_SYMLINK_NOFOLLOW) != 0) {
    return Fail(ErrnoError(errno, what + ": cannot find " + QuoteName(existing_rel_path)));
  }
  // Already linked (a repeated restore): replacing would remove the source.
  struct stat dst;
  if (fstatat(parent_fd, name.c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0 &&
      dst.st_dev == src.st_dev && dst.st_ino == src.st_ino) {
    return Ok();
  }
  // Flags 0: a symlink source is linked itself, never its target.
  return CreateReplacing(parent_fd, name, "create hard link", [&] {
    return linkat(src_dir->get(), leaf.c_str(), parent_fd, name.c_str(), 0);
  });
}

Status RestoreTarget::ApplyMetadata(int parent_fd, const Node& node) const {
  KS_TRY(CheckName(node.name, "apply metadata to"));
  // Decisions follow what is on disk, not node.type: whatever sits under the
  // name is handled without following it.
  struct stat st;
  if (fstatat(parent_fd, node.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return SysFail("apply metadata to", node.name);
  }
  // Order matters: chown clears setuid/setgid bits and security.capability,
  // so it comes first; xattrs (ACLs) before the mode so the final chmod wins
  // and a user.* xattr can still be written while the file is 0600; times
  // last so that nothing done afterwards can disturb them.
  const Owner want = WantedOwner(node, options_);
  KS_ASSIGN(const Owner have, ApplyOwner(node.name, st, want, options_, [&](uid_t u, gid_t g) {
              return fchownat(parent_fd, node.name.c_str(), u, g, AT_SYMLINK_NOFOLLOW);
            }));
  KS_TRY(ApplyXattrs(parent_fd, node, st.st_mode));
  if (!S_ISLNK(st.st_mode)) {
    KS_TRY(
        ApplyMode(parent_fd, node.name, st.st_mode, SafeMode(node.mode, st.st_mode, have, want)));
  }
  return ApplyTimes(parent_fd, node);
}

Status RestoreTarget::ApplyFileMetadata(int fd, const Node& node) const {
  // The same steps in the same order as ApplyMetadata, through the file's
  // own descriptor: nothing is looked up by name, so nothing can be swapped
  // in under it, and no path walk or /proc detour is paid per file.
  struct stat st;
  if (fstat(fd, &st) != 0) return SysFail("apply metadata to", node.name);
  if (!S_ISREG(st.st_mode))
    return Fail(ErrorKind::kInvalidArgument, Cannot("apply metadata to", node.name) + ": not a regular file");
  const Owner want = WantedOwner(node, options_);
  KS_ASSIGN(const Owner have, ApplyOwner(node.name, st, want, options_,
                                         [&](uid_t u, gid_t g) { return fchown(fd, u, g); }));
  KS_TRY(SetEachXattr(node, [&](const Xattr& x) {
    return fsetxattr(fd, x.name.c_str(), x.value.data(), x.value.size(), 0);
  }));
  if (fchmod(fd, SafeMode(node.mode, st.st_mode, have, want)) != 0)
    return SysFail("set mode of", node.name);
  const auto times = NodeTimes(node);
  if (futimens(fd, times.data()) != 0) return SysFail("set times of", node.name);
  return Ok();
}

}  // namespace ks
