// Parsing what an S3 server sends back: real bodies as radosgw and AWS
// write them, and garbled or hostile ones.
#include "backend/s3_xml.h"

#include <gtest/gtest.h>

#include "../core/test_util.h"

namespace ks {
namespace {

constexpr const char* kListV2 = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>vault</Name><Prefix>p/data/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
<Contents><Key>p/data/ab/ab01.0</Key><LastModified>2026-11-29T19:44:00.864Z</LastModified>
<ETag>&quot;b165b871dd61a5141103b5bbcb6b0f10&quot;</ETag><Size>1668</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>p/data/ab/ab01.1</Key><Size>0</Size></Contents>
</ListBucketResult>)";

TEST(S3Xml, ListObjectsV2) {
  auto p = ParseListObjectsV2(kListV2);
  ASSERT_OK(p);
  ASSERT_EQ(p->objects.size(), 2u);
  EXPECT_EQ(p->objects[0].key, "p/data/ab/ab01.0");
  EXPECT_EQ(p->objects[0].size, 1668u);
  EXPECT_EQ(p->objects[1].size, 0u);
  // The server's time (retention trusts it): 2026-11-29T19:44:00.864Z.
  EXPECT_EQ(p->objects[0].last_modified_ns, 1795981440864000000);
  EXPECT_TRUE(p->truncated);
  EXPECT_EQ(p->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");

  auto last = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><CommonPrefixes><Prefix>a/</Prefix>"
      "</CommonPrefixes></ListBucketResult>");
  ASSERT_OK(last);
  EXPECT_TRUE(last->objects.empty());
  EXPECT_FALSE(last->truncated);
  EXPECT_EQ(last->common_prefixes, std::vector<std::string>{"a/"});
}

constexpr const char* kVersions = R"(<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>lockb</Name><Prefix>k2</Prefix><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><DeleteMarker><Key>k2</Key><VersionId>vOjqy-NcDOtZPJ9QsqLcsxhC0fnpfVx</VersionId><IsLatest>true</IsLatest><LastModified>2026-11-29T19:39:18.115Z</LastModified><Owner><ID>kintsugi-test</ID><DisplayName>Kintsugi test</DisplayName></Owner><Type>Normal</Type></DeleteMarker><Version><Key>k2</Key><VersionId>1N-MWNAmrtIOvGS5sNqHmrpUR6jaqcn</VersionId><IsLatest>false</IsLatest><LastModified>2026-11-29T19:39:18.047Z</LastModified><ETag>&quot;b1946ac92492d2347c6235b4d2611184&quot;</ETag><Size>6</Size><StorageClass>STANDARD</StorageClass><Owner><ID>kintsugi-test</ID><DisplayName>Kintsugi test</DisplayName></Owner><Type>Normal</Type></Version><Version><Key>k3</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><Size>12</Size></Version></ListVersionsResult>)";

TEST(S3Xml, ListObjectVersionsKeepsMarkersAndOrder) {
  auto p = ParseListObjectVersions(kVersions);
  ASSERT_OK(p);
  ASSERT_EQ(p->versions.size(), 3u);
  EXPECT_TRUE(p->versions[0].delete_marker);
  EXPECT_TRUE(p->versions[0].latest);
  EXPECT_EQ(p->versions[0].version_id, "vOjqy-NcDOtZPJ9QsqLcsxhC0fnpfVx");
  EXPECT_FALSE(p->versions[1].delete_marker);
  EXPECT_FALSE(p->versions[1].latest);
  EXPECT_EQ(p->versions[1].size, 6u);
  EXPECT_EQ(p->versions[1].last_modified_ns, 1795981158047000000);
  EXPECT_EQ(p->versions[2].last_modified_ns, 0);  // absent: unknown, not an error
  EXPECT_EQ(p->versions[2].key, "k3");
  EXPECT_FALSE(p->truncated);

  auto t = ParseListObjectVersions(
      "<ListVersionsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k9</NextKeyMarker>"
      "<NextVersionIdMarker>v1</NextVersionIdMarker></ListVersionsResult>");
  ASSERT_OK(t);
  EXPECT_TRUE(t->truncated);
  EXPECT_EQ(t->next_key_marker, "k9");
  EXPECT_EQ(t->next_version_marker, "v1");
}

TEST(S3Xml, ErrorBodies) {
  auto e = ParseS3Error(
      R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>forbidden by object lock</Message><BucketName>lockb</BucketName><RequestId>tx0</RequestId></Error>)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "AccessDenied");
  EXPECT_EQ(e->message, "forbidden by object lock");
  auto empty_msg = ParseS3Error("<Error><Code>PreconditionFailed</Code><Message></Message></Error>");
  ASSERT_TRUE(empty_msg);
  EXPECT_EQ(empty_msg->message, "");
  EXPECT_FALSE(ParseS3Error(""));
  EXPECT_FALSE(ParseS3Error("<html><body>502 Bad Gateway</body></html>"));
  EXPECT_FALSE(ParseS3Error("<Error><Message>no code</Message></Error>"));
}

