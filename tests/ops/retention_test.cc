// Retention: the policy (pure) and forget over a repository whose clients
// lie about the time.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "prune/forget.h"
#include "prune/retention.h"
#include "prune_rig.h"

namespace ks {
namespace {

using prunetest::kDay;
using prunetest::kEpoch;
using prunetest::kHour;
using prunetest::UtcCalendar;

Id IdOf(int n) {
  Id id;
  id.b[0] = uint8_t(n);
  id.b[1] = uint8_t(n >> 8);
  return id;
}

SnapshotFacts Snap(int n, int64_t t, bool suspicious = false, bool held = false) {
  SnapshotFacts f;
  f.id = IdOf(n);
  f.recorded_ns = t;
  f.host = "ward-a";
  f.paths = {"/srv/share"};
  f.suspicious = suspicious;
  f.held = held;
  return f;
}

std::set<Id> Kept(const std::vector<RetentionGroup>& groups) {
  std::set<Id> out;
  for (const auto& g : groups)
    for (const auto& d : g.decisions)
      if (d.keep) out.insert(d.id);
  return out;
}

std::vector<RetentionGroup> Apply(const std::vector<SnapshotFacts>& s, const RetentionPolicy& p,
                                  int64_t now = kEpoch + 400 * kDay) {
  return ApplyRetention(s, p, GroupBy{}, now, UtcCalendar);
}

TEST(Retention, KeepLastKeepsTheNewest) {
  std::vector<SnapshotFacts> s;
  for (int i = 0; i < 10; i++) s.push_back(Snap(i, kEpoch + i * kHour));
  RetentionPolicy p;
  p.last = 3;
  EXPECT_EQ(Kept(Apply(s, p)), (std::set<Id>{IdOf(7), IdOf(8), IdOf(9)}));
}

TEST(Retention, DailyKeepsTheNewestOfEachDay) {
  // Four snapshots a day for ten days.
  std::vector<SnapshotFacts> s;
  int n = 0;
  for (int d = 0; d < 10; d++)
    for (int h : {1, 7, 13, 19}) s.push_back(Snap(n++, kEpoch + d * kDay + h * kHour));
  RetentionPolicy p;
  p.daily = 3;
  std::set<Id> want;
  for (int d = 7; d < 10; d++) want.insert(IdOf(d * 4 + 3));  // 19:00 of the last three days
  EXPECT_EQ(Kept(Apply(s, p)), want);
}

TEST(Retention, WeeklyMonthlyYearly) {
  // One snapshot a day for two years.
  std::vector<SnapshotFacts> s;
  for (int d = 0; d < 730; d++) s.push_back(Snap(d, kEpoch + d * kDay + 2 * kHour));
  RetentionPolicy p;
  p.weekly = 4;
  auto kept = Kept(Apply(s, p, kEpoch + 731 * kDay));
  EXPECT_EQ(kept.size(), 4u);
  p = RetentionPolicy{};
  p.monthly = 12;
  EXPECT_EQ(Kept(Apply(s, p)).size(), 12u);
  p = RetentionPolicy{};
  p.yearly = 5;  // the data spans three calendar years
  EXPECT_EQ(Kept(Apply(s, p)).size(), 3u);
}

TEST(Retention, WithinUsesRecordedTimes) {
  std::vector<SnapshotFacts> s;
  for (int d = 0; d < 30; d++) s.push_back(Snap(d, kEpoch + d * kDay));
  RetentionPolicy p;
  p.within_ns = 7 * kDay;
  auto kept = Kept(Apply(s, p, kEpoch + 29 * kDay + kHour));
  EXPECT_EQ(kept.size(), 7u);
  EXPECT_TRUE(kept.count(IdOf(29)) && kept.count(IdOf(23)) && !kept.count(IdOf(22)));
}

TEST(Retention, SuspiciousSnapshotsNeverTakeASlot) {
  // Clean daily history, then three days of attacked backups.
  std::vector<SnapshotFacts> s;
  for (int d = 0; d < 10; d++) s.push_back(Snap(d, kEpoch + d * kDay, d >= 7));
  RetentionPolicy p;
  p.daily = 3;
  p.last = 2;
  auto groups = Apply(s, p);
  auto kept = Kept(groups);
  // The three newest clean days stay, and the suspicious ones stay as evidence.
  for (int d : {4, 5, 6, 7, 8, 9}) EXPECT_TRUE(kept.count(IdOf(d))) << d;
  EXPECT_EQ(kept.size(), 6u);
  for (const auto& d : groups[0].decisions)
    if (d.id == IdOf(8)) {
      EXPECT_EQ(d.reasons.front(), "suspicious (evidence; remove by id)");
    }
}

TEST(Retention, HeldSnapshotsSurviveAnyPolicy) {
  std::vector<SnapshotFacts> s;
  for (int d = 0; d < 30; d++) s.push_back(Snap(d, kEpoch + d * kDay, false, d == 2));
  RetentionPolicy p;
  p.last = 1;
  auto kept = Kept(Apply(s, p));
  EXPECT_EQ(kept, (std::set<Id>{IdOf(2), IdOf(29)}));
}

TEST(Retention, GroupsByHostAndPaths) {
  std::vector<SnapshotFacts> s;
  for (int i = 0; i < 6; i++) {
    auto f = Snap(i, kEpoch + i * kHour);
    f.host = i % 2 ? "pacs" : "ehr";
    s.push_back(f);
  }
  RetentionPolicy p;
  p.last = 1;
  auto groups = Apply(s, p);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(Kept(groups), (std::set<Id>{IdOf(4), IdOf(5)}));
  GroupBy none{false, false, false};
  EXPECT_EQ(Kept(ApplyRetention(s, p, none, kEpoch, UtcCalendar)), (std::set<Id>{IdOf(5)}));
}

// Properties over random histories: held snapshots are always kept; adding
// suspicious snapshots never changes which clean ones are kept; the result
// does not depend on the order snapshots were listed in.
TEST(Retention, PropertiesOverRandomHistories) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; trial++) {
    std::vector<SnapshotFacts> clean, all;
    int n = 1 + int(rng() % 60);
    for (int i = 0; i < n; i++) {
      auto f = Snap(i, kEpoch + int64_t(rng() % (400 * kDay)), false, rng() % 10 == 0);
      clean.push_back(f);
    }
    all = clean;
    for (int i = 0; i < int(rng() % 10); i++)
      all.push_back(Snap(1000 + i, kEpoch + int64_t(rng() % (400 * kDay)), true));
    RetentionPolicy p;
    p.last = int(rng() % 4);
    p.daily = int(rng() % 8);
    p.weekly = int(rng() % 5);
    p.monthly = int(rng() % 13);
    if (rng() % 3 == 0) p.within_ns = int64_t(rng() % 60) * kDay;
    auto kept_clean = Kept(Apply(clean, p));
    auto kept_all = Kept(Apply(all, p));
    for (const auto& f : clean) {
      if (f.held) {
        EXPECT_TRUE(kept_all.count(f.id));
      }
      EXPECT_EQ(kept_clean.count(f.id), kept_all.count(f.id)) << "trial " << trial;
    }
    for (const auto& f : all)
      if (f.suspicious) {
        EXPECT_TRUE(kept_all.count(f.id));
      }
    auto shuffled = all;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    EXPECT_EQ(Kept(Apply(shuffled, p)), kept_all);
    if (p.last > 0 || p.daily > 0) {
      auto newest = std::max_element(clean.begin(), clean.end(), [](auto& a, auto& b) {
        return a.recorded_ns != b.recorded_ns ? a.recorded_ns < b.recorded_ns : a.id < b.id;
      });
      EXPECT_TRUE(kept_all.count(newest->id));
    }
  }
}

