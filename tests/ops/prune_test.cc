// Prune: the two phases, the grace period, the wait for older backups,
// repacking, and safety under crashes and concurrent backups.
#include <gtest/gtest.h>

#include <thread>

#include "prune/forget.h"
#include "prune/marks.h"
#include "prune/pruner.h"
#include "prune_rig.h"

namespace ks {
namespace {

using prunetest::kEpoch;
using prunetest::kHour;
using prunetest::kSec;
using prunetest::Rig;

PruneOptions Opts(int64_t grace) {
  PruneOptions o;
  o.grace_ns = grace;
  return o;
}

// Two snapshots that share part of their data; the first one forgotten.
// Returns the id of the snapshot that stays.
Id TwoSnapshotsForgetFirst(Rig& rig, Repository& repo) {
  for (int i = 0; i < 8; i++) rig.WriteFile("keep/f" + std::to_string(i), 100 << 10, i);
  for (int i = 0; i < 8; i++) rig.WriteFile("gone/f" + std::to_string(i), 100 << 10, 100 + i);
  Id first = rig.MustBackup(repo).snapshot_id;
  rig.RemoveFile("gone");
  // Half of each kept file changes: their old packs become partly used.
  for (int i = 0; i < 8; i += 2) rig.WriteFile("keep/f" + std::to_string(i), 100 << 10, 50 + i);
  Id second = rig.MustBackup(repo).snapshot_id;
  EXPECT_TRUE(RemoveSnapshots(repo, {first}));
  return second;
}

TEST(Prune, MarksFirstDeletesAfterGrace) {
  Rig rig;
  auto repo = rig.Open();
  TwoSnapshotsForgetFirst(rig, *repo);
  size_t packs_before = rig.Count(ObjectType::kPack);

  auto r1 = RunPrune(*repo, rig.clock_, Opts(kHour));
  ASSERT_TRUE(r1) << r1.error().message();
  EXPECT_GT(r1->packs_marked, 0u);
  EXPECT_EQ(r1->packs_deleted, 0u);
  EXPECT_FALSE(r1->new_mark.empty());
  EXPECT_GE(rig.Count(ObjectType::kPack), packs_before);  // nothing deleted yet
  rig.ExpectAllRestorable("after marking");

  rig.clock_.Advance(kHour / 2);
  auto r2 = RunPrune(*repo, rig.clock_, Opts(kHour));
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->packs_deleted, 0u);
  EXPECT_EQ(r2->marks_waiting, 1u);

  rig.clock_.Advance(kHour);
  rig.mem_->SetRecordedTime(rig.clock_.NowNs());
  auto r3 = RunPrune(*repo, rig.clock_, Opts(kHour));
  ASSERT_TRUE(r3) << r3.error().message();
  EXPECT_EQ(r3->marks_finished, 1u);
  EXPECT_EQ(r3->packs_deleted, r1->packs_marked + r1->packs_repacked + r1->unindexed_marked);
  EXPECT_GT(r3->bytes_deleted, 0u);
  EXPECT_LT(rig.Count(ObjectType::kPack), packs_before);
  EXPECT_EQ(rig.Count(ObjectType::kPrune), 0u);
  rig.ExpectAllRestorable("after deleting");

