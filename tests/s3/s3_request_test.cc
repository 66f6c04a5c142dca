// The pure parts of the S3 location: URLs, keys, SigV4 encodings, Object
// Lock dates, error mapping, credentials. No server needed.
#include "backend/s3_request.h"

#include <gtest/gtest.h>

#include <map>

#include "../core/test_util.h"
#include "backend/s3_http.h"
#include "util/clock.h"

namespace ks {
namespace {

TEST(S3Url, ParsesEndpointBucketAndPrefix) {
  auto u = ParseS3Url("s3:http://127.0.0.1:7480/vault");
  ASSERT_OK(u);
  EXPECT_FALSE(u->https);
  EXPECT_EQ(u->host, "127.0.0.1:7480");
  EXPECT_EQ(u->bucket, "vault");
  EXPECT_EQ(u->prefix, "");
  EXPECT_EQ(u->Endpoint(), "http://127.0.0.1:7480");
  EXPECT_EQ(u->Location(), "s3:http://127.0.0.1:7480/vault");

  auto p = ParseS3Url("s3:https://s3.example.org/vault/site-a/pacs/");
  ASSERT_OK(p);
  EXPECT_TRUE(p->https);
  EXPECT_EQ(p->host, "s3.example.org");
  EXPECT_EQ(p->prefix, "site-a/pacs");
  EXPECT_EQ(p->Location(), "s3:https://s3.example.org/vault/site-a/pacs");
}

TEST(S3Url, RejectsWhatIsNotAnS3Location) {
  for (const char* bad : {"s3:", "s3:ftp://h/b", "s3:http://", "s3:http://h", "s3:http://h/",
                          "s3:http://h/ab", "s3:http://h/bucket?x=1", "s3:http://key:secret@h/bucket",
                          "s3:http://h/bucket/a//b", "s3:http://h/bucket/../x", "s3:http://h/bu cket",
                          "http://h/bucket"})
    EXPECT_ERR(ParseS3Url(bad), ErrorKind::kInvalidArgument) << bad;
  EXPECT_TRUE(IsS3Url("s3:http://h/b"));
  EXPECT_FALSE(IsS3Url("/srv/vault"));
  EXPECT_FALSE(IsS3Url("local:s3:x"));
}

TEST(S3Url, CredentialsInTheUrlAreRefusedWithAdvice) {
  auto r = ParseS3Url("s3:http://key:secret@h/bucket");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(S3Key, FollowsTheLocalLayoutUnderThePrefix) {
  S3Url u = *ParseS3Url("s3:http://h/bkt/p/q");
  EXPECT_EQ(S3Key(u, ObjectType::kConfig, "config.3"), "p/q/config.3");
  EXPECT_EQ(S3Key(u, ObjectType::kPack, "abcdef.0"), "p/q/data/ab/abcdef.0");
  EXPECT_EQ(S3Key(u, ObjectType::kSnapshot, "1234.9"), "p/q/snapshots/1234.9");
  EXPECT_EQ(S3Key(u, ObjectType::kLock, "ff.1"), "p/q/locks/ff.1");
  EXPECT_EQ(S3ListPrefix(u, ObjectType::kPack), "p/q/data/");
  EXPECT_EQ(S3ListPrefix(u, ObjectType::kConfig), "p/q/config");
  S3Url root = *ParseS3Url("s3:http://h/bkt");
  EXPECT_EQ(S3Key(root, ObjectType::kConfig, "config.0"), "config.0");
  EXPECT_EQ(S3Key(root, ObjectType::kIndex, "aa.2"), "index/aa.2");
  EXPECT_EQ(S3ListPrefix(root, ObjectType::kKey), "keys/");
  EXPECT_EQ(S3NameOf("p/q/data/ab/abcdef.0"), "abcdef.0");
  EXPECT_EQ(S3NameOf("config.0"), "config.0");
}

TEST(S3Encoding, UriEncodeAsSigV4Wants) {
  EXPECT_EQ(S3UriEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(S3UriEncode("a b/c+d=e&", false), "a%20b%2Fc%2Bd%3De%26");
  EXPECT_EQ(S3UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(S3UriEncode("\xc3\xa9", false), "%C3%A9");
}

TEST(S3Encoding, QueryIsSortedAndEncoded) {
  // curl 7.88 signs the query as sent: it must already be canonical.
  EXPECT_EQ(S3Query({{"versions", ""}, {"prefix", "p/data/"}, {"max-keys", "1000"}}),
            "max-keys=1000&prefix=p%2Fdata%2F&versions=");
  EXPECT_EQ(S3Query({{"uploadId", "a+b=="}, {"partNumber", "2"}}), "partNumber=2&uploadId=a%2Bb%3D%3D");
  EXPECT_EQ(S3Query({}), "");
}

TEST(S3ObjectLock, RetainUntilIsNowPlusDaysRoundedUp) {
  // 2026-11-29T16:33:13Z plus a fraction: rounded up to :14.
  int64_t ns = 0;
  ASSERT_TRUE(ParseTimeUtc("2026-11-29T16:33:13.250000000Z", ns));
  EXPECT_EQ(S3RetainUntil(ns, 1), "2026-11-30T16:33:14Z");
  EXPECT_EQ(S3RetainUntil(ns, 30), "2026-12-29T16:33:14Z");
  ASSERT_TRUE(ParseTimeUtc("2028-02-28T23:59:59Z", ns));
  EXPECT_EQ(S3RetainUntil(ns, 1), "2028-02-29T23:59:59Z");  // leap year
  EXPECT_EQ(S3RetainUntil(ns, 0), "2028-02-28T23:59:59Z");
}

Error Mapped(long status, const std::string& code, const std::string& msg = "") {
  std::string body = code.empty() ? "" : "<?xml version=\"1.0\"?><Error><Code>" + code +
                                              "</Code><Message>" + msg + "</Message></Error>";
  return S3HttpError(status, body, "PUT data/ab/ab.0");
}

TEST(S3Errors, HttpStatusesMapToKinds) {
  EXPECT_EQ(Mapped(404, "NoSuchKey").kind(), ErrorKind::kNotFound);
  EXPECT_EQ(Mapped(404, "").kind(), ErrorKind::kNotFound);
  EXPECT_EQ(Mapped(403, "AccessDenied").kind(), ErrorKind::kPermission);
  EXPECT_EQ(Mapped(401, "").kind(), ErrorKind::kPermission);
  EXPECT_EQ(Mapped(409, "BucketAlreadyExists").kind(), ErrorKind::kAlreadyExists);
  EXPECT_EQ(Mapped(412, "PreconditionFailed").kind(), ErrorKind::kAlreadyExists);
  EXPECT_EQ(Mapped(416, "InvalidRange").kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(Mapped(403, "QuotaExceeded").kind(), ErrorKind::kNoSpace);
  EXPECT_EQ(Mapped(400, "InvalidArgument").kind(), ErrorKind::kIo);
  EXPECT_FALSE(Mapped(400, "InvalidArgument").transient());
  for (long s : {500L, 502L, 503L, 504L, 429L}) {
    Error e = Mapped(s, s == 503 ? "SlowDown" : "");
    EXPECT_EQ(e.kind(), ErrorKind::kIo) << s;
    EXPECT_TRUE(e.transient()) << s;
  }
  EXPECT_TRUE(Mapped(400, "RequestTimeout").transient());
  EXPECT_FALSE(Mapped(404, "NoSuchKey").transient());
}

TEST(S3Errors, MessagesSayWhatToDoOnOneLine) {
  Error lock = Mapped(403, "AccessDenied", "forbidden by object lock");
  EXPECT_NE(lock.message().find("Object Lock"), std::string::npos) << lock.message();
  Error creds = Mapped(403, "SignatureDoesNotMatch");
  EXPECT_NE(creds.message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << creds.message();
  Error skew = Mapped(403, "RequestTimeTooSkewed");
  EXPECT_NE(skew.message().find("clock"), std::string::npos);
  Error bucket = Mapped(404, "NoSuchBucket");
  EXPECT_NE(bucket.message().find("bucket does not exist"), std::string::npos);
  // A hostile message cannot break the line or flood the terminal.
  Error evil = Mapped(500, "InternalError", std::string(5000, 'x') + "\n\r\x1b[2J");
  EXPECT_EQ(evil.message().find('\n'), std::string::npos);
  EXPECT_EQ(evil.message().find('\x1b'), std::string::npos);
  EXPECT_LT(evil.message().size(), 600u);
  EXPECT_NE(evil.message().find("PUT data/ab/ab.0"), std::string::npos);
}

TEST(S3Errors, GarbageBodiesStillMapByStatus) {
  EXPECT_EQ(S3HttpError(403, "<html>nope</html>", "x").kind(), ErrorKind::kPermission);
  EXPECT_EQ(S3HttpError(404, std::string("\0\xff<Error>", 9), "x").kind(), ErrorKind::kNotFound);
  EXPECT_EQ(S3HttpError(302, "", "x").kind(), ErrorKind::kIo);
}

TEST(S3Errors, TransferFailuresMapToTransientIo) {
  // CURLE_COULDNT_CONNECT 7, CURLE_OPERATION_TIMEDOUT 28, CURLE_RECV_ERROR 56,
  // CURLE_GOT_NOTHING 52: retrying may help.
  for (int code : {7, 28, 56, 52}) {
    Error e = S3CurlError(code, "", "GET x");
    EXPECT_EQ(e.kind(), ErrorKind::kIo) << code;
    EXPECT_TRUE(e.transient()) << code;
  }
  Error refused = S3CurlError(7, "Failed to connect to 127.0.0.1 port 1", "GET x");
  EXPECT_NE(refused.message().find("host and port"), std::string::npos);
  // CURLE_PEER_FAILED_VERIFICATION 60: retrying will not help.
  EXPECT_FALSE(S3CurlError(60, "", "GET x").transient());
  // CURLE_WRITE_ERROR 23: the body was larger than asked for.
  EXPECT_EQ(S3CurlError(23, "", "GET x").kind(), ErrorKind::kCorrupt);
}

TEST(S3Credentials, ComeFromTheEnvironment) {
  static std::map<std::string, std::string> env;
  auto get = [](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  env = {};
  EXPECT_ERR(S3CredentialsFromEnv(get), ErrorKind::kInvalidArgument);
  env = {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}};
  auto c = S3CredentialsFromEnv(get);
  ASSERT_OK(c);
  EXPECT_EQ(c->access_key, "AK");
  EXPECT_EQ(c->secret_key, "SK");
  EXPECT_EQ(c->region, "us-east-1");
  env["AWS_REGION"] = "eu-west-2";
  EXPECT_EQ(S3CredentialsFromEnv(get)->region, "eu-west-2");
  env["AWS_DEFAULT_REGION"] = "eu-central-1";
  EXPECT_EQ(S3CredentialsFromEnv(get)->region, "eu-central-1");
  env["AWS_DEFAULT_REGION"] = "bad:region";
  EXPECT_ERR(S3CredentialsFromEnv(get), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace ks
