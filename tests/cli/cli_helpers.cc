#include "cli_helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <stdexcept>

extern char** environ;

namespace kstest {
namespace {

[[noreturn]] void Die(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string ReadAllFd(int fd) {
  std::string out;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, size_t(n));
    off += n;
  }
  return out;
}

void SleepMs(int ms) {
  timespec ts{ms / 1000, long(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

// ---------------------------------------------------------------------------
// Running programs.

std::string RunResult::Describe() const {
  std::string s = timed_out ? "TIMED OUT, " : "";
  s += signal ? "signal " + std::to_string(signal) : "exit " + std::to_string(code);
  auto clip = [](const std::string& t) {
    return t.size() > 4000 ? t.substr(0, 2000) + "\n[...]\n" + t.substr(t.size() - 2000) : t;
  };
  s += "\n--- stdout ---\n" + clip(out) + "\n--- stderr ---\n" + clip(err);
  return s;
}

std::unique_ptr<Process> Process::Start(const std::vector<std::string>& argv,
                                        const RunOptions& o) {
  if (argv.empty()) throw std::invalid_argument("empty argv");
  // Everything the child needs is prepared before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; e++) {
    std::string kv = *e;
    if (kv.rfind("KINTSUGI_", 0) == 0) continue;
    bool overridden = false;
    for (const auto& [k, v] : o.env)
      if (kv.rfind(k + "=", 0) == 0) overridden = true;
    if (!overridden) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : o.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  std::unique_ptr<Process> p(new Process());
  p->timeout_seconds_ = o.timeout_seconds;
  p->out_fd_ = memfd_create("ks-stdout", MFD_CLOEXEC);
  p->err_fd_ = memfd_create("ks-stderr", MFD_CLOEXEC);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (p->out_fd_ < 0 || p->err_fd_ < 0 || null_fd < 0) Die("memfd_create/open");
  const char* cwd = o.cwd.empty() ? nullptr : o.cwd.c_str();
  const bool set_ids = o.uid.has_value() || o.gid.has_value();
  const uid_t uid = o.uid.value_or(getuid());
  const gid_t gid = o.gid.value_or(getgid());

  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    if (dup2(null_fd, 0) < 0 || dup2(p->out_fd_, 1) < 0 || dup2(p->err_fd_, 2) < 0) _exit(126);
    close_range(3, ~0U, 0);
    if (cwd && chdir(cwd) != 0) _exit(126);
    if (set_ids) {
      if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
          setresuid(uid, uid, uid) != 0)
        _exit(126);
    }
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(null_fd);
  p->pid_ = pid;
  return p;
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    int st;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !reaped_) kill(pid_, sig);
}

bool Process::Running() const {
  if (pid_ <= 0 || reaped_) return false;
  siginfo_t info{};
  if (waitid(P_PID, id_t(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

RunResult Process::Wait() {
  RunResult r;
  if (reaped_) throw std::logic_error("Process::Wait called twice");
  const int64_t deadline = NowMs() + int64_t(timeout_seconds_) * 1000;
  int status = 0;
  int sleep_ms = 1;
  for (;;) {
    pid_t w = waitpid(pid_, &status, WNOHANG);
    if (w == pid_) break;
    if (w < 0 && errno != EINTR) Die("waitpid");
    if (!r.timed_out && NowMs() > deadline) {
      r.timed_out = true;
      kill(pid_, SIGKILL);
    }
    SleepMs(sleep_ms);
    sleep_ms = std::min(sleep_ms * 2, 20);
  }
  reaped_ = true;
  if (WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  r.out = ReadAllFd(out_fd_);
  r.err = ReadAllFd(err_fd_);
  return r;
}

RunResult Run(const std::vector<std::string>& argv, const RunOptions& o) {
  return Process::Start(argv, o)->Wait();
}

DirWatcher::DirWatcher(const std::vector<std::string>& dirs) {
  fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0) Die("inotify_init1");
  for (const auto& d : dirs)
    if (inotify_add_watch(fd_, d.c_str(), IN_CREATE | IN_MOVED_TO) < 0) Die("inotify_add_watch " + d);
}

DirWatcher::~DirWatcher() {
  if (fd_ >= 0) close(fd_);
}

std::string DirWatcher::WaitForNewName(const Process& p, int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  alignas(inotify_event) char buf[64 * 1024];
  while (NowMs() < deadline) {
    pollfd pfd{fd_, POLLIN, 0};
    int rc = poll(&pfd, 1, 20);
    if (rc > 0) {
      ssize_t n = read(fd_, buf, sizeof buf);
      for (ssize_t i = 0; n > 0 && i < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + i);
        i += ssize_t(sizeof(inotify_event) + ev->len);
        if (ev->len > 0 && ev->name[0] != '.') return ev->name;
      }
      continue;
    }
    if (!p.Running()) return "";
  }
  return "";
}

std::string KsBinary() { return KS_BINARY; }
std::string GenBinary() { return KS_GEN_BINARY; }

RunResult Ks(const std::vector<std::string>& args, const RunOptions& o) {
  std::vector<std::string> argv{KsBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, o);
}

RunResult Gen(const std::vector<std::string>& args, const RunOptions& o) {
  std::vector<std::string> argv{GenBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, o);
}

std::vector<std::string> TestRepo::Args(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{KsBinary(), "-r", path_, "--password-file", password_file_};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

RunResult TestRepo::Init(const RunOptions& o) const {
  return Run({"init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"}, o);
}

RunResult TestRepo::Run(const std::vector<std::string>& args, const RunOptions& o) const {
  return kstest::Run(Args(args), o);
}

std::unique_ptr<Process> TestRepo::Start(const std::vector<std::string>& args,
                                         const RunOptions& o) const {
  return Process::Start(Args(args), o);
}

// ---------------------------------------------------------------------------
// Files and directories.

bool IsRoot() { return geteuid() == 0; }

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/ks-cli-XXXXXX";
  if (!mkdtemp(tmpl.data())) Die("mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  try {
    RemoveTree(path_);
  } catch (...) {
  }
}

std::string TempDir::Mkdir(const std::string& rel) const {
  std::string p = path_;
  size_t i = 0;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    p += "/" + rel.substr(i, j - i);
    if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) Die("mkdir " + p);
    i = j + 1;
  }
  return p;
}

static void MakeAccessible(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  chmod(path.c_str(), 0700);
  DIR* d = opendir(path.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  for (const auto& n : names) MakeAccessible(path + "/" + n);
}

static void RemoveRecursive(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR* d = opendir(path.c_str());
    if (d) {
      std::vector<std::string> names;
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      closedir(d);
      for (const auto& n : names) RemoveRecursive(path + "/" + n);
    }
    rmdir(path.c_str());
  } else {
    unlink(path.c_str());
  }
}

void RemoveTree(const std::string& path) {
  if (path.empty() || path == "/") return;
  MakeAccessible(path);
  RemoveRecursive(path);
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) Die("create " + Escape(path));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      Die("write " + Escape(path));
    }
    done += size_t(n);
  }
  close(fd);
}

