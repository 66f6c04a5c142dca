#include "backend/s3_backend.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

namespace ks {
namespace {

// No object is larger (docs/design.md 7.2); a whole-object GET accepts no
// more, so a hostile server cannot make us allocate without bound.
constexpr size_t kMaxObjectBody = (4ull << 30) + (64u << 20);
// Pages of a listing before we call the server's pagination broken.
constexpr int kMaxPages = 1000000;

std::string ContentMd5(ByteSpan data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_md5(), nullptr) != 1) return "";
  return Base64Encode(ByteSpan(md, n));
}

HttpRequest Req(std::string method, std::string url, ByteSpan body = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = body;
  return r;
}

bool Transient(long status) { return status == 429 || status >= 500; }

Status ValidName(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.')
    return Fail(ErrorKind::kInvalidArgument, "bad object name '" + name + "'");
  return Ok();
}

}  // namespace

S3Backend::S3Backend(S3Url url, S3Credentials creds, S3Options options)
    : url_(std::move(url)),
      region_(creds.region),
      http_(std::move(creds), options.timeouts),
      options_(options),
      clock_(options.clock ? *options.clock : system_clock_) {}

std::string S3Backend::BucketUrl(const std::string& query) const {
  return url_.Endpoint() + "/" + url_.bucket + (query.empty() ? "" : "?" + query);
}

std::string S3Backend::ObjectUrl(const std::string& key, const std::string& query) const {
  return url_.Endpoint() + "/" + url_.bucket + "/" + S3UriEncode(key, true) +
         (query.empty() ? "" : "?" + query);
}

Result<S3Backend::Sent> S3Backend::Send(HttpRequest req, const std::string& what) {
  Sent s;
  for (int attempt = 0;; attempt++) {
    s.attempts = attempt + 1;
    auto r = http_.Do(req, what);
    bool retry_ok = attempt < options_.retries;
    if (r && !(Transient(r->status) && retry_ok)) {
      s.resp = std::move(*r);
      return s;
    }
    if (!r && !(r.error().transient() && retry_ok)) return Fail(r.error());
    // A restarting server, a dropped connection, a busy gateway: wait and
    // try again, up to about 8 s in all with the defaults.
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_base_ms << std::min(attempt, 6)));
  }
}

std::vector<std::string> S3Backend::LockHeaders(ObjectType t) const {
  uint32_t days = lock_days_.load();
  // Locks are removed by every command that takes one: never retained.
  if (days == 0 || t == ObjectType::kLock) return {};
  return {"x-amz-object-lock-mode: COMPLIANCE",
          "x-amz-object-lock-retain-until-date: " + S3RetainUntil(clock_.NowNs(), days)};
}

Result<bool> S3Backend::Versioned() {
  {
    std::lock_guard l(mu_);
    if (versioned_) return *versioned_;
  }
  KS_ASSIGN(Sent s, Send(Req("GET", BucketUrl(S3Query({{"versioning", ""}}))),
                         "GET bucket versioning of " + url_.bucket));
  bool v = false;
  // No bucket yet (before init creates it): ask again later.
  if (s.resp.status == 404) return false;
  if (s.resp.status == 200) {
    KS_ASSIGN(v, ParseVersioningEnabled(AsString(s.resp.body)));
  } else if (s.resp.status != 403 && s.resp.status != 501) {
    // 403/501: not allowed to ask or not implemented; then behave as
    // unversioned (hidden objects are not looked for).
    return Fail(S3HttpError(s.resp.status, AsString(s.resp.body), "GET bucket versioning of " + url_.bucket));
  }
  std::lock_guard l(mu_);
  versioned_ = v;
  return v;
}

void S3Backend::Forget(const std::string& key) {
  std::lock_guard l(mu_);
  hidden_versions_.erase(key);
}

Status S3Backend::SetObjectLock(uint32_t days) {
  lock_days_ = days;
  return Ok();
}

