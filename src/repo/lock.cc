#include "repo/lock.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
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

uint64_t ProcessStartTicks(int64_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return 0;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields are counted from the last ')'. starttime is field 22, the
  // 20th after it.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 1));
  std::string f;
  for (int i = 0; i < 20 && fields >> f; i++) {
  }
  if (!fields) return 0;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(f.c_str(), &end, 10);
  if (errno != 0 || end == f.c_str() || *end != '\0') return 0;
  return uint64_t(v);
}

Status RepoLock::Write() {
  int64_t now = clock_.NowNs();
  if (created_ns_ == 0) created_ns_ = now;
  json j = {{"time_ns", now},
            {"created_ns", created_ns_},
            {"host", HostName()},
            {"pid", int64_t(getpid())},
            {"exclusive", exclusive_},
            {"purpose", purpose_}};
  if (uint64_t start = ProcessStartTicks(getpid())) j["pid_start"] = start;
  Bytes sealed = SealObject(keys_, "lock", AsBytes(j.dump()));
  std::string name = Sha256(sealed).Hex();
  KS_TRY(backend_.Put(ObjectType::kLock, name, sealed));
  std::string old = std::exchange(name_, name);
  if (!old.empty()) (void)backend_.Remove(ObjectType::kLock, old);
  return Ok();
}

namespace {

// nullopt if the object is not a readable lock (removed meanwhile, damaged,
// or written with another key): such objects never block anyone.
std::optional<LockInfo> ReadLock(Backend& backend, const RepoKeys& keys, const std::string& name) {
  auto sealed = backend.Get(ObjectType::kLock, name);
  if (!sealed) return std::nullopt;
  auto plain = OpenObject(keys, "lock", *sealed);
  if (!plain) return std::nullopt;
  json j = json::parse(plain->begin(), plain->end(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    LockInfo l;
    l.name = name;
    l.time_ns = j.value("time_ns", int64_t{0});
    l.created_ns = j.value("created_ns", l.time_ns);
    l.host = j.value("host", std::string());
    l.pid = j.value("pid", int64_t{0});
    l.pid_start = j.value("pid_start", uint64_t{0});
    l.exclusive = j.value("exclusive", false);
    l.purpose = j.value("purpose", std::string());
    return l;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

// Stale: not refreshed for 30 minutes, or held by a process of this host
// that no longer exists. Pids are reused (pid_max is 32768 on many systems,
// and every thread takes one), so a pid that exists but started at another
// time than the lock says is another process or thread: the holder is gone.
bool IsStale(const LockInfo& l, const Clock& clock) {
  if (clock.NowNs() - l.time_ns > kStaleNs) return true;
  if (l.host != HostName() || l.pid <= 0) return false;
  if (kill(pid_t(l.pid), 0) != 0 && errno == ESRCH) return true;
  if (l.pid_start != 0) {
    const uint64_t now = ProcessStartTicks(l.pid);
    if (now != 0 && now != l.pid_start) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<RepoLock>> RepoLock::Acquire(Backend& backend, const RepoKeys& keys,
                                                    const Clock& clock, bool exclusive,
                                                    const std::string& purpose, bool sole) {
  std::unique_ptr<RepoLock> lock(new RepoLock(backend, keys, clock, exclusive, purpose));
  KS_TRY(lock->Write());
  // Check after writing, so two processes racing both see each other's lock.
  KS_ASSIGN(auto list, backend.List(ObjectType::kLock));
  for (const auto& o : list) {
    if (o.name == lock->name_) continue;
    auto other = ReadLock(backend, keys, o.name);
    if (!other || IsStale(*other, clock)) continue;
    if (sole && other->purpose == purpose)
      return Fail(ErrorKind::kLocked, "another " + purpose + " is running on " + other->host +
                                          " pid " + std::to_string(other->pid) +
                                          "; wait for it to finish, or if that process is "
                                          "gone, run 'kintsugi unlock'");
    if (exclusive || other->exclusive)
      return Fail(ErrorKind::kLocked,
                  "repository is locked by " + other->host + " pid " + std::to_string(other->pid) +
                      (other->exclusive ? " (exclusive)" : "") +
                      "; wait for it to finish, or if that process is gone, run 'kintsugi unlock'");
  }
  lock->refresher_ = std::thread([l = lock.get()] { l->RefreshLoop(); });
  return lock;
}

Result<size_t> RemoveStaleLocks(Backend& backend, const RepoKeys& keys, const Clock& clock,
                                bool all) {
  KS_ASSIGN(auto list, backend.List(ObjectType::kLock));
  size_t removed = 0;
  for (const auto& o : list) {
    auto info = ReadLock(backend, keys, o.name);
    if (!all && info && !IsStale(*info, clock)) continue;
    if (backend.Remove(ObjectType::kLock, o.name)) removed++;
  }
  return removed;
}

Result<std::vector<LockInfo>> ListLiveLocks(Backend& backend, const RepoKeys& keys,
                                            const Clock& clock) {
  KS_ASSIGN(auto list, backend.List(ObjectType::kLock));
  std::vector<LockInfo> out;
  for (const auto& o : list) {
    auto info = ReadLock(backend, keys, o.name);
    if (info && !IsStale(*info, clock)) out.push_back(std::move(*info));
  }
  return out;
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