std::string ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("open " + Escape(path));
  std::string out = ReadAllFd(fd);
  close(fd);
  return out;
}

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = opendir(path.c_str());
  if (!d) Die("opendir " + Escape(path));
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

void CopyTree(const std::string& from, const std::string& to) {
  RunResult r = Run({"/bin/cp", "-a", "--", from, to});
  if (r.code != 0) throw std::runtime_error("cp -a failed: " + r.Describe());
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('\n', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out;
}

std::string RandomBytes(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  if (i < n) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, n - i);
  }
  return out;
}

std::string Hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

// ---------------------------------------------------------------------------
// Manifests.

namespace {

char TypeChar(mode_t m) {
  if (S_ISREG(m)) return 'f';
  if (S_ISDIR(m)) return 'd';
  if (S_ISLNK(m)) return 'l';
  if (S_ISFIFO(m)) return 'p';
  if (S_ISSOCK(m)) return 's';
  if (S_ISCHR(m)) return 'c';
  if (S_ISBLK(m)) return 'b';
  return '?';
}

// Hash of the file's bytes; holes are hashed as zeros without reading them.
std::string HashContent(const std::string& path, uint64_t size) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::string("<unreadable: ") + std::strerror(errno) + ">";
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  static const std::string zeros(1 << 20, '\0');
  std::string buf(1 << 20, '\0');
  uint64_t pos = 0;
  std::string error;
  auto feed_zeros = [&](uint64_t n) {
    while (n > 0) {
      size_t k = size_t(std::min<uint64_t>(n, zeros.size()));
      XXH3_128bits_update(st, zeros.data(), k);
      n -= k;
    }
  };
  while (pos < size && error.empty()) {
    off_t data = lseek(fd, off_t(pos), SEEK_DATA);
    uint64_t data_start = data < 0 ? size : std::min<uint64_t>(uint64_t(data), size);
    feed_zeros(data_start - pos);
    pos = data_start;
    if (pos >= size) break;
    off_t hole = lseek(fd, off_t(pos), SEEK_HOLE);
    uint64_t data_end = hole < 0 ? size : std::min<uint64_t>(uint64_t(hole), size);
    if (data_end <= pos) data_end = size;
    while (pos < data_end) {
      size_t want = size_t(std::min<uint64_t>(data_end - pos, buf.size()));
      ssize_t n = pread(fd, buf.data(), want, off_t(pos));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = std::string("<read error: ") + std::strerror(errno) + ">";
        break;
      }
      if (n == 0) {  // shrank meanwhile
        error = "<short read>";
        break;
      }
      XXH3_128bits_update(st, buf.data(), size_t(n));
      pos += uint64_t(n);
    }
  }
  // Bytes beyond the size seen by lstat would be a change of the file.
  char extra;
  if (error.empty() && pread(fd, &extra, 1, off_t(size)) > 0) error = "<grew while read>";
  XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  close(fd);
  if (!error.empty()) return error;
  return Hex64(h.high64) + Hex64(h.low64);
}