Status S3Backend::Create() {
  const std::string what = "create bucket " + url_.bucket;
  HttpRequest req = Req("PUT", BucketUrl());
  bool lock = lock_days_.load() > 0;
  if (lock) req.headers.push_back("x-amz-bucket-object-lock-enabled: true");
  std::string body;
  if (region_ != "us-east-1")
    body = "<CreateBucketConfiguration><LocationConstraint>" + XmlEscape(region_) +
           "</LocationConstraint></CreateBucketConfiguration>";
  req.body = AsBytes(body);
  KS_ASSIGN(Sent s, Send(req, what));
  bool exists = false;
  if (s.resp.status == 409) {
    auto e = ParseS3Error(AsString(s.resp.body));
    if (e && (e->code == "BucketAlreadyOwnedByYou" || e->code == "BucketAlreadyExists")) exists = true;
    else return Fail(S3HttpError(s.resp.status, AsString(s.resp.body), what));
  } else if (s.resp.status >= 300) {
    return Fail(S3HttpError(s.resp.status, AsString(s.resp.body), what));
  }
  {
    std::lock_guard l(mu_);
    versioned_.reset();  // ask again
  }
  if (!lock) return Ok();
  // A bucket made before without Object Lock cannot get it afterwards on
  // most servers; say so instead of writing objects nobody retains.
  const std::string q = "GET Object Lock configuration of bucket " + url_.bucket;
  KS_ASSIGN(Sent c, Send(Req("GET", BucketUrl(S3Query({{"object-lock", ""}}))), q));
  bool enabled = false;
  if (c.resp.status == 200) {
    KS_ASSIGN(enabled, ParseObjectLockEnabled(AsString(c.resp.body)));
  } else if (c.resp.status != 404) {
    return Fail(S3HttpError(c.resp.status, AsString(c.resp.body), q));
  }
  if (!enabled)
    return Fail(ErrorKind::kUnsupported,
                "bucket " + url_.bucket + (exists ? " already exists without" : " was created without") +
                    " Object Lock: give a new bucket name (kintsugi creates it with Object Lock "
                    "enabled) or enable Object Lock on it");
  return Ok();
}

Status S3Backend::Upload(ObjectType t, const std::string& key, ByteSpan data, bool exclusive) {
  const std::string what = "PUT " + key;
  if (data.size() > options_.multipart_threshold) return UploadMultipart(t, key, data);
  HttpRequest req = Req("PUT", ObjectUrl(key), data);
  req.headers = LockHeaders(t);
  if (exclusive) req.headers.push_back("If-None-Match: *");
  if (std::string md5 = ContentMd5(data); !md5.empty()) req.headers.push_back("Content-MD5: " + md5);
  KS_ASSIGN(Sent s, Send(req, what));
  if (s.resp.status == 200) return Ok();
  if ((s.resp.status == 412 || s.resp.status == 409) && exclusive) {
    // After a retry, our own first attempt may be what now exists (the
    // answer was lost): names are content hashes or random, so it holds
    // these bytes.
    if (s.attempts > 1) return Ok();
    return Fail(ErrorKind::kAlreadyExists, "object " + key + " already exists in " + Location());
  }
  return Fail(S3HttpError(s.resp.status, AsString(s.resp.body), what));
}