TEST(Retention, ParsesDurations) {
  EXPECT_EQ(*ParseDuration("36h"), 36 * kHour);
  EXPECT_EQ(*ParseDuration("1y2m3d"), (365 + 60 + 3) * kDay);
  EXPECT_EQ(*ParseDuration("2w"), 14 * kDay);
  for (const char* bad : {"", "h", "3", "3x", "1y-2d", "99999999d"})
    EXPECT_FALSE(ParseDuration(bad)) << bad;
}

// A compromised client stamps its snapshots with forged times (years in the
// past, or in the future so they look newest). forget decides by the time
// the storage recorded, so the forged snapshots do not push the real ones
// out of the policy.
TEST(Forget, ForgedClientTimesDoNotChangeWhatIsKept) {
  prunetest::Rig rig;
  auto repo = rig.Open();
  ASSERT_TRUE(repo);
  std::vector<Id> real;
  for (int d = 0; d < 5; d++) {
    rig.mem_->SetRecordedTime(kEpoch + d * kDay);
    rig.clock_.Set(kEpoch + d * kDay);
    rig.WriteFile("day" + std::to_string(d), 4096, d);
    real.push_back(rig.MustBackup(*repo).snapshot_id);
  }
  // Day 5: the attacker's snapshots, stamped in the future and the far past.
  rig.mem_->SetRecordedTime(kEpoch + 5 * kDay);
  rig.clock_.Set(kEpoch + 5 * kDay);
  std::vector<Id> forged;
  for (int64_t lie : {kEpoch + 3000 * kDay, kEpoch - 3000 * kDay, kEpoch + 3001 * kDay}) {
    prunetest::FakeClock liar(lie);
    rig.WriteFile("junk" + std::to_string(lie), 4096, uint64_t(lie));
    auto r = rig.Backup(*repo, liar);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->snapshot.time_ns, lie);  // the client's claim is stored, for display
    forged.push_back(r->snapshot_id);
  }
  RetentionPolicy p;
  p.daily = 4;
  auto plan = PlanForget(*repo, p, GroupBy{}, {}, kEpoch + 5 * kDay + kHour, UtcCalendar);
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_FALSE(plan->used_client_times);
  auto kept = Kept(plan->groups);
  // Day 5 keeps one snapshot (the newest recorded that day); days 2..4 keep
  // the real ones, whatever times the forged snapshots claim.
  for (int d = 2; d < 5; d++) EXPECT_TRUE(kept.count(real[size_t(d)])) << d;
  EXPECT_EQ(kept.size(), 4u);
  // Removing follows the plan and leaves the held snapshot alone.
  ASSERT_TRUE(repo->AddHoldEvent(real[0], true, "audit", kEpoch, "h"));
  auto plan2 = PlanForget(*repo, p, GroupBy{}, {}, kEpoch + 5 * kDay + kHour, UtcCalendar);
  ASSERT_TRUE(plan2);
  EXPECT_TRUE(Kept(plan2->groups).count(real[0]));
  auto removed = RemoveSnapshots(*repo, plan2->ToRemove());
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(*removed, 3u);  // day 1 and two of the forged ones
  EXPECT_FALSE(RemoveSnapshots(*repo, {real[0]}));  // held: refused
}

