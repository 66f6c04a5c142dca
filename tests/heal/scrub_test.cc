// Scrub (src/check/scrub.h) over the envelope on in-memory locations: what
// it finds and repairs, and its rate limit with an injected sleep.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <string>
#include <vector>

#include "check/scrub.h"
#include "mem_rig.h"

namespace {

using heal::MemRig;
using heal::RandomData;
using ks::ObjectType;

// 20 packs of 16 KiB..1 MiB plus a config; returns the total logical bytes.
uint64_t Fill(MemRig& rig) {
  uint64_t total = 0;
  EXPECT_TRUE(rig.sb->Put(ObjectType::kConfig, "config", RandomData(1, 200)));
  total += 200;
  for (int i = 0; i < 20; i++) {
    size_t n = size_t(16 << 10) + size_t(i) * 50000;
    EXPECT_TRUE(rig.sb->Put(ObjectType::kPack, "p" + std::to_string(i), RandomData(uint64_t(i), n)));
    total += n;
  }
  return total;
}

// Damage within the budget is found and repaired; damage beyond it (two
// shards of a 4+1 object with bad blocks) is reported unrecoverable.
TEST(Scrub, FindsRepairsAndReportsUnrecoverable) {
  MemRig rig(1, {4, 1});
  Fill(rig);
  ASSERT_TRUE(rig.RemoveShard(ObjectType::kPack, "p3", 2));  // repairable
  (*rig.Shard(ObjectType::kPack, "p7", 4))[100] ^= 1;         // repairable
  (*rig.Shard(ObjectType::kPack, "p9", 0))[100] ^= 1;         // row 0 in two shards:
  (*rig.Shard(ObjectType::kPack, "p9", 1))[100] ^= 1;         // beyond 4+1
  rig.Reopen();
  ks::ScrubOptions o;
  auto rep = ks::RunScrub(*rig.sb, o);
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_EQ(rep->objects, 21u);
  EXPECT_EQ(rep->damaged.size(), 3u);
  EXPECT_TRUE(rep->repaired.empty());
  ASSERT_EQ(rep->unrecoverable.size(), 1u);
  EXPECT_NE(rep->unrecoverable[0].find("data p9"), std::string::npos) << rep->unrecoverable[0];
  o.repair = true;
  rep = ks::RunScrub(*rig.sb, o);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->damaged.size(), 3u);
  EXPECT_EQ(rep->repaired.size(), 2u);
  EXPECT_EQ(rep->unrecoverable.size(), 1u);
  o.repair = false;
  rep = ks::RunScrub(*rig.sb, o);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->damaged.size(), 1u) << "only the unrecoverable pack is left";
}

// An object with fewer than k shard files left is unrecoverable, unless
// shard 0 is among the missing and every remaining file is intact: Put writes
// shard 0 last, so that pattern is what an interrupted write leaves, and it
// is reported as a leftover (the ambiguity is documented in docs/design.md
// 9.2). Shard files lost with shard 0 still present are unrecoverable.
TEST(Scrub, LostShardFilesAreUnrecoverableNotLeftovers) {
  MemRig rig(1, {4, 1});
  Fill(rig);
  ASSERT_TRUE(rig.RemoveShard(ObjectType::kPack, "p9", 1));
  ASSERT_TRUE(rig.RemoveShard(ObjectType::kPack, "p9", 2));
  rig.Reopen();
  auto rep = ks::RunScrub(*rig.sb, ks::ScrubOptions{});
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->damaged.size(), 1u);
  ASSERT_EQ(rep->unrecoverable.size(), 1u);
  EXPECT_NE(rep->unrecoverable[0].find("data p9"), std::string::npos) << rep->unrecoverable[0];
}

TEST(Scrub, InterruptedWriteWithoutShardZeroIsALeftover) {
  MemRig rig(1, {4, 1});
  Fill(rig);
  ASSERT_TRUE(rig.RemoveShard(ObjectType::kPack, "p9", 0));
  ASSERT_TRUE(rig.RemoveShard(ObjectType::kPack, "p9", 1));
  rig.Reopen();
  auto rep = ks::RunScrub(*rig.sb, ks::ScrubOptions{});
  ASSERT_TRUE(rep);
  EXPECT_TRUE(rep->unrecoverable.empty());
  ASSERT_EQ(rep->leftovers.size(), 1u);
  EXPECT_NE(rep->leftovers[0].find("data p9"), std::string::npos) << rep->leftovers[0];
}

TEST(Scrub, NoRateLimitNeverSleeps) {
  MemRig rig(1, {4, 1});
  uint64_t total = Fill(rig);
  int calls = 0;
  ks::ScrubOptions o;
  o.sleep = [&](double) { calls++; };
  auto rep = ks::RunScrub(*rig.sb, o);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->bytes, total);
  EXPECT_EQ(calls, 0);
}

// What holds whatever the accounting: with a limit far below the speed of
// an in-memory scrub, sleeps are requested, none is negative, and together
// they cover at least bytes / rate minus the time the scrub really took.
TEST(Scrub, RateLimitRequestsSleeps) {
  MemRig rig(1, {4, 1});
  uint64_t total = Fill(rig);
  const double rate = double(total) / 10.0;  // the whole scrub should take 10 s
  std::vector<double> sleeps;
  ks::ScrubOptions o;
  o.max_bytes_per_second = rate;
  o.sleep = [&](double s) { sleeps.push_back(s); };
  auto t0 = std::chrono::steady_clock::now();
  auto rep = ks::RunScrub(*rig.sb, o);
  double real = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->bytes, total);
  ASSERT_FALSE(sleeps.empty());
  for (double s : sleeps) EXPECT_GT(s, 0.0);
  double sum = std::accumulate(sleeps.begin(), sleeps.end(), 0.0);
  EXPECT_GE(sum, 10.0 - real - 1e-6);
}

// BUG (see the report): the requested sleeps should add up to bytes / rate
// (10 s here, within 10%). RunScrub computes each sleep as (bytes so far /
// rate) - (real time since start); an injected sleep does not advance the
// steady clock it reads, so every object asks again for all the time due so
// far and the sum grows like objects^2 / 2 (about 108 s here instead of 10 s).
// The injection exists so that tests need not wait, which it cannot serve
// this way. Fix: count the time slept (elapsed + slept), or inject the clock.
TEST(Scrub, RateLimitSleepsSumToBytesOverRate) {
  MemRig rig(1, {4, 1});
  uint64_t total = Fill(rig);
  const double rate = double(total) / 10.0;
  std::vector<double> sleeps;
  ks::ScrubOptions o;
  o.max_bytes_per_second = rate;
  o.sleep = [&](double s) { sleeps.push_back(s); };
  auto rep = ks::RunScrub(*rig.sb, o);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->bytes, total);
  double sum = std::accumulate(sleeps.begin(), sleeps.end(), 0.0);
  EXPECT_NEAR(sum, double(rep->bytes) / rate, 0.1 * double(rep->bytes) / rate)
      << sleeps.size() << " sleeps requested";
}

}  // namespace
