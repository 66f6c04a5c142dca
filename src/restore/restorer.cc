#include "restore/restorer.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <atomic>
#include <cerrno>
#include <map>
#include <thread>

#include <algorithm>

#include "format/tree.h"
#include "fs/restore_target.h"
#include "util/queue.h"

namespace ks {
namespace {

using SharedFd = std::shared_ptr<UniqueFd>;

struct OpenFile {
  SharedFd dir;  // kept open until metadata is applied
  UniqueFd fd;
  Node node;
  std::string path;
  std::atomic<size_t> remaining{0};
  std::atomic<bool> failed{false};
  // Writes into one file take the kernel's inode lock one at a time (on
  // ext4, XFS and tmpfs alike), and a writer that finds it taken spins on
  // the CPU while the other copies: workers decrypt and decompress chunks
  // of one file in parallel but queue here, asleep, to write them.
  std::mutex write_mu;
  // Other names of the same inode, linked while its data is still being
  // written; removed too if it fails (they would show its holes).
  struct Link {
    SharedFd dir;
    std::string name, path;
  };
  std::mutex mu;
  bool done = false;
  std::vector<Link> links;
};

struct HardLinkOrigin {
  std::string rel;
  std::shared_ptr<OpenFile> file;  // null if it could not even be created
};

struct WriteJob {
  std::shared_ptr<OpenFile> file;
  uint64_t offset;
  IndexEntry entry;
};

bool AllZero(const Bytes& b) {
  for (uint8_t c : b)
    if (c) return false;
  return true;
}

bool HasGlob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

class Restorer {
 public:
  Restorer(Repository& repo, const RestoreSpec& o, RestoreTarget& t)
      : repo_(repo), o_(o), target_(t), jobs_(64) {}

  Result<RestoreResult> Run(const Id& snapshot);

 private:
  enum class Inclusion { kNo, kAncestor, kYes };
  Inclusion Included(const std::string& path) const;
  void Error(const std::string& path, const ks::Error& e) {
    errors_++;
    if (o_.on_error) o_.on_error(path, e);
  }
  void WalkDir(const Id& tree, const SharedFd& dir, const std::string& rel, bool all);
  void RestoreFile(const SharedFd& dir, const Node& n, const std::string& rel);
  void FinishFile(const std::shared_ptr<OpenFile>& f);
  void WorkerLoop();

