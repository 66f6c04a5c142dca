// Shared plumbing of the command line: global options, exit codes, opening
// the repository, passphrases, progress on the terminal.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "backup/progress.h"
#include "repo/lock.h"
#include "repo/repository.h"

namespace ks::cli {

// Exit codes (README, "Exit codes"). restic's where they apply.
enum Exit : int {
  kExitOk = 0,
  kExitFatal = 1,
  kExitUsage = 2,
  kExitPartial = 3,       // backup done, some source files unreadable
  kExitRepairable = 5,    // check/scrub: damage found, all of it repairable
  kExitDamaged = 6,       // check/scrub: some data cannot be recovered
  kExitSuspicious = 8,    // backup stored, but it looks like a ransomware attack
  kExitNoRepo = 10,
  kExitLocked = 11,
  kExitWrongPassword = 12,
};

struct Globals {
  std::string repo;
  std::string password_file;
  bool quiet = false;
  int verbose = 0;
  bool json = false;
  // Exit code for a repository too damaged to open (check and scrub: 6).
  int damaged_exit = 1;
};

// Thrown only inside cli/ to unwind to main with an exit code; never crosses
// into the library.
struct ExitError {
  int code;
  std::string message;
};

int ExitCodeFor(const Error& e);
[[noreturn]] void Die(const Error& e);
[[noreturn]] void Usage(const std::string& message);

std::string ReadPassphrase(const Globals& g, bool confirm, const char* prompt = "enter password");
std::string ReadNewPassphrase(const std::string& new_password_file);

struct OpenRepo {
  std::unique_ptr<Repository> repo;
  std::unique_ptr<RepoLock> lock;
};
// Opens the repository and takes a lock (none if lock_mode is 0, shared 1,
// exclusive 2). Dies with the right exit code on failure.
// `purpose` names the work in the lock ("backup", "prune"); with `sole`,
// another live lock of the same purpose fails with exit code 11.
OpenRepo Open(const Globals& g, int lock_mode, const std::string& purpose = "", bool sole = false);

std::string HostName();
std::string UserName();
const SystemClock& Clock();

// Prints progress to stderr while alive, if stderr is a terminal and not
// quiet or json.
class ProgressPrinter {
 public:
  ProgressPrinter(const Globals& g, const Progress& p, const char* verb);
  ~ProgressPrinter();

 private:
  void Loop();
  const Progress& p_;
  const char* verb_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  bool active_ = false;
};

// After reading: if parity had to rebuild damaged blocks, say so on stderr.
void ReportHealedReads(const Globals& g, Repository& repo);

void Print(const std::string& s);  // stdout
void Warn(const std::string& s);   // stderr, one line

}  // namespace ks::cli