std::map<std::string, std::string> ReadXattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  ssize_t n = llistxattr(path.c_str(), nullptr, 0);
  if (n <= 0) return out;
  std::string names(size_t(n), '\0');
  n = llistxattr(path.c_str(), names.data(), names.size());
  if (n < 0) return out;
  names.resize(size_t(n));
  size_t i = 0;
  while (i < names.size()) {
    size_t j = names.find('\0', i);
    if (j == std::string::npos) j = names.size();
    std::string name = names.substr(i, j - i);
    i = j + 1;
    if (name.empty()) continue;
    ssize_t vn = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vn < 0) {
      out[name] = std::string("<unreadable: ") + std::strerror(errno) + ">";
      continue;
    }
    std::string value(size_t(vn) + 1, '\0');
    vn = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (vn < 0) {
      out[name] = std::string("<unreadable: ") + std::strerror(errno) + ">";
      continue;
    }
    value.resize(size_t(vn));
    out[name] = value;
  }
  return out;
}

struct Scanner {
  Manifest m;
  std::map<std::pair<dev_t, ino_t>, std::vector<std::string>> inodes;

  void Visit(const std::string& full, const std::string& rel) {
    struct stat st;
    if (lstat(full.c_str(), &st) != 0) Die("lstat " + Escape(full));
    EntryInfo e;
    e.type = TypeChar(st.st_mode);
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    e.allocated = uint64_t(st.st_blocks) * 512;
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) e.rdev = st.st_rdev;
    e.xattrs = ReadXattrs(full);
    if (S_ISREG(st.st_mode)) {
      e.size = uint64_t(st.st_size);
      e.content = HashContent(full, e.size);
      if (st.st_nlink > 1) inodes[{st.st_dev, st.st_ino}].push_back(rel);
    } else if (S_ISLNK(st.st_mode)) {
      std::string t(size_t(st.st_size) + 4096, '\0');
      ssize_t n = readlink(full.c_str(), t.data(), t.size());
      if (n < 0) Die("readlink " + Escape(full));
      t.resize(size_t(n));
      e.link_target = t;
    }
    m[rel] = e;
    if (S_ISDIR(st.st_mode)) {
      for (const auto& name : ListDir(full))
        Visit(full + "/" + name, rel.empty() ? name : rel + "/" + name);
    }
  }
};

std::string DescribeEntry(const EntryInfo& e) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "type %c mode %04o size %llu", e.type, e.mode,
                (unsigned long long)e.size);
  return buf;
}

}  // namespace

Manifest ScanTree(const std::string& root) {
  Scanner s;
  s.Visit(root, "");
  for (auto& [ino, paths] : s.inodes) {
    if (paths.size() < 2) continue;
    std::string first = *std::min_element(paths.begin(), paths.end());
    for (const auto& p : paths) s.m[p].link_group = first;
  }
  return std::move(s.m);
}

