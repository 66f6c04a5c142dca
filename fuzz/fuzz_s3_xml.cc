// Fuzzes the parsers of what an S3 server sends back (backend/s3_xml.h) and
// the error mapping built on them: the first input byte picks the parser,
// the rest is the body. Properties: no crash or sanitizer report on any
// input; every accepted listing is usable (non-empty keys, a truncated page
// always has a token to continue from); an error message stays one line.
#include "backend/s3_request.h"
#include "backend/s3_xml.h"

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ks;
  fuzz::Cursor c(data, size);
  uint8_t which = c.U8();
  std::string_view body(reinterpret_cast<const char*>(c.Rest().data()), c.Rest().size());
  switch (which % 6) {
    case 0:
      if (auto p = ParseListObjectsV2(body)) {
        fuzz::Count(0, "list v2 parsed");
        KS_FUZZ_CHECK(!p->truncated || !p->next_token.empty());
        for (const auto& o : p->objects) KS_FUZZ_CHECK(!o.key.empty());
      }
      break;
    case 1:
      if (auto p = ParseListObjectVersions(body)) {
        fuzz::Count(1, "versions parsed");
        KS_FUZZ_CHECK(!p->truncated || !p->next_key_marker.empty());
        for (const auto& v : p->versions) KS_FUZZ_CHECK(!v.key.empty() && !v.version_id.empty());
      }
      break;
    case 2:
      if (auto e = ParseS3Error(body)) {
        fuzz::Count(2, "error parsed");
        KS_FUZZ_CHECK(!e->code.empty());
      }
      break;
    case 3:
      if (auto id = ParseUploadId(body)) {
        fuzz::Count(3, "upload id parsed");
        KS_FUZZ_CHECK(!id->empty());
      }
      break;
    case 4:
      if (ParseVersioningEnabled(body)) fuzz::Count(4, "versioning parsed");
      if (ParseObjectLockEnabled(body)) fuzz::Count(5, "object lock parsed");
      break;
    case 5: {
      long status = 400 + long(which) % 200;
      Error e = S3HttpError(status, body, "GET k");
      KS_FUZZ_CHECK(e.message().find('\n') == std::string::npos);
      KS_FUZZ_CHECK(e.message().find('\r') == std::string::npos);
      fuzz::Count(6, "error mapped");
      break;
    }
  }
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  auto seed = [](uint8_t which, const char* text) {
    ks::Bytes b{which};
    ks::Append(b, ks::AsBytes(text));
    return b;
  };
  return {
      seed(0, R"(<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken><Contents><Key>p/data/ab/ab.0</Key><ETag>&quot;x&quot;</ETag><Size>1668</Size></Contents><CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes></ListBucketResult>)"),
      seed(1, R"(<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k2</NextKeyMarker><NextVersionIdMarker>v</NextVersionIdMarker><DeleteMarker><Key>k2</Key><VersionId>vO-x</VersionId><IsLatest>true</IsLatest></DeleteMarker><Version><Key>k2</Key><VersionId>1N.m</VersionId><IsLatest>false</IsLatest><Size>6</Size></Version></ListVersionsResult>)"),
      seed(2, R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>forbidden by object lock</Message><BucketName>b</BucketName></Error>)"),
      seed(3, "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>2~abc</UploadId></InitiateMultipartUploadResult>"),
      seed(4, "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"),
      seed(4, "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"),
      seed(5, "<Error><Code>SlowDown</Code><Message>wait</Message></Error>"),
  };
}
