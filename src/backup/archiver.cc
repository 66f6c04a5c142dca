#include "backup/archiver.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <thread>

#include "backup/blob_saver.h"
#include "backup/buffer_pool.h"
#include "detect/features.h"
#include "detect/verdict.h"
#include "format/tree.h"
#include "prune/marks.h"
#include "fs/metadata.h"
#include "fs/quote.h"
#include "fs/unique_fd.h"
#include "util/queue.h"

namespace ks {
namespace {

// One directory being built. Alive until its tree blob is stored.
struct DirCtx {
  std::shared_ptr<DirCtx> parent;
  std::optional<Node> node;  // none for the snapshot's root
  std::mutex mu;
  std::vector<Node> children;
  // Children not finished yet, plus one while the scanner is still listing.
  std::atomic<int64_t> pending{1};
};

struct FileCtx {
  std::shared_ptr<DirCtx> dir;
  Node node;
  std::string path;
  bool had_parent = false;
  std::optional<Node> before;  // the parent snapshot's version, for detection
  std::mutex mu;
  std::vector<Id> ids;
  size_t done = 0;
  bool eof = false;
  bool failed = false;
};

struct ChunkJob {
  std::shared_ptr<FileCtx> file;
  size_t index;
  PoolBytes data;
};

// A directory waiting for a scanner, with the parent snapshot's version of
// it (loaded by the scanner that takes it, so loading is spread too).
struct ScanTask {
  std::shared_ptr<DirCtx> dir;
  std::string path;
  std::optional<Id> parent_tree;
};

// The selection of given paths as a tree of path components.
struct PathTrie {
  bool selected = false;
  std::map<std::string, PathTrie> children;
};

std::string Absolute(const std::string& p) {
  std::string abs = p;
  if (abs.empty() || abs[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) abs = std::string(cwd) + "/" + abs;
  }
  // Lexical clean-up: "a//b", "a/./b", "a/b/.." (the last component is never
  // resolved as a symlink: backing up a link stores the link).
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < abs.size()) {
    size_t j = abs.find('/', i);
    if (j == std::string::npos) j = abs.size();
    std::string c = abs.substr(i, j - i);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& c : parts) out += "/" + c;
  return out.empty() ? "/" : out;
}

// User plus system CPU time of the whole process so far.
double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

const Node* FindNode(const std::vector<Node>* nodes, const std::string& name) {
  if (!nodes) return nullptr;
  auto it = std::lower_bound(nodes->begin(), nodes->end(), name,
                             [](const Node& n, const std::string& x) { return n.name < x; });
  return it != nodes->end() && it->name == name ? &*it : nullptr;
}

class Archiver {
 public:
  Archiver(Repository& repo, const Clock& clock, const BackupOptions& o)
      : repo_(repo), clock_(clock), opts_(o),
        timing_(o.measure_stages ? &stages_ : nullptr), saver_(repo, timing_),
        files_(64), chunks_(size_t(Workers()) + 1),
        bufs_(6, size_t(6) << 20) {}

  Result<BackupResult> Run();

 private:
  int Workers() const {
    int n = opts_.workers > 0 ? opts_.workers : int(std::thread::hardware_concurrency());
    return std::max(1, n);
  }
  bool Failed() {
    std::lock_guard l(fatal_mu_);
    return fatal_.has_value();
  }
  void SetFatal(const Error& e) {
    {
      std::lock_guard l(fatal_mu_);
      if (!fatal_) fatal_ = e;
    }
    files_.Close();
    chunks_.Close();
  }
  void ReportError(const std::string& path, const Error& e) {
    failed_++;
    if (opts_.progress) opts_.progress->errors++;
    if (opts_.on_error) opts_.on_error(path, e);
  }

  void ScanSelection(const std::shared_ptr<DirCtx>& dir, const std::string& path,
                     const PathTrie& trie, const std::vector<Node>* parent_nodes);
  void ScanDir(const std::shared_ptr<DirCtx>& dir, const std::string& path,
               const std::vector<Node>* parent_nodes);
  // `pn`: the entry of the same name in the parent snapshot's tree, if any.
  void ScanEntry(const std::shared_ptr<DirCtx>& dir, const std::string& full, Node meta,
                 const Node* pn);
  std::optional<std::vector<Node>> ParentTree(const Node* parent_node);
  // Directories are scanned on every core: a backup with little to read
  // (nothing changed) is all scanning, lstat and comparing with the parent.
  void EnqueueScan(ScanTask task);
  void ScanLoop();