std::vector<std::string> DiffManifests(const Manifest& want, const Manifest& got,
                                       const CompareOptions& o) {
  std::vector<std::string> d;
  auto name = [](const std::string& rel) { return rel.empty() ? "<root>" : Escape(rel); };
  for (const auto& [rel, w] : want) {
    auto it = got.find(rel);
    if (it == got.end()) {
      d.push_back("missing: " + name(rel) + " (" + DescribeEntry(w) + ")");
      continue;
    }
    const EntryInfo& g = it->second;
    const std::string n = name(rel);
    if (w.type != g.type) {
      d.push_back(n + ": type " + w.type + " != " + g.type);
      continue;
    }
    const bool meta = o.root_metadata || !rel.empty();
    if (meta && w.mode != g.mode) {
      char buf[64];
      std::snprintf(buf, sizeof buf, ": mode %04o != %04o", w.mode, g.mode);
      d.push_back(n + buf);
    }
    if (meta && o.owners && (w.uid != g.uid || w.gid != g.gid))
      d.push_back(n + ": owner " + std::to_string(w.uid) + ":" + std::to_string(w.gid) +
                  " != " + std::to_string(g.uid) + ":" + std::to_string(g.gid));
    if (meta && o.mtimes && w.mtime_ns != g.mtime_ns)
      d.push_back(n + ": mtime_ns " + std::to_string(w.mtime_ns) + " != " +
                  std::to_string(g.mtime_ns));
    if (meta && o.xattrs && w.xattrs != g.xattrs) {
      std::string s = n + ": xattrs differ: want {";
      for (const auto& [k, v] : w.xattrs) s += Escape(k) + "=" + Escape(v.substr(0, 40)) + " ";
      s += "} got {";
      for (const auto& [k, v] : g.xattrs) s += Escape(k) + "=" + Escape(v.substr(0, 40)) + " ";
      d.push_back(s + "}");
    }
    if (w.type == 'f') {
      if (w.size != g.size)
        d.push_back(n + ": size " + std::to_string(w.size) + " != " + std::to_string(g.size));
      else if (w.content != g.content)
        d.push_back(n + ": content differs (" + w.content + " != " + g.content + ")");
      if (w.link_group != g.link_group)
        d.push_back(n + ": hard-link group '" + Escape(w.link_group) + "' != '" +
                    Escape(g.link_group) + "'");
      // Restores write whole chunks (up to 8 MiB) around data, so "sparse"
      // means: most of the file is still unallocated.
      if (o.sparse && w.size >= (1 << 20) && w.allocated * 8 < w.size &&
          g.allocated * 4 >= g.size)
        d.push_back(n + ": sparse file lost its holes: " + std::to_string(g.allocated) +
                    " bytes allocated of " + std::to_string(g.size) + " (original " +
                    std::to_string(w.allocated) + ")");
    }
    if (w.type == 'l' && w.link_target != g.link_target)
      d.push_back(n + ": symlink target '" + Escape(w.link_target) + "' != '" +
                  Escape(g.link_target) + "'");
    if ((w.type == 'c' || w.type == 'b') && w.rdev != g.rdev)
      d.push_back(n + ": device number differs");
  }
  for (const auto& [rel, g] : got)
    if (!want.count(rel)) d.push_back("unexpected: " + name(rel) + " (" + DescribeEntry(g) + ")");
  return d;
}

std::vector<std::string> CompareTrees(const std::string& want_root, const std::string& got_root,
                                      const CompareOptions& o) {
  return DiffManifests(ScanTree(want_root), ScanTree(got_root), o);
}

std::string FormatDiff(const std::vector<std::string>& diff, size_t max) {
  std::string s = std::to_string(diff.size()) + " differences:\n";
  for (size_t i = 0; i < diff.size() && i < max; i++) s += "  " + diff[i] + "\n";
  if (diff.size() > max) s += "  ...\n";
  return s;
}

size_t CountFiles(const Manifest& m) {
  size_t n = 0;
  for (const auto& [rel, e] : m)
    if (e.type == 'f') n++;
  return n;
}

// ---------------------------------------------------------------------------
// The random tree.

namespace {

constexpr int64_t kNs = 1000000000;

class TreeGen {
 public:
  TreeGen(std::string root, const RandomTreeOptions& o) : root_(std::move(root)), o_(o), rng_(o.seed) {}

