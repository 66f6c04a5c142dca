#include "s3_subject.h"

#include <atomic>
#include <cstdlib>
#include <random>

#include "backend/s3_backend.h"

namespace ks::test {

std::string S3Unavailable() {
  const char* ep = std::getenv("KS_RGW_ENDPOINT");
  if (!ep || !*ep) return "no radosgw: run under tests/ceph/ceph_cluster.sh start --rgw (KS_RGW_ENDPOINT unset)";
  return "";
}

Result<std::unique_ptr<Backend>> MakeS3Subject(uint32_t object_lock_days) {
  static std::atomic<int> n{0};
  std::random_device rd;
  std::string bucket = "ks-conf-" + std::to_string(rd()) + "-" + std::to_string(n++);
  KS_ASSIGN(S3Url url, ParseS3Url("s3:" + std::string(std::getenv("KS_RGW_ENDPOINT")) + "/" + bucket + "/repo"));
  S3Credentials creds;
  creds.access_key = std::getenv("KS_RGW_ACCESS_KEY");
  creds.secret_key = std::getenv("KS_RGW_SECRET_KEY");
  S3Options o;
  o.multipart_threshold = 8u << 20;  // the 20 MiB case goes up in 5 MiB parts
  o.part_size = 5u << 20;
  o.list_page_size = 7;              // listings cross pages
  auto b = std::make_unique<S3Backend>(std::move(url), std::move(creds), o);
  KS_TRY(b->SetObjectLock(object_lock_days));
  std::unique_ptr<Backend> out = std::move(b);
  return out;
}

}  // namespace ks::test