  // Soon nothing is left to reclaim: what stays unused is below the repack
  // threshold (which packs fall under it depends on the packs' random salts).
  bool settled = false;
  for (int i = 0; i < 3 && !settled; i++) {
    rig.clock_.Advance(kSec);
    auto r4 = RunPrune(*repo, rig.clock_, Opts(0));
    ASSERT_TRUE(r4);
    settled = r4->packs_marked + r4->packs_repacked + r4->packs_deleted == 0;
    if (settled) {
      EXPECT_GE(double(r4->bytes_used), 0.8 * double(r4->bytes));
    }
  }
  EXPECT_TRUE(settled);
}

TEST(Prune, DryRunChangesNothing) {
  Rig rig;
  auto repo = rig.Open();
  TwoSnapshotsForgetFirst(rig, *repo);
  auto before = rig.mem_->List(ObjectType::kPack)->size() + rig.mem_->List(ObjectType::kIndex)->size();
  PruneOptions o = Opts(0);
  o.dry_run = true;
  auto r = RunPrune(*repo, rig.clock_, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_GT(r->packs_marked, 0u);
  EXPECT_EQ(rig.Count(ObjectType::kPrune), 0u);
  EXPECT_EQ(rig.mem_->List(ObjectType::kPack)->size() + rig.mem_->List(ObjectType::kIndex)->size(), before);
}

// A backup that started before the mark may have deduplicated against a
// marked pack: deletion waits until its lock is gone.
TEST(Prune, WaitsForBackupsOlderThanTheMark) {
  Rig rig;
  auto repo = rig.Open();
  TwoSnapshotsForgetFirst(rig, *repo);
  auto other = rig.Open();
  auto lock = RepoLock::Acquire(other->backend(), other->keys(), rig.clock_, false, "backup");
  ASSERT_TRUE(lock);
  rig.clock_.Advance(kSec);
  ASSERT_TRUE(RunPrune(*repo, rig.clock_, Opts(0)));
  rig.clock_.Advance(kSec);
  auto r = RunPrune(*repo, rig.clock_, Opts(0));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->packs_deleted, 0u);
  ASSERT_EQ(r->waiting.size(), 1u);
  EXPECT_NE(r->waiting[0].find("backup"), std::string::npos) << r->waiting[0];
  lock->reset();
  auto r2 = RunPrune(*repo, rig.clock_, Opts(0));
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_GT(r2->packs_deleted, 0u);
  rig.ExpectAllRestorable("after waiting");
}

// Four files backed up once, that snapshot forgotten, then a prune that
// marks its packs. Returns the backup and the marking prune's report.
std::pair<BackupResult, PruneReport> BackUpForgetAndMark(Rig& rig, Repository& repo) {
  for (int i = 0; i < 4; i++) rig.WriteFile("a/f" + std::to_string(i), 200 << 10, i);
  BackupResult first = rig.MustBackup(repo);
  EXPECT_TRUE(RemoveSnapshots(repo, {first.snapshot_id}));
  auto r = RunPrune(repo, rig.clock_, Opts(0));
  EXPECT_TRUE(r) << r.error().message();
  return {first, r ? *r : PruneReport{}};
}

// Backups after the mark do not deduplicate against marked packs: the data
// of a forgotten snapshot that comes back is stored again.
TEST(Prune, BackupsSkipMarkedPacks) {
  Rig rig;
  auto repo = rig.Open();
  auto [first, r] = BackUpForgetAndMark(rig, *repo);
  EXPECT_GT(r.packs_marked, 0u);
  auto again = rig.Open();
  auto b = rig.MustBackup(*again);
  EXPECT_GE(b.snapshot.summary.bytes_added, 4u * (200 << 10));  // stored anew
  rig.clock_.Advance(kSec);
  auto r2 = RunPrune(*repo, rig.clock_, Opts(0));
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->packs_resurrected, 0u);
  EXPECT_GT(r2->packs_deleted, 0u);
  rig.ExpectAllRestorable("after the second backup");
}

// A snapshot that needs a marked pack again (written by a backup that
// deduplicated before the mark) keeps the pack: it is resurrected.
TEST(Prune, ResurrectsAPackNeededAgain) {
  Rig rig;
  auto repo = rig.Open();
  auto [first, r] = BackUpForgetAndMark(rig, *repo);
  ASSERT_GT(r.packs_marked, 0u);
  // What a backup that took its lock before the mark leaves behind.
  Snapshot late = first.snapshot;
  late.time_ns += 1;
  ASSERT_TRUE(repo->SaveSnapshot(late));
  rig.clock_.Advance(kSec);
  auto r2 = RunPrune(*repo, rig.clock_, Opts(0));
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->packs_deleted, 0u);
  EXPECT_EQ(r2->packs_resurrected, r.packs_marked);
  EXPECT_EQ(rig.Count(ObjectType::kPrune), 0u);
  rig.ExpectAllRestorable("after resurrection");
}

// A prune killed after any number of writes or removals (each step of both
// phases) leaves every snapshot restorable, and the next prune finishes.
TEST(Prune, KilledAtAnyStepLosesNothing) {
  // Budgets 0, 1, 2, ... until one is large enough for both runs to
  // complete: every step of the cycle is a place to die.
  const int64_t steps = 200;
  int completed_at = -1;
  for (int64_t budget = 0; budget < steps; budget++) {
    Rig rig;
    auto repo = rig.Open();
    TwoSnapshotsForgetFirst(rig, *repo);
    // Two prunes in a row (mark, then finish), sharing one budget.
    prunetest::Process* proc = nullptr;
    auto dying = rig.Open(budget, &proc);
    ASSERT_TRUE(dying);
    auto a = RunPrune(*dying, rig.clock_, Opts(0));
    if (a.has_value() && !proc->dead()) {
      rig.clock_.Advance(kSec);
      (void)RunPrune(*dying, rig.clock_, Opts(0));
    }
    // A prune may carry on past a refused removal; what counts is whether
    // the budget ran out before the cycle ended.
    bool survived = !proc->dead();
    dying.reset();
    std::string where = "killed after " + std::to_string(budget) + " writes";
    rig.ExpectAllRestorable(where.c_str());
    // Recovery: prunes run to the end.
    auto fresh = rig.Open();
    for (int i = 0; i < 3; i++) {
      rig.clock_.Advance(kSec);
      auto r = RunPrune(*fresh, rig.clock_, Opts(0));
      ASSERT_TRUE(r) << where << ": " << r.error().message();
    }
    rig.ExpectAllRestorable((where + ", then recovered").c_str());
    // And it converges: soon a prune finds nothing more to reclaim, with at
    // most the repack threshold's share of unused bytes left in packs.
    bool settled = false;
    for (int i = 0; i < 4 && !settled; i++) {
      rig.clock_.Advance(kSec);
      auto r = RunPrune(*fresh, rig.clock_, Opts(0));
      ASSERT_TRUE(r);
      settled = r->packs_marked + r->packs_repacked + r->unindexed_marked + r->packs_deleted == 0;
      if (settled) {
        EXPECT_GE(double(r->bytes_used), 0.8 * double(r->bytes)) << where;
      }
    }
    EXPECT_TRUE(settled) << where;
    if (survived) {
      completed_at = int(budget);
      break;
    }
  }
  EXPECT_GE(completed_at, 5) << "the cycle should take several writes";
  RecordProperty("steps_killed", completed_at);
}

