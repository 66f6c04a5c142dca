// forget and prune through the command line: retention, holds, the two
// phases, and prunes killed with SIGKILL while backups run.
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <random>

#include "cli_fixture.h"

namespace kstest {
namespace {

void SleepMs(int64_t ms) {
  timespec ts{time_t(ms / 1000), long(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

class PruneCliTest : public CliTest {
 protected:
  std::vector<std::string> Ids() {
    RunResult r = repo_.Run({"--json", "snapshots"});
    EXPECT_EXIT_CODE(r, 0);
    std::vector<std::string> ids;
    auto arr = nlohmann::json::parse(r.out, nullptr, false);
    if (arr.is_array())
      for (const auto& s : arr) ids.push_back(s["id"].get<std::string>());
    return ids;
  }
  // Every snapshot restores in full (restore authenticates every byte).
  void ExpectEverySnapshotRestores() {
    for (const auto& id : Ids()) {
      std::string target = tmp_.Mkdir("r-" + id.substr(0, 8));
      RunResult r = repo_.Run({"restore", id, "--target", target});
      EXPECT_EXIT_CODE(r, 0);
    }
  }
};

TEST_F(PruneCliTest, ForgetThenPruneInTwoRuns) {
  InitRepo();
  std::string src = tmp_.Path("share");
  ASSERT_EXIT_CODE(Gen({"--size", "12M", "--seed", "1", src}), 0);
  std::string first = Backup({src})["snapshot_id"];
  ASSERT_EXIT_CODE(Gen({"--mutate", "15", "--seed", "2", src}), 0);
  Backup({src});
  ASSERT_EXIT_CODE(Gen({"--mutate", "15", "--seed", "3", src}), 0);
  std::string last = Backup({src})["snapshot_id"];

  // Usage errors and holds.
  EXPECT_EXIT_CODE(repo_.Run({"forget"}), 2);
  ASSERT_EXIT_CODE(repo_.Run({"hold", first, "--reason", "audit"}), 0);
  RunResult refused = repo_.Run({"forget", first});
  EXPECT_EXIT_CODE(refused, 1);
  EXPECT_NE(refused.err.find("held"), std::string::npos) << refused.Describe();

  // A policy keeps the newest and the held one.
  RunResult dry = repo_.Run({"--json", "forget", "--keep-last", "1", "--dry-run"});
  ASSERT_EXIT_CODE(dry, 0);
  auto plan = LastJson(dry);
  ASSERT_TRUE(plan.is_array() && plan.size() == 1) << dry.Describe();
  EXPECT_EQ(plan[0]["keep"].size(), 2u);
  EXPECT_EQ(plan[0]["remove"].size(), 1u);
  EXPECT_EQ(Ids().size(), 3u);
  ASSERT_EXIT_CODE(repo_.Run({"forget", "--keep-last", "1"}), 0);
  EXPECT_EQ(Ids().size(), 2u);
  ASSERT_EXIT_CODE(repo_.Run({"unhold", first}), 0);
  ASSERT_EXIT_CODE(repo_.Run({"forget", first}), 0);
  EXPECT_EQ(Ids(), std::vector<std::string>{last});

  // First prune marks; the second (grace 0) deletes.
  RunResult p1 = repo_.Run({"--json", "prune", "--grace", "0"});
  ASSERT_EXIT_CODE(p1, 0);
  auto j1 = LastJson(p1);
  EXPECT_GT(j1["packs_marked"].get<uint64_t>() + j1["packs_repacked"].get<uint64_t>(), 0u);
  EXPECT_EQ(j1["packs_deleted"], 0);
  RunResult p2 = repo_.Run({"--json", "prune", "--grace", "0"});
  ASSERT_EXIT_CODE(p2, 0);
  auto j2 = LastJson(p2);
  EXPECT_GT(j2["packs_deleted"].get<uint64_t>(), 0u);
  EXPECT_GT(j2["bytes_deleted"].get<uint64_t>(), 0u);

  RunResult check = repo_.Run({"check", "--read-data"});
  EXPECT_EXIT_CODE(check, 0);
  std::string target = tmp_.Mkdir("restored");
  RestoreOk("latest", target);
  auto diff = CompareTrees(src, target + src);
  EXPECT_TRUE(diff.empty()) << FormatDiff(diff);
}

// Prunes are killed at random moments while backups and forgets run; at
// the end every snapshot still restores and check finds nothing lost.
TEST_F(PruneCliTest, PruneKilledWhileBackupsRun) {
  InitRepo();
  std::string src = tmp_.Path("share");
  ASSERT_EXIT_CODE(Gen({"--size", "16M", "--seed", "11", src}), 0);
  Backup({src});
  std::mt19937_64 rng(99);
  int killed = 0, completed = 0;
  for (int round = 0; round < 8; round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_EXIT_CODE(Gen({"--mutate", "15", "--seed", std::to_string(100 + round), src}), 0);
    auto backup = repo_.Start({"backup", "-q", src});
    RunResult f = repo_.Run({"forget", "--keep-last", "2"});
    EXPECT_EXIT_CODE(f, 0);
    auto prune = repo_.Start({"prune", "--grace", "0"});
    SleepMs(int64_t(rng() % 400));
    prune->Signal(SIGKILL);
    RunResult pr = prune->Wait();
    if (pr.signal == SIGKILL) {
      killed++;
    } else {
      // A prune that finished (or met another's lock) ends cleanly.
      EXPECT_TRUE(pr.code == 0 || pr.code == 11) << pr.Describe();
      completed++;
    }
    RunResult b = backup->Wait();
    EXPECT_EXIT_CODE(b, 0);
  }
  std::printf("PruneKilledWhileBackupsRun: %d prunes killed, %d completed\n", killed, completed);
  // Unfinished work is finished by later prunes.
  for (int i = 0; i < 3; i++) {
    RunResult p = repo_.Run({"prune", "--grace", "0"});
    EXPECT_EXIT_CODE(p, 0);
  }
  RunResult check = repo_.Run({"--json", "check", "--read-data"});
  // A killed prune can leave an object cut before its last shard: readable,
  // repaired by scrub (exit 5). Nothing is ever lost (exit 6).
  EXPECT_TRUE(check.code == 0 || check.code == 5) << check.Describe();
  if (check.code == 5) {
    EXPECT_EXIT_CODE(repo_.Run({"scrub", "--repair"}), 0);
    EXPECT_EXIT_CODE(repo_.Run({"check", "--read-data"}), 0);
  }
  ExpectEverySnapshotRestores();
  std::string target = tmp_.Mkdir("latest");
  RestoreOk("latest", target);
  auto diff = CompareTrees(src, target + src);
  EXPECT_TRUE(diff.empty()) << FormatDiff(diff);
}

}  // namespace
}  // namespace kstest
