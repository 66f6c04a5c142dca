// Repository locks. Backups, restores and checks take a shared lock; work
// that removes data (key removal now; prune later) takes an exclusive one.
// Many shared locks coexist, so two backups run at once. A lock is a sealed
// object in locks/, refreshed every 5 minutes while held; one not refreshed
// for 30 minutes, or whose process on this host is gone, is stale and
// ignored.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "crypto/master_key.h"
#include "util/clock.h"

namespace ks {

// What a lock says about its holder.
struct LockInfo {
  std::string name;     // of the lock object
  int64_t time_ns = 0;  // last refresh, holder's clock
  int64_t created_ns = 0;  // when the holder first took it (older locks: time_ns)
  std::string host;
  int64_t pid = 0;
  // When that process started, in clock ticks after boot (/proc/<pid>/stat
  // field 22); 0 if unknown (older locks, no /proc). Tells a live holder
  // from a later process or thread that was given the same pid.
  uint64_t pid_start = 0;
  bool exclusive = false;
  std::string purpose;  // "backup", "prune", ... ("" in older locks)
};

// When process (or thread) `pid` of this machine started, in clock ticks
// after boot, from /proc/<pid>/stat; 0 if it does not exist or /proc cannot
// be read.
uint64_t ProcessStartTicks(int64_t pid);

class RepoLock {
 public:
  // kLocked (exit code 11) if a conflicting live lock exists: any live lock
  // for an exclusive one, an exclusive lock for a shared one, and another
  // live lock of the same `purpose` when `sole` (two prunes never overlap,
  // yet neither blocks backups).
  static Result<std::unique_ptr<RepoLock>> Acquire(Backend& backend, const RepoKeys& keys,
                                                   const Clock& clock, bool exclusive,
                                                   const std::string& purpose = "",
                                                   bool sole = false);
  ~RepoLock();  // removes the lock object

  // The lock object's current name (a refresh renames it).
  std::string name() {
    std::lock_guard l(mu_);
    return name_;
  }
  int64_t created_ns() const { return created_ns_; }

 private:
  RepoLock(Backend& b, const RepoKeys& k, const Clock& c, bool ex, std::string purpose)
      : backend_(b), keys_(k), clock_(c), exclusive_(ex), purpose_(std::move(purpose)) {}
  Status Write();
  void RefreshLoop();

  Backend& backend_;
  const RepoKeys& keys_;
  const Clock& clock_;
  bool exclusive_;
  std::string purpose_;
  int64_t created_ns_ = 0;
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread refresher_;
};

// Removes stale locks (or, with `all`, every lock: only when no other
// Kintsugi process uses the repository). Returns how many were removed.
Result<size_t> RemoveStaleLocks(Backend& backend, const RepoKeys& keys, const Clock& clock,
                                bool all);

// Every live (not stale) lock: prune waits for the ones older than its
// marks (docs/design.md, "Prune").
Result<std::vector<LockInfo>> ListLiveLocks(Backend& backend, const RepoKeys& keys,
                                            const Clock& clock);

}  // namespace ks
