// The Ceph cluster the RADOS cases run against, as tests/ceph/ceph_cluster.sh
// exports it.
#pragma once

#include <cstdlib>
#include <string>

namespace ks::test {

// The first pool of the test cluster, or "" when no cluster was started
// (CEPH_CONF or KS_CEPH_POOLS unset): the RADOS cases then skip.
inline std::string TestPool() {
  const char* pools = std::getenv("KS_CEPH_POOLS");
  const char* conf = std::getenv("CEPH_CONF");
  if (!pools || !*pools || !conf || !*conf) return "";
  std::string p = pools;
  return p.substr(0, p.find(','));
}

// Set by scripts/test.sh once it has started a cluster: a RADOS case that
// finds none then fails instead of skipping.
inline bool ClusterRequired() {
  const char* r = std::getenv("KS_CEPH_REQUIRED");
  return r && std::string(r) == "1";
}

inline constexpr const char* kNoClusterReason =
    "no Ceph cluster: run under tests/ceph/ceph_cluster.sh (CEPH_CONF and KS_CEPH_POOLS unset)";

}  // namespace ks::test
