// The backend conformance suite: the same cases against every Backend that
// stores objects (a local directory, memory, a RADOS pool). The RADOS cases
// need a running cluster: tests/ceph/ceph_cluster.sh starts one and exports
// CEPH_CONF and KS_CEPH_POOLS; without them those cases are skipped with the
// reason (CI always starts one, see scripts/test.sh).
#include <gtest/gtest.h>

#include <chrono>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../core/test_util.h"
#include "cluster_env.h"
#include "backend/local_backend.h"
#include "backend/mem_backend.h"
#include "backend/rados_backend.h"
#include "s3_subject.h"

namespace ks {
namespace {

using test::PseudoRandom;
using test::TempDir;
using test::TestPool;

// The first pool the test cluster made, or "" (no cluster).
// A namespace no other test run uses, so cases never see each other's objects.
std::string FreshNamespace() {
  static std::atomic<int> n{0};
  std::random_device rd;
  return "conformance-" + std::to_string(rd()) + "-" + std::to_string(n++);
}

// A backend under test and whatever it lives in.
struct Subject {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<Backend> backend;
};

struct Kind {
  const char* name;
  // Empty: runs. Otherwise the reason to skip.
  std::function<std::string()> unavailable;
  std::function<Result<Subject>()> make;
};

const std::vector<Kind>& Kinds() {
  static const std::vector<Kind> kinds = {
      {"local", [] { return std::string(); },
       []() -> Result<Subject> {
         Subject s;
         s.dir = std::make_unique<TempDir>();
         s.backend = std::make_unique<LocalBackend>(s.dir->path() + "/repo");
         return s;
       }},
      {"mem", [] { return std::string(); },
       []() -> Result<Subject> {
         Subject s;
         s.backend = std::make_unique<MemBackend>();
         return s;
       }},
      {"rados",
       []() -> std::string {
         if (!RadosSupported()) return "built without RADOS support";
         if (TestPool().empty()) return test::kNoClusterReason;
         return "";
       },
       []() -> Result<Subject> {
         RadosOptions o;
         o.timeout_s = 30;
         Subject s;
         KS_ASSIGN(s.backend, OpenRadosLocation("rados:" + TestPool() + "/" + FreshNamespace(), o));
         return s;
       }},
      {"s3", test::S3Unavailable,
       []() -> Result<Subject> {
         Subject s;
         KS_ASSIGN(s.backend, test::MakeS3Subject(0));
         return s;
       }},
      {"s3_object_lock", test::S3Unavailable,
       []() -> Result<Subject> {
         Subject s;
         KS_ASSIGN(s.backend, test::MakeS3Subject(1));
         return s;
       }},
  };
  return kinds;
}

class Conformance : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    const Kind& k = Kinds()[GetParam()];
    if (std::string why = k.unavailable(); !why.empty()) {
      if (is("rados") && test::ClusterRequired()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    auto s = k.make();
    ASSERT_OK(s);
    subject_ = std::move(*s);
    ASSERT_OK(b().Create());
  }
  Backend& b() { return *subject_.backend; }
  bool is(const char* name) const { return std::string(Kinds()[GetParam()].name) == name; }

  Subject subject_;
};

constexpr ObjectType kPack = ObjectType::kPack;

TEST_P(Conformance, PutGetRoundTrip) {
  Bytes data = PseudoRandom(100000, 1);
  ASSERT_OK(b().Put(kPack, "ab01", data));
  auto got = b().Get(kPack, "ab01", 0, 0);
  ASSERT_OK(got);
  EXPECT_EQ(*got, data);
  auto st = b().Stat(kPack, "ab01");
  ASSERT_OK(st);
  EXPECT_EQ(st->name, "ab01");
  EXPECT_EQ(st->size, data.size());
}

TEST_P(Conformance, EmptyObject) {
  ASSERT_OK(b().Put(ObjectType::kLock, "empty", Bytes{}));
  auto got = b().Get(ObjectType::kLock, "empty", 0, 0);
  ASSERT_OK(got);
  EXPECT_TRUE(got->empty());
  auto st = b().Stat(ObjectType::kLock, "empty");
  ASSERT_OK(st);
  EXPECT_EQ(st->size, 0u);
}

TEST_P(Conformance, RangedGet) {
  Bytes data = PseudoRandom(10000, 2);
  ASSERT_OK(b().Put(kPack, "ranged", data));
  auto mid = b().Get(kPack, "ranged", 1234, 4321);
  ASSERT_OK(mid);
  EXPECT_EQ(*mid, Bytes(data.begin() + 1234, data.begin() + 1234 + 4321));
  auto tail = b().Get(kPack, "ranged", 9000, 0);  // length 0: to the end
  ASSERT_OK(tail);
  EXPECT_EQ(*tail, Bytes(data.begin() + 9000, data.end()));
  auto last = b().Get(kPack, "ranged", 9999, 1);
  ASSERT_OK(last);
  EXPECT_EQ(*last, Bytes{data[9999]});
  // Asking for more than is there means the object is damaged.
  EXPECT_ERR(b().Get(kPack, "ranged", 9000, 2000), ErrorKind::kCorrupt);
  EXPECT_ERR(b().Get(kPack, "ranged", 20000, 0), ErrorKind::kCorrupt);
}

TEST_P(Conformance, MissingObject) {
  EXPECT_ERR(b().Get(kPack, "missing", 0, 0), ErrorKind::kNotFound);
  EXPECT_ERR(b().Get(kPack, "missing", 10, 10), ErrorKind::kNotFound);
  EXPECT_ERR(b().Stat(kPack, "missing"), ErrorKind::kNotFound);
  EXPECT_ERR(b().Remove(kPack, "missing"), ErrorKind::kNotFound);
}

TEST_P(Conformance, PutNeverReplaces) {
  Bytes first = PseudoRandom(5000, 3), second = PseudoRandom(7000, 4);
  ASSERT_OK(b().Put(ObjectType::kSnapshot, "snap", first));
  EXPECT_ERR(b().Put(ObjectType::kSnapshot, "snap", second), ErrorKind::kAlreadyExists);
  auto got = b().Get(ObjectType::kSnapshot, "snap", 0, 0);
  ASSERT_OK(got);
  EXPECT_EQ(*got, first);
  // The same name under another type is another object.
  EXPECT_OK(b().Put(ObjectType::kIndex, "snap", second));
}

TEST_P(Conformance, ReplaceRewritesOrCreates) {
  Bytes first = PseudoRandom(5000, 5), second = PseudoRandom(300, 6);
  ASSERT_OK(b().Put(kPack, "rep.1", first));
  ASSERT_OK(b().Replace(kPack, "rep.1", second));
  auto got = b().Get(kPack, "rep.1", 0, 0);
  ASSERT_OK(got);
  EXPECT_EQ(*got, second);  // shorter: nothing of the old bytes is left
  ASSERT_OK(b().Replace(kPack, "rep.2", first));  // repair writes lost shards too
  auto made = b().Get(kPack, "rep.2", 0, 0);
  ASSERT_OK(made);
  EXPECT_EQ(*made, first);
}

TEST_P(Conformance, ListStatRemove) {
  std::map<std::string, size_t> packs;
  for (int i = 0; i < 20; i++) {
    std::string name = "ab" + std::to_string(i) + ".0";  // packs are named by hex ids
    size_t size = size_t(i) * 37;
    ASSERT_OK(b().Put(kPack, name, PseudoRandom(size, uint64_t(i))));
    packs[name] = size;
  }
  ASSERT_OK(b().Put(ObjectType::kIndex, "i1.0", PseudoRandom(10, 9)));
  ASSERT_OK(b().Put(ObjectType::kConfig, "config.0", PseudoRandom(11, 9)));
  ASSERT_OK(b().Put(ObjectType::kConfig, "config.1", PseudoRandom(12, 9)));

  auto list = b().List(kPack);
  ASSERT_OK(list);
  std::map<std::string, size_t> seen;
  for (const auto& o : *list) seen[o.name] = o.size;
  EXPECT_EQ(seen, packs);

  auto idx = b().List(ObjectType::kIndex);
  ASSERT_OK(idx);
  ASSERT_EQ(idx->size(), 1u);
  EXPECT_EQ((*idx)[0].name, "i1.0");
  EXPECT_EQ((*idx)[0].size, 10u);
  auto cfg = b().List(ObjectType::kConfig);
  ASSERT_OK(cfg);
  EXPECT_EQ(cfg->size(), 2u);
  auto none = b().List(ObjectType::kHold);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  if (is("s3_object_lock")) {
    // Retained: the server refuses, and the object stays whole.
    EXPECT_ERR(b().Remove(kPack, "ab3.0"), ErrorKind::kPermission);
    EXPECT_EQ(b().Stat(kPack, "ab3.0")->size, packs["ab3.0"]);
    return;
  }
  ASSERT_OK(b().Remove(kPack, "ab3.0"));
  EXPECT_ERR(b().Stat(kPack, "ab3.0"), ErrorKind::kNotFound);
  EXPECT_ERR(b().Get(kPack, "ab3.0", 0, 0), ErrorKind::kNotFound);
  auto after = b().List(kPack);
  ASSERT_OK(after);
  EXPECT_EQ(after->size(), packs.size() - 1);
  for (const auto& o : *after) EXPECT_NE(o.name, "ab3.0");
  // Removed objects can be written again (a repaired shard, a new lock).
  EXPECT_OK(b().Put(kPack, "ab3.0", PseudoRandom(5, 5)));
}

// Stat and List report the time the storage recorded an object (retention
// trusts it, docs/design.md section 2), the same through both. The memory
// backend reports the time a test set (here: none, so 0).
TEST_P(Conformance, RecordedTime) {
  int64_t before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  ASSERT_OK(b().Put(ObjectType::kSnapshot, "5a.0", PseudoRandom(10, 1)));
  auto st = b().Stat(ObjectType::kSnapshot, "5a.0");
  ASSERT_OK(st);
  auto list = b().List(ObjectType::kSnapshot);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].mtime_ns, st->mtime_ns);
  if (is("mem")) {
    EXPECT_EQ(st->mtime_ns, 0);
    return;
  }
  // Whole seconds on RADOS; a generous window for clocks and coarse stamps.
  constexpr int64_t kSlack = 120LL * 1000000000;
  EXPECT_GT(st->mtime_ns, before - kSlack);
  EXPECT_LT(st->mtime_ns, before + kSlack);
}

