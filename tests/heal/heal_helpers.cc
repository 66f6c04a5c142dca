#include "heal_helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "codec/erasure.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace heal {
namespace {

[[noreturn]] void Die(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string ReadAllFd(int fd) {
  std::string out;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, size_t(n));
    off += n;
  }
  return out;
}

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::vector<std::string> SortedNames(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) Die("opendir " + dir);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Runs fn with the file writable by its owner, then restores the mode.
template <typename F>
void Writable(const std::string& path, F fn) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) Die("stat " + path);
  if (::chmod(path.c_str(), (st.st_mode & 07777) | S_IWUSR) != 0) Die("chmod " + path);
  fn();
  if (::chmod(path.c_str(), st.st_mode & 07777) != 0) Die("chmod " + path);
}

}  // namespace

// ---------------------------------------------------------------------------

std::string RunResult::Describe() const {
  std::string s = timed_out ? "timed out, " : "";
  s += signal ? "signal " + std::to_string(signal) : "exit " + std::to_string(code);
  auto cut = [](const std::string& t) {
    return t.size() > 4000 ? t.substr(0, 2000) + "\n[...]\n" + t.substr(t.size() - 2000) : t;
  };
  return s + "\n--- stdout ---\n" + cut(out) + "\n--- stderr ---\n" + cut(err);
}

RunResult Run(const std::vector<std::string>& argv, int timeout_seconds) {
  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed (the caller may be threaded).
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "KINTSUGI_", 9) != 0) env_store.push_back(*e);
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (auto& e : env_store) ev.push_back(e.data());
  ev.push_back(nullptr);

  int out_fd = ::memfd_create("heal-stdout", MFD_CLOEXEC);
  int err_fd = ::memfd_create("heal-stderr", MFD_CLOEXEC);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) Die("memfd_create/open");

  pid_t pid = ::fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    ::setsid();
    ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execve(av[0], av.data(), ev.data());
    _exit(127);
  }
  ::close(null_fd);

  RunResult r;
  int status = 0;
  const int64_t deadline = NowMs() + int64_t(timeout_seconds) * 1000;
  int pidfd = int(::syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) Die("waitpid");
    int64_t left = deadline - NowMs();
    if (left <= 0) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, int(std::min<int64_t>(left, 1000)));
    } else {
      timespec ts{0, 2000000};
      ::nanosleep(&ts, nullptr);
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = ReadAllFd(out_fd);
  r.err = ReadAllFd(err_fd);
  ::close(out_fd);
  ::close(err_fd);
  return r;
}

// The binaries are copied once per test process into a private directory
// (removed at exit): the build directory is shared, and a rebuild of
// `kintsugi` by someone else during a long test run must not change the
// program under test half-way.
namespace {
struct BinaryCopies {
  std::string dir, ks, gen;
  BinaryCopies() {
    std::string t = "/tmp/heal-bin-XXXXXX";
    if (!::mkdtemp(t.data())) Die("mkdtemp " + t);
    dir = t;
    ks = dir + "/kintsugi";
    gen = dir + "/kintsugi-gen";
    WriteFile(ks, ReadFile(KS_BINARY), 0755);
    WriteFile(gen, ReadFile(KS_GEN_BINARY), 0755);
  }
  ~BinaryCopies() {
    try {
      RemoveTree(dir);
    } catch (...) {
    }
  }
};
const BinaryCopies& Binaries() {
  static const BinaryCopies b;
  return b;
}
}  // namespace

std::string KsBinary() { return Binaries().ks; }
std::string GenBinary() { return Binaries().gen; }

RunResult CliRepo::Run(const std::vector<std::string>& args, int timeout_seconds) const {
  std::vector<std::string> a{KsBinary(), "-r", spec_, "--password-file", password_file_};
  a.insert(a.end(), args.begin(), args.end());
  return heal::Run(a, timeout_seconds);
}

RunResult CliRepo::Init(const std::vector<std::string>& extra) const {
  std::vector<std::string> a{"init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"};
  a.insert(a.end(), extra.begin(), extra.end());
  return Run(a);
}

nlohmann::json LastJson(const RunResult& r) {
  std::string s = r.out;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t nl = s.rfind('\n');
  std::string line = nl == std::string::npos ? s : s.substr(nl + 1);
  return nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
}

// ---------------------------------------------------------------------------

TempDir::TempDir(const std::string& tag) {
  std::string t = "/tmp/heal-" + tag + "-XXXXXX";
  if (!::mkdtemp(t.data())) Die("mkdtemp " + t);
  path_ = t;
}