// Backups keep running while prunes mark and delete: every snapshot stays
// restorable.
TEST(Prune, ConcurrentBackupsLoseNothing) {
  Rig rig;
  auto seed = rig.Open();
  for (int i = 0; i < 6; i++) rig.WriteFile("base/f" + std::to_string(i), 64 << 10, i);
  rig.MustBackup(*seed);
  std::atomic<bool> stop{false};
  std::atomic<int> backups{0};
  std::string err;
  std::thread writer([&] {
    auto repo = rig.Open();
    for (int round = 0; round < 12 && !stop; round++) {
      // Each round: churn a file, back up, forget all but the newest two.
      rig.WriteFile("base/f" + std::to_string(round % 6), 64 << 10, 1000 + round);
      auto r = rig.Backup(*repo, rig.clock_);
      if (!r) {
        err = r.error().message();
        return;
      }
      backups++;
      RetentionPolicy p;
      p.last = 2;
      auto plan = PlanForget(*repo, p, GroupBy{}, {}, rig.clock_.NowNs(), prunetest::UtcCalendar);
      if (plan) (void)RemoveSnapshots(*repo, plan->ToRemove());
    }
  });
  auto pruner = rig.Open();
  int prunes = 0;
  // Prunes go on until the writer is done, and at least a few run (a fast
  // writer may finish its rounds before the second prune starts).
  while ((backups < 12 || prunes < 3) && err.empty() && prunes < 400) {
    auto lock = RepoLock::Acquire(pruner->backend(), pruner->keys(), rig.clock_, false, "prune", true);
    ASSERT_TRUE(lock);
    PruneOptions o = Opts(0);
    o.own_lock = (*lock)->name();
    auto r = RunPrune(*pruner, rig.clock_, o);
    // A prune may meet a snapshot removed while it read: it then stops
    // cleanly and the next one goes on.
    if (!r) {
      EXPECT_NE(r.error().kind(), ErrorKind::kInternal) << r.error().message();
    }
    prunes++;
    rig.clock_.Advance(kSec);
  }
  stop = true;
  writer.join();
  EXPECT_TRUE(err.empty()) << err;
  EXPECT_GT(prunes, 1);
  rig.ExpectAllRestorable("after concurrent backups and prunes");
}

// Storage that refuses removals (Object Lock until the retention date):
// prune deletes nothing, loses nothing, keeps its marks, and finishes once
// removals are allowed.
TEST(Prune, StorageRefusingRemovalsKeepsEverything) {
  Rig rig;
  auto repo = rig.Open();
  TwoSnapshotsForgetFirst(rig, *repo);
  prunetest::Process* proc = nullptr;
  auto locked = rig.Open(-1, &proc);
  ASSERT_TRUE(RunPrune(*locked, rig.clock_, Opts(0)));
  size_t packs = rig.Count(ObjectType::kPack);
  proc->RefuseRemoves(true);
  rig.clock_.Advance(kSec);
  auto r = RunPrune(*locked, rig.clock_, Opts(0));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->packs_deleted, 0u);
  EXPECT_EQ(r->marks_finished, 0u);
  EXPECT_FALSE(r->warnings.empty());
  EXPECT_EQ(rig.Count(ObjectType::kPack), packs);
  EXPECT_EQ(rig.Count(ObjectType::kPrune), 1u);
  rig.ExpectAllRestorable("with removals refused");
  proc->RefuseRemoves(false);
  rig.clock_.Advance(kSec);
  auto r2 = RunPrune(*locked, rig.clock_, Opts(0));
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_GT(r2->packs_deleted, 0u);
  EXPECT_EQ(rig.Count(ObjectType::kPrune), 0u);
  rig.ExpectAllRestorable("after the retention ended");
}

TEST(PruneMark, RoundTripAndRejectsGarbage) {
  PruneMark m;
  m.time_ns = 123;
  m.host = "h";
  m.packs = {Id{}, Sha256(AsBytes("x"))};
  auto d = DecodeMark(AsBytes(EncodeMark(m)));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->packs, m.packs);
  EXPECT_EQ(d->time_ns, 123);
  for (const char* bad : {"", "[]", "{}", R"({"version":1,"time_ns":1,"packs":[1]})",
                          R"({"version":1,"time_ns":1,"packs":["zz"]})",
                          R"({"version":2,"time_ns":1,"packs":[]})", R"({"version":1,"packs":[]})"})
    EXPECT_FALSE(DecodeMark(AsBytes(bad))) << bad;
}

}  // namespace
}  // namespace ks