// A repository copied without its file times: every snapshot looks stored
// today. forget refuses instead of ageing the whole history by the copy.
TEST(Forget, RefusesRecordedTimesOfACopy) {
  prunetest::Rig rig;
  auto repo = rig.Open();
  rig.mem_->SetRecordedTime(kEpoch + 100 * kDay);  // the "copy" happened later
  for (int d = 0; d < 4; d++) {
    prunetest::FakeClock client(kEpoch + d * kDay);
    rig.WriteFile("f" + std::to_string(d), 4096, d);
    ASSERT_TRUE(rig.Backup(*repo, client));
  }
  RetentionPolicy p;
  p.daily = 2;
  auto plan = PlanForget(*repo, p, GroupBy{}, {}, kEpoch + 100 * kDay, UtcCalendar);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message().find("copied without its file times"), std::string::npos);
  // The order of snapshots (latest, parents) still follows the backups.
  auto snaps = repo->ListSnapshots();
  ASSERT_TRUE(snaps);
  for (size_t i = 1; i < snaps->size(); i++)
    EXPECT_LT((*snaps)[i - 1].second.time_ns, (*snaps)[i].second.time_ns);
}

// A snapshot with a forged future time is not "latest".
TEST(Forget, ForgedFutureTimeIsNotLatest) {
  prunetest::Rig rig;
  auto repo = rig.Open();
  rig.mem_->SetRecordedTime(kEpoch);
  prunetest::FakeClock liar(kEpoch + 900 * kDay);
  rig.WriteFile("a", 4096, 1);
  auto forged = rig.Backup(*repo, liar);
  ASSERT_TRUE(forged);
  rig.mem_->SetRecordedTime(kEpoch + kDay);
  prunetest::FakeClock honest(kEpoch + kDay);
  rig.WriteFile("b", 4096, 2);
  auto real = rig.Backup(*repo, honest);
  ASSERT_TRUE(real);
  auto latest = repo->ResolveSnapshot("latest");
  ASSERT_TRUE(latest);
  EXPECT_EQ(*latest, real->snapshot_id);
}

}  // namespace
}  // namespace ks