  void ReaderLoop();
  void ReadFile(const std::shared_ptr<FileCtx>& f);
  void WorkerLoop();
  void FileFinished(const std::shared_ptr<FileCtx>& f);
  void ChildDone(const std::shared_ptr<DirCtx>& dir, std::optional<Node> child);

  Repository& repo_;
  const Clock& clock_;
  const BackupOptions& opts_;
  StageTimes stages_;  // before saver_, which records into it
  // &stages_, or null when nobody will read the report: the thread CPU
  // clock is a system call, about 3 % of a first backup's CPU time.
  StageTimes* timing_;
  BlobSaver saver_;
  BoundedQueue<std::shared_ptr<FileCtx>> files_;
  // One chunk waiting per worker plus one: the workers never starve, and
  // chunks (1 MiB on average, up to 8 MiB) do not pile up.
  BoundedQueue<ChunkJob> chunks_;
  // Readers' windows and chunk buffers, reused. Buffers circulate (reader,
  // queue, worker, back), so only a few wait here at any time.
  BufferPool bufs_;

  std::mutex scan_mu_;
  std::condition_variable scan_cv_;
  std::vector<ScanTask> scan_q_;  // taken from the back: depth first, few directories open
  int scans_running_ = 0;

  std::mutex fatal_mu_;
  std::optional<Error> fatal_;
  std::atomic<uint64_t> failed_{0}, files_new_{0}, files_changed_{0}, files_unmodified_{0},
      dirs_{0}, bytes_read_{0}, bytes_total_{0};
  std::mutex root_mu_;
  std::optional<Id> root_tree_;
  SnapshotJudge judge_;
};

std::optional<std::vector<Node>> Archiver::ParentTree(const Node* pn) {
  if (!pn || pn->type != NodeType::kDir) return std::nullopt;
  auto t = repo_.LoadTree(pn->subtree);
  if (!t) return std::nullopt;  // parent damaged: just read everything again
  return std::move(*t);
}

void Archiver::ChildDone(const std::shared_ptr<DirCtx>& dir, std::optional<Node> child) {
  if (child) {
    std::lock_guard l(dir->mu);
    dir->children.push_back(std::move(*child));
  }
  if (--dir->pending != 0) return;
  // Last child: this directory's tree is complete.
  std::sort(dir->children.begin(), dir->children.end(),
            [](const Node& a, const Node& b) { return a.name < b.name; });
  Bytes tree = EncodeTree(dir->children);
  Id id = repo_.keys().BlobId(tree);
  if (auto s = saver_.Save(BlobType::kTree, id, tree); !s) {
    SetFatal(s.error());
    return;
  }
  if (!dir->parent) {
    std::lock_guard l(root_mu_);
    root_tree_ = id;
    return;
  }
  Node n = std::move(*dir->node);
  n.subtree = id;
  dirs_++;
  auto parent = dir->parent;
  dir->children.clear();
  ChildDone(parent, std::move(n));
}

void Archiver::ScanEntry(const std::shared_ptr<DirCtx>& dir, const std::string& full, Node meta,
                         const Node* pn) {
  if (meta.type == NodeType::kDir) {
    auto child = std::make_shared<DirCtx>();
    child->parent = dir;
    child->node = std::move(meta);
    dir->pending++;
    std::optional<Id> ptree;
    if (!opts_.force_reread && pn && pn->type == NodeType::kDir) ptree = pn->subtree;
    EnqueueScan({std::move(child), full, ptree});
    return;
  }
  if (meta.type != NodeType::kFile) {
    dir->pending++;
    ChildDone(dir, std::move(meta));
    return;
  }
  bytes_total_ += meta.size;
  if (opts_.progress) {
    opts_.progress->files_total++;
    opts_.progress->bytes_total += meta.size;
  }
  dir->pending++;
  // Unchanged since the parent snapshot (same size, mtime, ctime, inode):
  // reuse its content list, once every blob is confirmed in the index.
  if (pn && !opts_.force_reread && pn->type == NodeType::kFile && pn->size == meta.size &&
      pn->mtime_ns == meta.mtime_ns && pn->ctime_ns == meta.ctime_ns &&
      pn->inode == meta.inode) {
    bool all_present = true;
    for (const Id& id : pn->content) {
      auto e = repo_.index().LookupForDedup(id);
      if (!e || !*e) {
        all_present = false;
        break;
      }
    }
    if (all_present) {
      meta.content = pn->content;
      meta.features = pn->features;
      judge_.File(full, pn, meta);
      files_unmodified_++;
      if (opts_.progress) {
        opts_.progress->files_done++;
        opts_.progress->bytes_done += meta.size;
      }
      ChildDone(dir, std::move(meta));
      return;
    }
  }
  auto f = std::make_shared<FileCtx>();
  f->dir = dir;
  f->node = std::move(meta);
  f->path = full;
  f->had_parent = pn != nullptr;
  if (pn) f->before = *pn;
  if (!files_.Push(std::move(f))) dir->pending--;  // shutting down after a fatal error
}

void Archiver::ScanDir(const std::shared_ptr<DirCtx>& dir, const std::string& path,
                       const std::vector<Node>* parent_nodes) {
  // Opened once: listed, then its entries looked up relative to it (not
  // by full path).
  UniqueFd dfd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid()) {
    ReportError(path, ErrnoError(errno, "cannot open directory " + QuoteName(path)));
    return;
  }
  auto names = ListDirectoryAt(dfd.get(), path);
  if (!names) {
    ReportError(path, names.error());
    return;
  }
  // The entries that belong in the snapshot, excludes applied once.
  std::vector<std::string> kept;
  kept.reserve(names->size());
  for (const auto& name : *names)
    if (!IsExcluded(opts_.excludes, path == "/" ? "/" + name : path + "/" + name))
      kept.push_back(name);
  if (parent_nodes) judge_.Directory(path, *parent_nodes, kept);
  for (const auto& name : kept) {
    if (Failed()) return;
    std::string full = path == "/" ? "/" + name : path + "/" + name;
    auto meta = StatNodeAt(dfd.get(), name, full);
    if (!meta) {
      ReportError(full, meta.error());
      continue;
    }
    // An entry in the same state as in the parent snapshot has the same
    // xattrs and symlink target (fs/metadata.h): only the rest are read.
    const Node* pn = FindNode(parent_nodes, name);
    if (pn && !opts_.force_reread && SameInodeState(*pn, *meta)) {
      meta->link_target = pn->link_target;
      meta->xattrs = pn->xattrs;
    } else if (auto st = ReadNodeDetails(full, *meta); !st) {
      ReportError(full, st.error());
      continue;
    }
    ScanEntry(dir, full, std::move(*meta), pn);
  }
}

