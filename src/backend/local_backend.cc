#include "backend/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "crypto/aead.h"
#include "fs/unique_fd.h"

namespace ks {
namespace {

constexpr const char* kTmpPrefix = ".tmp-";

Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Fail(ErrnoError(errno, "open directory " + dir));
  if (::fsync(fd.get()) != 0) return Fail(ErrnoError(errno, "fsync directory " + dir));
  return Ok();
}

Status MkdirP(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return Fail(ErrnoError(errno, "create directory " + path));
  return Ok();
}

}  // namespace

Result<std::shared_ptr<UniqueFd>> ReadFdCache::Open(const std::string& path) {
  {
    std::lock_guard l(mu_);
    auto it = fds_.find(path);
    if (it != fds_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
  }
  auto fd = std::make_shared<UniqueFd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd->valid()) return Fail(ErrnoError(errno, "open " + path));
  std::lock_guard l(mu_);
  if (fds_.count(path)) return fd;  // another thread cached it meanwhile
  lru_.push_front(path);
  fds_[path] = {fd, lru_.begin()};
  if (fds_.size() > kCapacity) {
    fds_.erase(lru_.back());
    lru_.pop_back();
  }
  return fd;
}

void ReadFdCache::Forget(const std::string& path) {
  std::lock_guard l(mu_);
  auto it = fds_.find(path);
  if (it == fds_.end()) return;
  lru_.erase(it->second.second);
  fds_.erase(it);
}

std::string LocalBackend::DirOf(ObjectType t, const std::string& name) const {
  if (t == ObjectType::kConfig) return root_;
  std::string d = root_ + "/" + ObjectTypeDir(t);
  // Packs are spread over 256 subdirectories so no directory grows huge.
  if (t == ObjectType::kPack) d += "/" + name.substr(0, 2);
  return d;
}

std::string LocalBackend::PathOf(ObjectType t, const std::string& name) const {
  return DirOf(t, name) + "/" + name;
}

Status LocalBackend::CreateLayout() {
  KS_TRY(MkdirP(root_));
  for (ObjectType t : {ObjectType::kKey, ObjectType::kSnapshot, ObjectType::kIndex,
                       ObjectType::kPack, ObjectType::kLock, ObjectType::kHold,
                       ObjectType::kPrune})
    KS_TRY(MkdirP(root_ + "/" + ObjectTypeDir(t)));
  for (int i = 0; i < 256; i++) KS_TRY(MkdirP(DirOf(ObjectType::kPack, HexEncode(Bytes{uint8_t(i)}))));
  // New directory entries are durable only once their parent is synced.
  KS_TRY(FsyncDir(root_ + "/" + ObjectTypeDir(ObjectType::kPack)));
  return FsyncDir(root_);
}

Result<std::string> LocalBackend::WriteTemp(const std::string& dir,
                                            std::span<const ByteSpan> parts, bool create_dir) {
  uint8_t rnd[8];
  RandomBytes(rnd, sizeof rnd);
  std::string tmp = dir + "/" + kTmpPrefix + HexEncode(rnd);
  // Write to a temporary name first: a crash leaves only a temp file, never a
  // partial object under its real name.
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400));
  if (!fd.valid() && errno == ENOENT && create_dir) {  // layout made by an older run
    KS_TRY(MkdirP(dir));
    fd = UniqueFd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400));
  }
  if (!fd.valid()) return Fail(ErrnoError(errno, "create " + tmp));
  auto cleanup_fail = [&](Error e) {
    fd.Reset();
    ::unlink(tmp.c_str());
    return Fail(std::move(e));
  };
  // Gathered writes, up to IOV_MAX parts per call; a short write resumes
  // inside the part it stopped in.
  size_t part = 0, within = 0;
  std::vector<iovec> iov;
  while (part < parts.size()) {
    iov.clear();
    for (size_t i = part; i < parts.size() && iov.size() < IOV_MAX; i++) {
      size_t skip = i == part ? within : 0;
      if (parts[i].size() == skip) continue;
      iov.push_back({const_cast<uint8_t*>(parts[i].data()) + skip, parts[i].size() - skip});
    }
    if (iov.empty()) break;
    ssize_t n = ::writev(fd.get(), iov.data(), int(iov.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return cleanup_fail(ErrnoError(errno, "write " + tmp));
    }
    size_t left = size_t(n);
    while (part < parts.size() && left >= parts[part].size() - within) {
      left -= parts[part].size() - within;
      part++;
      within = 0;
    }
    within += left;
  }
  // Data must be on disk before a name points at it, or a power cut could
  // leave a named object with missing contents.
  if (::fsync(fd.get()) != 0) return cleanup_fail(ErrnoError(errno, "fsync " + tmp));
  return tmp;
}

Status LocalBackend::Put(ObjectType t, const std::string& name, ByteSpan data) {
  ByteSpan one[1] = {data};
  return PutParts(t, name, one);
}