TEST_P(Conformance, BadNamesRefused) {
  if (is("mem")) GTEST_SKIP() << "the in-memory backend keeps names as given";
  EXPECT_ERR(b().Put(kPack, "", Bytes{1}), ErrorKind::kInvalidArgument);
  EXPECT_ERR(b().Put(kPack, "a/b", Bytes{1}), ErrorKind::kInvalidArgument);
  EXPECT_ERR(b().Put(kPack, ".hidden", Bytes{1}), ErrorKind::kInvalidArgument);
}

TEST_P(Conformance, ConcurrentPutsAndGets) {
  constexpr int kThreads = 8, kPerThread = 24;
  std::atomic<int> failures{0};
  auto data_of = [](int t, int i) { return PseudoRandom(size_t(1000 + 997 * i), uint64_t(t * 1000 + i)); };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++)
        if (!b().Put(kPack, "c" + std::to_string(t) + "-" + std::to_string(i), data_of(t, i)))
          failures++;
    });
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  threads.clear();
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back([&, t] {
      // Each thread reads another thread's objects.
      int src = (t + 1) % kThreads;
      for (int i = 0; i < kPerThread; i++) {
        auto got = b().Get(kPack, "c" + std::to_string(src) + "-" + std::to_string(i), 0, 0);
        if (!got || *got != data_of(src, i)) failures++;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto list = b().List(kPack);
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), size_t(kThreads * kPerThread));
}

