// A location in a Ceph RADOS pool, through librados (docs/design.md, "RADOS
// location"). Objects are RADOS objects named like the local layout's paths
// ("data/<name>", "snapshots/<name>", "config.0"), in one RADOS namespace
// per repository ("rados:POOL/NAMESPACE"; none for "rados:POOL").
//
// Built only when librados is found at configure time; otherwise opening a
// "rados:" location fails with a clear message.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace ks {

// How to reach the cluster. Empty fields mean Ceph's own defaults: the
// configuration file from $CEPH_CONF or /etc/ceph/ceph.conf (and $CEPH_ARGS),
// the client "admin".
struct RadosOptions {
  std::string conf_file;   // KINTSUGI_CEPH_CONF
  std::string client_id;   // KINTSUGI_CEPH_ID ("admin" for client.admin)
  int timeout_s = 30;      // KINTSUGI_CEPH_TIMEOUT: every monitor/OSD operation
};

// Reads the KINTSUGI_CEPH_* variables (the program's edge: tests pass
// options directly). Fails on a malformed timeout.
Result<RadosOptions> RadosOptionsFromEnv();

// Maps a librados return value (a negative errno) from an operation on
// `what` to an Error whose kind says whether trying again can help
// (timeouts and lost connections are transient) and whose message says
// what to check. Pure: used by the backend and its tests.
Error RadosError(int ret, const std::string& what);

// Whether this build has RADOS support.
bool RadosSupported();

// Opens "rados:POOL" or "rados:POOL/NAMESPACE": connects to the cluster
// (bounded by the timeout). A pool that does not exist yet is not an error
// here: Create() (init) makes it, other operations report it missing.
Result<std::unique_ptr<Backend>> OpenRadosLocation(const std::string& location,
                                                   const RadosOptions& options);

}  // namespace ks
