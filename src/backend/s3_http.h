// HTTP transfers to an S3 server with libcurl, which signs every request
// with AWS Signature V4 itself (CURLOPT_AWS_SIGV4). Easy handles are kept in
// a pool so that many requests can be in flight from several threads and
// connections are reused between requests.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace ks {

struct S3Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional (temporary credentials)
  std::string region = "us-east-1";
  std::string ca_bundle;      // optional: a CA file for https endpoints
};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_DEFAULT_REGION (or AWS_REGION), AWS_CA_BUNDLE. `getenv` is passed in
// so tests need not touch the process environment.
Result<S3Credentials> S3CredentialsFromEnv(const char* (*getenv)(const char*));

struct S3Timeouts {
  long connect_ms = 10000;
  // A transfer that moves nothing for this long is abandoned (a hung
  // server, a full memstore that blocks writes instead of failing them).
  long stall_s = 60;
  long total_s = 1800;  // hard cap per request
};

struct HttpRequest {
  std::string method = "GET";  // GET HEAD PUT POST DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  ByteSpan body;                     // PUT and POST
  // Bodies larger than this are refused (a hostile server cannot make us
  // allocate without bound).
  size_t max_body = 16u << 20;
  // The cap for a "200 OK" answer to a ranged GET: a server that ignores
  // Range sends the whole object, and the caller cuts the range out.
  size_t max_whole_body = 0;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  Bytes body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class S3Http {
 public:
  S3Http(S3Credentials creds, S3Timeouts timeouts);
  ~S3Http();
  S3Http(const S3Http&) = delete;
  S3Http& operator=(const S3Http&) = delete;

  // One signed exchange. Fails only if no HTTP answer came back (the
  // caller judges the status); `what` names the operation for messages.
  // The payload hash header (x-amz-content-sha256) is added here.
  Result<HttpResponse> Do(const HttpRequest& req, const std::string& what);

 private:
  struct Handle;
  std::unique_ptr<Handle> Acquire();
  void Release(std::unique_ptr<Handle> h);

  S3Credentials creds_;
  S3Timeouts timeouts_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;
};

}  // namespace ks