TEST(S3Xml, SmallDocuments) {
  EXPECT_EQ(*ParseUploadId("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                           "<UploadId>2~abc</UploadId></InitiateMultipartUploadResult>"),
            "2~abc");
  EXPECT_ERR(ParseUploadId("<InitiateMultipartUploadResult/>"), ErrorKind::kCorrupt);
  EXPECT_TRUE(*ParseVersioningEnabled(
      R"(<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>)"));
  EXPECT_FALSE(*ParseVersioningEnabled("<VersioningConfiguration/>"));
  EXPECT_FALSE(*ParseVersioningEnabled("<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>"));
  EXPECT_TRUE(*ParseObjectLockEnabled(
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"));
  EXPECT_FALSE(*ParseObjectLockEnabled("<ObjectLockConfiguration></ObjectLockConfiguration>"));
  EXPECT_EQ(XmlEscape("\"e<t>a&g'"), "&quot;e&lt;t&gt;a&amp;g&apos;");
}

TEST(S3Xml, GarbledAndHostileBodiesAreErrors) {
  const char* bad[] = {
      "",
      "not xml at all",
      "<ListBucketResult>",                                         // unterminated
      "<Other/>",                                                   // wrong root
      "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",   // no key
      "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999999</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>12x</Size></Contents></ListBucketResult>",
      "<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
      // truncated without a token would loop forever
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
      // entities: refused before parsing
      "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;\">]>"
      "<ListBucketResult><Contents><Key>&b;</Key><Size>1</Size></Contents></ListBucketResult>",
      "<!DOCTYPE x SYSTEM \"file:///etc/passwd\"><ListBucketResult/>",
  };
  for (const char* b : bad) EXPECT_ERR(ParseListObjectsV2(b), ErrorKind::kCorrupt) << b;
  EXPECT_ERR(ParseListObjectVersions("<ListVersionsResult><Version><Key>k</Key></Version></ListVersionsResult>"),
             ErrorKind::kCorrupt);
  EXPECT_ERR(ParseListObjectVersions(
                 "<ListVersionsResult><Version><Key>k</Key><VersionId>v</VersionId><IsLatest>true</IsLatest>"
                 "</Version></ListVersionsResult>"),
             ErrorKind::kCorrupt);  // a version without a size
  EXPECT_ERR(ParseListObjectVersions("<ListVersionsResult><IsTruncated>true</IsTruncated></ListVersionsResult>"),
             ErrorKind::kCorrupt);
  std::string nul("<ListBucketResult>\0</ListBucketResult>", 38);
  EXPECT_ERR(ParseListObjectsV2(nul), ErrorKind::kCorrupt);
  EXPECT_ERR(ParseListObjectsV2(std::string(40u << 20, ' ')), ErrorKind::kCorrupt);
}

}  // namespace
}  // namespace ks
