#include "repo/lock.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "format/sealed.h"

namespace ks {
namespace {

using json = nlohmann::json;
constexpr int64_t kStaleNs = 30LL * 60 * 1000000000;
constexpr auto kRefreshEvery = std::chrono::minutes(5);

std::string HostName() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

Status RepoLock::Write() {
  json j = {{"time_ns", clock_.NowNs()},
            {"host", HostName()},
            {"pid", int64_t(getpid())},
            {"exclusive", exclusive_}};
  Bytes sealed = SealObject(keys_, "lock", AsBytes(j.dump()));
  std::string name = Sha256(sealed).Hex();
  KS_TRY(backend_.Put(ObjectType::kLock, name, sealed));
  std::string old = std::exchange(name_, name);
  if (!old.empty()) (void)backend_.Remove(ObjectType::kLock, old);
  return Ok();
}

Result<std::unique_ptr<RepoLock>> RepoLock::Acquire(Backend& backend, const RepoKeys& keys,
                                                    const Clock& clock, bool exclusive) {
  std::unique_ptr<RepoLock> lock(new RepoLock(backend, keys, clock, exclusive));
  KS_TRY(lock->Write());
  // Check after writing, so two processes racing both see each other's lock.
  KS_ASSIGN(auto list, backend.List(ObjectType::kLock));
  std::string host = HostName();
  for (const auto& o : list) {
    if (o.name == lock->name_) continue;
    auto sealed = backend.Get(ObjectType::kLock, o.name);
    if (!sealed) continue;  // removed meanwhile
    auto plain = OpenObject(keys, "lock", *sealed);
    if (!plain) continue;   // not ours to judge; check reports damage
    json j = json::parse(plain->begin(), plain->end(), nullptr, false);
    if (!j.is_object()) continue;
    int64_t t = j.value("time_ns", int64_t{0});
    bool other_exclusive = j.value("exclusive", false);
    if (clock.NowNs() - t > kStaleNs) continue;
    if (j.value("host", "") == host) {
      pid_t pid = pid_t(j.value("pid", int64_t{0}));
      if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) continue;  // process is gone
    }
    if (exclusive || other_exclusive)
      return Fail(ErrorKind::kLocked,
                  "repository is locked by " + j.value("host", std::string("?")) + " pid " +
                      std::to_string(j.value("pid", 0)) +
                      (other_exclusive ? " (exclusive)" : "") +
                      "; wait for it to finish, or remove the stale lock with 'kintsugi unlock'");
  }
  lock->refresher_ = std::thread([l = lock.get()] { l->RefreshLoop(); });
  return lock;
}

void RepoLock::RefreshLoop() {
  std::unique_lock l(mu_);
  while (!cv_.wait_for(l, kRefreshEvery, [&] { return stop_; })) (void)Write();
}

RepoLock::~RepoLock() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  if (!name_.empty()) (void)backend_.Remove(ObjectType::kLock, name_);
}

}  // namespace ks