  RandomTreeInfo Build();

 private:
  uint64_t Below(uint64_t n) { return n ? rng_() % n : 0; }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::string P(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }
  static std::string J(const std::string& a, const std::string& b) {
    return a.empty() ? b : a + "/" + b;
  }

  void Dir(const std::string& rel) {
    if (mkdir(P(rel).c_str(), 0755) != 0) Die("mkdir " + Escape(P(rel)));
  }
  void File(const std::string& rel, const std::string& content) {
    WriteFile(P(rel), content, 0644);
    info_.files++;
  }
  void Symlink(const std::string& target, const std::string& rel) {
    if (symlink(target.c_str(), P(rel).c_str()) != 0) Die("symlink " + Escape(P(rel)));
  }
  void HardLink(const std::string& existing, const std::string& rel) {
    if (link(P(existing).c_str(), P(rel).c_str()) != 0) Die("link " + Escape(P(rel)));
    info_.files++;
  }
  void Fifo(const std::string& rel) {
    if (mkfifo(P(rel).c_str(), 0644) != 0) Die("mkfifo " + Escape(P(rel)));
  }
  void Xattr(const std::string& rel, const std::string& name, const std::string& value) {
    if (lsetxattr(P(rel).c_str(), name.c_str(), value.data(), value.size(), 0) != 0)
      Die("setxattr " + name + " on " + Escape(P(rel)));
  }

  std::string SmallContent() {
    uint64_t r = Below(10);
    size_t n = r == 0 ? 0 : r < 6 ? size_t(Below(200)) : size_t(Below(16384));
    return RandomBytes(rng_(), n);
  }
  std::string OddName(size_t max_len);
  std::string UniqueName(std::set<std::string>& used, size_t max_len) {
    for (;;) {
      std::string n = OddName(max_len);
      if (n.empty() || n == "." || n == ".." || n.find('/') != std::string::npos ||
          n.find('\0') != std::string::npos)
        continue;
      if (used.insert(n).second) return n;
    }
  }
  int64_t RandomTimeNs() {
    // 1985 .. 2015, with nanoseconds.
    int64_t s = 473385600 + int64_t(Below(946684800));
    return s * kNs + int64_t(Below(kNs));
  }
  void Wide();
  void Deep();
  void Odd();
  void Big();
  void Sparse();
  void Links();
  void HardLinks();
  void Modes();
  void Special();
  void ApplyMetadata(const std::string& rel);