  Repository& repo_;
  const RestoreSpec& o_;
  RestoreTarget& target_;
  BoundedQueue<WriteJob> jobs_;
  std::map<std::pair<uint64_t, uint64_t>, HardLinkOrigin> hardlinks_;  // by (dev, ino)
  std::vector<std::pair<std::string, Node>> dir_meta_;  // (parent rel path, node)
  bool SameContent(int dir_fd, const Node& n, const std::vector<IndexEntry>& entries);
  bool UnderBackedUpPath(const std::string& path) const {
    for (const auto& p : roots_)
      if (path == p || path.rfind(p + "/", 0) == 0) return true;
    return false;
  }
  std::vector<std::string> roots_;  // the snapshot's backed-up paths
  void DeleteExtra(int dir_fd, const std::string& rel, const std::vector<Node>& nodes);
  std::atomic<uint64_t> errors_{0}, files_{0}, dirs_{0}, bytes_{0}, unchanged_{0}, deleted_{0};
};

Restorer::Inclusion Restorer::Included(const std::string& path) const {
  if (o_.includes.empty()) return Inclusion::kYes;
  Inclusion best = Inclusion::kNo;
  for (const auto& inc : o_.includes) {
    if (HasGlob(inc)) {
      if (fnmatch(inc.c_str(), path.c_str(), 0) == 0) return Inclusion::kYes;
      // A directory may hold matches deeper down.
      best = Inclusion::kAncestor;
      continue;
    }
    std::string p = inc.size() > 1 && inc.back() == '/' ? inc.substr(0, inc.size() - 1) : inc;
    if (path == p || path.rfind(p + "/", 0) == 0) return Inclusion::kYes;
    if (p.rfind(path + "/", 0) == 0) best = Inclusion::kAncestor;
  }
  return best;
}

void Restorer::FinishFile(const std::shared_ptr<OpenFile>& f) {
  std::lock_guard l(f->mu);
  f->done = true;
  if (f->failed) {
    f->fd.Reset();
    // Never leave a file that looks restored but holds holes where data was
    // lost: remove it (the error names it), and every other name of it.
    ::unlinkat(f->dir->get(), f->node.name.c_str(), 0);
    for (const auto& link : f->links) {
      ::unlinkat(link.dir->get(), link.name.c_str(), 0);
      files_--;
      Error(link.path, ks::Error(ErrorKind::kCorrupt,
                                 "removed: a hard link to " + f->path + ", which could not be restored"));
    }
    return;
  }
  // Through the descriptor the data went through: the file just written,
  // whatever has happened to its name meanwhile.
  auto s = target_.ApplyFileMetadata(f->fd.get(), f->node);
  f->fd.Reset();
  if (!s) Error(f->path, s.error());
  files_++;
  if (o_.progress) o_.progress->files_done++;
}

void Restorer::WorkerLoop() {
  while (auto job = jobs_.Pop()) {
    auto& f = job->file;
    if (!f->failed) {
      auto data = repo_.LoadBlobAt(job->entry);
      if (!data) {
        f->failed = true;
        Error(f->path, data.error());
      } else if (!AllZero(*data)) {
        std::lock_guard w(f->write_mu);
        size_t done = 0;
        while (done < data->size()) {
          ssize_t n = ::pwrite(f->fd.get(), data->data() + done, data->size() - done,
                               off_t(job->offset + done));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            f->failed = true;
            Error(f->path, ErrnoError(n < 0 ? errno : EIO, "write " + f->path));
            break;
          }
          done += size_t(n);
        }
      }
      if (data) {
        bytes_ += data->size();
        if (o_.progress) o_.progress->bytes_done += data->size();
      }
    }
    if (--f->remaining == 0) FinishFile(f);
  }
}

void Restorer::RestoreFile(const SharedFd& dir, const Node& n, const std::string& rel) {
  std::string path = "/" + rel;
  if (n.links > 1) {
    auto key = std::make_pair(n.device, n.inode);
    auto it = hardlinks_.find(key);
    if (it != hardlinks_.end()) {
      const auto& origin = it->second;
      if (!origin.file) {
        Error(path, ks::Error(ErrorKind::kCorrupt, "not restored: a hard link to /" + origin.rel +
                                                       ", which could not be restored"));
        return;
      }
      std::lock_guard l(origin.file->mu);
      if (origin.file->done && origin.file->failed) {
        Error(path, ks::Error(ErrorKind::kCorrupt, "not restored: a hard link to " +
                                                       origin.file->path + ", which could not be restored"));
        return;
      }
      if (auto s = target_.HardLink(origin.rel, dir->get(), n.name); !s) {
        Error(path, s.error());
        return;
      }
      files_++;
      if (!origin.file->done) origin.file->links.push_back({dir, n.name, path});
      return;
    }
    hardlinks_[key] = HardLinkOrigin{rel, nullptr};
  }
  // Look up every chunk first: offsets follow from the sizes.
  std::vector<IndexEntry> entries;
  entries.reserve(n.content.size());
  uint64_t size = 0;
  for (const Id& id : n.content) {
    auto e = repo_.index().Lookup(id);
    if (!e || !*e) {
      Error(path, e ? ks::Error(ErrorKind::kNotFound, "data blob " + id.Short() +
                                    " is missing from the repository; this file is incomplete")
                    : e.error());
      entries.clear();
      size = UINT64_MAX;
      break;
    }
    entries.push_back(**e);
    size += (*e)->blob.raw_length;
  }
  if (o_.skip_unchanged && n.links <= 1 && size == n.size && SameContent(dir->get(), n, entries)) {
    // Already right: only the metadata may differ.
    if (auto s = target_.ApplyMetadata(dir->get(), n); !s) Error(path, s.error());
    unchanged_++;
    files_++;
    if (o_.progress) {
      o_.progress->files_done++;
      o_.progress->bytes_done += n.size;
    }
    return;
  }
  auto f = std::make_shared<OpenFile>();
  f->dir = dir;
  f->node = n;
  f->path = path;
  if (size == UINT64_MAX) f->failed = true;
  else if (size != n.size) {
    Error(path, ks::Error(ErrorKind::kCorrupt, "stored chunks do not add up to the file's size"));
    f->failed = true;
  }
  auto fd = target_.CreateFile(dir->get(), n);
  if (!fd) {
    Error(path, fd.error());
    return;
  }
  f->fd = std::move(*fd);
  if (n.links > 1) hardlinks_[std::make_pair(n.device, n.inode)].file = f;
  if (f->failed || entries.empty()) {
    f->remaining = 1;
    if (--f->remaining == 0) FinishFile(f);
    return;
  }
  f->remaining = entries.size();
  uint64_t off = 0;
  for (const auto& e : entries) {
    jobs_.Push(WriteJob{f, off, e});
    off += e.blob.raw_length;
  }
}

// True if `n.name` in dir_fd is a regular file (not a symlink) whose bytes
// hash chunk by chunk to the snapshot's blob ids.
bool Restorer::SameContent(int dir_fd, const Node& n, const std::vector<IndexEntry>& entries) {
  UniqueFd fd(::openat(dir_fd, n.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || uint64_t(st.st_size) != n.size)
    return false;
  Bytes buf;
  uint64_t off = 0;
  for (const auto& e : entries) {
    buf.resize(e.blob.raw_length);
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t r = ::pread(fd.get(), buf.data() + done, buf.size() - done, off_t(off + done));
      if (r <= 0) return false;
      done += size_t(r);
    }
    if (repo_.keys().BlobId(buf) != e.blob.id) return false;
    off += e.blob.raw_length;
  }
  return true;
}

// Removes `name` in dir_fd, recursively, never following a symlink.
static bool RemoveEntry(int dir_fd, const std::string& name) {
  if (::unlinkat(dir_fd, name.c_str(), 0) == 0) return true;
  if (errno != EISDIR && errno != EPERM) return false;
  UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub.valid()) return false;
  DIR* d = ::fdopendir(::dup(sub.get()));
  if (!d) return false;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
  ::closedir(d);
  for (const auto& c : names) RemoveEntry(sub.get(), c);
  return ::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) == 0;
}

