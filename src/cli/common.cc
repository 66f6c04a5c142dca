#include "cli/common.h"

#include <fcntl.h>
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/sharded_backend.h"
#include "fs/unique_fd.h"
#include "util/human.h"

namespace ks::cli {

int ExitCodeFor(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kNoRepository: return kExitNoRepo;
    case ErrorKind::kLocked: return kExitLocked;
    case ErrorKind::kWrongPassword: return kExitWrongPassword;
    default: return kExitFatal;
  }
}

void Die(const Error& e) { throw ExitError{ExitCodeFor(e), e.message()}; }
void Usage(const std::string& m) { throw ExitError{kExitUsage, m}; }

void Print(const std::string& s) { std::cout << s << '\n'; }
void Warn(const std::string& s) { std::cerr << s << std::endl; }

std::string HostName() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string UserName() {
  if (const passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return std::to_string(getuid());
}

const SystemClock& Clock() {
  static const SystemClock clock;
  return clock;
}

static std::string StripNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

static std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ExitError{kExitFatal, "cannot read password file " + path};
  std::stringstream ss;
  ss << in.rdbuf();
  // Only the first line is the passphrase, as with restic.
  std::string s = ss.str();
  return StripNewline(s.substr(0, s.find('\n')));
}

static std::string PromptTty(const char* prompt) {
  UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC));
  if (!tty.valid())
    throw ExitError{kExitFatal,
                    "no password given: use --password-file, KINTSUGI_PASSWORD_FILE or "
                    "KINTSUGI_PASSWORD"};
  std::string p = std::string(prompt) + ": ";
  (void)!::write(tty.get(), p.data(), p.size());
  termios old{};
  bool have = tcgetattr(tty.get(), &old) == 0;
  if (have) {
    termios quiet = old;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    tcsetattr(tty.get(), TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  while (::read(tty.get(), &c, 1) == 1 && c != '\n') line += c;
  if (have) tcsetattr(tty.get(), TCSAFLUSH, &old);
  (void)!::write(tty.get(), "\n", 1);
  return StripNewline(line);
}

std::string ReadPassphrase(const Globals& g, bool confirm, const char* prompt) {
  std::string file = g.password_file;
  if (file.empty())
    if (const char* f = std::getenv("KINTSUGI_PASSWORD_FILE")) file = f;
  if (!file.empty()) return ReadFileOrDie(file);
  if (const char* p = std::getenv("KINTSUGI_PASSWORD")) return p;
  std::string a = PromptTty(prompt);
  if (confirm) {
    std::string b = PromptTty("enter password again");
    if (a != b) throw ExitError{kExitFatal, "passwords do not match"};
  }
  if (a.empty()) throw ExitError{kExitFatal, "an empty password is not allowed"};
  return a;
}

std::string ReadNewPassphrase(const std::string& new_password_file) {
  if (!new_password_file.empty()) return ReadFileOrDie(new_password_file);
  std::string a = PromptTty("enter new password");
  if (PromptTty("enter new password again") != a)
    throw ExitError{kExitFatal, "passwords do not match"};
  if (a.empty()) throw ExitError{kExitFatal, "an empty password is not allowed"};
  return a;
}

OpenRepo Open(const Globals& g, int lock_mode, const std::string& purpose, bool sole) {
  if (g.repo.empty())
    Usage("no repository given: use -r/--repo or KINTSUGI_REPOSITORY");
  auto backend = OpenBackend(g.repo);
  if (!backend) Die(backend.error());
  // Before asking for a password, make sure there is a repository at all.
  if (auto st = (*backend)->Stat(ObjectType::kConfig, "config"); !st) {
    if (st.error().kind() == ErrorKind::kNotFound)
      Die(Error(ErrorKind::kNoRepository,
                "no repository at " + g.repo + " (create one with 'kintsugi init')"));
    Die(st.error());
  }
  std::string pass = ReadPassphrase(g, false);
  auto repo = Repository::Open(std::move(*backend), pass);
  if (!repo && repo.error().kind() == ErrorKind::kCorrupt)
    throw ExitError{g.damaged_exit, repo.error().message()};
  if (!repo) Die(repo.error());
  OpenRepo out;
  out.repo = std::move(*repo);
  if (lock_mode) {
    auto lock = RepoLock::Acquire(out.repo->backend(), out.repo->keys(), Clock(), lock_mode == 2,
                                  purpose, sole);
    if (!lock) Die(lock.error());
    out.lock = std::move(*lock);
  }
  return out;
}

void ReportHealedReads(const Globals& g, Repository& repo) {
  auto* sb = dynamic_cast<ShardedBackend*>(&repo.backend());
  if (!sb) return;
  if (sb->stats().objects_written_degraded)
    Warn(fmt::format("warning: {} objects were stored with some shards missing because a "
                     "location could not be written; run 'kintsugi scrub --repair' once it is back",
                     uint64_t(sb->stats().objects_written_degraded)));
  if (sb->stats().blocks_rebuilt == 0) return;
  Warn(fmt::format("note: {} damaged or missing blocks in {} reads were rebuilt from parity; the "
                   "data returned is correct. Run 'kintsugi scrub --repair' to rewrite them.",
                   uint64_t(sb->stats().blocks_rebuilt), uint64_t(sb->stats().objects_degraded)));
}

ProgressPrinter::ProgressPrinter(const Globals& g, const Progress& p, const char* verb)
    : p_(p), verb_(verb) {
  active_ = !g.quiet && !g.json && isatty(STDERR_FILENO);
  if (active_) thread_ = std::thread([this] { Loop(); });
}

ProgressPrinter::~ProgressPrinter() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (active_) std::fprintf(stderr, "\r\x1b[2K");
}

void ProgressPrinter::Loop() {
  auto start = std::chrono::steady_clock::now();
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    uint64_t done = p_.bytes_done, total = p_.bytes_total;
    double rate = secs > 0 ? double(done) / secs : 0;
    std::string eta = p_.total_final && rate > 0 && total >= done
                          ? ", ETA " + HumanDuration(double(total - done) / rate)
                          : "";
    std::string errs = p_.errors ? ", " + std::to_string(uint64_t(p_.errors)) + " errors" : "";
    std::fprintf(stderr, "\r\x1b[2K[%s] %s %llu/%llu files, %s/%s, %s%s%s",
                 HumanDuration(secs).c_str(), verb_, (unsigned long long)uint64_t(p_.files_done),
                 (unsigned long long)uint64_t(p_.files_total), HumanBytes(done).c_str(),
                 HumanBytes(total).c_str(), HumanRate(rate).c_str(), eta.c_str(), errs.c_str());
    std::fflush(stderr);
  }
}

}  // namespace ks::cli