  std::string root_;
  RandomTreeOptions o_;
  std::mt19937_64 rng_;
  RandomTreeInfo info_;
  std::map<std::string, uint32_t> forced_mode_;
  std::map<std::string, int64_t> forced_mtime_;
  std::set<std::string> no_owner_change_;
};

std::string TreeGen::OddName(size_t max_len) {
  static const char* kPieces[] = {
      " ",  "  ", "\n", "\"", "'", "*", "?", "[x]", "\\", "-", "--", "$HOME", "`", "~", ":", ";",
      "|",  "&",  "<>", "%s", "#", "!", "=", ",", "\t", "\x01", "\x7f", "\xff", "\xfe\xfd",
      "\xc3\x28", "\xe2\x82", "\xa0",            // not valid UTF-8
      "\xc3\xa9", "\xc3\xbc", "\xe2\x9c\x93", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80",
      "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",        // Hebrew, right-to-left
      "\xe2\x80\xae",                            // RTL override
      "e\xcc\x81",                               // e + combining acute (NFD)
      "a", "b", "report", "scan", "DICOM", "x", "0", "42", ".", "..", ".hidden",
  };
  std::string s;
  size_t parts = 1 + size_t(Below(5));
  for (size_t i = 0; i < parts; i++) s += kPieces[Below(std::size(kPieces))];
  if (s.size() > max_len) s.resize(max_len);
  return s;
}

void TreeGen::Wide() {
  Dir("wide");
  std::set<std::string> used;
  std::vector<std::string> files;
  for (int i = 0; i < o_.wide_entries; i++) {
    std::string name = Chance(0.5) ? "f" + std::to_string(i) : UniqueName(used, 60);
    if (!used.insert(name).second && name[0] == 'f') continue;
    std::string rel = J("wide", name);
    uint64_t kind = Below(100);
    if (kind < 85) {
      File(rel, SmallContent());
      files.push_back(rel);
    } else if (kind < 90) {
      Dir(rel);
      if (Chance(0.5)) File(J(rel, "inner"), SmallContent());
    } else if (kind < 95) {
      Symlink(Chance(0.5) ? name : "../odd", rel);
    } else if (!files.empty()) {
      HardLink(files[Below(files.size())], rel);
    } else {
      File(rel, "");
    }
  }
  for (size_t i = 0; i < 20 && !files.empty(); i++) {
    const std::string& f = files[Below(files.size())];
    Xattr(f, "user.wide" + std::to_string(i), RandomBytes(rng_(), Below(100)));
  }
}

void TreeGen::Deep() {
  Dir("deep");
  std::string rel = "deep";
  for (int level = 1; level <= o_.depth; level++) {
    std::set<std::string> used;
    std::string name = "lvl" + std::to_string(level) + (Chance(0.5) ? OddName(12) : "");
    if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
      name = "lvl" + std::to_string(level);
    rel = J(rel, name);
    Dir(rel);
    File(J(rel, "file-at-" + std::to_string(level)), SmallContent());
    if (level % 5 == 0) Fifo(J(rel, "fifo"));
    if (level % 7 == 0) Dir(J(rel, "empty-dir"));
  }
  File(J(rel, "leaf \xe2\x9c\x93.txt"), "the bottom of the deep tree\n");
  Xattr(J(rel, "leaf \xe2\x9c\x93.txt"), "user.depth", std::to_string(o_.depth));
  Symlink("../../..", J(rel, "up"));
}

void TreeGen::Odd() {
  Dir("odd");
  const std::vector<std::string> names = {
      "with space",
      " leading space",
      "trailing space ",
      "new\nline",
      "\n",
      "quote\"double",
      "quote'single",
      "star*",
      "*",
      "back\\slash",
      "-leading-dash",
      "--",
      "-rf",
      "[brackets]",
      "?",
      "tab\there",
      "\x01\x02\x03",
      "\x7f",
      "bad utf8 \xff\xfe",
      "\xc3\x28",
      "\xed\xa0\x80 surrogate",
      "caf\xc3\xa9",
      "cafe\xcc\x81",
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
      "\xf0\x9f\x8f\xa5 hospital",
      "...",
      ".hidden",
      "..hidden",
      std::string(255, 'L'),
      std::string(254, 'M') + "\xff",
  };
  std::string utf8_long;
  while (utf8_long.size() + 2 <= 255) utf8_long += "\xc3\xa9";
  std::vector<std::string> all = names;
  all.push_back(utf8_long);
  for (size_t i = 0; i < all.size(); i++) {
    std::string rel = J("odd", all[i]);
    if (i % 5 == 4) {
      Dir(rel);
      File(J(rel, all[(i + 1) % all.size()].substr(0, 200)), SmallContent());
    } else {
      File(rel, i % 3 == 0 ? std::string() : SmallContent());
    }
  }
  Xattr(J("odd", "with space"), "user.comment", "a comment");
  Xattr(J("odd", "new\nline"), "user.binary", std::string("\0\x01\xff\n", 4));
  Xattr(J("odd", "new\nline"), "user.empty", "");
  Xattr(J("odd", "star*"), "user.big", RandomBytes(rng_(), 1500));
  Xattr("odd", "user.on-a-dir", "dir value");
  Xattr(J("odd", "caf\xc3\xa9"), "user.\xc3\xbcnicode", "\xe2\x9c\x93");
}

void TreeGen::Big() {
  Dir("big");
  const size_t kMiB = 1 << 20;
  size_t n1 = (20 + Below(21)) * kMiB + Below(kMiB);
  File("big/random.bin", RandomBytes(rng_(), n1));
  static const char* kWords[] = {"patient ", "study ",  "series ", "MRN ",   "ward ",
                                 "ICU ",     "lab ",    "result ", "normal\n", "HL7|",
                                 "OBX|",     "PID|",    "^^",      "mmol/L ", "2024-",
                                 "\n"};
  size_t n2 = (20 + Below(21)) * kMiB + Below(kMiB);
  std::string text;
  text.reserve(n2 + 32);
  while (text.size() < n2) {
    text += kWords[Below(std::size(kWords))];
    if (Below(8) == 0) text += std::to_string(Below(100000));
  }
  text.resize(n2);
  File("big/compressible.txt", text);
  // A file whose halves repeat (dedup within a file).
  std::string half = RandomBytes(rng_(), 3 * kMiB);
  File("big/repeated.bin", half + half);
}

void TreeGen::Sparse() {
  Dir("sparse");
  const uint64_t kGiB = uint64_t(1) << 30;
  std::string path = P("sparse/one-gib.img");
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("create sparse file");
  if (ftruncate(fd, off_t(kGiB)) != 0) Die("ftruncate");
  std::vector<std::pair<uint64_t, std::string>> regions = {
      {0, RandomBytes(rng_(), 4096)},
      {(uint64_t(100) << 20) + Below(1 << 20), RandomBytes(rng_(), 65536)},
      {(uint64_t(512) << 20) + 12345, std::string("x")},
      {(uint64_t(700) << 20) + Below(1 << 20), RandomBytes(rng_(), 200000)},
      {kGiB - 100, RandomBytes(rng_(), 100)},
  };
  for (const auto& [off, data] : regions)
    if (pwrite(fd, data.data(), data.size(), off_t(off)) != ssize_t(data.size())) Die("pwrite");
  close(fd);
  info_.files++;
  // Data at the start, a hole to the end.
  path = P("sparse/hole-at-end.img");
  fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("create sparse file");
  std::string head = RandomBytes(rng_(), 10000);
  if (write(fd, head.data(), head.size()) != ssize_t(head.size())) Die("write");
  if (ftruncate(fd, off_t(64) << 20) != 0) Die("ftruncate");
  close(fd);
  info_.files++;
  // All hole.
  path = P("sparse/all-hole.img");
  fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ftruncate(fd, off_t(32) << 20) != 0) Die("all-hole");
  close(fd);
  info_.files++;
}

