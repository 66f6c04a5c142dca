// The S3 location against a real radosgw, started by the test script
// (tests/ceph/ceph_cluster.sh start --rgw) which exports KS_RGW_ENDPOINT,
// KS_RGW_ACCESS_KEY and KS_RGW_SECRET_KEY. Without them every test here is
// skipped. Each test uses its own bucket.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "../core/test_util.h"
#include "backend/s3_backend.h"
#include "backend/sharded_backend.h"

namespace ks {
namespace {

class FixedClock : public Clock {
 public:
  explicit FixedClock(int64_t ns) : ns_(ns) {}
  int64_t NowNs() const override { return ns_; }

 private:
  int64_t ns_;
};

class RadosGw : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* ep = std::getenv("KS_RGW_ENDPOINT");
    if (!ep || !*ep) GTEST_SKIP() << "no radosgw (KS_RGW_ENDPOINT unset)";
    endpoint_ = ep;
    creds_.access_key = std::getenv("KS_RGW_ACCESS_KEY");
    creds_.secret_key = std::getenv("KS_RGW_SECRET_KEY");
    std::random_device rd;
    bucket_ = "ks-test-" + std::to_string(rd()) + std::to_string(rd());
  }

  S3Url Url(const std::string& prefix = "") const {
    return *ParseS3Url("s3:" + endpoint_ + "/" + bucket_ + (prefix.empty() ? "" : "/" + prefix));
  }
  std::unique_ptr<S3Backend> Make(S3Options o = {}, const std::string& prefix = "") {
    o.retries = 1;
    o.retry_base_ms = 10;
    return std::make_unique<S3Backend>(Url(prefix), creds_, o);
  }
  // Raw requests, as someone holding the credentials would send them.
  HttpResponse Raw(const std::string& method, const std::string& key, const std::string& query = "") {
    S3Http http(creds_, S3Timeouts{});
    HttpRequest r;
    r.method = method;
    r.url = endpoint_ + "/" + bucket_ + "/" + key + (query.empty() ? "" : "?" + query);
    auto resp = http.Do(r, method + " " + key);
    EXPECT_TRUE(resp.has_value());
    return resp ? *resp : HttpResponse{};
  }

  std::string endpoint_, bucket_;
  S3Credentials creds_;
};

TEST_F(RadosGw, PutGetStatListRemove) {
  auto b = Make({}, "repo/a");
  ASSERT_OK(b->Create());
  ASSERT_OK(b->Create());  // idempotent
  Bytes data = test::PseudoRandom(100000, 1);
  ASSERT_OK(b->Put(ObjectType::kPack, "abcd.0", data));
  ASSERT_OK(b->Put(ObjectType::kConfig, "config.0", AsBytes("cfg")));
  EXPECT_EQ(b->KeyOf(ObjectType::kPack, "abcd.0"), "repo/a/data/ab/abcd.0");

  auto all = b->Get(ObjectType::kPack, "abcd.0", 0, 0);
  ASSERT_OK(all);
  EXPECT_EQ(*all, data);
  auto mid = b->Get(ObjectType::kPack, "abcd.0", 4000, 1000);
  ASSERT_OK(mid);
  EXPECT_EQ(*mid, Bytes(data.begin() + 4000, data.begin() + 5000));
  auto tail = b->Get(ObjectType::kPack, "abcd.0", 99000, 0);
  ASSERT_OK(tail);
  EXPECT_EQ(tail->size(), 1000u);
  auto end = b->Get(ObjectType::kPack, "abcd.0", 100000, 0);
  ASSERT_OK(end);
  EXPECT_TRUE(end->empty());
  EXPECT_ERR(b->Get(ObjectType::kPack, "abcd.0", 99990, 20), ErrorKind::kCorrupt);
  EXPECT_ERR(b->Get(ObjectType::kPack, "abcd.0", 200000, 0), ErrorKind::kCorrupt);

  auto st = b->Stat(ObjectType::kPack, "abcd.0");
  ASSERT_OK(st);
  EXPECT_EQ(st->size, data.size());
  auto list = b->List(ObjectType::kPack);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "abcd.0");
  EXPECT_EQ((*list)[0].size, data.size());
  auto cfg = b->List(ObjectType::kConfig);
  ASSERT_OK(cfg);
  ASSERT_EQ(cfg->size(), 1u);
  EXPECT_TRUE(b->List(ObjectType::kSnapshot)->empty());

  ASSERT_OK(b->Remove(ObjectType::kPack, "abcd.0"));
  EXPECT_ERR(b->Get(ObjectType::kPack, "abcd.0", 0, 0), ErrorKind::kNotFound);
  EXPECT_ERR(b->Stat(ObjectType::kPack, "abcd.0"), ErrorKind::kNotFound);
  EXPECT_ERR(b->Remove(ObjectType::kPack, "abcd.0"), ErrorKind::kNotFound);
  EXPECT_TRUE(b->List(ObjectType::kPack)->empty());
  EXPECT_ERR(b->Put(ObjectType::kPack, "../x", data), ErrorKind::kInvalidArgument);
}