Status LocalBackend::PutParts(ObjectType t, const std::string& name,
                              std::span<const ByteSpan> parts) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.')
    return Fail(ErrorKind::kInvalidArgument, "bad object name '" + name + "'");
  std::string dir = DirOf(t, name);
  std::string final_path = dir + "/" + name;
  // Directories are created on demand too (a repository made before holds
  // existed has no holds/; a replacement disk may lack pack directories).
  KS_ASSIGN(std::string tmp, WriteTemp(dir, parts, t != ObjectType::kConfig));
  // link(2) fails with EEXIST instead of replacing: objects are write-once.
  if (::link(tmp.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST)
      return Fail(ErrorKind::kAlreadyExists, "object " + final_path + " already exists");
    return Fail(ErrnoError(err, "link " + final_path));
  }
  ::unlink(tmp.c_str());
  // The new directory entry must be durable before callers rely on it (the
  // index and snapshot written after it refer to this object).
  return FsyncDir(dir);
}

Status LocalBackend::Replace(ObjectType t, const std::string& name, ByteSpan data) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.')
    return Fail(ErrorKind::kInvalidArgument, "bad object name '" + name + "'");
  std::string dir = DirOf(t, name);
  ByteSpan one[1] = {data};
  KS_ASSIGN(std::string tmp, WriteTemp(dir, one, true));
  fds_.Forget(dir + "/" + name);
  // rename(2) swaps the name atomically: readers see the old or the new
  // bytes, never a mix, and a crash leaves one of the two.
  if (::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail(ErrnoError(err, "replace " + dir + "/" + name));
  }
  return FsyncDir(dir);
}

Result<Bytes> LocalBackend::Get(ObjectType t, const std::string& name, uint64_t offset,
                                uint64_t length) {
  return Read(t, name, offset, length, UINT64_MAX);
}

Result<Bytes> LocalBackend::GetAtMost(ObjectType t, const std::string& name, uint64_t limit) {
  return Read(t, name, 0, 0, limit);
}

Result<Bytes> LocalBackend::Read(ObjectType t, const std::string& name, uint64_t offset,
                                 uint64_t length, uint64_t limit) {
  std::string path = PathOf(t, name);
  KS_ASSIGN(std::shared_ptr<UniqueFd> fd, fds_.Open(path));
  if (length == 0) {
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return Fail(ErrnoError(errno, "stat " + path));
    if (uint64_t(st.st_size) < offset)
      return Fail(ErrorKind::kCorrupt, "object " + path + " is shorter than expected");
    // Before allocating: the size is whatever the file system says, which
    // a damaged inode or a sparse file can make anything.
    if (uint64_t(st.st_size) > limit) return Fail(TooLong(path, uint64_t(st.st_size), limit));
    length = uint64_t(st.st_size) - offset;
  }
  Bytes out(length);
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd->get(), out.data() + done, length - done, off_t(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoError(errno, "read " + path));
    }
    if (n == 0) return Fail(ErrorKind::kCorrupt, "object " + path + " is shorter than expected");
    done += size_t(n);
  }
  return out;
}

static int64_t MtimeNs(const struct stat& st) {
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

Result<ObjectInfo> LocalBackend::Stat(ObjectType t, const std::string& name) {
  struct stat st;
  std::string path = PathOf(t, name);
  if (::stat(path.c_str(), &st) != 0) return Fail(ErrnoError(errno, "stat " + path));
  return ObjectInfo{name, uint64_t(st.st_size), MtimeNs(st)};
}

static Status ListDir(const std::string& dir, std::vector<ObjectInfo>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return Ok();
    return Fail(ErrnoError(errno, "list " + dir));
  }
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n[0] == '.') continue;  // ".", "..", temp files
    struct stat st;
    if (::fstatat(dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    out.push_back({n, uint64_t(st.st_size), MtimeNs(st)});
  }
  ::closedir(d);
  return Ok();
}

Result<std::vector<ObjectInfo>> LocalBackend::List(ObjectType t) {
  std::vector<ObjectInfo> out;
  if (t == ObjectType::kConfig) {
    std::vector<ObjectInfo> all;
    KS_TRY(ListDir(root_, all));
    for (auto& o : all)
      if (o.name.rfind("config", 0) == 0) out.push_back(std::move(o));
    return out;
  }
  std::string base = root_ + "/" + ObjectTypeDir(t);
  if (t != ObjectType::kPack) {
    KS_TRY(ListDir(base, out));
    return out;
  }
  for (int i = 0; i < 256; i++) KS_TRY(ListDir(base + "/" + HexEncode(Bytes{uint8_t(i)}), out));
  return out;
}

Status LocalBackend::Remove(ObjectType t, const std::string& name) {
  std::string path = PathOf(t, name);
  fds_.Forget(path);
  if (::unlink(path.c_str()) != 0) return Fail(ErrnoError(errno, "remove " + path));
  return FsyncDir(DirOf(t, name));
}

}  // namespace ks
