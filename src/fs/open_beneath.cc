#include "fs/open_beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "fs/quote.h"
#include "fs/restore_target.h"

namespace ks {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// openat2 fails with EAGAIN when a concurrent rename makes the kernel unsure
// that the walk stayed beneath the root; retrying is the documented answer.
constexpr int kMaxAgainRetries = 8;

std::string What(std::string_view rel_path) {
  return "cannot open directory " + QuoteName(rel_path) + " in restore target";
}

std::unexpected<Error> OpenFail(int err, std::string_view rel_path) {
  switch (err) {
    case ELOOP:  // RESOLVE_NO_SYMLINKS or O_NOFOLLOW hit a symlink
      return Fail(ErrorKind::kIo, What(rel_path) + ": a symlink is in the way");
    case EXDEV:  // RESOLVE_BENEATH: the path would leave the root
      return Fail(ErrorKind::kIo, What(rel_path) + ": path leaves the restore target");
    default:
      return Fail(ErrnoError(err, What(rel_path)));
  }
}

// Splits "a/b/c" into its components, rejecting any that is not a safe name
// (this also rejects a leading, trailing or doubled '/').
Result<std::vector<std::string>> SplitSafe(std::string_view rel_path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (;;) {
    size_t slash = rel_path.find('/', pos);
    std::string_view part = rel_path.substr(
        pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (!RestoreTarget::IsSafeName(part)) {
      return Fail(ErrorKind::kInvalidArgument,
                  What(rel_path) + ": unsafe path component " + QuoteName(part));
    }
    parts.emplace_back(part);
    if (slash == std::string_view::npos) return parts;
    pos = slash + 1;
  }
}

// Returns the fd, or -1 with errno set (ENOSYS when the kernel or a seccomp
// filter does not offer openat2).
int OpenAt2(int root_fd, const std::string& rel_path) {
  open_how how{};
  how.flags = kDirFlags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
  for (int attempt = 0;; attempt++) {
    long fd = syscall(SYS_openat2, root_fd, rel_path.c_str(), &how, sizeof how);
    if (fd >= 0) return int(fd);
    if ((errno != EAGAIN && errno != EINTR) || attempt >= kMaxAgainRetries) return -1;
  }
}

// With O_NOFOLLOW | O_DIRECTORY the kernel reports a symlink as the last
// component as ENOTDIR (or ELOOP); tell the operator what is really there.
std::unexpected<Error> ComponentFail(int err, int dir_fd, const std::string& part,
                                     std::string_view rel_path, std::string_view prefix) {
  struct stat st;
  if ((err == ENOTDIR || err == ELOOP) &&
      fstatat(dir_fd, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    return Fail(ErrorKind::kIo, What(rel_path) + ": " + QuoteName(prefix) +
                                    " is a symlink, which is never followed");
  }
  return OpenFail(err, rel_path);
}

// Opens one component at a time; safe because no component is ".." or
// contains '/', and none is followed if it is a symlink.
Result<UniqueFd> WalkComponents(int root_fd, const std::vector<std::string>& parts,
                                std::string_view rel_path) {
  UniqueFd cur;
  int dir = root_fd;
  size_t prefix_len = 0;
  for (const std::string& part : parts) {
    prefix_len += (prefix_len ? 1 : 0) + part.size();
    UniqueFd next(openat(dir, part.c_str(), kDirFlags));
    if (!next.valid()) {
      return ComponentFail(errno, dir, part, rel_path, rel_path.substr(0, prefix_len));
    }
    cur = std::move(next);
    dir = cur.get();
  }
  return cur;
}

}  // namespace

Result<UniqueFd> OpenDirBeneathFd(int root_fd, std::string_view rel_path, bool use_openat2) {
  if (rel_path.empty()) {
    // A fresh open file description, not a dup: the caller may read the
    // directory and must not share a file offset with the root descriptor.
    UniqueFd fd(openat(root_fd, ".", kDirFlags));
    if (!fd.valid()) return Fail(ErrnoError(errno, What(rel_path)));
    return fd;
  }
  KS_ASSIGN(std::vector<std::string> parts, SplitSafe(rel_path));
  if (use_openat2) {
    const std::string path(rel_path);
    UniqueFd fd(OpenAt2(root_fd, path));
    if (fd.valid()) return fd;
    // ENOSYS: no openat2 in this kernel; EPERM: old container runtimes answer
    // unknown syscalls with it. ENOTDIR/ELOOP: something that is not a plain
    // directory is in the way; the (equally safe) walk below says which.
    const int err = errno;
    if (err != ENOSYS && err != EPERM && err != ENOTDIR && err != ELOOP) {
      return OpenFail(err, rel_path);
    }
  }
  return WalkComponents(root_fd, parts, rel_path);
}

}  // namespace ks