void TreeGen::Links() {
  Dir("links");
  Symlink("../odd/with space", "links/relative");
  Symlink("does/not/exist", "links/dangling");
  Symlink("/etc/hostname", "links/absolute-outside");
  Symlink(root_ + "/wide", "links/absolute-inside");
  Symlink("../deep", "links/to-dir");
  Symlink("loop-b", "links/loop-a");
  Symlink("loop-a", "links/loop-b");
  Symlink("self", "links/self");
  Symlink("odd \xff\xfe target\nwith newline", "links/odd-target");
  std::string long_target;
  while (long_target.size() < 3000) long_target += "long-component/";
  Symlink(long_target, "links/long-target");
  Symlink("../../../../../../../../../../etc/passwd", "links/dotdot");
  Symlink("-", "links/dash");
}

void TreeGen::HardLinks() {
  Dir("hl");
  Dir("hl/a");
  Dir("hl/b");
  Dir("hl/b/c");
  File("hl/a/orig", RandomBytes(rng_(), 100000));
  HardLink("hl/a/orig", "hl/b/link to orig");
  HardLink("hl/a/orig", "hl/b/c/another");
  HardLink("hl/a/orig", "deep/hl-in-deep");
  File("hl/a/empty", "");
  HardLink("hl/a/empty", "hl/b/empty-link");
  File("hl/a/xattr-file", "linked file with xattr\n");
  Xattr("hl/a/xattr-file", "user.shared", "seen through both names");
  HardLink("hl/a/xattr-file", "odd/hardlink \xff");
}

void TreeGen::Modes() {
  Dir("modes");
  Dir("modes/setgid-dir");
  File("modes/setgid-dir/inside", "x");
  forced_mode_["modes/setgid-dir"] = 02775;
  Dir("modes/sticky-dir");
  File("modes/sticky-dir/inside", "y");
  forced_mode_["modes/sticky-dir"] = 01777;
  Dir("modes/read-only-dir");
  File("modes/read-only-dir/inside", "z");
  forced_mode_["modes/read-only-dir"] = 0555;
  Dir("modes/private-dir");
  forced_mode_["modes/private-dir"] = 0700;
  File("modes/odd-mode-file", "odd");
  forced_mode_["modes/odd-mode-file"] = 0123;
  File("modes/world-writable", "w");
  forced_mode_["modes/world-writable"] = 0666;
  File("modes/read-only-file", "r");
  forced_mode_["modes/read-only-file"] = 0444;
  if (IsRoot()) {
    // Readable by root only: a non-root backup could not read these.
    File("modes/zero-mode-file", "no permissions at all\n");
    Xattr("modes/zero-mode-file", "user.note", "mode 0000");
    forced_mode_["modes/zero-mode-file"] = 0000;
    File("modes/setuid-file", "#!/bin/sh\n");
    forced_mode_["modes/setuid-file"] = 04755;
    File("modes/setgid-file", "#!/bin/sh\n");
    forced_mode_["modes/setgid-file"] = 02755;
    File("modes/all-bits", "all\n");
    forced_mode_["modes/all-bits"] = 07777;
  }
  forced_mtime_["modes/read-only-file"] = -315619200LL * kNs + 123456789;  // 1960
  forced_mtime_["modes/odd-mode-file"] = 1;                                // epoch + 1 ns
  forced_mtime_["modes/world-writable"] = 4102444799LL * kNs + 999999999;  // end of 2099
}