TEST_F(RadosGw, ExistingObjectIsNeverReplaced) {
  auto b = Make();
  ASSERT_OK(b->Create());
  ASSERT_OK(b->Put(ObjectType::kSnapshot, "s1.0", AsBytes("first")));
  EXPECT_ERR(b->Put(ObjectType::kSnapshot, "s1.0", AsBytes("second")), ErrorKind::kAlreadyExists);
  EXPECT_EQ(AsString(*b->Get(ObjectType::kSnapshot, "s1.0", 0, 0)), "first");
  // Replace (repair) does replace.
  ASSERT_OK(b->Replace(ObjectType::kSnapshot, "s1.0", AsBytes("third")));
  EXPECT_EQ(AsString(*b->Get(ObjectType::kSnapshot, "s1.0", 0, 0)), "third");
}

TEST_F(RadosGw, MissingObjectAndMissingBucket) {
  auto b = Make();
  EXPECT_ERR(b->Get(ObjectType::kPack, "ffff.0", 0, 0), ErrorKind::kNotFound);
  EXPECT_ERR(b->Stat(ObjectType::kKey, "ffff.0"), ErrorKind::kNotFound);
  auto l = b->List(ObjectType::kPack);
  EXPECT_ERR(l, ErrorKind::kNotFound);
  ASSERT_OK(b->Create());
  EXPECT_ERR(b->Get(ObjectType::kPack, "ffff.0", 0, 64), ErrorKind::kNotFound);
  EXPECT_ERR(b->Remove(ObjectType::kPack, "ffff.0"), ErrorKind::kNotFound);
}

TEST_F(RadosGw, ListingFollowsContinuation) {
  S3Options o;
  o.list_page_size = 3;
  auto b = Make(o);
  ASSERT_OK(b->Create());
  for (int i = 0; i < 10; i++)
    ASSERT_OK(b->Put(ObjectType::kIndex, "idx" + std::to_string(i) + ".0", AsBytes("x")));
  auto l = b->List(ObjectType::kIndex);
  ASSERT_OK(l);
  EXPECT_EQ(l->size(), 10u);
}

TEST_F(RadosGw, MultipartUpload) {
  S3Options o;
  o.multipart_threshold = 1 << 20;
  o.part_size = 5 << 20;  // radosgw's smallest part (but the last)
  auto b = Make(o);
  ASSERT_OK(b->Create());
  Bytes big = test::PseudoRandom((11 << 20) + 123, 2);
  ASSERT_OK(b->Put(ObjectType::kPack, "bigpack.0", big));
  auto back = b->Get(ObjectType::kPack, "bigpack.0", 0, 0);
  ASSERT_OK(back);
  EXPECT_TRUE(*back == big);
  auto part = b->Get(ObjectType::kPack, "bigpack.0", (5 << 20) - 10, 20);  // across parts
  ASSERT_OK(part);
  EXPECT_EQ(*part, Bytes(big.begin() + (5 << 20) - 10, big.begin() + (5 << 20) + 10));
  EXPECT_ERR(b->Put(ObjectType::kPack, "bigpack.0", big), ErrorKind::kAlreadyExists);
}

