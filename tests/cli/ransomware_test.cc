// Ransomware simulation: over seeded trials, ordinary churn (edits, appends,
// new files) must stay "clean" and an attack on the share (whole and
// intermittent encryption, renames to .locked, ransom notes) must be
// flagged: exit 8, the verdict stored, the last clean snapshot held, and
// that snapshot restores the share as it was before the attack.
#include <gtest/gtest.h>

#include "cli_fixture.h"

namespace kstest {
namespace {

using json = nlohmann::json;

class RansomwareTest : public CliTest {};

TEST_F(RansomwareTest, ChurnIsCleanAttacksAreFlaggedAndTheCleanSnapshotHeld) {
  InitRepo();
  int trials = 0, false_positives = 0, detected = 0;
  for (int seed = 1; seed <= 4; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::string share = tmp_.Path("share" + std::to_string(seed));
    ASSERT_EXIT_CODE(Gen({"--seed", std::to_string(seed), "--size", "6M", share}), 0);
    json first = Backup({share});
    ASSERT_EXIT_CODE(Gen({"--seed", std::to_string(seed), "--mutate", "5", share}), 0);
    json churn = Backup({share});
    if (churn["verdict"]["status"] != "clean") false_positives++;
    EXPECT_EQ(churn["verdict"]["status"], "clean") << churn.dump();
    Manifest before_attack = ScanTree(share);
    std::string clean_id = churn["snapshot_id"];

    int percent = 5 + 8 * seed;  // 13% .. 37% of the files
    ASSERT_EXIT_CODE(Gen({"--seed", std::to_string(seed), "--encrypt-attack",
                          std::to_string(percent), share}),
                     0);
    json attacked = Backup({share}, /*expected_code=*/8);
    trials++;
    if (attacked["verdict"]["status"] == "suspicious") detected++;
    EXPECT_EQ(attacked["verdict"]["status"], "suspicious") << attacked.dump();

    // The verdict is stored with the snapshot, and the clean one is held.
    RunResult snaps = repo_.Run({"--json", "snapshots"});
    ASSERT_EXIT_CODE(snaps, 0);
    json list = json::parse(snaps.out);
    bool held = false, flagged = false;
    for (const auto& s : list) {
      if (s["id"] == clean_id) held = s["hold"].is_object();
      if (s["id"] == attacked["snapshot_id"]) flagged = s["verdict"]["status"] == "suspicious";
    }
    EXPECT_TRUE(held) << snaps.out;
    EXPECT_TRUE(flagged) << snaps.out;
    RunResult alerts = repo_.Run({"--json", "alerts"});
    ASSERT_EXIT_CODE(alerts, 0);
    EXPECT_NE(alerts.out.find(attacked["snapshot_id"].get<std::string>()), std::string::npos);

    // The held clean snapshot brings the share back as it was.
    std::string target = tmp_.Path("restore" + std::to_string(seed));
    RestoreOk(clean_id.substr(0, 8), target);
    EXPECT_EQ(DiffManifests(before_attack, ScanTree(target + share)), std::vector<std::string>{});
  }
  std::printf("[ ransomware ] %d trials: %d attacks detected, %d false positives on 5%% churn\n",
              trials, detected, false_positives);
}

TEST_F(RansomwareTest, AlertCommandGetsTheVerdictOnStdin) {
  InitRepo();
  std::string share = tmp_.Path("share");
  ASSERT_EXIT_CODE(Gen({"--seed", "9", "--size", "4M", share}), 0);
  Backup({share});
  ASSERT_EXIT_CODE(Gen({"--seed", "9", "--encrypt-attack", "30", share}), 0);
  std::string out = tmp_.Path("alert.json");
  json attacked = Backup({share, "--alert-command", "cat > '" + out + "'"}, 8);
  json payload = json::parse(ReadFile(out), nullptr, false);
  ASSERT_TRUE(payload.is_object()) << ReadFile(out);
  EXPECT_EQ(payload["snapshot_id"], attacked["snapshot_id"]);
  EXPECT_EQ(payload["verdict"]["status"], "suspicious");
  EXPECT_TRUE(payload["held_snapshot"].is_string());
}

}  // namespace
}  // namespace kstest