TempDir::~TempDir() {
  try {
    RemoveTree(path_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: cannot remove %s: %s\n", path_.c_str(), e.what());
  }
}

void RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    Die("lstat " + path);
  }
  if (S_ISDIR(st.st_mode)) {
    ::chmod(path.c_str(), 0700);
    for (const auto& n : SortedNames(path)) RemoveTree(path + "/" + n);
    if (::rmdir(path.c_str()) != 0) Die("rmdir " + path);
  } else if (::unlink(path.c_str()) != 0) {
    Die("unlink " + path);
  }
}

void MakeDirs(const std::string& path) {
  if (path.empty()) return;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) MakeDirs(path.substr(0, slash));
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) Die("mkdir " + path);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("open " + path);
  std::string s = ReadAllFd(fd);
  ::close(fd);
  return s;
}

void WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Die("create " + path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      Die("write " + path);
    }
    done += size_t(n);
  }
  ::close(fd);
  if (::chmod(path.c_str(), mode) != 0) Die("chmod " + path);
}

void CopyTree(const std::string& from, const std::string& to) {
  struct stat st;
  if (::lstat(from.c_str(), &st) != 0) Die("lstat " + from);
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(to.c_str(), 0700) != 0 && errno != EEXIST) Die("mkdir " + to);
    for (const auto& n : SortedNames(from)) CopyTree(from + "/" + n, to + "/" + n);
    if (::chmod(to.c_str(), st.st_mode & 07777) != 0) Die("chmod " + to);
  } else if (S_ISREG(st.st_mode)) {
    WriteFile(to, ReadFile(from), st.st_mode & 07777);
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(size_t(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(from.c_str(), target.data(), target.size());
    if (n < 0) Die("readlink " + from);
    target.resize(size_t(n));
    if (::symlink(target.c_str(), to.c_str()) != 0) Die("symlink " + to);
  }
}

static void ListFilesIn(const std::string& root, const std::string& rel,
                        std::vector<std::string>& out) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  for (const auto& n : SortedNames(dir)) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    struct stat st;
    if (::lstat((root + "/" + r).c_str(), &st) != 0) Die("lstat " + r);
    if (S_ISDIR(st.st_mode)) ListFilesIn(root, r, out);
    else if (S_ISREG(st.st_mode)) out.push_back(r);
  }
}

std::vector<std::string> ListFiles(const std::string& root) {
  std::vector<std::string> out;
  ListFilesIn(root, "", out);
  std::sort(out.begin(), out.end());
  return out;
}

static void ScanInto(const std::string& root, const std::string& rel, Manifest& m) {
  std::string path = rel.empty() ? root : root + "/" + rel;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) Die("lstat " + path);
  Entry e;
  e.mode = st.st_mode & 07777;
  if (S_ISREG(st.st_mode)) {
    e.type = 'f';
    std::string data = ReadFile(path);
    e.size = data.size();
    XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)h.high64,
                  (unsigned long long)h.low64);
    e.hash = buf;
  } else if (S_ISDIR(st.st_mode)) {
    e.type = 'd';
  } else if (S_ISLNK(st.st_mode)) {
    e.type = 'l';
    e.mode = 0;
    std::string target(size_t(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) Die("readlink " + path);
    target.resize(size_t(n));
    e.target = target;
  } else {
    e.type = 'o';
  }
  m[rel] = e;
  if (e.type == 'd')
    for (const auto& n : SortedNames(path)) ScanInto(root, rel.empty() ? n : rel + "/" + n, m);
}

Manifest ScanTree(const std::string& root) {
  Manifest m;
  ScanInto(root, "", m);
  return m;
}

std::vector<std::string> DiffManifests(const Manifest& want, const Manifest& got) {
  std::vector<std::string> d;
  for (const auto& [p, w] : want) {
    auto it = got.find(p);
    std::string name = p.empty() ? "/" : p;
    if (it == got.end()) {
      d.push_back("missing: " + name);
      continue;
    }
    const Entry& g = it->second;
    if (w.type != g.type) {
      d.push_back(std::string("type differs: ") + name + " want " + w.type + " got " + g.type);
      continue;
    }
    if (w.type == 'f' && (w.size != g.size || w.hash != g.hash))
      d.push_back("content differs: " + name + " (size want " + std::to_string(w.size) +
                  " got " + std::to_string(g.size) + ")");
    if (w.type == 'l' && w.target != g.target) d.push_back("symlink target differs: " + name);
    if (w.type != 'l' && !p.empty() && w.mode != g.mode)
      d.push_back("mode differs: " + name);
  }
  for (const auto& [p, g] : got)
    if (!want.count(p)) d.push_back("unexpected: " + (p.empty() ? std::string("/") : p));
  return d;
}

