#include "backend/s3_request.h"

#include <curl/curl.h>

#include <algorithm>
#include <ctime>

#include "backend/s3_xml.h"

namespace ks {
namespace {

bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  return std::all_of(b.begin(), b.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
  });
}

// A server's message goes into a one-line error: no control characters, and
// not a page of HTML.
std::string Clean(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  return out;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  auto lower = [](std::string_view s) {
    std::string o(s);
    for (char& c : o) c = char(std::tolower(static_cast<unsigned char>(c)));
    return o;
  };
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

}  // namespace

Result<S3Url> ParseS3Url(std::string_view location) {
  auto bad = [&](const std::string& why) {
    return Fail(ErrorKind::kInvalidArgument,
                "bad S3 location '" + std::string(location) + "': " + why +
                    " (expected s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX])");
  };
  if (!IsS3Url(location)) return bad("it must start with 's3:'");
  std::string_view rest = location.substr(3);
  S3Url u;
  if (rest.rfind("https://", 0) == 0) {
    u.https = true;
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return bad("the endpoint must be an http:// or https:// URL");
  }
  size_t slash = rest.find('/');
  u.host = std::string(rest.substr(0, slash));
  if (u.host.empty()) return bad("no host");
  if (u.host.find('@') != std::string::npos)
    return bad("credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  if (rest.find_first_of("?#") != std::string_view::npos) return bad("no query or fragment allowed");
  if (slash == std::string_view::npos) return bad("no bucket");
  rest.remove_prefix(slash + 1);
  size_t s2 = rest.find('/');
  u.bucket = std::string(rest.substr(0, s2));
  if (!ValidBucket(u.bucket)) return bad("the bucket name must be 3 to 63 letters, digits, '.', '-' or '_'");
  if (s2 != std::string_view::npos) {
    std::string_view p = rest.substr(s2 + 1);
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    // Every segment non-empty and not "." or "..": keys are names, not paths
    // to be resolved, and some servers do resolve them.
    size_t start = 0;
    while (start <= p.size() && !p.empty()) {
      size_t e = p.find('/', start);
      if (e == std::string_view::npos) e = p.size();
      std::string_view seg = p.substr(start, e - start);
      if (seg.empty() || seg == "." || seg == "..") return bad("empty, '.' or '..' segment in the prefix");
      start = e + 1;
    }
    u.prefix = std::string(p);
  }
  return u;
}

std::string S3Url::Location() const {
  return "s3:" + Endpoint() + "/" + bucket + (prefix.empty() ? "" : "/" + prefix);
}

std::string S3Key(const S3Url& url, ObjectType t, const std::string& name) {
  std::string k = url.prefix.empty() ? "" : url.prefix + "/";
  if (t == ObjectType::kConfig) return k + name;
  k += std::string(ObjectTypeDir(t)) + "/";
  if (t == ObjectType::kPack) k += name.substr(0, 2) + "/";
  return k + name;
}

std::string S3ListPrefix(const S3Url& url, ObjectType t) {
  std::string k = url.prefix.empty() ? "" : url.prefix + "/";
  if (t == ObjectType::kConfig) return k + "config";
  return k + ObjectTypeDir(t) + "/";
}

std::string S3NameOf(const std::string& key) {
  size_t slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

std::string S3UriEncode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string S3Query(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [k, v] : params) {
    k = S3UriEncode(k, false);
    v = S3UriEncode(v, false);
  }
  std::sort(params.begin(), params.end());
  std::string q;
  for (const auto& [k, v] : params) q += (q.empty() ? "" : "&") + k + "=" + v;
  return q;
}

std::string S3RetainUntil(int64_t now_ns, uint32_t days) {
  int64_t secs = now_ns / 1000000000 + (now_ns % 1000000000 > 0 ? 1 : 0);
  time_t t = time_t(secs + int64_t(days) * 86400);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Error S3HttpError(long status, std::string_view body, const std::string& what) {
  auto err = ParseS3Error(body);
  std::string code = err ? err->code : "";
  std::string msg = err ? Clean(err->message) : "";
  std::string detail = "HTTP " + std::to_string(status) + (code.empty() ? "" : " " + Clean(code)) +
                       (msg.empty() ? "" : ": " + msg);
  auto fail = [&](ErrorKind k, const std::string& advice, bool transient = false) {
    return Error(k, what + ": " + detail + "; " + advice, transient);
  };
  if (code == "QuotaExceeded" || status == 507)
    return fail(ErrorKind::kNoSpace, "free space in the bucket or raise its quota");
  if (code == "SlowDown" || code == "ServiceUnavailable" || code == "InternalError" ||
      code == "RequestTimeout" || code == "OperationAborted" || status == 429 || status >= 500)
    return fail(ErrorKind::kIo, "the S3 server is busy or failing; try again later", true);
  if (code == "NoSuchBucket")
    return fail(ErrorKind::kNotFound,
                "the bucket does not exist: check the URL, or create a repository with 'kintsugi init'");
  if (status == 404) return fail(ErrorKind::kNotFound, "no such object");
  if (status == 403 || status == 401) {
    if (Contains(msg, "object lock") || Contains(code, "ObjectLock") || Contains(msg, "retention"))
      return fail(ErrorKind::kPermission,
                  "refused by Object Lock: the object is retained in compliance mode and cannot "
                  "be deleted or overwritten before its retain-until date");
    if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" ||
        code == "InvalidToken")
      return fail(ErrorKind::kPermission,
                  "the S3 server rejected the credentials: check AWS_ACCESS_KEY_ID, "
                  "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, AWS_DEFAULT_REGION)");
    if (code == "RequestTimeTooSkewed")
      return fail(ErrorKind::kPermission, "this machine's clock is off: synchronise it (NTP)");
    return fail(ErrorKind::kPermission,
                "access denied: give these credentials read, write, list and delete rights on the bucket");
  }
  if (status == 409 || status == 412)
    return fail(ErrorKind::kAlreadyExists, "the object already exists and is never replaced");
  if (status == 416)
    return fail(ErrorKind::kCorrupt, "the object is shorter than expected");
  return fail(ErrorKind::kIo, "the S3 server refused the request");
}

Error S3CurlError(int curl_code, std::string_view detail, const std::string& what) {
  std::string d = Clean(detail.empty() ? curl_easy_strerror(CURLcode(curl_code)) : detail);
  auto fail = [&](ErrorKind k, const std::string& advice, bool transient) {
    return Error(k, what + ": " + d + "; " + advice, transient);
  };
  switch (curl_code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return fail(ErrorKind::kIo,
                  "cannot reach the S3 server: check that it runs and the URL's host and port",
                  true);
    case CURLE_OPERATION_TIMEDOUT:
      return fail(ErrorKind::kIo, "the S3 server did not answer in time; try again later", true);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return fail(ErrorKind::kIo, "the connection to the S3 server broke; try again", true);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return fail(ErrorKind::kIo,
                  "the server's TLS certificate is not trusted: install its CA certificate "
                  "(system store, or AWS_CA_BUNDLE)",
                  false);
    case CURLE_WRITE_ERROR:
      return fail(ErrorKind::kCorrupt, "the S3 server sent more than was asked for", false);
    default:
      return fail(ErrorKind::kIo, "the transfer to the S3 server failed", false);
  }
}

}  // namespace ks
