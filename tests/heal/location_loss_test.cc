// End to end, five locations (`-r d1,d2,d3,d4,d5`, --data-shards 3
// --parity-shards 2: one shard of every object per directory). Losing any 2
// directories loses nothing: restores are byte-identical, check exits 5,
// scrub --repair refills the replacement directories with the exact shard
// files and check exits 0. Losing 3 loses everything, and nothing may be
// restored with wrong bytes.
#include <gtest/gtest.h>

#include <bit>
#include <set>

#include "cli_repo.h"

namespace heal {
namespace {

class FiveLocations : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    BuildOptions o;
    o.locations = 5;
    o.init_args = {"--data-shards", "3", "--parity-shards", "2"};
    o.size = "3M";
    o.seed = 21;
    built_ = new BuiltRepo(BuildRepo("five", o));
    if (built_->error.empty()) image_ = new TreeImage(LoadImage(built_->pristine_base()));
  }
  static void TearDownTestSuite() {
    delete image_;
    image_ = nullptr;
    delete built_;
    built_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(built_->error.empty()) << built_->error;
    ASSERT_EQ(built_->snapshot_ids.size(), 2u);
  }
  // Every combination of `n` of the 5 directories, as bitmasks.
  static std::vector<uint32_t> Combos(int n) {
    std::vector<uint32_t> out;
    for (uint32_t mask = 0; mask < 32; mask++)
      if (std::popcount(mask) == n) out.push_back(mask);
    return out;
  }
  static std::string Names(uint32_t mask) {
    std::string s;
    for (int i = 0; i < 5; i++)
      if (mask & (1u << i)) s += (s.empty() ? "d" : ",d") + std::to_string(i + 1);
    return s;
  }
  // The working copy (made once per suite) brought back to the pristine
  // state: a directory whose layout is incomplete (a lost one that was not
  // repaired) is copied again whole, every file is compared and put back.
  // Cheaper than a fresh copy of 5 x 256 pack directories per case.
  static std::string ResetWork() {
    std::string base = built_->dir->Path("work");
    if (!Exists(base)) CopyTree(built_->pristine_base(), base);
    RemoveTree(base + "/out");
    for (size_t i = 0; i < 5; i++) {
      std::string d = built_->LocationAt(base, i);
      bool complete = Exists(d + "/locks") && Exists(d + "/keys") && Exists(d + "/snapshots") &&
                      Exists(d + "/index");
      for (int x = 0; x < 256 && complete; x++) {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", x);
        complete = Exists(d + "/data/" + hex);
      }
      if (!complete) {
        RemoveTree(d);
        CopyTree(built_->LocationAt(built_->pristine_base(), i), d);
      }
    }
    (void)SyncToImage(base, *image_);
    return base;
  }
  // The pristine repository with the directories in `mask` removed; if
  // `replace`, each recreated empty (a new disk mounted in place).
  static std::string LoseDirectories(uint32_t mask, bool replace) {
    std::string base = ResetWork();
    for (int i = 0; i < 5; i++)
      if (mask & (1u << i)) {
        std::string d = built_->LocationAt(base, size_t(i));
        RemoveTree(d);
        if (replace) MakeDirs(d);
      }
    return base;
  }

  static BuiltRepo* built_;
  static TreeImage* image_;
};
BuiltRepo* FiveLocations::built_ = nullptr;
TreeImage* FiveLocations::image_ = nullptr;

TEST_F(FiveLocations, OneShardOfEveryObjectPerDirectory) {
  std::map<std::string, std::set<int>> dirs_of;  // object -> directories holding a shard
  for (const auto& [f, img] : *image_) {
    auto split = SplitShardPath(f);
    ASSERT_TRUE(split) << f;
    auto h = ParseShardHeader(img.content);
    ASSERT_TRUE(h) << f;
    EXPECT_EQ(h->k, 3);
    EXPECT_EQ(h->m, 2);
    int dir = f[1] - '0';  // "dN/..."
    std::string object = split->first.substr(split->first.find('/') + 1);
    EXPECT_TRUE(dirs_of[object].insert(dir).second) << object << " has two shards in d" << dir;
  }
  EXPECT_GE(dirs_of.size(), 7u);  // config, key, 2 snapshots, 2+ index, 2+ packs
  for (const auto& [object, dirs] : dirs_of) EXPECT_EQ(dirs.size(), 5u) << object;
}