Status S3Backend::UploadMultipart(ObjectType t, const std::string& key, ByteSpan data) {
  const std::string what = "multipart upload of " + key;
  HttpRequest init = Req("POST", ObjectUrl(key, S3Query({{"uploads", ""}})));
  init.headers = LockHeaders(t);
  KS_ASSIGN(Sent s, Send(init, what));
  if (s.resp.status != 200) return Fail(S3HttpError(s.resp.status, AsString(s.resp.body), what));
  KS_ASSIGN(std::string upload_id, ParseUploadId(AsString(s.resp.body)));
  auto abort = [&](Error e) -> Status {
    // Best effort: parts left behind cost space until the bucket's
    // lifecycle rules or an operator clean them up.
    (void)Send(Req("DELETE", ObjectUrl(key, S3Query({{"uploadId", upload_id}}))),
               "abort " + what);
    return Fail(std::move(e));
  };
  std::string complete = "<CompleteMultipartUpload>";
  uint64_t part_size = std::max<uint64_t>(options_.part_size, 1);
  int part = 0;
  for (uint64_t off = 0; off < data.size(); off += part_size) {
    part++;
    ByteSpan chunk = data.subspan(off, std::min<uint64_t>(part_size, data.size() - off));
    HttpRequest put = Req("PUT",
                          ObjectUrl(key, S3Query({{"partNumber", std::to_string(part)},
                                                  {"uploadId", upload_id}})),
                          chunk);
    if (std::string md5 = ContentMd5(chunk); !md5.empty()) put.headers.push_back("Content-MD5: " + md5);
    auto p = Send(put, what + " (part " + std::to_string(part) + ")");
    if (!p) return abort(p.error());
    if (p->resp.status != 200)
      return abort(S3HttpError(p->resp.status, AsString(p->resp.body), what));
    std::string etag = p->resp.Header("etag");
    if (etag.empty())
      return abort(Error(ErrorKind::kCorrupt, what + ": the server returned no ETag for a part", true));
    complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + XmlEscape(etag) +
                "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";
  auto c = Send(Req("POST", ObjectUrl(key, S3Query({{"uploadId", upload_id}})), AsBytes(complete)),
                "complete " + what);
  if (!c) return abort(c.error());
  // CompleteMultipartUpload can fail after "200 OK" with an <Error> body.
  if (c->resp.status != 200 || ParseS3Error(AsString(c->resp.body)))
    return abort(S3HttpError(c->resp.status == 200 ? 500 : c->resp.status, AsString(c->resp.body),
                             "complete " + what));
  return Ok();
}

Status S3Backend::Put(ObjectType t, const std::string& name, ByteSpan data) {
  KS_TRY(ValidName(name));
  std::string key = KeyOf(t, name);
  KS_ASSIGN(bool versioned, Versioned());
  // radosgw ignores If-None-Match on a versioned bucket (it stores a second
  // version) and no server honours it for multipart uploads: look first.
  // Two writers racing between the HEAD and the PUT write the same bytes
  // (names are content hashes or random), so at worst a version is stored
  // twice; nothing is replaced.
  if (versioned || data.size() > options_.multipart_threshold) {
    const std::string what = "HEAD " + key;
    KS_ASSIGN(Sent s, Send(Req("HEAD", ObjectUrl(key)), what));
    if (s.resp.status == 200)
      return Fail(ErrorKind::kAlreadyExists, "object " + key + " already exists in " + Location());
    if (s.resp.status != 404) return Fail(S3HttpError(s.resp.status, "", what));
  }
  KS_TRY(Upload(t, key, data, true));
  Forget(key);
  return Ok();
}

Status S3Backend::Replace(ObjectType t, const std::string& name, ByteSpan data) {
  KS_TRY(ValidName(name));
  std::string key = KeyOf(t, name);
  // On a versioned bucket this adds a newer version; a locked older one
  // stays until its retention ends.
  KS_TRY(Upload(t, key, data, false));
  Forget(key);
  return Ok();
}

Status S3Backend::ScanVersions(const std::string& prefix,
                               const std::function<bool(S3VersionsPage&)>& on_page) {
  std::string key_marker, version_marker;
  const std::string what = "list versions of " + prefix + " in bucket " + url_.bucket;
  for (int page = 0; page < kMaxPages; page++) {
    std::vector<std::pair<std::string, std::string>> q = {
        {"versions", ""}, {"prefix", prefix}, {"max-keys", std::to_string(options_.list_page_size)}};
    if (!key_marker.empty()) q.push_back({"key-marker", key_marker});
    if (!version_marker.empty()) q.push_back({"version-id-marker", version_marker});
    KS_ASSIGN(Sent s, Send(Req("GET", BucketUrl(S3Query(q))), what));
    if (s.resp.status != 200) return Fail(S3HttpError(s.resp.status, AsString(s.resp.body), what));
    KS_ASSIGN(S3VersionsPage p, ParseListObjectVersions(AsString(s.resp.body)));
    if (!on_page(p) || !p.truncated) return Ok();
    if (p.next_key_marker == key_marker && p.next_version_marker == version_marker)
      return Fail(ErrorKind::kCorrupt, what + ": the server repeats the same page", true);
    key_marker = p.next_key_marker;
    version_marker = p.next_version_marker;
  }
  return Fail(ErrorKind::kCorrupt, what + ": the listing never ends", true);
}

Result<std::vector<S3Version>> S3Backend::VersionsOf(const std::string& key) {
  std::vector<S3Version> out;
  KS_TRY(ScanVersions(key, [&](S3VersionsPage& p) {
    bool past = false;
    for (auto& v : p.versions) {
      // The prefix also matches longer keys ("x.1" lists "x.10"); keys come
      // sorted, so once past ours there is nothing more to read.
      if (v.key == key) out.push_back(std::move(v));
      else if (v.key > key) past = true;
    }
    return !past;
  }));
  return out;
}

Result<std::optional<std::string>> S3Backend::HiddenVersion(const std::string& key) {
  {
    std::lock_guard l(mu_);
    auto it = hidden_versions_.find(key);
    if (it != hidden_versions_.end()) return std::optional<std::string>(it->second);
  }
  KS_ASSIGN(bool versioned, Versioned());
  if (!versioned) return std::optional<std::string>();
  KS_ASSIGN(auto versions, VersionsOf(key));
  for (const auto& v : versions) {
    if (v.delete_marker) continue;
    std::lock_guard l(mu_);
    if (hidden_versions_.size() > 100000) hidden_versions_.clear();
    hidden_versions_[key] = v.version_id;
    return std::optional<std::string>(v.version_id);
  }
  return std::optional<std::string>();
}

Result<Bytes> S3Backend::Get(ObjectType t, const std::string& name, uint64_t offset,
                             uint64_t length) {
  std::string key = KeyOf(t, name);
  std::optional<std::string> version;
  {
    std::lock_guard l(mu_);
    auto it = hidden_versions_.find(key);
    if (it != hidden_versions_.end()) version = it->second;
  }
  for (int round = 0; round < 2; round++) {
    const std::string what = "GET " + key;
    HttpRequest req = Req("GET", ObjectUrl(key, version ? S3Query({{"versionId", *version}}) : ""));
    req.max_body = length ? size_t(length) : kMaxObjectBody;
    req.max_whole_body = kMaxObjectBody;  // no worse than a whole-object GET
    if (offset > 0 || length > 0)
      req.headers.push_back("Range: bytes=" + std::to_string(offset) + "-" +
                            (length ? std::to_string(offset + length - 1) : ""));
    if (length && length > kMaxObjectBody)
      return Fail(ErrorKind::kInvalidArgument, what + ": range too large");
    auto sent = Send(req, what);
    if (!sent && sent.error().kind() == ErrorKind::kCorrupt && length == 0)
      return Fail(sent.error());
    if (!sent) return Fail(sent.error());
    HttpResponse& r = sent->resp;
    if (r.status == 206 || r.status == 200) {
      Bytes body = std::move(r.body);
      if (r.status == 200 && (offset > 0 || length > 0)) {
        // The server ignored the Range header: cut the range out ourselves.
        if (body.size() < offset + length)
          return Fail(ErrorKind::kCorrupt, "object " + key + " is shorter than expected");
        body = Bytes(body.begin() + ptrdiff_t(offset),
                     length ? body.begin() + ptrdiff_t(offset + length) : body.end());
      }
      if (length && body.size() != length)
        return Fail(ErrorKind::kCorrupt, "object " + key + " is shorter than expected");
      return body;
    }
    if (r.status == 416) {
      // Reading from the very end of an object is an empty read, not an error.
      if (length == 0) {
        auto st = Stat(t, name);
        if (st && st->size == offset) return Bytes{};
      }
      return Fail(ErrorKind::kCorrupt, "object " + key + " is shorter than expected");
    }
    if (r.status == 404 && !version && round == 0) {
      auto e = ParseS3Error(AsString(r.body));
      if (e && e->code == "NoSuchBucket") return Fail(S3HttpError(r.status, AsString(r.body), what));
      KS_ASSIGN(version, HiddenVersion(key));
      if (version) continue;
      return Fail(ErrorKind::kNotFound, "object " + key + " not found in " + Location());
    }
    if (r.status == 404 && version) {
      // The version we knew is gone (deleted after its retention): forget it.
      Forget(key);
      return Fail(ErrorKind::kNotFound, "object " + key + " not found in " + Location());
    }
    return Fail(S3HttpError(r.status, AsString(r.body), what));
  }
  return Fail(ErrorKind::kNotFound, "object " + key + " not found in " + Location());
}

Result<ObjectInfo> S3Backend::Stat(ObjectType t, const std::string& name) {
  std::string key = KeyOf(t, name);
  const std::string what = "HEAD " + key;
  KS_ASSIGN(Sent s, Send(Req("HEAD", ObjectUrl(key)), what));
  if (s.resp.status == 404) {
    KS_ASSIGN(auto version, HiddenVersion(key));
    if (!version) return Fail(ErrorKind::kNotFound, "object " + key + " not found in " + Location());
    KS_ASSIGN(s, Send(Req("HEAD", ObjectUrl(key, S3Query({{"versionId", *version}}))), what));
  }
  if (s.resp.status == 404)
    return Fail(ErrorKind::kNotFound, "object " + key + " not found in " + Location());
  if (s.resp.status != 200) return Fail(S3HttpError(s.resp.status, "", what));
  uint64_t size = 0;
  std::string len = s.resp.Header("content-length");
  auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), size);
  if (len.empty() || ec != std::errc() || p != len.data() + len.size())
    return Fail(ErrorKind::kCorrupt, what + ": the server sent no valid Content-Length", true);
  // Last-Modified is the server's clock (RFC 7231 date, whole seconds).
  int64_t mtime = 0;
  std::string lm = s.resp.Header("last-modified");
  std::tm tm{};
  if (const char* end = strptime(lm.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm); end && !*end)
    mtime = int64_t(timegm(&tm)) * 1000000000;
  return ObjectInfo{name, size, mtime};
}

