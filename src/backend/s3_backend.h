// A repository location in an S3 bucket (docs/design.md, "S3 locations"):
// s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX], path-style requests signed with
// SigV4 by libcurl, credentials from the AWS_* environment variables.
//
// - Put never replaces: `If-None-Match: *`, and on a versioned bucket (where
//   radosgw ignores that header) a HEAD first. Objects above the multipart
//   threshold go up in parts.
// - Object Lock (SetObjectLock): every object but locks is written in
//   compliance mode with a retain-until date from the injected clock.
// - On a versioned bucket, reads, Stat and List also find objects hidden
//   behind a delete marker (someone deleted them; the locked version is
//   still there); ListHidden names them for `check`.
// - Transient failures (5xx, timeouts, refused connections) are retried
//   with backoff, then reported as transient kIo.
//
// Thread-safety: every method may be called from several threads at once.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "backend/backend.h"
#include "backend/s3_http.h"
#include "backend/s3_request.h"
#include "backend/s3_xml.h"
#include "util/clock.h"

namespace ks {

struct S3Options {
  // Objects larger than this are uploaded in parts of `part_size` (S3
  // wants parts of at least 5 MiB except the last; tests lower both).
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 16ull << 20;
  S3Timeouts timeouts;
  int list_page_size = 1000;   // keys per listing page (tests lower it)
  int retries = 5;             // extra attempts after a transient failure
  long retry_base_ms = 250;    // doubled each attempt (0.25 s ... 4 s)
  const Clock* clock = nullptr;  // for retain-until dates; null: the system clock
};

class S3Backend : public Backend {
 public:
  S3Backend(S3Url url, S3Credentials creds, S3Options options = {});

  std::string Location() const override { return url_.Location(); }
  Status Create() override;
  Status Put(ObjectType t, const std::string& name, ByteSpan data) override;
  Result<Bytes> Get(ObjectType t, const std::string& name, uint64_t offset,
                    uint64_t length) override;
  Result<ObjectInfo> Stat(ObjectType t, const std::string& name) override;
  Result<std::vector<ObjectInfo>> List(ObjectType t) override;
  Status Remove(ObjectType t, const std::string& name) override;
  Status Replace(ObjectType t, const std::string& name, ByteSpan data) override;
  Status SetObjectLock(uint32_t days) override;
  Result<std::vector<std::string>> ListHidden(ObjectType t) override;

  // The bucket key of an object (tests delete objects behind our back).
  std::string KeyOf(ObjectType t, const std::string& name) const { return S3Key(url_, t, name); }
  // True if the bucket keeps versions (Object Lock buckets always do).
  Result<bool> Versioned();

 private:
  struct Sent {
    HttpResponse resp;
    int attempts = 1;
  };
  // Sends with retries on transient failures (no answer, 5xx, 429).
  Result<Sent> Send(HttpRequest req, const std::string& what);
  std::string BucketUrl(const std::string& query = "") const;
  std::string ObjectUrl(const std::string& key, const std::string& query = "") const;
  std::vector<std::string> LockHeaders(ObjectType t) const;
  Status Upload(ObjectType t, const std::string& key, ByteSpan data, bool exclusive);
  Status UploadMultipart(ObjectType t, const std::string& key, ByteSpan data);
  // Pages of ListObjectVersions under `prefix` until `on_page` returns
  // false or the listing ends.
  Status ScanVersions(const std::string& prefix, const std::function<bool(S3VersionsPage&)>& on_page);
  // Every version and delete marker of one key, newest first.
  Result<std::vector<S3Version>> VersionsOf(const std::string& key);
  // The newest stored version of a key whose latest entry is a delete
  // marker; nullopt if there is none (the key is gone or never was).
  Result<std::optional<std::string>> HiddenVersion(const std::string& key);
  struct Listed {
    uint64_t size = 0;
    bool hidden = false;
    int64_t mtime_ns = 0;  // the server's LastModified of the version read
  };
  Result<std::map<std::string, Listed>> ListKeys(ObjectType t);
  void Forget(const std::string& key);

  S3Url url_;
  std::string region_;
  S3Http http_;
  S3Options options_;
  SystemClock system_clock_;
  const Clock& clock_;
  std::atomic<uint32_t> lock_days_{0};
  std::mutex mu_;
  std::optional<bool> versioned_;
  std::unordered_map<std::string, std::string> hidden_versions_;  // key -> version id
};

// Opens "s3:..." with credentials from the environment.
Result<std::unique_ptr<Backend>> OpenS3Location(const std::string& location);

}  // namespace ks
