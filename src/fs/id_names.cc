#include "fs/id_names.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ks {
namespace {

// Upper bound for the scratch buffer of one NSS lookup; entries larger than
// this (huge group member lists) are treated as unknown.
constexpr size_t kMaxNssBuffer = size_t{1} << 22;
// The cache is cleared when it grows beyond this many entries per map, so a
// tree with millions of distinct ids cannot exhaust memory.
constexpr size_t kMaxCacheEntries = 1 << 16;

// Runs a reentrant NSS lookup `call(buf, len)` (returning the *_r error code),
// growing the scratch buffer while it reports ERANGE.
template <typename Call>
void RunNssLookup(int sysconf_name, Call call) {
  long hint = sysconf(sysconf_name);
  size_t size = hint > 0 ? size_t(hint) : 1024;
  while (size <= kMaxNssBuffer) {
    std::vector<char> buf(size);
    int rc = call(buf.data(), buf.size());
    if (rc == EINTR) continue;
    if (rc != ERANGE) return;
    size *= 2;
  }
}

std::optional<std::string> LookupUserName(uid_t uid) {
  std::optional<std::string> out;
  RunNssLookup(_SC_GETPW_R_SIZE_MAX, [&](char* buf, size_t len) {
    passwd pw;
    passwd* res = nullptr;
    int rc = getpwuid_r(uid, &pw, buf, len, &res);
    if (rc == 0 && res) out = res->pw_name;
    return rc;
  });
  return out;
}

std::optional<std::string> LookupGroupName(gid_t gid) {
  std::optional<std::string> out;
  RunNssLookup(_SC_GETGR_R_SIZE_MAX, [&](char* buf, size_t len) {
    group gr;
    group* res = nullptr;
    int rc = getgrgid_r(gid, &gr, buf, len, &res);
    if (rc == 0 && res) out = res->gr_name;
    return rc;
  });
  return out;
}

std::optional<uint32_t> LookupUid(const std::string& name) {
  std::optional<uint32_t> out;
  RunNssLookup(_SC_GETPW_R_SIZE_MAX, [&](char* buf, size_t len) {
    passwd pw;
    passwd* res = nullptr;
    int rc = getpwnam_r(name.c_str(), &pw, buf, len, &res);
    if (rc == 0 && res) out = res->pw_uid;
    return rc;
  });
  return out;
}

std::optional<uint32_t> LookupGid(const std::string& name) {
  std::optional<uint32_t> out;
  RunNssLookup(_SC_GETGR_R_SIZE_MAX, [&](char* buf, size_t len) {
    group gr;
    group* res = nullptr;
    int rc = getgrnam_r(name.c_str(), &gr, buf, len, &res);
    if (rc == 0 && res) out = res->gr_gid;
    return rc;
  });
  return out;
}

// A mutex-protected map. The lookup itself runs without the lock held, so a
// slow NSS backend does not serialise all threads; two threads may then look
// up the same key once each, which is harmless.
template <typename K, typename V>
class Cache {
 public:
  template <typename Lookup>
  V Get(const K& key, Lookup lookup) {
    {
      std::lock_guard lock(mu_);
      if (auto it = map_.find(key); it != map_.end()) return it->second;
    }
    V value = lookup(key);
    std::lock_guard lock(mu_);
    if (map_.size() >= kMaxCacheEntries) map_.clear();
    map_.emplace(key, value);
    return value;
  }

 private:
  std::mutex mu_;
  std::unordered_map<K, V> map_;
};

struct Caches {
  Cache<uint32_t, std::optional<std::string>> user_names, group_names;
  Cache<std::string, std::optional<uint32_t>> uids, gids;
};

Caches& TheCaches() {
  static Caches caches;  // the only mutable global: a lock-protected cache
  return caches;
}

}  // namespace

std::string UserNameOf(uint32_t uid) {
  return TheCaches().user_names.Get(uid, LookupUserName).value_or("");
}

std::string GroupNameOf(uint32_t gid) {
  return TheCaches().group_names.Get(gid, LookupGroupName).value_or("");
}

std::optional<uint32_t> UidOfUser(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return TheCaches().uids.Get(name, LookupUid);
}

std::optional<uint32_t> GidOfGroup(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return TheCaches().gids.Get(name, LookupGid);
}

}  // namespace ks
