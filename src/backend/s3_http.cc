#include "backend/s3_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>

#include "backend/s3_request.h"
#include "crypto/aead.h"

namespace ks {

struct S3Http::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

namespace {

struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Transfer {
  ByteSpan upload;
  size_t sent = 0;
  HttpResponse* resp = nullptr;
  size_t max_body = 0;
  size_t max_whole_body = 0;
  CURL* curl = nullptr;
};

// Error documents may be longer than the range a GET asked for.
constexpr size_t kMaxErrorBody = 1u << 20;

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t take = std::min(size * n, t->upload.size() - t->sent);
  if (take) std::memcpy(buf, t->upload.data() + t->sent, take);
  t->sent += take;
  return take;
}

size_t OnWrite(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * n;
  size_t cap = t->max_body;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 300) cap = std::max(cap, kMaxErrorBody);
  if (status == 200) cap = std::max(cap, t->max_whole_body);
  if (t->resp->body.size() + bytes > cap) return 0;  // CURLE_WRITE_ERROR
  t->resp->body.insert(t->resp->body.end(), buf, buf + bytes);
  return bytes;
}

size_t OnHeader(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(buf, size * n);
  // A "100 Continue" comes before the real answer: start again at each
  // status line.
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  std::string value = line.substr(colon + 1);
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!value.empty() && ws(value.front())) value.erase(value.begin());
  while (!value.empty() && ws(value.back())) value.pop_back();
  t->resp->headers[name] = value;
  return size * n;
}

}  // namespace

Result<S3Credentials> S3CredentialsFromEnv(const char* (*getenv)(const char*)) {
  auto get = [&](const char* n) {
    const char* v = getenv(n);
    return std::string(v ? v : "");
  };
  S3Credentials c;
  c.access_key = get("AWS_ACCESS_KEY_ID");
  c.secret_key = get("AWS_SECRET_ACCESS_KEY");
  c.session_token = get("AWS_SESSION_TOKEN");
  c.ca_bundle = get("AWS_CA_BUNDLE");
  std::string region = get("AWS_DEFAULT_REGION");
  if (region.empty()) region = get("AWS_REGION");
  if (!region.empty()) c.region = region;
  if (c.access_key.empty() || c.secret_key.empty())
    return Fail(ErrorKind::kInvalidArgument,
                "S3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  // The region goes into curl's signing parameter, separated by ':'.
  if (c.region.find_first_of(":\r\n ") != std::string::npos)
    return Fail(ErrorKind::kInvalidArgument, "AWS_DEFAULT_REGION '" + c.region + "' is not a region name");
  return c;
}

S3Http::S3Http(S3Credentials creds, S3Timeouts timeouts)
    : creds_(std::move(creds)), timeouts_(timeouts) {
  // libcurl must be initialised once before any thread uses it.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

S3Http::~S3Http() = default;

std::unique_ptr<S3Http::Handle> S3Http::Acquire() {
  {
    std::lock_guard l(mu_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  h->curl = curl_easy_init();
  return h;
}

void S3Http::Release(std::unique_ptr<Handle> h) {
  std::lock_guard l(mu_);
  // Idle handles keep their connections open for the next request.
  if (idle_.size() < 64) idle_.push_back(std::move(h));
}

Result<HttpResponse> S3Http::Do(const HttpRequest& req, const std::string& what) {
  auto h = Acquire();
  if (!h->curl) return Fail(ErrorKind::kInternal, what + ": libcurl could not start a transfer");
  CURL* c = h->curl;
  curl_easy_reset(c);  // keeps the connection cache

  HttpResponse resp;
  Transfer t{req.body, 0, &resp, req.max_body, req.max_whole_body, c};
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add = [&](const std::string& line) {
    curl_slist* n = curl_slist_append(headers.get(), line.c_str());
    if (n) {
      (void)headers.release();
      headers.reset(n);
    }
  };
  for (const auto& line : req.headers) add(line);
  // SigV4 signs the payload through this header: curl cannot hash a body it
  // reads through a callback.
  add("x-amz-content-sha256: " + Sha256(req.body).Hex());
  if (!creds_.session_token.empty()) add("x-amz-security-token: " + creds_.session_token);
  if (req.method == "POST") add("Content-Type: application/xml");

  const std::string sigv4 = "aws:amz:" + creds_.region + ":s3";
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(c, CURLOPT_USERNAME, creds_.access_key.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, creds_.secret_key.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeouts_.connect_ms);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeouts_.stall_s);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeouts_.total_s);
  if (!creds_.ca_bundle.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, creds_.ca_bundle.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, curl_off_t(req.body.size()));
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(req.body.data()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    Release(std::move(h));
    return Fail(S3CurlError(int(rc), errbuf, what));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  Release(std::move(h));
  return resp;
}

}  // namespace ks