TEST_F(RadosGw, ObjectLockRetainsAndHiddenObjectsStillRead) {
  // A fixed clock one hour ahead: the retain-until date must come from it.
  int64_t now = SystemClock().NowNs() + 3600ll * 1000000000;
  FixedClock clock(now);
  S3Options o;
  o.clock = &clock;
  auto b = Make(o, "vault");
  ASSERT_OK(b->SetObjectLock(1));
  ASSERT_OK(b->Create());
  ASSERT_TRUE(*b->Versioned());
  Bytes data = test::PseudoRandom(5000, 3);
  ASSERT_OK(b->Put(ObjectType::kPack, "beef.0", data));
  std::string key = b->KeyOf(ObjectType::kPack, "beef.0");
  HttpResponse head = Raw("HEAD", key);
  EXPECT_EQ(head.Header("x-amz-object-lock-mode"), "COMPLIANCE");
  EXPECT_EQ(head.Header("x-amz-object-lock-retain-until-date").substr(0, 19),
            S3RetainUntil(now, 1).substr(0, 19));

  // Neither removed nor overwritten.
  auto rm = b->Remove(ObjectType::kPack, "beef.0");
  EXPECT_ERR(rm, ErrorKind::kPermission);
  if (!rm) {
    EXPECT_NE(rm.error().message().find("Object Lock"), std::string::npos) << rm.error().message();
  }
  EXPECT_ERR(b->Put(ObjectType::kPack, "beef.0", AsBytes("evil")), ErrorKind::kAlreadyExists);
  EXPECT_EQ(*b->Get(ObjectType::kPack, "beef.0", 0, 0), data);

  // A DELETE of the version itself is refused by the server.
  std::string listing = AsString(Raw("GET", "", S3Query({{"versions", ""}, {"prefix", key}})).body);
  auto versions = ParseListObjectVersions(listing);
  ASSERT_OK(versions);
  ASSERT_EQ(versions->versions.size(), 1u);
  EXPECT_EQ(Raw("DELETE", key, S3Query({{"versionId", versions->versions[0].version_id}})).status, 403);

  // A DELETE without a version id hides the object behind a marker...
  EXPECT_EQ(Raw("DELETE", key).status, 204);
  EXPECT_EQ(Raw("GET", key).status, 404);
  // ... but the backend still reads it, lists it and says it is hidden.
  auto fresh = Make(o, "vault");
  ASSERT_OK(fresh->SetObjectLock(1));
  EXPECT_EQ(*fresh->Get(ObjectType::kPack, "beef.0", 100, 50), Bytes(data.begin() + 100, data.begin() + 150));
  EXPECT_EQ(fresh->Stat(ObjectType::kPack, "beef.0")->size, data.size());
  auto list = fresh->List(ObjectType::kPack);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  auto hidden = fresh->ListHidden(ObjectType::kPack);
  ASSERT_OK(hidden);
  EXPECT_EQ(*hidden, std::vector<std::string>{"beef.0"});
  EXPECT_ERR(fresh->Remove(ObjectType::kPack, "beef.0"), ErrorKind::kPermission);
  EXPECT_EQ(*fresh->Get(ObjectType::kPack, "beef.0", 0, 0), data);

  // Locks are not retained: every command removes its own.
  ASSERT_OK(b->Put(ObjectType::kLock, "cafe.0", AsBytes("lock")));
  ASSERT_OK(b->Remove(ObjectType::kLock, "cafe.0"));
  EXPECT_TRUE(b->List(ObjectType::kLock)->empty());
  EXPECT_ERR(b->Get(ObjectType::kLock, "cafe.0", 0, 0), ErrorKind::kNotFound);
}

