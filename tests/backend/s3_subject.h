// S3 buckets as subjects of the backend conformance suite: one plain bucket
// and one with Object Lock (versioned, every object but locks retained),
// each test in a bucket of its own on the radosgw that
// tests/ceph/ceph_cluster.sh start --rgw runs (KS_RGW_ENDPOINT,
// KS_RGW_ACCESS_KEY, KS_RGW_SECRET_KEY). Without one the S3 cases skip.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace ks::test {

// "" if a radosgw is there to test against; otherwise why not.
std::string S3Unavailable();

// A fresh bucket, created (with Object Lock for `object_lock_days` > 0).
// Small multipart settings so that large objects go up in parts.
Result<std::unique_ptr<Backend>> MakeS3Subject(uint32_t object_lock_days);

}  // namespace ks::test
