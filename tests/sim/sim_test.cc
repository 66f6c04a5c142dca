// The ransomware simulation suite (docs/design.md 13.7): for every attack
// and every kind of ordinary churn, many seeded trials of
//
//   generate a share -> backup -> backup (a quiet day) -> event -> backup
//
// through the library, reading the last backup's verdict. Every attack
// must be flagged and no churn may be. Prints a table of rates; set
// KS_SIM_TRIALS to run more (or fewer) trials per scenario.
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "backend/mem_backend.h"
#include "backup/archiver.h"
#include "detect/features.h"
#include "detect/verdict.h"
#include "sim_events.h"

namespace ks::sim {
namespace {

int Trials() {
  const char* env = std::getenv("KS_SIM_TRIALS");
  int n = env ? std::atoi(env) : 0;
  return n > 0 ? n : 20;
}

bool Verbose() { return std::getenv("KS_SIM_VERBOSE") != nullptr; }

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string Describe(const Verdict& v) {
  std::string s = std::string(v.suspicious ? "suspicious" : "clean") + " score " +
                  std::to_string(v.score);
  for (const auto& r : v.reasons) {
    s += "; " + r.kind + " x" + std::to_string(r.count);
    if (!r.examples.empty()) s += " e.g. " + r.examples[0];
  }
  return s;
}

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  // In memory (/dev/shm) when there is room: each trial writes and
  // rewrites some 12 MB, and the suite should measure detection, not disk.
  TempDir() {
    std::string base = "/tmp";
    struct statvfs st;
    if (statvfs("/dev/shm", &st) == 0 && uint64_t(st.f_bavail) * st.f_frsize >= (512u << 20))
      base = "/dev/shm";
    std::string tmpl = base + "/ks-sim-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class Trial {
 public:
  Trial() {
    EXPECT_GE(sodium_init(), 0);
    auto backend = std::make_unique<MemBackend>();
    RepoConfig config;
    config.compression_level = 1;
    KdfParams kdf{1, 8u << 20};
    EXPECT_TRUE(Repository::Init(*backend, "pw", kdf, config, KeyFileInfo{"sim", "sim", "t"}));
    auto repo = Repository::Open(std::move(backend), "pw");
    EXPECT_TRUE(repo) << repo.error().message();
    repo_ = std::move(*repo);
  }

  std::optional<Verdict> Backup(const fs::path& root, int workers = 2) {
    BackupOptions o;
    o.paths = {root.string()};
    o.hostname = "sim";
    o.workers = workers;
    auto r = RunBackup(*repo_, clock_, o);
    EXPECT_TRUE(r) << r.error().message();
    if (!r) return std::nullopt;
    EXPECT_EQ(r->failed, 0u);
    return r->snapshot.verdict;
  }

 private:
  SystemClock clock_;
  std::unique_ptr<Repository> repo_;
};

// One trial: the verdict of the backup right after the event.
std::optional<Verdict> RunTrial(const Scenario& s, uint64_t seed, const fs::path& work,
                                int workers = 2) {
  auto t0 = std::chrono::steady_clock::now();
  Rng rng(seed);
  fs::path root = work / ("share-" + std::to_string(seed));
  GenerateTree(rng, root);
  double gen = Seconds(t0);
  Trial t;
  auto first = t.Backup(root, workers);
  auto quiet = t.Backup(root, workers);
  if (!first || !quiet) return std::nullopt;
  EXPECT_FALSE(first->suspicious) << Describe(*first);
  EXPECT_FALSE(quiet->suspicious) << Describe(*quiet);
  double backups = Seconds(t0) - gen;
  s.apply(rng, root);
  auto v = t.Backup(root, workers);
  if (Verbose() && v)
    std::printf("%s seed %llu: gen %.2fs, 2 backups %.2fs, total %.2fs: %s\n", s.name.c_str(),
                (unsigned long long)seed, gen, backups, Seconds(t0), Describe(*v).c_str());
  fs::remove_all(root);
  return v;
}

struct Row {
  std::string name;
  int trials = 0, flagged = 0;
  std::map<std::string, int> signals;  // reason kind -> trials that raised it
};

std::string Signals(const Row& r) {
  std::string s;
  for (const auto& [kind, n] : r.signals) s += (s.empty() ? "" : ", ") + kind + " " + std::to_string(n);
  return s.empty() ? "-" : s;
}

void PrintTable(const char* title, const std::vector<Row>& rows, bool attacks) {
  std::printf("\n%s\n", title);
  std::printf("| %-44s | %6s | %-12s | %6s | %s\n", "scenario", "trials",
              attacks ? "detected" : "false alarms", "rate", "signals raised (trials)");
  std::printf("|%s|%s|%s|%s|%s\n", std::string(46, '-').c_str(), std::string(8, '-').c_str(),
              std::string(14, '-').c_str(), std::string(8, '-').c_str(), std::string(24, '-').c_str());
  for (const auto& r : rows)
    std::printf("| %-44s | %6d | %12d | %5.1f%% | %s\n", r.name.c_str(), r.trials, r.flagged,
                r.trials ? 100.0 * r.flagged / r.trials : 0.0, Signals(r).c_str());
  std::fflush(stdout);
}

void RunSuite(const std::vector<Scenario>& scenarios, uint64_t seed_base, const char* title) {
  TempDir work;
  int n = Trials();
  std::vector<Row> rows;
  for (size_t i = 0; i < scenarios.size(); i++) {
    const Scenario& s = scenarios[i];
    Row row;
    row.name = s.name;
    for (int k = 0; k < n; k++) {
      uint64_t seed = seed_base + 1000 * i + uint64_t(k);
      auto v = RunTrial(s, seed, work.path());
      if (!v) continue;
      row.trials++;
      if (v->suspicious) row.flagged++;
      for (const auto& r : v->reasons) row.signals[r.kind]++;
      EXPECT_EQ(v->suspicious, s.attack)
          << s.name << ", seed " << seed << ": " << Describe(*v);
    }
    rows.push_back(row);
  }
  PrintTable(title, rows, scenarios.front().attack);
}

TEST(RansomwareSimulation, EveryAttackIsDetected) {
  RunSuite(Attacks(), 1'000'000, "Attacks (must be flagged)");
}

TEST(RansomwareSimulation, OrdinaryChurnDoesNotAlarm) {
  RunSuite(BenignChurn(), 2'000'000, "Ordinary churn (must stay clean)");
}

// What is stored and compared must not depend on thread timing: the same
// share and event give the same verdict (status, score, reasons and their
// counts; example paths may differ in order) with 1 or 4 workers.
TEST(RansomwareSimulation, VerdictIsDeterministic) {
  TempDir work;
  auto attacks = Attacks();
  auto churn = BenignChurn();
  for (const Scenario* s : {&attacks[5], &attacks[1], &churn[3], &churn[8]}) {
    for (uint64_t seed : {7u, 8u}) {
      auto a = RunTrial(*s, seed, work.path() / "a", 1);
      auto b = RunTrial(*s, seed, work.path() / "b", 4);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(a->suspicious, b->suspicious) << s->name;
      EXPECT_DOUBLE_EQ(a->score, b->score) << s->name;
      std::map<std::string, uint64_t> ca, cb;
      for (const auto& r : a->reasons) ca[r.kind] = r.count;
      for (const auto& r : b->reasons) cb[r.kind] = r.count;
      EXPECT_EQ(ca, cb) << s->name << ": " << Describe(*a) << " / " << Describe(*b);
    }
  }
}

// The judge itself, fed the same files in any order (as reader threads
// deliver them), gives the same verdict.
TEST(RansomwareSimulation, JudgeIgnoresTheOrderOfFiles) {
  Rng rng(11);
  std::vector<std::pair<Node, Node>> files;  // before, now
  for (int i = 0; i < 120; i++) {
    std::string ext = std::vector<std::string>{"csv", "pdf", "dcm", "jpg", "hl7", "docx"}[i % 6];
    Bytes before = ContentFor(rng, ext, LogUniform(rng, 4 << 10, 128 << 10));
    Bytes now = before;
    if (i % 5 == 0) {  // a fifth encrypted every 16th 4 KiB block
      Bytes key = RandomLooking(rng, 32);
      for (size_t off = 0; off < now.size(); off += 65536) EncryptRange(now, off, 4096, key, 1);
    }
    auto node = [&](const Bytes& data, uint8_t tag) {
      Node n;
      n.type = NodeType::kFile;
      n.name = "f" + std::to_string(i) + "." + ext;
      n.size = data.size();
      Id id;
      id.b[0] = tag;
      id.b[1] = uint8_t(i);
      n.content = {id};
      FeatureCollector c(n.name);
      c.Update(data);
      n.features = c.Finish();
      return n;
    };
    files.emplace_back(node(before, 1), node(now, i % 5 == 0 ? 2 : 1));
  }
  std::optional<Verdict> first;
  for (int round = 0; round < 5; round++) {
    std::shuffle(files.begin(), files.end(), rng);
    SnapshotJudge j;
    for (const auto& [b, n] : files) j.File("/share/" + n.name, &b, n);
    Verdict v = j.Finish(0.01);
    EXPECT_TRUE(v.suspicious) << Describe(v);
    if (!first) {
      first = v;
      continue;
    }
    EXPECT_EQ(v.suspicious, first->suspicious);
    EXPECT_DOUBLE_EQ(v.score, first->score);
    ASSERT_EQ(v.reasons.size(), first->reasons.size());
    std::map<std::string, uint64_t> ca, cb;
    for (const auto& r : v.reasons) ca[r.kind] = r.count;
    for (const auto& r : first->reasons) cb[r.kind] = r.count;
    EXPECT_EQ(ca, cb);
  }
}

}  // namespace
}  // namespace ks::sim