void TreeGen::Special() {
  Dir("special");
  Fifo("special/fifo");
  Fifo("special/fifo with space");
  if (IsRoot()) {
    if (mknod(P("special/null-device").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0)
      Die("mknod");
  }
  // A unix socket (the file stays after the descriptor is closed).
  std::string sock_path = P("special/sock");
  if (sock_path.size() < sizeof(sockaddr_un::sun_path)) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
    if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("bind");
    close(s);
  }
}

void TreeGen::ApplyMetadata(const std::string& rel) {
  const std::string path = P(rel);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) Die("lstat " + Escape(path));
  if (S_ISDIR(st.st_mode)) {
    for (const auto& name : ListDir(path)) ApplyMetadata(J(rel, name));
  }
  // Owner first (chown clears setuid/setgid), then mode, then times.
  if (IsRoot() && !rel.empty() && Below(6) == 0) {
    static const std::pair<uid_t, gid_t> kOwners[] = {{1234, 5678}, {65534, 65534}, {0, 5678}};
    auto [u, g] = kOwners[Below(std::size(kOwners))];
    if (lchown(path.c_str(), u, g) != 0) Die("lchown " + Escape(path));
  }
  if (!S_ISLNK(st.st_mode)) {
    uint32_t mode;
    auto it = forced_mode_.find(rel);
    if (it != forced_mode_.end()) {
      mode = it->second;
    } else if (S_ISDIR(st.st_mode)) {
      static const uint32_t kDirModes[] = {0755, 0750, 0775, 0711, 0700, 02755};
      mode = rel.empty() ? 0755 : kDirModes[Below(std::size(kDirModes))];
    } else {
      static const uint32_t kFileModes[] = {0644, 0600, 0640, 0664, 0755, 0444, 0604};
      mode = kFileModes[Below(std::size(kFileModes))];
    }
    if (chmod(path.c_str(), mode) != 0) Die("chmod " + Escape(path));
  }
  int64_t t;
  auto mt = forced_mtime_.find(rel);
  t = mt != forced_mtime_.end() ? mt->second : RandomTimeNs();
  int64_t sec = t / kNs, nsec = t % kNs;
  if (nsec < 0) {
    nsec += kNs;
    sec -= 1;
  }
  timespec ts[2] = {{time_t(sec), long(nsec)}, {time_t(sec), long(nsec)}};
  if (utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    Die("utimensat " + Escape(path));
}

RandomTreeInfo TreeGen::Build() {
  if (mkdir(root_.c_str(), 0755) != 0) Die("mkdir " + root_);
  Odd();
  Wide();
  Deep();
  if (o_.large_files) Big();
  if (o_.sparse_file) Sparse();
  Links();
  HardLinks();
  Modes();
  Special();
  File("top-level-empty", "");
  Xattr("", "user.root-attr", "on the root");
  info_.subdirs = {"deep", "hl", "links", "modes", "odd", "special", "wide"};
  if (o_.large_files) info_.subdirs.push_back("big");
  if (o_.sparse_file) info_.subdirs.push_back("sparse");
  std::sort(info_.subdirs.begin(), info_.subdirs.end());
  ApplyMetadata("");
  return info_;
}

}  // namespace

RandomTreeInfo MakeRandomTree(const std::string& root, const RandomTreeOptions& o) {
  TreeGen g(root, o);
  return g.Build();
}

}  // namespace kstest
