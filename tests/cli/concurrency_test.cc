// Crashes and concurrency: backups killed at random moments, and backups
// running at the same time on one repository.
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdio>

#include <algorithm>
#include <random>
#include <set>

#include "cli_fixture.h"

namespace kstest {
namespace {

void SleepMs(int64_t ms) {
  timespec ts{time_t(ms / 1000), long(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

std::set<std::string> SnapshotIds(const TestRepo& repo) {
  RunResult r = repo.Run({"--json", "snapshots"});
  EXPECT_EXIT_CODE(r, 0);
  std::set<std::string> ids;
  nlohmann::json arr = nlohmann::json::parse(r.out, nullptr, false);
  if (arr.is_array())
    for (const auto& s : arr) ids.insert(s["id"].get<std::string>());
  return ids;
}

// ---------------------------------------------------------------------------
// 6. SIGKILL during backup leaves a repository that checks clean and still
// restores every earlier snapshot.

// Names of the stored objects ("snapshots/<name>", ...), shard suffixes
// (".<i>", see backend/sharded_backend.h) removed.
std::set<std::string> ObjectNames(const std::string& repo) {
  std::set<std::string> out;
  auto scan = [&](const std::string& rel_dir) {
    for (const auto& f : ListDir(repo + "/" + rel_dir)) {
      size_t dot = f.rfind('.');
      if (f[0] != '.' && dot != std::string::npos) out.insert(rel_dir + "/" + f.substr(0, dot));
    }
  };
  scan("keys");
  scan("snapshots");
  scan("index");
  for (const auto& sub : ListDir(repo + "/data")) scan("data/" + sub);
  return out;
}

// Every problem `check --json` reports must be about an object in `debris`
// (objects written by killed backups): its text names one of them.
void ExpectOnlyDebrisDamaged(const RunResult& check, const std::set<std::string>& debris) {
  nlohmann::json j = nlohmann::json::parse(check.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << check.Describe();
  if (j["problems"].empty() && j["repairable"].empty()) {
    EXPECT_EXIT_CODE(check, 0);
  } else {
    EXPECT_TRUE(check.code == 5 || check.code == 6) << check.Describe();
  }
  for (const char* list : {"problems", "repairable"}) {
    for (const auto& p : j[list]) {
      std::string text = p["object"].get<std::string>() + ": " + p["message"].get<std::string>();
      bool about_debris = false;
      for (const auto& d : debris) {
        std::string name = d.substr(d.rfind('/') + 1);
        if (text.find(name.substr(0, 8)) != std::string::npos) about_debris = true;
      }
      EXPECT_TRUE(about_debris) << "check reports damage outside what the killed backups wrote ("
                                << list << "): " << text;
    }
  }
}

class KillDuringBackupTest : public CliTest {
 protected:
  // strict: check exits 0 after every kill (the crash guarantee of
  // docs/design.md 8.2). Otherwise check may report objects the killed
  // process left half-written, but nothing else.
  void Run(bool strict) {
    const std::string corpus = tmp_.Path("corpus");
    ASSERT_EXIT_CODE(Gen({"--seed", "11", "--size", "200M", corpus}), 0);
    ASSERT_NO_FATAL_FAILURE(InitRepo());
    const Manifest m1 = ScanTree(corpus);
    nlohmann::json s1 = Backup({corpus});
    ASSERT_FALSE(s1.empty());
    ASSERT_EXIT_CODE(Gen({"--mutate", "5", "--seed", "12", corpus}), 0);
    const Manifest m2 = ScanTree(corpus);
    nlohmann::json s2 = Backup({corpus});
    ASSERT_FALSE(s2.empty());
    const std::string id1 = s1["snapshot_id"], id2 = s2["snapshot_id"];

    // Kill times: ten slots spread over 1.5 times what an uninterrupted run
    // takes (measured here, so every phase is hit on any machine: reading,
    // packing, uploading, index and snapshot writing), one seeded time each.
    // --force rereads the whole corpus so each run takes a while.
    ASSERT_EXIT_CODE(Gen({"--mutate", "3", "--seed", "99", corpus}), 0);
    timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_EXIT_CODE(repo_.Run({"-q", "backup", "--force", corpus}), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const int64_t full_ms =
        (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    const int64_t slot_ms = std::max<int64_t>(10, full_ms * 15 / 100);
    std::mt19937_64 rng(20240601);
    int killed = 0, finished = 0;
    std::set<std::string> debris;
    for (int t = 0; t < 10; t++) {
      ASSERT_EXIT_CODE(Gen({"--mutate", "3", "--seed", std::to_string(100 + t), corpus}), 0);
      const int64_t delay_ms = t * slot_ms + int64_t(rng() % uint64_t(slot_ms));
      SCOPED_TRACE("trial " + std::to_string(t) + ", SIGKILL after " +
                   std::to_string(delay_ms) + " ms");
      const std::set<std::string> before = ObjectNames(repo_.path());
      auto p = repo_.Start({"-q", "backup", "--force", corpus});
      SleepMs(delay_ms);
      p->Signal(SIGKILL);
      RunResult r = p->Wait();
      if (r.signal == SIGKILL) {
        killed++;
        for (const auto& o : ObjectNames(repo_.path()))
          if (!before.count(o)) debris.insert(o);
      } else {
        EXPECT_EXIT_CODE(r, 0);
        finished++;
      }
      RunResult check = repo_.Run({"--json", "check"});
      if (strict) {
        EXPECT_EXIT_CODE(check, 0);
      } else {
        ExpectOnlyDebrisDamaged(check, debris);
      }
      std::set<std::string> ids = SnapshotIds(repo_);
      EXPECT_TRUE(ids.count(id1) && ids.count(id2)) << "earlier snapshots went missing";
      // A normal backup afterwards succeeds. It also stores what the killed
      // run had stored without indexing, so every trial starts from the same
      // state and the calibrated kill times keep covering the whole run.
      RunResult after = repo_.Run({"-q", "backup", corpus});
      EXPECT_EXIT_CODE(after, 0);
    }
    std::printf("KillDuringBackup: uninterrupted run %lld ms; %d backups killed, %d finished "
                "before the signal\n",
                (long long)full_ms, killed, finished);

    // Kills at the moment the first shard file of a new pack, index table or
    // snapshot is stored, i.e. in the middle of storing that object.
    std::vector<std::string> pack_dirs;
    for (const auto& sub : ListDir(repo_.path() + "/data"))
      pack_dirs.push_back(repo_.path() + "/data/" + sub);
    int seed = 200;
    for (const auto& [what, dirs] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"pack", pack_dirs},
             {"index table", {repo_.path() + "/index"}},
             {"snapshot", {repo_.path() + "/snapshots"}}}) {
      ASSERT_EXIT_CODE(Gen({"--mutate", "3", "--seed", std::to_string(seed++), corpus}), 0);
      SCOPED_TRACE("SIGKILL while storing a " + what);
      const std::set<std::string> before = ObjectNames(repo_.path());
      DirWatcher watch(dirs);
      auto p = repo_.Start({"-q", "backup", "--force", corpus});
      const std::string first = watch.WaitForNewName(*p, 120000);
      p->Signal(SIGKILL);
      RunResult r = p->Wait();
      std::set<std::string> now = ObjectNames(repo_.path());
      size_t shards = 0;
      if (!first.empty()) {
        const std::string object = first.substr(0, first.rfind('.'));
        for (const auto& d : dirs)
          for (const auto& f : ListDir(d))
            if (f.rfind(object + ".", 0) == 0) shards++;
      }
      std::printf("KillDuringBackup: killed after '%s' appeared: %s, %zu shard files of it "
                  "stored\n",
                  first.c_str(), r.signal == SIGKILL ? "killed" : "had finished", shards);
      if (r.signal != SIGKILL) {
        EXPECT_EXIT_CODE(r, 0);
      }
      for (const auto& o : now)
        if (!before.count(o)) debris.insert(o);
      RunResult check = repo_.Run({"--json", "check"});
      if (strict) {
        EXPECT_EXIT_CODE(check, 0);
      } else {
        ExpectOnlyDebrisDamaged(check, debris);
      }
      std::set<std::string> ids = SnapshotIds(repo_);
      EXPECT_TRUE(ids.count(id1) && ids.count(id2)) << "earlier snapshots went missing";
      RunResult after = repo_.Run({"-q", "backup", corpus});
      EXPECT_EXIT_CODE(after, 0);
    }

    // The last normal backup restores exactly.
    const Manifest m3 = ScanTree(corpus);
    nlohmann::json s3 = Backup({corpus});
    ASSERT_FALSE(s3.empty());
    EXPECT_EQ(s3["files_failed"], 0);
    const std::string id3 = s3["snapshot_id"];

    // Data check over everything, orphan packs of killed runs included.
    RunResult check = repo_.Run({"--json", "check", "--read-data"});
    if (strict) {
      // Clean (0), or (5) when a write was cut after k of its shard files
      // but before shard 0, which Put writes last: such an object is
      // complete and readable, missing only trailing shard files, and
      // `scrub --repair` writes them. Nothing else may be reported.
      if (check.code == 5) {
        nlohmann::json j = LastJson(check);
        ASSERT_TRUE(j.is_object()) << check.Describe();
        EXPECT_TRUE(j["problems"].empty()) << check.Describe();
        for (const auto& r : j["repairable"]) {
          std::string msg = r["message"];
          EXPECT_NE(msg.find("shard 0 missing"), std::string::npos) << check.Describe();
          EXPECT_EQ(msg.find("bad"), std::string::npos) << check.Describe();
        }
        RunResult scrub = repo_.Run({"scrub", "--repair"});
        EXPECT_EXIT_CODE(scrub, 0);
        RunResult again = repo_.Run({"check", "--read-data"});
        EXPECT_EXIT_CODE(again, 0);
      } else {
        EXPECT_EXIT_CODE(check, 0);
      }
    } else {
      ExpectOnlyDebrisDamaged(check, debris);
    }
    // Stale locks of the killed processes do not block an exclusive lock.
    const std::string pw2 = tmp_.Path("password-2");
    WriteFile(pw2, "another\n");
    RunResult add = repo_.Run({"--json", "key", "add", "--new-password-file", pw2,
                               "--kdf-memory-mib", "8", "--kdf-iterations", "1"});
    ASSERT_EXIT_CODE(add, 0);
    RunResult rm = repo_.Run({"key", "remove", LastJson(add)["id"].get<std::string>()});
    EXPECT_EXIT_CODE(rm, 0);
    // unlock removes the stale locks the killed processes left, and only
    // lock objects.
    RunResult unlock = repo_.Run({"unlock"});
    EXPECT_EXIT_CODE(unlock, 0);
    for (const auto& n : ListDir(repo_.path() + "/locks")) EXPECT_EQ(n[0], '.') << n;
    EXPECT_EQ(SnapshotIds(repo_).count(id3), 1u);

    int n = 0;
    for (const auto& [id, want] :
         {std::pair{id1, &m1}, std::pair{id2, &m2}, std::pair{id3, &m3}}) {
      const std::string target = tmp_.Path("restore" + std::to_string(++n));
      ASSERT_NO_FATAL_FAILURE(RestoreOk(id, target));
      auto diff = DiffManifests(*want, ScanTree(target + corpus));
      EXPECT_TRUE(diff.empty()) << "snapshot " << id.substr(0, 8) << ": " << FormatDiff(diff);
      RemoveTree(target);
    }
  }
};

// Everything the crash guarantee promises except "no debris": earlier
// snapshots stay complete and restorable, later backups succeed, stale locks
// are ignored, and check finds nothing wrong beyond the killed runs' own
// half-written objects.
TEST_F(KillDuringBackupTest, EarlierSnapshotsSurvive) { Run(/*strict=*/false); }

// This once failed: docs/design.md 8.2 says a killed backup leaves only temp
// files, unindexed packs, unreachable index tables and a stale lock, all
// harmless. Since the storage envelope, ShardedBackend::Put writes the k+m
// shard files of an object one after another, so a SIGKILL in between
// leaves an object with fewer than k shards under its real name. Unindexed
// packs are reported as harmless leftovers, but a half-written snapshot
// makes `check` exit 6 ("damaged: snapshot: object <id>: block 0 has fewer
// than 8 intact shards; data lost beyond the parity budget") and `snapshots`
// warn about it, and a half-written index table makes `check` exit 6 too.
// The targeted kills (when the first shard file of the object appears) hit
// this every time; the random ones only sometimes.
TEST_F(KillDuringBackupTest, CheckIsCleanAfterEveryKill) { Run(/*strict=*/true); }

// ---------------------------------------------------------------------------
// 7. Two backups at once on one repository.

TEST_F(CliTest, ConcurrentBackups) {
  const std::string a = tmp_.Path("a"), b = tmp_.Path("b");
  ASSERT_EXIT_CODE(Gen({"--seed", "21", "--size", "24M", a}), 0);
  ASSERT_EXIT_CODE(Gen({"--seed", "22", "--size", "24M", b}), 0);
  // Content in both trees, so both sessions race to store the same blobs.
  const std::string shared = RandomBytes(23, 5 << 20);
  WriteFile(a + "/shared.bin", shared);
  WriteFile(b + "/shared.bin", shared);
  WriteFile(a + "/shared-small.txt", "same small file\n");
  WriteFile(b + "/shared-small.txt", "same small file\n");
  ASSERT_NO_FATAL_FAILURE(InitRepo());

  std::vector<std::string> all_ids;
  std::vector<std::pair<std::string, Manifest>> expected;
  for (int round = 0; round < 2; round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    if (round > 0) {
      ASSERT_EXIT_CODE(Gen({"--mutate", "30", "--seed", "31", a}), 0);
      ASSERT_EXIT_CODE(Gen({"--mutate", "30", "--seed", "32", b}), 0);
      WriteFile(a + "/shared-round2.bin", RandomBytes(24, 3 << 20));
      WriteFile(b + "/shared-round2.bin", RandomBytes(24, 3 << 20));
    }
    const Manifest ma = ScanTree(a), mb = ScanTree(b);
    auto pa = repo_.Start({"--json", "backup", a});
    auto pb = repo_.Start({"--json", "backup", b});
    RunResult ra = pa->Wait(), rb = pb->Wait();
    ASSERT_EXIT_CODE(ra, 0);
    ASSERT_EXIT_CODE(rb, 0);
    nlohmann::json ja = LastJson(ra), jb = LastJson(rb);
    ASSERT_TRUE(ja.is_object() && jb.is_object());
    all_ids.push_back(ja["snapshot_id"]);
    all_ids.push_back(jb["snapshot_id"]);
    expected.emplace_back(ja["snapshot_id"], ma);
    expected.emplace_back(jb["snapshot_id"], mb);
  }
  EXPECT_EQ(SnapshotIds(repo_), std::set<std::string>(all_ids.begin(), all_ids.end()));
  RunResult check = repo_.Run({"check", "--read-data"});
  EXPECT_EXIT_CODE(check, 0);
  int n = 0;
  for (const auto& [id, want] : expected) {
    const std::string target = tmp_.Path("restore" + std::to_string(++n));
    ASSERT_NO_FATAL_FAILURE(RestoreOk(id, target));
    const std::string root = n % 2 ? a : b;
    auto diff = DiffManifests(want, ScanTree(target + root));
    EXPECT_TRUE(diff.empty()) << "snapshot " << id.substr(0, 8) << ": " << FormatDiff(diff);
    RemoveTree(target);
  }
}

}  // namespace
}  // namespace kstest
