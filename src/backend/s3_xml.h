// Parsers for the XML bodies an S3 server sends back (ListObjectsV2,
// ListObjectVersions, errors, multipart and bucket settings). Pure: text in,
// values out. The text comes from the network and may be garbled or hostile:
// every parser returns an error (kCorrupt) instead of trusting it, and
// documents with a DTD are refused outright (S3 never sends one, and
// entities are how XML parsers are made to blow up).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace ks {

struct S3Object {
  std::string key;
  uint64_t size = 0;
  int64_t last_modified_ns = 0;  // the server's LastModified; 0 if absent or unreadable
};

// One page of ListObjectsV2.
struct S3ListPage {
  std::vector<S3Object> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken
};
Result<S3ListPage> ParseListObjectsV2(std::string_view xml);

// One entry of ListObjectVersions: a stored version or a delete marker.
struct S3Version {
  std::string key;
  std::string version_id;
  bool latest = false;
  bool delete_marker = false;
  uint64_t size = 0;
  int64_t last_modified_ns = 0;  // the server's LastModified; 0 if absent or unreadable
};
struct S3VersionsPage {
  std::vector<S3Version> versions;  // in the server's order: by key, newest first
  bool truncated = false;
  std::string next_key_marker, next_version_marker;
};
Result<S3VersionsPage> ParseListObjectVersions(std::string_view xml);

// <Error><Code>..</Code><Message>..</Message></Error>; nullopt if the text
// is not such a document (an empty body, HTML from a proxy, garbage).
struct S3ErrorBody {
  std::string code;
  std::string message;
};
std::optional<S3ErrorBody> ParseS3Error(std::string_view xml);

// <InitiateMultipartUploadResult><UploadId>.
Result<std::string> ParseUploadId(std::string_view xml);
// <VersioningConfiguration><Status>Enabled</Status>: true if enabled.
Result<bool> ParseVersioningEnabled(std::string_view xml);
// <ObjectLockConfiguration><ObjectLockEnabled>Enabled: true if enabled.
Result<bool> ParseObjectLockEnabled(std::string_view xml);

// Escapes text for an XML element body (the CompleteMultipartUpload
// request: ETags are quoted strings).
std::string XmlEscape(std::string_view s);

}  // namespace ks
