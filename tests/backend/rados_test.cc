// Cases only a RADOS location has: location syntax, a cluster that does not
// answer (a clear error within the timeout, not a hang), a pool that does not
// exist yet, namespaces as separate repositories, and the storage envelope
// with its shards spread over RADOS locations.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "../core/test_util.h"
#include "cluster_env.h"
#include "backend/rados_backend.h"
#include "backend/sharded_backend.h"

namespace ks {
namespace {

using test::PseudoRandom;
using test::TempDir;
using test::TestPool;

std::string Unique(const std::string& base) {
  std::random_device rd;
  return base + "-" + std::to_string(rd() % 1000000000u);
}

#define REQUIRE_RADOS() \
  if (!RadosSupported()) GTEST_SKIP() << "built without RADOS support"
#define REQUIRE_CLUSTER()                                                                \
  REQUIRE_RADOS();                                                                       \
  if (TestPool().empty()) {                                                              \
    if (test::ClusterRequired()) FAIL() << test::kNoClusterReason;                       \
    GTEST_SKIP() << test::kNoClusterReason;                                              \
  }

TEST(RadosLocation, BadSyntaxIsAUsageError) {
  REQUIRE_RADOS();
  for (const char* bad : {"rados:", "rados:/ns", "rados:pool/", "rados:pool/a/b"}) {
    auto r = OpenRadosLocation(bad, RadosOptions{});
    EXPECT_ERR(r, ErrorKind::kInvalidArgument) << bad;
  }
}

TEST(RadosLocation, BadTimeoutVariable) {
  ::setenv("KINTSUGI_CEPH_TIMEOUT", "soon", 1);
  auto o = RadosOptionsFromEnv();
  ::unsetenv("KINTSUGI_CEPH_TIMEOUT");
  EXPECT_ERR(o, ErrorKind::kInvalidArgument);
}

TEST(RadosLocation, WithoutSupportSaysSo) {
  if (RadosSupported()) GTEST_SKIP() << "this build has RADOS support";
  auto r = OpenRadosLocation("rados:pool", RadosOptions{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnsupported);
  EXPECT_NE(r.error().message().find("without RADOS support"), std::string::npos);
}

TEST(RadosLocation, ErrorsMapToKinds) {
  struct Case {
    int err;
    ErrorKind kind;
    bool transient;
  };
  for (Case c : {Case{ENOENT, ErrorKind::kNotFound, false},
                 Case{EEXIST, ErrorKind::kAlreadyExists, false},
                 Case{ENOSPC, ErrorKind::kNoSpace, false}, Case{EDQUOT, ErrorKind::kNoSpace, false},
                 Case{EACCES, ErrorKind::kPermission, false},
                 Case{EPERM, ErrorKind::kPermission, false},
                 Case{ETIMEDOUT, ErrorKind::kIo, true}, Case{ECONNREFUSED, ErrorKind::kIo, true},
                 Case{ESHUTDOWN, ErrorKind::kIo, true}, Case{EIO, ErrorKind::kIo, false}}) {
    Error e = RadosError(-c.err, "read rados:pool data/x.0");
    EXPECT_EQ(e.kind(), c.kind) << c.err;
    EXPECT_EQ(e.transient(), c.transient) << c.err;
    EXPECT_EQ(e.message().rfind("read rados:pool data/x.0: ", 0), 0u) << e.message();
  }
  EXPECT_NE(RadosError(-ENOSPC, "w").message().find("quota"), std::string::npos);
  EXPECT_NE(RadosError(-ETIMEDOUT, "w").message().find("ceph -s"), std::string::npos);
}

// A monitor address where nothing listens: the kernel's free port, closed.
int DeadPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    ADD_FAILURE() << "no free port";
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(RadosLocation, ClusterDownIsAClearErrorWithinTheTimeout) {
  REQUIRE_RADOS();
  TempDir dir;
  std::string conf = dir.path() + "/ceph.conf";
  {
    std::ofstream f(conf);
    f << "[global]\n"
      << "mon host = 127.0.0.1:" << DeadPort() << "\n"
      << "auth cluster required = none\nauth service required = none\n"
      << "auth client required = none\nms bind ipv6 = false\n"
      << "log file = " << dir.path() << "/client.log\n"
      << "admin socket = " << dir.path() << "/client.asok\n"
      << "keyring = " << dir.path() << "/keyring\n";
  }
  RadosOptions o;
  o.conf_file = conf;
  o.timeout_s = 3;
  auto t0 = std::chrono::steady_clock::now();
  auto r = OpenRadosLocation("rados:kintsugi", o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r) << "connected to a monitor that does not exist";
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo) << r.error().message();
  EXPECT_TRUE(r.error().transient()) << r.error().message();
  EXPECT_NE(r.error().message().find("connect to the Ceph cluster"), std::string::npos)
      << r.error().message();
  EXPECT_LT(s, 20.0) << "took " << s << " s with a 3 s timeout";
}

TEST(RadosLocation, MissingConfigurationFileIsNamed) {
  REQUIRE_RADOS();
  RadosOptions o;
  o.conf_file = "/nonexistent/ceph.conf";
  auto r = OpenRadosLocation("rados:kintsugi", o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/nonexistent/ceph.conf"), std::string::npos)
      << r.error().message();
}

TEST(RadosLocation, MissingPoolIsReportedThenCreatedByCreate) {
  REQUIRE_CLUSTER();
  std::string pool = Unique("ks-test-new");
  auto r = OpenRadosLocation("rados:" + pool, RadosOptions{});
  ASSERT_OK(r);
  auto& b = **r;
  auto missing = b.Get(ObjectType::kConfig, "config.0", 0, 0);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(missing.error().message().find("does not exist"), std::string::npos)
      << missing.error().message();
  ASSERT_OK(b.Create());
  ASSERT_OK(b.Create());  // idempotent
  ASSERT_OK(b.Put(ObjectType::kConfig, "config.0", Bytes{1, 2, 3}));
  auto got = b.Get(ObjectType::kConfig, "config.0", 0, 0);
  ASSERT_OK(got);
  EXPECT_EQ(*got, (Bytes{1, 2, 3}));
}

TEST(RadosLocation, NamespacesAreSeparateRepositories) {
  REQUIRE_CLUSTER();
  std::string ns = Unique("ns");
  auto a = OpenRadosLocation("rados:" + TestPool() + "/" + ns + "-a", RadosOptions{});
  auto b = OpenRadosLocation("rados:" + TestPool() + "/" + ns + "-b", RadosOptions{});
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_OK((*a)->Put(ObjectType::kPack, "same", Bytes{1}));
  ASSERT_OK((*b)->Put(ObjectType::kPack, "same", Bytes{2, 2}));
  auto la = (*a)->List(ObjectType::kPack);
  ASSERT_OK(la);
  ASSERT_EQ(la->size(), 1u);
  EXPECT_EQ((*la)[0].size, 1u);
  EXPECT_EQ((*a)->Location(), "rados:" + TestPool() + "/" + ns + "-a");
}

// Three namespaces stand in for three pools: the envelope places one shard
// in each, and an object survives the loss of any one.
TEST(RadosLocation, ShardsAcrossRadosLocationsSurviveALostShard) {
  REQUIRE_CLUSTER();
  std::string ns = Unique("sharded");
  // Opened here rather than through OpenBackend("rados:...,..."), which
  // loads the RADOS module from beside the running executable: this test
  // links the RADOS code in (tests/ceph/rados_e2e.sh covers the module).
  std::vector<std::unique_ptr<Backend>> locations;
  for (int i = 0; i < 3; i++) {
    auto l = OpenRadosLocation("rados:" + TestPool() + "/" + ns + std::to_string(i), RadosOptions{});
    ASSERT_OK(l);
    locations.push_back(std::move(*l));
  }
  ShardedBackend s(std::move(locations), Geometry{2, 1});
  ASSERT_EQ(s.location_count(), 3u);
  ASSERT_OK(s.Create());
  Bytes data = PseudoRandom(1 << 20, 11);
  ASSERT_OK(s.Put(ObjectType::kPack, "obj", data));
  for (int i = 0; i < 3; i++) {
    auto st = s.location(s.PlaceOf(ObjectType::kPack, "obj", i)).Stat(ObjectType::kPack,
                                                                       "obj." + std::to_string(i));
    EXPECT_OK(st) << "shard " << i << " is not where placement puts it";
  }
  ASSERT_OK(s.location(s.PlaceOf(ObjectType::kPack, "obj", 0)).Remove(ObjectType::kPack, "obj.0"));
  auto got = s.Get(ObjectType::kPack, "obj", 0, 0);
  ASSERT_OK(got);
  EXPECT_TRUE(*got == data);
  ASSERT_OK(s.Repair(ObjectType::kPack, "obj"));
  auto health = s.Verify(ObjectType::kPack, "obj");
  ASSERT_OK(health);
  EXPECT_TRUE(health->intact) << health->detail;
}

}  // namespace
}  // namespace ks