void Archiver::EnqueueScan(ScanTask task) {
  {
    std::lock_guard l(scan_mu_);
    scan_q_.push_back(std::move(task));
  }
  scan_cv_.notify_one();
}

void Archiver::ScanLoop() {
  StageTimer timer(timing_, Stage::kScan);
  std::unique_lock l(scan_mu_);
  for (;;) {
    scan_cv_.wait(l, [&] { return !scan_q_.empty() || scans_running_ == 0; });
    if (scan_q_.empty()) return;  // nothing queued and nobody left to queue more
    ScanTask task = std::move(scan_q_.back());
    scan_q_.pop_back();
    scans_running_++;
    l.unlock();
    if (!Failed()) {
      std::optional<std::vector<Node>> ptree;
      if (task.parent_tree)
        if (auto t = repo_.LoadTree(*task.parent_tree)) ptree = std::move(*t);  // damaged: read all again
      ScanDir(task.dir, task.path, ptree ? &*ptree : nullptr);
      ChildDone(task.dir, std::nullopt);  // the scanner's own hold on the directory
    }
    task = {};
    l.lock();
    if (--scans_running_ == 0 && scan_q_.empty()) scan_cv_.notify_all();
  }
}

void Archiver::ScanSelection(const std::shared_ptr<DirCtx>& dir, const std::string& path,
                             const PathTrie& trie, const std::vector<Node>* parent_nodes) {
  for (const auto& [name, sub] : trie.children) {
    if (Failed()) return;
    std::string full = path == "/" ? "/" + name : path + "/" + name;
    auto meta = ReadNodeMetadata(full, name);
    if (!meta) {
      ReportError(full, meta.error());
      continue;
    }
    if (sub.selected || meta->type != NodeType::kDir) {
      ScanEntry(dir, full, std::move(*meta), FindNode(parent_nodes, name));
      continue;
    }
    // An intermediate directory: only the selected children go in.
    auto child = std::make_shared<DirCtx>();
    child->parent = dir;
    child->node = std::move(*meta);
    dir->pending++;
    auto ptree = ParentTree(FindNode(parent_nodes, name));
    ScanSelection(child, full, sub, ptree ? &*ptree : nullptr);
    ChildDone(child, std::nullopt);
  }
}

