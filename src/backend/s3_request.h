// The pure parts of talking to S3: parsing a repository URL, naming
// objects, encoding paths and queries the way SigV4 signs them, Object Lock
// dates, and turning HTTP and transfer failures into Errors. No I/O here
// (s3_http.h does the transfers, s3_backend.h puts it together).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/backend.h"

namespace ks {

// "s3:http://127.0.0.1:7480/BUCKET[/PREFIX]" (https too): path-style, so
// any S3-compatible server works without DNS for bucket names.
struct S3Url {
  bool https = false;
  std::string host;    // "127.0.0.1:7480" (host[:port] as given)
  std::string bucket;
  std::string prefix;  // "" or "a/b" (no leading or trailing '/')

  std::string Endpoint() const { return (https ? "https://" : "http://") + host; }
  std::string Location() const;  // the URL again, normalised
};
Result<S3Url> ParseS3Url(std::string_view location);
// Inline: OpenLocation (in the executable, which does not link the S3 code)
// uses it to decide whether to load the S3 module.
inline bool IsS3Url(std::string_view location) { return location.starts_with("s3:"); }

// Where an object lives in the bucket: the local layout (docs/design.md,
// section 2) under the prefix, so a bucket copied to a disk is a repository.
std::string S3Key(const S3Url& url, ObjectType t, const std::string& name);
// The key prefix that List(t) scans.
std::string S3ListPrefix(const S3Url& url, ObjectType t);
// The object name back from a listed key (the part after the last '/');
// empty if the key is not one of ours.
std::string S3NameOf(const std::string& key);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay,
// everything else is %XX (upper case); '/' stays when `keep_slash`.
std::string S3UriEncode(std::string_view s, bool keep_slash);
// A query string in SigV4's canonical form (sorted by name, encoded,
// "name=" for empty values), so that the request line curl sends is the
// canonical query it signs.
std::string S3Query(std::vector<std::pair<std::string, std::string>> params);

// The retain-until date of an object written at `now_ns` under a retention
// of `days`: "2026-11-30T19:34:35Z", rounded up to the second so an object
// is never retained for less than the period.
std::string S3RetainUntil(int64_t now_ns, uint32_t days);

// Maps a finished HTTP exchange with a status >= 300 to an Error. `what`
// names the operation ("PUT data/ab/abcd.0").
Error S3HttpError(long status, std::string_view body, const std::string& what);
// Maps a libcurl failure (CURLcode) to an Error.
Error S3CurlError(int curl_code, std::string_view detail, const std::string& what);

}  // namespace ks
