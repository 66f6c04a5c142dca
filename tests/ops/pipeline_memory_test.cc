// The backup pipeline's bounded memory and its per-stage report: small
// packs force many pack buffers through the pool (a lost buffer would hang
// the backup), packs stay within pack_size, and every stage reports the
// bytes it saw.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "backend/local_backend.h"
#include "backup/archiver.h"
#include "backup/buffer_pool.h"
#include "check/checker.h"
#include "restore/restorer.h"

namespace ks {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

PoolBytes Sized(size_t n) {
  PoolBytes b;
  b.reserve(n);
  return b;
}

TEST(BufferPool, ReusesAndBoundsWhatItKeeps) {
  BufferPool pool(2, 3u << 20);
  PoolBytes a = Sized(1u << 20), b = Sized(2u << 20), c = Sized(1u << 20);
  a.resize(5000);
  const uint8_t* pa = a.data();
  pool.Give(std::move(a));
  PoolBytes got = pool.Take(1000);
  EXPECT_EQ(got.data(), pa);  // the same storage back, empty
  EXPECT_EQ(got.size(), 0u);
  EXPECT_GE(got.capacity(), 1u << 20);
  pool.Give(std::move(got));
  pool.Give(std::move(b));  // 3 MiB kept: at the limit
  pool.Give(std::move(c));  // over both limits: the largest goes
  PoolBytes x = pool.Take(1), y = pool.Take(1), z = pool.Take(1);
  EXPECT_EQ(x.capacity(), 1u << 20);
  EXPECT_EQ(y.capacity(), 1u << 20);
  EXPECT_EQ(z.capacity(), PoolCapacity(1));  // nothing left: a new one
  // The smallest buffer that fits is preferred.
  pool.Give(Sized(4096));
  pool.Give(Sized(1u << 20));
  EXPECT_EQ(pool.Take(100).capacity(), 4096u);
  // None fits: a new one of at least the size asked for (rounded up), and
  // the smallest kept one, too small for it, is let go.
  pool.Give(Sized(4096));
  PoolBytes big = pool.Take(3u << 20);
  EXPECT_GE(big.capacity(), 3u << 20);
  EXPECT_EQ(big.capacity(), PoolCapacity(3u << 20));
  EXPECT_EQ(pool.Take(1).capacity(), 1u << 20);
}

// Growing keeps the contents, and resizing a pool buffer does not write
// the new bytes (what a read() is about to overwrite).
TEST(BufferPool, GrowKeepsContents) {
  PoolBytes b;
  for (int i = 0; i < 1000; i++) b.push_back(uint8_t(i * 7));
  GrowPoolBytes(b, 5u << 20);
  ASSERT_EQ(b.size(), 1000u);
  EXPECT_GE(b.capacity(), 5u << 20);
  for (int i = 0; i < 1000; i++) ASSERT_EQ(b[size_t(i)], uint8_t(i * 7)) << i;
  EXPECT_EQ(PoolCapacity(0), 64u << 10);
  EXPECT_EQ(PoolCapacity((64u << 10) + 1), 256u << 10);
  EXPECT_EQ(PoolCapacity(1u << 20), 1u << 20);
  EXPECT_EQ(PoolCapacity((1u << 20) + 1), (5u << 20) / 4);
}

class SmallPackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ks-smallpack-XXXXXX";
    root_ = mkdtemp(tmpl);
    src_ = root_ + "/src";
    fs::create_directories(src_);
    std::mt19937_64 rng(7);
    // Incompressible files of several chunks each (random bytes), some text,
    // and many small files: ~14 MiB in all.
    for (int f = 0; f < 4; f++) {
      std::string rnd((3u << 20) + size_t(f) * 12345, '\0');
      for (auto& ch : rnd) ch = char(rng());
      std::ofstream(src_ + "/big" + std::to_string(f) + ".bin", std::ios::binary) << rnd;
    }
    std::string text;
    for (int i = 0; i < 40000; i++) text += "OBX|" + std::to_string(rng() % 100000) + "|NM|\n";
    std::ofstream(src_ + "/lab.hl7", std::ios::binary) << text;
    for (int i = 0; i < 200; i++)
      std::ofstream(src_ + "/doc" + std::to_string(i) + ".txt") << "note " << rng() << "\n";
    KdfParams kdf{1, 8u << 20};
    RepoConfig cfg;
    cfg.pack_size = 1u << 20;  // 1 MiB packs: a dozen pack buffers recycled
    auto backend = std::make_unique<LocalBackend>(root_ + "/repo");
    ASSERT_TRUE(Repository::Init(*backend, "pw", kdf, cfg, KeyFileInfo{"h", "u", "t"}));
    auto repo = Repository::Open(std::move(backend), "pw");
    ASSERT_TRUE(repo) << repo.error().message();
    repo_ = std::move(*repo);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string root_, src_;
  SystemClock clock_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(SmallPackTest, ManyPacksRoundTripWithinPackSize) {
  BackupOptions o;
  o.paths = {src_};
  o.hostname = "test";
  o.workers = 3;
  auto r = RunBackup(*repo_, clock_, o);
  ASSERT_TRUE(r) << r.error().message();
  const auto& m = r->snapshot.summary;

  // Every pack holds at most pack_size bytes, unless it is one blob larger
  // than that (chunks here are at least 512 KiB and up to 8 MiB).
  uint64_t blobs_in_packs = 0;
  size_t packs = 0;
  ASSERT_TRUE(repo_->index().ForEach([&](const IndexEntry&) {
    blobs_in_packs++;
    return Ok();
  }));
  auto list = repo_->backend().List(ObjectType::kPack);
  ASSERT_TRUE(list);
  packs = list->size();
  EXPECT_GE(packs, 8u);
  EXPECT_EQ(blobs_in_packs, m.blobs_added);
  for (const auto& p : *list) {
    auto bytes = repo_->backend().Get(ObjectType::kPack, p.name, 0, 0);
    ASSERT_TRUE(bytes);
    auto entries = ReadPackHeader(repo_->keys(), *bytes);
    ASSERT_TRUE(entries);
    if (entries->size() > 1) {
      EXPECT_LE(bytes->size(), repo_->config().pack_size) << p.name;
    }
  }

  // The stage report: bytes seen per stage match what the backup did.
  const StageReport& st = r->stages;
  auto stage = [&](const std::string& name) {
    for (const auto& s : st.stages)
      if (s.name == name) return s;
    ADD_FAILURE() << "no stage " << name;
    return StageStat{};
  };
  EXPECT_EQ(stage("read").bytes, m.bytes_read);
  EXPECT_EQ(stage("chunk").bytes, m.bytes_read);
  EXPECT_EQ(stage("hash").bytes, m.bytes_read);
  EXPECT_GT(stage("compress").bytes, 0u);
  EXPECT_GT(stage("encrypt").bytes, 0u);
  EXPECT_GT(stage("store").bytes, 0u);
  EXPECT_GT(stage("store").wall_seconds, 0.0);
  EXPECT_GT(st.process_cpu_seconds, 0.0);
  EXPECT_GT(st.bound_seconds, 0.0);
  EXPECT_GT(st.efficiency, 0.0);
  EXPECT_LE(st.efficiency, 1.0);

  RestoreSpec spec;
  spec.target = root_ + "/out";
  auto res = RunRestore(*repo_, r->snapshot_id, spec);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->errors, 0u);
  for (const auto& e : fs::directory_iterator(src_)) {
    std::string name = e.path().filename();
    EXPECT_EQ(ReadAll(root_ + "/out" + src_ + "/" + name), ReadAll(e.path())) << name;
  }
  CheckOptions co;
  co.read_data = true;
  auto rep = RunCheck(*repo_, co);
  ASSERT_TRUE(rep);
  EXPECT_TRUE(rep->ok());
}

}  // namespace
}  // namespace ks