std::string FormatDiff(const std::vector<std::string>& diff, size_t max) {
  std::string s;
  for (size_t i = 0; i < diff.size() && i < max; i++) s += "  " + diff[i] + "\n";
  if (diff.size() > max) s += "  ... and " + std::to_string(diff.size() - max) + " more\n";
  return s;
}

// ---------------------------------------------------------------------------

void DamageDelete(const std::string& path) {
  if (::unlink(path.c_str()) != 0) Die("unlink " + path);
}

void DamageTruncate(const std::string& path, uint64_t size) {
  Writable(path, [&] {
    if (::truncate(path.c_str(), off_t(size)) != 0) Die("truncate " + path);
  });
}

void ForgeShardHeader(uint8_t* header, uint64_t claimed, int k, int m) {
  auto put = [&](size_t at, uint64_t v, int bytes) {
    for (int b = 0; b < bytes; b++) header[at + size_t(b)] = uint8_t(v >> (8 * b));
  };
  const uint64_t per_row = uint64_t(k) * 4096;
  header[5] = uint8_t(k);
  header[6] = uint8_t(m);
  put(8, claimed, 8);
  put(16, 4096, 4);
  put(20, (claimed + per_row - 1) / per_row, 4);
  put(60, ks::Crc32c(ks::ByteSpan(header, 60)), 4);
}

void DamageForgeHeader(const std::string& path, uint64_t claimed) {
  std::string f = ReadFile(path);
  if (f.size() < kShardHeaderSize) Die("no shard header to forge in " + path);
  f.resize(kShardHeaderSize);
  auto* header = reinterpret_cast<uint8_t*>(f.data());
  ForgeShardHeader(header, claimed, header[5], header[6]);
  Writable(path, [&] {
    int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) Die("open " + path);
    if (::write(fd, f.data(), f.size()) != ssize_t(f.size())) Die("write " + path);
    ::close(fd);
  });
}

void DamageXor(const std::string& path, uint64_t offset, uint8_t mask) {
  Writable(path, [&] {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) Die("open " + path);
    uint8_t b = 0;
    if (::pread(fd, &b, 1, off_t(offset)) != 1) Die("pread " + path);
    b ^= mask;
    if (::pwrite(fd, &b, 1, off_t(offset)) != 1) Die("pwrite " + path);
    ::close(fd);
  });
}

void DamageZero(const std::string& path, uint64_t offset, uint64_t length) {
  Writable(path, [&] {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) Die("open " + path);
    std::string zeros(length, '\0');
    if (::pwrite(fd, zeros.data(), zeros.size(), off_t(offset)) != ssize_t(length))
      Die("pwrite " + path);
    ::close(fd);
  });
}

long PeakRssKiB() {
  struct rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) Die("stat " + path);
  return uint64_t(st.st_size);
}

// ---------------------------------------------------------------------------

std::optional<ShardHeader> ParseShardHeader(const std::string& f) {
  if (f.size() < kShardHeaderSize || f.compare(0, 4, "KSS1") != 0 || f[4] != 1) return std::nullopt;
  auto u8 = [&](size_t i) { return uint8_t(f[i]); };
  auto le = [&](size_t at, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= uint64_t(u8(at + size_t(i))) << (8 * i);
    return v;
  };
  ShardHeader h;
  h.k = u8(5);
  h.m = u8(6);
  h.index = u8(7);
  h.length = le(8, 8);
  h.block = uint32_t(le(16, 4));
  h.rows = uint32_t(le(20, 4));
  if (h.k < 1 || h.block == 0) return std::nullopt;
  return h;
}

std::optional<std::pair<std::string, int>> SplitShardPath(const std::string& rel) {
  size_t dot = rel.rfind('.');
  if (dot == std::string::npos || dot + 1 >= rel.size()) return std::nullopt;
  int idx = 0;
  for (size_t i = dot + 1; i < rel.size(); i++) {
    if (rel[i] < '0' || rel[i] > '9') return std::nullopt;
    idx = idx * 10 + (rel[i] - '0');
  }
  return std::make_pair(rel.substr(0, dot), idx);
}

}  // namespace heal