TEST_P(Conformance, ConcurrentPutsOfOneNameOneWins) {
  if (is("s3_object_lock"))
    GTEST_SKIP() << "a versioned bucket ignores If-None-Match: racing writers of one name can each "
                    "store a version (docs/design.md 2.2: names are content hashes, so never with "
                    "different bytes)";
  constexpr int kThreads = 8;
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back([&, t] {
      auto st = b().Put(ObjectType::kLock, "race", PseudoRandom(4096, uint64_t(t)));
      if (st) won++;
      else if (st.error().kind() == ErrorKind::kAlreadyExists) lost++;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), kThreads - 1);
  auto got = b().Get(ObjectType::kLock, "race", 0, 0);
  ASSERT_OK(got);
  bool matches_one = false;
  for (int t = 0; t < kThreads; t++) matches_one |= (*got == PseudoRandom(4096, uint64_t(t)));
  EXPECT_TRUE(matches_one) << "the stored object must be one writer's bytes, whole";
}

TEST_P(Conformance, LargeObject) {
  Bytes data = PseudoRandom(20u << 20, 7);  // 20 MiB: a large pack shard
  ASSERT_OK(b().Put(kPack, "large", data));
  auto got = b().Get(kPack, "large", 0, 0);
  ASSERT_OK(got);
  EXPECT_TRUE(*got == data);
  auto end = b().Get(kPack, "large", data.size() - 4096, 4096);
  ASSERT_OK(end);
  EXPECT_TRUE(*end == Bytes(data.end() - 4096, data.end()));
  auto st = b().Stat(kPack, "large");
  ASSERT_OK(st);
  EXPECT_EQ(st->size, data.size());
}

std::string KindNameOf(const ::testing::TestParamInfo<size_t>& info) {
  return Kinds()[info.param].name;
}

INSTANTIATE_TEST_SUITE_P(Backends, Conformance, ::testing::Range(size_t(0), Kinds().size()),
                         KindNameOf);

}  // namespace
}  // namespace ks