void Archiver::ReadFile(const std::shared_ptr<FileCtx>& f) {
  UniqueFd fd(::open(f->path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME));
  if (!fd.valid() && errno == EPERM)  // O_NOATIME needs ownership
    fd = UniqueFd(::open(f->path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  auto fail = [&](int err) {
    ReportError(f->path, ErrnoError(err, "read " + f->path));
    std::lock_guard l(f->mu);
    f->failed = true;
  };
  const Chunker& chunker = repo_.chunker();
  const size_t min = chunker.params().min_size, max = chunker.params().max_size;
  // Each chunk is read straight into the buffer that goes to a worker with
  // it: first to just past the minimum chunk size, then a step at a time
  // until the chunker finds a cut (most cuts lie within 2 MiB: minimum
  // 512 KiB, average 1 MiB). Only the bytes read past a cut, less than a
  // step, are copied, into the next chunk's buffer; reading into a window
  // and copying each chunk out of it moved every byte twice more.
  constexpr size_t kStep = size_t(256) << 10;
  // Buffers are taken at the size most chunks end within, or what is left
  // of a smaller file (plus the read that sees its end); a longer chunk
  // grows its buffer.
  auto capacity_for = [&](uint64_t bytes) {
    return size_t(std::min<uint64_t>(std::min<size_t>(max, size_t(2) << 20), bytes + (64 << 10)));
  };
  uint64_t total = 0;
  // The chunk so far is buf[0, buf.size()); growing a PoolBytes does not
  // zero-fill it.
  PoolBytes buf = bufs_.Take(capacity_for(f->node.size));
  Chunker::Scan scan;
  bool scanned_all = false;  // the chunker has seen every byte in buf
  size_t index = 0;
  FeatureCollector features(f->node.name);
  bool eof = false;
  if (!fd.valid()) {
    fail(errno);
    eof = true;
  }
  while (true) {
    if (!eof && (buf.size() <= min || scanned_all)) {
      const size_t target = std::min(max, std::max(buf.size(), min) + kStep);
      while (!eof && buf.size() < target) {
        const size_t end = buf.size();
        size_t ask = std::min<size_t>(target - end, std::max<uint64_t>(f->node.size, 1 << 16));
        GrowPoolBytes(buf, end + ask);
        buf.resize(end + ask);
        ssize_t n;
        {
          StageTimer t(timing_, Stage::kRead);
          n = ::read(fd.get(), buf.data() + end, ask);
        }
        buf.resize(end + size_t(std::max<ssize_t>(n, 0)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          fail(errno);
          eof = true;
          break;
        }
        if (timing_) timing_->Add(Stage::kRead, 0, uint64_t(n));
        {
          StageTimer t(timing_, Stage::kDetect, uint64_t(n));
          features.Update(ByteSpan(buf.data() + end, size_t(n)));
        }
        if (n == 0) eof = true;
        total += uint64_t(n);
        bytes_read_ += uint64_t(n);
      }
    }
    if (buf.empty()) break;
    size_t cut;
    {
      StageTimer t(timing_, Stage::kChunk, 0);
      cut = chunker.NextCut(buf, eof, scan);
    }
    // At EOF the chunker always cuts a non-empty chunk; the guard only
    // keeps a broken promise from becoming an endless loop.
    if (cut == 0 && eof) cut = buf.size();
    scanned_all = cut == 0;
    if (cut == 0) continue;
    if (timing_) timing_->Add(Stage::kChunk, 0, cut);
    // The bytes after the cut start the next chunk.
    PoolBytes next;
    const size_t rest = buf.size() - cut;
    if (rest > 0 || !eof) {
      StageTimer t(timing_, Stage::kChunk);
      const uint64_t left = f->node.size > total ? f->node.size - total : 0;
      next = bufs_.Take(capacity_for(left + rest));
      next.resize(rest);
      if (rest) std::memcpy(next.data(), buf.data() + cut, rest);
    }
    buf.resize(cut);
    ChunkJob job{f, index++, std::move(buf)};
    buf = std::move(next);
    scan = {};
    {
      std::lock_guard l(f->mu);
      f->ids.emplace_back();
    }
    if (!chunks_.Push(std::move(job))) return;  // fatal error elsewhere
  }
  bufs_.Give(std::move(buf));
  bool finished;
  {
    std::lock_guard l(f->mu);
    f->eof = true;
    // The size is what was read: a file that grew or shrank while being read
    // is stored as read.
    f->node.size = total;
    f->node.features = features.Finish();
    finished = f->done == f->ids.size();
  }
  if (finished) FileFinished(f);
}

void Archiver::ReaderLoop() {
  while (auto f = files_.Pop()) ReadFile(*f);
}

void Archiver::FileFinished(const std::shared_ptr<FileCtx>& f) {
  if (f->failed) {
    ChildDone(f->dir, std::nullopt);
    return;
  }
  (f->had_parent ? files_changed_ : files_new_)++;
  if (opts_.progress) opts_.progress->files_done++;
  f->node.content = std::move(f->ids);
  judge_.File(f->path, f->before ? &*f->before : nullptr, f->node);
  ChildDone(f->dir, std::move(f->node));
}

void Archiver::WorkerLoop() {
  while (auto job = chunks_.Pop()) {
    Id id;
    {
      StageTimer t(timing_, Stage::kHash, job->data.size());
      id = repo_.keys().BlobId(job->data);
    }
    auto saved = saver_.Save(BlobType::kData, id, job->data);
    if (!saved) {
      SetFatal(saved.error());
      return;
    }
    if (opts_.progress) opts_.progress->bytes_done += job->data.size();
    bufs_.Give(std::move(job->data));
    auto& f = job->file;
    bool finished;
    {
      std::lock_guard l(f->mu);
      f->ids[job->index] = id;
      f->done++;
      finished = f->eof && f->done == f->ids.size();
    }
    if (finished) FileFinished(f);
  }
}

Result<BackupResult> Archiver::Run() {
  if (opts_.paths.empty()) return Fail(ErrorKind::kInvalidArgument, "no paths to back up");
  int64_t start = clock_.NowNs();
  const int64_t wall0 = MonotonicNs();
  const double cpu0 = ProcessCpuSeconds();
  Snapshot snap;
  snap.time_ns = opts_.time_ns.value_or(start);
  snap.hostname = opts_.hostname;
  snap.tags = opts_.tags;
  snap.excludes = opts_.excludes;
  snap.program_version = opts_.program_version;
  snap.uid = getuid();
  snap.gid = getgid();
  if (const passwd* pw = getpwuid(getuid())) snap.username = pw->pw_name;
  PathTrie trie;
  for (const auto& p : opts_.paths) {
    std::string abs = Absolute(p);
    snap.paths.push_back(abs);
    PathTrie* t = &trie;
    size_t i = 1;
    while (i < abs.size()) {
      size_t j = abs.find('/', i);
      if (j == std::string::npos) j = abs.size();
      t = &t->children[abs.substr(i, j - i)];
      i = j + 1;
    }
    t->selected = true;
  }
  std::sort(snap.paths.begin(), snap.paths.end());
  snap.paths.erase(std::unique(snap.paths.begin(), snap.paths.end()), snap.paths.end());
  if (trie.selected)
    return Fail(ErrorKind::kInvalidArgument, "backing up '/' itself is not supported; name its subdirectories");

  // The parent: given, or the latest snapshot of this host with these paths.
  std::optional<std::vector<Node>> parent_root;
  double parent_churn = -1;
  if (!opts_.force_reread) {
    std::optional<Id> parent = opts_.parent;
    if (!parent) {
      KS_ASSIGN(auto all, repo_.ListSnapshots());
      // A suspicious snapshot is never the parent: the next backup compares
      // with the last clean state again, so an attack keeps being reported
      // until the share is restored (or --parent says otherwise).
      for (auto it = all.rbegin(); it != all.rend(); ++it)
        if (it->second.hostname == snap.hostname && it->second.paths == snap.paths &&
            !(it->second.verdict && it->second.verdict->suspicious)) {
          parent = it->first;
          break;
        }
    }
    if (parent) {
      snap.parent = parent;
      if (auto ps = repo_.LoadSnapshot(*parent)) {
        if (auto t = repo_.LoadTree(ps->tree)) parent_root = std::move(*t);
        uint64_t seen = ps->summary.files_changed + ps->summary.files_unmodified;
        if (seen > 0) parent_churn = double(ps->summary.files_changed) / double(seen);
      }
    }
  }

  std::vector<std::thread> readers, workers;
  for (int i = 0; i < 2; i++) readers.emplace_back([this] { ReaderLoop(); });
  for (int i = 0; i < Workers(); i++) workers.emplace_back([this] { WorkerLoop(); });

  auto root = std::make_shared<DirCtx>();
  {
    StageTimer t(timing_, Stage::kScan);
    ScanSelection(root, "/", trie, parent_root ? &*parent_root : nullptr);
  }
  {
    std::vector<std::thread> scanners;
    for (int i = 1; i < Workers(); i++) scanners.emplace_back([this] { ScanLoop(); });
    ScanLoop();
    for (auto& t : scanners) t.join();
  }
  if (opts_.progress) opts_.progress->total_final = true;
  files_.Close();
  for (auto& t : readers) t.join();
  chunks_.Close();
  for (auto& t : workers) t.join();
  if (!Failed()) ChildDone(root, std::nullopt);  // the scanner's own hold on the root
  if (Failed()) {
    (void)saver_.Finish();
    std::lock_guard l(fatal_mu_);
    return Fail(fatal_->With("backup failed, no snapshot was written"));
  }
  // Packs and index tables first, the snapshot last (write ordering).
  if (auto s = saver_.Finish(); !s) return Fail(s.error().With("backup failed, no snapshot was written"));
  {
    std::lock_guard l(root_mu_);
    if (!root_tree_) return Fail(ErrorKind::kInternal, "backup finished without a root tree");
    snap.tree = *root_tree_;
  }
  auto& m = snap.summary;
  m.files_new = files_new_;
  m.files_changed = files_changed_;
  m.files_unmodified = files_unmodified_;
  m.dirs = dirs_;
  m.files_failed = failed_;
  m.bytes_read = bytes_read_;
  m.bytes_total = bytes_total_;
  m.bytes_added = saver_.bytes_added();
  m.blobs_added = saver_.blobs_added();
  m.duration_ns = clock_.NowNs() - start;
  StageReport stages = stages_.Report(Workers(), double(MonotonicNs() - wall0) / 1e9,
                                      ProcessCpuSeconds() - cpu0);
  snap.verdict = judge_.Finish(parent_churn);
  KS_ASSIGN(Id id, repo_.SaveSnapshot(snap));
  return BackupResult{id, std::move(snap), failed_, std::move(stages)};
}

}  // namespace

bool IsExcluded(const std::vector<std::string>& patterns, const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  for (const auto& p : patterns) {
    if (p.find('/') != std::string::npos) {
      if (fnmatch(p.c_str(), path.c_str(), 0) == 0) return true;
    } else if (fnmatch(p.c_str(), base.c_str(), 0) == 0) {
      return true;
    }
  }
  return false;
}

Result<BackupResult> RunBackup(Repository& repo, const Clock& clock, const BackupOptions& opts) {
  // After the caller's lock, before any lookup: packs a prune has marked
  // must not gain new references (docs/design.md, "Prune").
  KS_TRY(ExcludeMarkedPacks(repo));
  // Then forget tables a prune removed since this Repository loaded them:
  // a long-lived process must not deduplicate against a deleted pack
  // through a table (or a cached block of it) that is gone. Marks first:
  // a prune removes a mark only after the tables and packs it names.
  KS_TRY(repo.index().Refresh());
  Archiver a(repo, clock, opts);
  return a.Run();
}

}  // namespace ks
