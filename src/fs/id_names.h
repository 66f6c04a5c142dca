// User and group name <-> id lookups with a process-wide cache.
//
// NSS lookups (getpwuid_r & co.) can be slow (LDAP, SSSD) and a backup asks
// for the same few owners millions of times, so results, including "not
// found", are remembered. All functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ks {

// Name of user `uid` / group `gid`, or "" if the id has no name.
std::string UserNameOf(uint32_t uid);
std::string GroupNameOf(uint32_t gid);

// Id of user / group `name` on this machine, or nullopt if unknown.
std::optional<uint32_t> UidOfUser(const std::string& name);
std::optional<uint32_t> GidOfGroup(const std::string& name);

}  // namespace ks