Result<std::map<std::string, S3Backend::Listed>> S3Backend::ListKeys(ObjectType t) {
  std::map<std::string, Listed> out;
  std::string prefix = S3ListPrefix(url_, t);
  const std::string what = "list " + prefix + " in bucket " + url_.bucket;
  KS_ASSIGN(bool versioned, Versioned());
  if (!versioned) {
    std::string token;
    for (int page = 0; page < kMaxPages; page++) {
      std::vector<std::pair<std::string, std::string>> q = {
          {"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(options_.list_page_size)}};
      if (!token.empty()) q.push_back({"continuation-token", token});
      KS_ASSIGN(Sent s, Send(Req("GET", BucketUrl(S3Query(q))), what));
      if (s.resp.status != 200) return Fail(S3HttpError(s.resp.status, AsString(s.resp.body), what));
      KS_ASSIGN(S3ListPage p, ParseListObjectsV2(AsString(s.resp.body)));
      for (const auto& o : p.objects) out[o.key] = Listed{o.size, false, o.last_modified_ns};
      if (!p.truncated) return out;
      if (p.next_token == token)
        return Fail(ErrorKind::kCorrupt, what + ": the server repeats the same page", true);
      token = p.next_token;
    }
    return Fail(ErrorKind::kCorrupt, what + ": the listing never ends", true);
  }
  // Versioned: every key with a stored version counts, whether or not a
  // delete marker hides it.
  std::map<std::string, bool> latest_is_marker;
  KS_TRY(ScanVersions(prefix, [&](S3VersionsPage& p) {
    for (const auto& v : p.versions) {
      if (v.latest) latest_is_marker[v.key] = v.delete_marker;
      // Newest first: the first stored version of a key gives its size.
      if (!v.delete_marker && !out.count(v.key)) out[v.key] = Listed{v.size, false, v.last_modified_ns};
    }
    return true;
  }));
  for (auto& [key, l] : out) {
    auto it = latest_is_marker.find(key);
    l.hidden = it != latest_is_marker.end() && it->second;
  }
  return out;
}

Result<std::vector<ObjectInfo>> S3Backend::List(ObjectType t) {
  KS_ASSIGN(auto keys, ListKeys(t));
  std::vector<ObjectInfo> out;
  for (const auto& [key, l] : keys) {
    std::string name = S3NameOf(key);
    // Only keys our layout would give that name (not "config-notes.txt",
    // not a pack under the wrong subdirectory).
    if (name.empty() || name[0] == '.' || KeyOf(t, name) != key) continue;
    // Whole seconds, as HEAD's Last-Modified gives: Stat and List agree.
    out.push_back({name, l.size, l.mtime_ns / 1000000000 * 1000000000});
  }
  return out;
}

Result<std::vector<std::string>> S3Backend::ListHidden(ObjectType t) {
  std::vector<std::string> out;
  KS_ASSIGN(bool versioned, Versioned());
  if (!versioned) return out;
  KS_ASSIGN(auto keys, ListKeys(t));
  for (const auto& [key, l] : keys) {
    std::string name = S3NameOf(key);
    if (l.hidden && !name.empty() && KeyOf(t, name) == key) out.push_back(name);
  }
  return out;
}

Status S3Backend::Remove(ObjectType t, const std::string& name) {
  std::string key = KeyOf(t, name);
  KS_ASSIGN(bool versioned, Versioned());
  if (!versioned) {
    // DELETE succeeds on a missing key; the interface says kNotFound.
    KS_ASSIGN(Sent h, Send(Req("HEAD", ObjectUrl(key)), "HEAD " + key));
    if (h.resp.status == 404) return Fail(ErrorKind::kNotFound, "object " + key + " not found in " + Location());
    if (h.resp.status != 200) return Fail(S3HttpError(h.resp.status, "", "HEAD " + key));
    KS_ASSIGN(Sent s, Send(Req("DELETE", ObjectUrl(key)), "DELETE " + key));
    if (s.resp.status != 204 && s.resp.status != 200)
      return Fail(S3HttpError(s.resp.status, AsString(s.resp.body), "DELETE " + key));
    return Ok();
  }
  // Versioned: a plain DELETE would only add a delete marker and keep the
  // bytes. Delete every version, newest first; Object Lock refuses the
  // retained ones, and the object then stays readable.
  KS_ASSIGN(auto versions, VersionsOf(key));
  if (versions.empty()) return Fail(ErrorKind::kNotFound, "object " + key + " not found in " + Location());
  Forget(key);
  for (const auto& v : versions) {
    const std::string what = "remove " + key;
    KS_ASSIGN(Sent s, Send(Req("DELETE", ObjectUrl(key, S3Query({{"versionId", v.version_id}}))),
                           what));
    if (s.resp.status == 204 || s.resp.status == 200 || s.resp.status == 404) continue;
    Error e = S3HttpError(s.resp.status, AsString(s.resp.body), what);
    if (e.kind() == ErrorKind::kPermission && !v.delete_marker) {
      // Say until when, from the version's own retention header.
      auto h = Send(Req("HEAD", ObjectUrl(key, S3Query({{"versionId", v.version_id}}))), what);
      std::string until = h ? h->resp.Header("x-amz-object-lock-retain-until-date") : "";
      if (!until.empty())
        return Fail(ErrorKind::kPermission,
                    what + ": refused: the object is under Object Lock (compliance mode) until " + until +
                        "; it cannot be removed before then");
    }
    return Fail(e);
  }
  return Ok();
}

Result<std::unique_ptr<Backend>> OpenS3Location(const std::string& location) {
  KS_ASSIGN(S3Url url, ParseS3Url(location));
  KS_ASSIGN(S3Credentials creds,
            S3CredentialsFromEnv([](const char* n) -> const char* { return std::getenv(n); }));
  return std::make_unique<S3Backend>(std::move(url), std::move(creds));
}

}  // namespace ks