// Every combination of 2 of the 5 directories: removed (rm -rf) and
// recreated empty, as when a disk is replaced.
TEST_F(FiveLocations, AnyTwoDirectoriesReplacedByEmptyOnes) {
  int cases = 0;
  for (uint32_t mask : Combos(2)) {
    std::string base = LoseDirectories(mask, /*replace=*/true);
    auto errs = HealCycle(*built_, *image_, base, /*earlier_too=*/true);
    EXPECT_TRUE(errs.empty()) << "lost " << Names(mask) << ":\n" << Join(errs);
    cases++;
  }
  std::printf("[ heal ] five locations, 3+2: %d combinations of 2 directories replaced by empty ones\n", cases);
  EXPECT_EQ(cases, 10);
}

// The same with the directories simply gone (a disk not mounted): reads go
// around them and scrub --repair recreates them.
TEST_F(FiveLocations, AnyTwoDirectoriesMissing) {
  int cases = 0;
  for (uint32_t mask : Combos(2)) {
    std::string base = LoseDirectories(mask, /*replace=*/false);
    auto errs = HealCycle(*built_, *image_, base, /*earlier_too=*/false);
    EXPECT_TRUE(errs.empty()) << "lost " << Names(mask) << ":\n" << Join(errs);
    cases++;
  }
  EXPECT_EQ(cases, 10);
}

// Beyond the budget: 3 of 5 directories lost (replaced by empty ones) leaves
// 2 shards of every object, fewer than k = 3. A restore must fail and must
// not leave any file with wrong bytes; check and scrub must not call the
// repository intact or repairable (0 or 5); scrub --repair must not touch
// the 2 surviving directories.
TEST_F(FiveLocations, ThreeDirectoriesLostRestoresNothingWrong) {
  int cases = 0;
  for (uint32_t mask : Combos(3)) {
    SCOPED_TRACE("lost " + Names(mask));
    std::string base = LoseDirectories(mask, /*replace=*/true);
    CliRepo repo(built_->SpecAt(base), built_->password_file);
    std::string target = base + "/out";
    RunResult r = repo.Run({"restore", "latest", "--target", target});
    EXPECT_NE(r.code, 0) << r.Describe();
    if (Exists(target + built_->src)) {
      Manifest got = ScanTree(target + built_->src);
      const Manifest& want = built_->manifests.back();
      for (const auto& [p, e] : got) {
        if (e.type != 'f') continue;
        auto it = want.find(p);
        EXPECT_TRUE(it != want.end() && it->second.hash == e.hash) << "restored with wrong bytes: " << p;
      }
    }
    RemoveTree(target);
    r = repo.Run({"check", "--read-data"});
    EXPECT_TRUE(r.code != 0 && r.code != 5) << r.Describe();
    r = repo.Run({"scrub", "--repair"});
    EXPECT_TRUE(r.code != 0 && r.code != 5) << r.Describe();
    // The surviving directories are untouched.
    TreeImage survivors;
    for (const auto& [f, img] : *image_)
      if (!(mask & (1u << (f[1] - '1')))) survivors[f] = img;
    TreeImage now = LoadImage(base);
    for (const auto& [f, img] : survivors) {
      auto it = now.find(f);
      EXPECT_TRUE(it != now.end() && it->second.content == img.content) << "surviving shard changed: " << f;
    }
    cases++;
  }
  EXPECT_EQ(cases, 10);
}

// Was a bug (fixed): in the same situation check --read-data and scrub
// exit 1 ("object config: block 0 has fewer than 3 intact shards"), the
// generic fatal code, because the repository cannot even be opened. The
// documented code for damage that cannot be repaired is 6 (README, "Exit
// codes"; cmd_check.cc), and a lost config is exactly that.
TEST_F(FiveLocations, ThreeDirectoriesLostCheckExits6) {
  std::string base = LoseDirectories(0b10101, /*replace=*/true);
  CliRepo repo(built_->SpecAt(base), built_->password_file);
  RunResult r = repo.Run({"check", "--read-data"});
  EXPECT_EQ(r.code, 6) << r.Describe();
  r = repo.Run({"scrub"});
  EXPECT_EQ(r.code, 6) << r.Describe();
  r = repo.Run({"scrub", "--repair"});
  EXPECT_EQ(r.code, 6) << r.Describe();
}

}  // namespace
}  // namespace heal