void Restorer::DeleteExtra(int dir_fd, const std::string& rel, const std::vector<Node>& nodes) {
  DIR* d = ::fdopendir(::dup(dir_fd));
  if (!d) return;
  std::vector<std::string> extra;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                               [](const Node& a, const std::string& b) { return a.name < b; });
    if (it == nodes.end() || it->name != name) extra.push_back(name);
  }
  ::closedir(d);
  for (const auto& name : extra) {
    std::string path = "/" + (rel.empty() ? name : rel + "/" + name);
    if (RemoveEntry(dir_fd, name)) deleted_++;
    else Error(path, ErrnoError(errno, "cannot remove extra entry " + path));
  }
}

void Restorer::WalkDir(const Id& tree_id, const SharedFd& dir, const std::string& rel, bool all) {
  if (size_t(std::count(rel.begin(), rel.end(), '/')) >= kMaxTreeDepth) {
    Error("/" + rel, ks::Error(ErrorKind::kCorrupt, "directories nested too deeply, skipped"));
    return;
  }
  auto tree = repo_.LoadTree(tree_id);
  if (!tree) {
    Error("/" + rel, tree.error().With("directory contents lost"));
    return;
  }
  for (const Node& n : *tree) {
    std::string crel = rel.empty() ? n.name : rel + "/" + n.name;
    std::string path = "/" + crel;
    Inclusion inc = all ? Inclusion::kYes : Included(path);
    if (inc == Inclusion::kNo) continue;
    if (inc == Inclusion::kAncestor && n.type != NodeType::kDir) continue;
    if (!RestoreTarget::IsSafeName(n.name)) {
      Error(path, ks::Error(ErrorKind::kCorrupt, "unsafe name in snapshot, skipped"));
      continue;
    }
    switch (n.type) {
      case NodeType::kDir: {
        auto sub = target_.MakeDir(dir->get(), n);
        if (!sub) {
          Error(path, sub.error());
          continue;
        }
        auto subfd = std::make_shared<UniqueFd>(std::move(*sub));
        WalkDir(n.subtree, subfd, crel, inc == Inclusion::kYes);
        dir_meta_.emplace_back(rel, n);
        dirs_++;
        break;
      }
      case NodeType::kFile:
        RestoreFile(dir, n, crel);
        break;
      default:
        if (auto s = target_.MakeOther(dir->get(), n); !s) {
          Error(path, s.error());
        } else if (auto m = target_.ApplyMetadata(dir->get(), n); !m) {
          Error(path, m.error());
        }
        break;
    }
  }
  // Only inside what was backed up: the directories above a backed-up path
  // (say /, /data) hold only the selected children in the snapshot, and the
  // rest of them was never part of it.
  if (o_.delete_extra && all && UnderBackedUpPath("/" + rel)) DeleteExtra(dir->get(), rel, *tree);
}

Result<RestoreResult> Restorer::Run(const Id& snapshot) {
  KS_ASSIGN(Snapshot snap, repo_.LoadSnapshot(snapshot));
  roots_ = snap.paths;
  if (o_.progress) {
    o_.progress->bytes_total = snap.summary.bytes_total;
    o_.progress->files_total = snap.summary.files_new + snap.summary.files_changed +
                               snap.summary.files_unmodified;
    o_.progress->total_final = true;
  }
  int n = o_.workers > 0 ? o_.workers : int(std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (int i = 0; i < std::max(2, n); i++) workers.emplace_back([this] { WorkerLoop(); });
  KS_ASSIGN(UniqueFd root, target_.OpenDirBeneath(""));
  WalkDir(snap.tree, std::make_shared<UniqueFd>(std::move(root)), "", false);
  jobs_.Close();
  for (auto& t : workers) t.join();
  // Deepest first: the reverse of the walk's order.
  for (auto it = dir_meta_.rbegin(); it != dir_meta_.rend(); ++it) {
    auto parent = target_.OpenDirBeneath(it->first);
    std::string path = "/" + (it->first.empty() ? "" : it->first + "/") + it->second.name;
    if (!parent) {
      Error(path, parent.error());
      continue;
    }
    if (auto s = target_.ApplyMetadata(parent->get(), it->second); !s) Error(path, s.error());
  }
  return RestoreResult{.files = files_, .dirs = dirs_, .bytes = bytes_, .unchanged = unchanged_,
                       .deleted = deleted_, .errors = errors_};
}

}  // namespace

Result<RestoreResult> RunRestore(Repository& repo, const Id& snapshot, const RestoreSpec& o) {
  RestoreOptions ro;
  KS_ASSIGN(auto target, RestoreTarget::Open(o.target, ro));
  Restorer r(repo, o, *target);
  return r.Run(snapshot);
}

}  // namespace ks