TEST_F(RadosGw, ObjectLockNeedsABucketMadeForIt) {
  auto plain = Make();
  ASSERT_OK(plain->Create());
  auto locked = Make();
  ASSERT_OK(locked->SetObjectLock(7));
  auto st = locked->Create();
  EXPECT_ERR(st, ErrorKind::kUnsupported);
  if (!st) {
    EXPECT_NE(st.error().message().find("Object Lock"), std::string::npos);
  }
}

TEST_F(RadosGw, EnvelopeOverABucket) {
  // The envelope's shards in one bucket, as `kintsugi -r s3:...` stores them.
  std::vector<std::unique_ptr<Backend>> locs;
  locs.push_back(Make());
  ShardedBackend env(std::move(locs), Geometry{4, 2});
  ASSERT_OK(env.Create());
  Bytes data = test::PseudoRandom(300000, 4);
  ASSERT_OK(env.Put(ObjectType::kPack, "0123", data));
  EXPECT_ERR(env.Put(ObjectType::kPack, "0123", data), ErrorKind::kAlreadyExists);
  EXPECT_EQ(*env.Get(ObjectType::kPack, "0123", 1000, 70000),
            Bytes(data.begin() + 1000, data.begin() + 71000));
  auto h = env.Verify(ObjectType::kPack, "0123");
  ASSERT_OK(h);
  EXPECT_TRUE(h->intact);
  // Two shards lost: still read; repair rewrites them.
  ASSERT_OK(env.location(0).Remove(ObjectType::kPack, "0123.1"));
  ASSERT_OK(env.location(0).Remove(ObjectType::kPack, "0123.4"));
  EXPECT_EQ(*env.Get(ObjectType::kPack, "0123", 0, 0), data);
  ASSERT_OK(env.Repair(ObjectType::kPack, "0123"));
  EXPECT_TRUE(env.Verify(ObjectType::kPack, "0123")->intact);
  EXPECT_EQ(env.List(ObjectType::kPack)->size(), 1u);
  ASSERT_OK(env.Remove(ObjectType::kPack, "0123"));
  EXPECT_ERR(env.Get(ObjectType::kPack, "0123", 0, 0), ErrorKind::kNotFound);
}

TEST_F(RadosGw, EnvelopeRemoveOnALockedBucketIsRefusedNotMissing) {
  std::vector<std::unique_ptr<Backend>> locs;
  locs.push_back(Make());
  ShardedBackend env(std::move(locs), Geometry{2, 1});
  ASSERT_OK(env.SetObjectLock(1));
  ASSERT_OK(env.Create());
  ASSERT_OK(env.Put(ObjectType::kSnapshot, "5555", AsBytes("snapshot bytes")));
  EXPECT_ERR(env.Remove(ObjectType::kSnapshot, "5555"), ErrorKind::kPermission);
  EXPECT_EQ(AsString(*env.Get(ObjectType::kSnapshot, "5555", 0, 0)), "snapshot bytes");
}

TEST_F(RadosGw, WrongCredentialsSayWhatToCheck) {
  creds_.secret_key = "wrong";
  auto b = Make();
  auto st = b->Create();
  EXPECT_ERR(st, ErrorKind::kPermission);
  if (!st) {
    EXPECT_NE(st.error().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << st.error().message();
  }
}

TEST(S3Down, NothingListeningIsATransientClearError) {
  // A port nothing listens on: connection refused at once.
  S3Options o;
  o.retries = 2;
  o.retry_base_ms = 10;
  S3Credentials c;
  c.access_key = "AK";
  c.secret_key = "SK";
  S3Backend b(*ParseS3Url("s3:http://127.0.0.1:1/bucket"), c, o);
  auto r = b.Get(ObjectType::kPack, "ab.0", 0, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo);
  EXPECT_TRUE(r.error().transient());
  EXPECT_NE(r.error().message().find("host and port"), std::string::npos) << r.error().message();
  EXPECT_ERR(b.Put(ObjectType::kPack, "ab.0", AsBytes("x")), ErrorKind::kIo);
}

}  // namespace
}  // namespace ks
