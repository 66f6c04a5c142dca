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

#include "backend/backend.h"
#include "crypto/master_key.h"
#include "util/clock.h"

namespace ks {

class RepoLock {
 public:
  // kLocked (exit code 11) if a conflicting live lock exists.
  static Result<std::unique_ptr<RepoLock>> Acquire(Backend& backend, const RepoKeys& keys,
                                                   const Clock& clock, bool exclusive);
  ~RepoLock();  // removes the lock object

 private:
  RepoLock(Backend& b, const RepoKeys& k, const Clock& c, bool ex)
      : backend_(b), keys_(k), clock_(c), exclusive_(ex) {}
  Status Write();
  void RefreshLoop();

  Backend& backend_;
  const RepoKeys& keys_;
  const Clock& clock_;
  bool exclusive_;
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

}  // namespace ks
