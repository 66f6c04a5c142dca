// Backup -> restore round trips through the command line, incremental
// backups, excludes and partial backups (exit code 3).
#include <sys/stat.h>
#include <unistd.h>

#include <fnmatch.h>

#include <algorithm>
#include <set>

#include "cli_fixture.h"

namespace kstest {
namespace {

// ---------------------------------------------------------------------------
// 1. A random hostile tree survives backup and restore unchanged.

class RandomTreeRoundTrip : public CliTest, public ::testing::WithParamInterface<uint64_t> {};

TEST_P(RandomTreeRoundTrip, RestoresIdenticalTree) {
  const std::string src = tmp_.Path("src");
  RandomTreeOptions opts;
  opts.seed = GetParam();
  RandomTreeInfo info = MakeRandomTree(src, opts);
  const Manifest original = ScanTree(src);
  ASSERT_EQ(CountFiles(original), info.files);
  ASSERT_NO_FATAL_FAILURE(InitRepo());

  nlohmann::json summary = Backup({src});
  ASSERT_FALSE(summary.empty());
  EXPECT_EQ(summary["files_new"], info.files);
  EXPECT_EQ(summary["files_failed"], 0);
  // The per-stage report: every byte read was chunked and hashed.
  ASSERT_TRUE(summary.contains("pipeline")) << summary.dump();
  const auto& stages = summary["pipeline"]["stages"];
  EXPECT_EQ(stages["read"]["bytes"], summary["bytes_read"]);
  EXPECT_EQ(stages["chunk"]["bytes"], summary["bytes_read"]);
  EXPECT_EQ(stages["hash"]["bytes"], summary["bytes_read"]);
  EXPECT_GE(summary["pipeline"]["efficiency"].get<double>(), 0.0);
  EXPECT_LE(summary["pipeline"]["efficiency"].get<double>(), 1.0);
  // Backing up changes nothing in the source.
  EXPECT_EQ(FormatDiff(DiffManifests(original, ScanTree(src))), FormatDiff({}));

  // Full restore: every level of the stored path is recreated, nothing else.
  const std::string target = tmp_.Path("restore");
  ASSERT_NO_FATAL_FAILURE(RestoreOk("latest", target));
  std::string level = target;
  size_t pos = 1;
  while (pos < src.size()) {
    size_t slash = src.find('/', pos);
    if (slash == std::string::npos) slash = src.size();
    std::string component = src.substr(pos, slash - pos);
    EXPECT_EQ(ListDir(level), std::vector<std::string>{component}) << "in " << level;
    level += "/" + component;
    pos = slash + 1;
  }
  auto diff = DiffManifests(original, ScanTree(target + src));
  EXPECT_TRUE(diff.empty()) << FormatDiff(diff);

  // Restoring again over the first restore gives the same tree (every entry
  // already exists: files, links, fifos and directories are replaced or
  // reused). One seed is enough.
  if (GetParam() == 1) {
    ASSERT_NO_FATAL_FAILURE(RestoreOk("latest", target));
    diff = DiffManifests(original, ScanTree(target + src));
    EXPECT_TRUE(diff.empty()) << "second restore into the same target: " << FormatDiff(diff);
  }

  // The repository is sound.
  RunResult check = repo_.Run({"check", "--read-data"});
  EXPECT_EXIT_CODE(check, 0);

  // --include of one subdirectory restores exactly that subdirectory.
  for (const std::string& sub : {std::string("deep"), std::string("hl")}) {
    ASSERT_TRUE(std::count(info.subdirs.begin(), info.subdirs.end(), sub));
    const std::string partial = tmp_.Path("partial-" + sub);
    ASSERT_NO_FATAL_FAILURE(RestoreOk("latest", partial, {"--include", src + "/" + sub}));
    EXPECT_EQ(ListDir(partial + src), std::vector<std::string>{sub});
    auto sub_diff = DiffManifests(ScanTree(src + "/" + sub), ScanTree(partial + src + "/" + sub));
    EXPECT_TRUE(sub_diff.empty()) << "--include " << sub << ": " << FormatDiff(sub_diff);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomTreeRoundTrip, ::testing::Values(1, 2, 3));

// ---------------------------------------------------------------------------
// 2. An unchanged tree adds (almost) nothing; a mutated one adds little.

TEST_F(CliTest, SecondBackupAddsAlmostNothing) {
  const std::string corpus = tmp_.Path("corpus");
  RunResult gen = Gen({"--seed", "7", "--size", "48M", "--special", corpus});
  ASSERT_EXIT_CODE(gen, 0);
  ASSERT_NO_FATAL_FAILURE(InitRepo());
  const Manifest m1 = ScanTree(corpus);
  const size_t files = CountFiles(m1);
  uint64_t corpus_bytes = 0;
  for (const auto& [rel, e] : m1)
    if (e.type == 'f') corpus_bytes += e.size;
  ASSERT_GT(files, 100u);

  nlohmann::json first = Backup({corpus});
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first["files_new"], files);
  EXPECT_EQ(first["files_unmodified"], 0);

  nlohmann::json second = Backup({corpus});
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(second["files_unmodified"], files) << second.dump();
  EXPECT_EQ(second["files_new"], 0) << second.dump();
  EXPECT_EQ(second["files_changed"], 0) << second.dump();
  EXPECT_EQ(second["bytes_read"], 0) << second.dump();
  EXPECT_LT(second["bytes_added"].get<uint64_t>(), 64u * 1024) << second.dump();
  EXPECT_NE(second["snapshot_id"], first["snapshot_id"]);

  // Mutate about 5% of the files and add a few.
  RunResult mutate = Gen({"--mutate", "5", "--seed", "9", corpus});
  ASSERT_EXIT_CODE(mutate, 0);
  const Manifest m2 = ScanTree(corpus);
  size_t added = 0, changed = 0;
  uint64_t changed_bytes = 0;
  for (const auto& [rel, e] : m2) {
    if (e.type != 'f') continue;
    auto it = m1.find(rel);
    if (it == m1.end()) {
      added++;
      changed_bytes += e.size;
    } else if (it->second.content != e.content || it->second.mtime_ns != e.mtime_ns ||
               it->second.size != e.size) {
      changed++;
      changed_bytes += e.size;
    }
  }
  ASSERT_GT(changed, 0u);

  nlohmann::json third = Backup({corpus});
  ASSERT_FALSE(third.empty());
  EXPECT_EQ(third["files_new"], added) << third.dump();
  EXPECT_EQ(third["files_changed"], changed) << third.dump();
  EXPECT_EQ(third["files_unmodified"], CountFiles(m2) - added - changed) << third.dump();
  EXPECT_GT(third["files_changed"].get<uint64_t>(), 0u);
  // Only changed and new files are read, and much less than the corpus is stored.
  EXPECT_EQ(third["bytes_read"].get<uint64_t>(), changed_bytes) << third.dump();
  EXPECT_LT(third["bytes_added"].get<uint64_t>(), corpus_bytes / 4) << third.dump();
  EXPECT_GT(third["bytes_added"].get<uint64_t>(), 0u) << third.dump();

  // The incremental snapshot (mostly reused content lists) restores exactly.
  const std::string target = tmp_.Path("restore");
  ASSERT_NO_FATAL_FAILURE(RestoreOk(third["snapshot_id"], target));
  auto diff = DiffManifests(m2, ScanTree(target + corpus));
  EXPECT_TRUE(diff.empty()) << FormatDiff(diff);
}

// ---------------------------------------------------------------------------
// 10. Unreadable source files: exit code 3, named, the rest is saved.

TEST_F(CliTest, ExitCode3WhenSourceFilesAreUnreadable) {
  // Root reads everything, so as root the kintsugi process is run as an
  // unprivileged user (nobody) instead.
  RunOptions as;
  const bool root = IsRoot();
  if (root) {
    as.uid = 65534;
    as.gid = 65534;
    ASSERT_EQ(chmod(tmp_.path().c_str(), 0755), 0);
  }
  const std::string work = tmp_.Mkdir("work");
  const std::string src = tmp_.Mkdir("work/src");
  tmp_.Mkdir("work/src/sub");
  tmp_.Mkdir("work/src/locked-dir");
  WriteFile(src + "/a.txt", "readable a\n");
  WriteFile(src + "/sub/b.txt", RandomBytes(3, 100000));
  WriteFile(src + "/secret.txt", "nobody may read this\n");
  WriteFile(src + "/locked-dir/hidden.txt", "inside a locked directory\n");
  const std::string pw = work + "/pw";
  WriteFile(pw, std::string(kPassword) + "\n", 0600);
  TestRepo repo(work + "/repo", pw);
  if (root) {
    for (const std::string& p : {work, src, src + "/sub", src + "/locked-dir", src + "/a.txt",
                                src + "/sub/b.txt", src + "/secret.txt",
                                src + "/locked-dir/hidden.txt", pw})
      ASSERT_EQ(lchown(p.c_str(), 65534, 65534), 0) << p;
  }
  ASSERT_EQ(chmod((src + "/secret.txt").c_str(), 0000), 0);
  ASSERT_EQ(chmod((src + "/locked-dir").c_str(), 0000), 0);

  RunResult init = repo.Init(as);
  ASSERT_EXIT_CODE(init, 0);
  RunResult backup = repo.Run({"--json", "backup", src}, as);
  chmod((src + "/locked-dir").c_str(), 0755);  // so the temp dir can be removed
  EXPECT_EXIT_CODE(backup, 3);
  EXPECT_NE(backup.err.find(src + "/secret.txt"), std::string::npos) << backup.err;
  EXPECT_NE(backup.err.find(src + "/locked-dir"), std::string::npos) << backup.err;
  nlohmann::json summary = LastJson(backup);
  ASSERT_TRUE(summary.is_object()) << backup.Describe();
  EXPECT_EQ(summary["files_failed"], 2) << summary.dump();
  EXPECT_EQ(summary["files_new"], 2) << summary.dump();

  // The snapshot exists and holds everything that could be read.
  RunResult snaps = repo.Run({"--json", "snapshots"}, as);
  ASSERT_EXIT_CODE(snaps, 0);
  nlohmann::json arr = nlohmann::json::parse(snaps.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["id"], summary["snapshot_id"]);
  RunResult ls = repo.Run({"ls", "latest", src}, as);
  ASSERT_EXIT_CODE(ls, 0);
  std::vector<std::string> want = {src, src + "/a.txt", src + "/locked-dir", src + "/sub",
                                   src + "/sub/b.txt"};
  EXPECT_EQ(SplitLines(ls.out), want);

  const std::string target = work + "/restore";
  RunResult restore = repo.Run({"restore", "latest", "--target", target}, as);
  ASSERT_EXIT_CODE(restore, 0);
  EXPECT_EQ(ReadFile(target + src + "/a.txt"), "readable a\n");
  EXPECT_EQ(ReadFile(target + src + "/sub/b.txt"), RandomBytes(3, 100000));
  struct stat st;
  EXPECT_NE(lstat((target + src + "/secret.txt").c_str(), &st), 0);
}

// ---------------------------------------------------------------------------
// 11. --exclude leaves matching entries out.

bool AnyComponentMatches(const std::string& rel, const char* pattern) {
  size_t i = 0;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    if (fnmatch(pattern, rel.substr(i, j - i).c_str(), 0) == 0) return true;
    i = j + 1;
  }
  return false;
}

TEST_F(CliTest, ExcludesLeaveMatchingEntriesOut) {
  const std::string src = tmp_.Mkdir("src");
  tmp_.Mkdir("src/sub/x.tmp");
  tmp_.Mkdir("src/sub/deeper");
  tmp_.Mkdir("src/tmp");
  WriteFile(src + "/keep.txt", "keep\n");
  WriteFile(src + "/a.tmp", "scratch\n");
  WriteFile(src + "/weird name.tmp", "scratch\n");
  WriteFile(src + "/.tmp", "hidden scratch\n");
  WriteFile(src + "/a.tmp.txt", "not scratch\n");
  WriteFile(src + "/sub/b.tmp", "scratch\n");
  WriteFile(src + "/sub/c.txt", "keep c\n");
  WriteFile(src + "/sub/x.tmp/inner.txt", "inside an excluded directory\n");
  WriteFile(src + "/sub/deeper/y.TMP", "case differs: kept\n");
  WriteFile(src + "/tmp/z.txt", "in a directory named tmp\n");
  ASSERT_NO_FATAL_FAILURE(InitRepo());
  const Manifest all = ScanTree(src);

  nlohmann::json s = Backup({"--exclude", "*.tmp", src});
  ASSERT_FALSE(s.empty());
  Manifest want;
  for (const auto& [rel, e] : all)
    if (!AnyComponentMatches(rel, "*.tmp")) want[rel] = e;
  EXPECT_EQ(s["files_new"], CountFiles(want));

  RunResult ls = repo_.Run({"ls", "latest", src});
  ASSERT_EXIT_CODE(ls, 0);
  std::set<std::string> listed, expected;
  for (const auto& l : SplitLines(ls.out)) listed.insert(l);
  for (const auto& [rel, e] : want) expected.insert(rel.empty() ? src : src + "/" + rel);
  EXPECT_EQ(listed, expected);

  const std::string target = tmp_.Path("restore");
  ASSERT_NO_FATAL_FAILURE(RestoreOk("latest", target));
  auto diff = DiffManifests(want, ScanTree(target + src));
  EXPECT_TRUE(diff.empty()) << FormatDiff(diff);

  // A pattern with a '/' matches the whole path.
  nlohmann::json s2 = Backup({"-e", "*.tmp", "--exclude", src + "/sub/deeper", src});
  ASSERT_FALSE(s2.empty());
  RunResult ls2 = repo_.Run({"ls", "latest", src});
  ASSERT_EXIT_CODE(ls2, 0);
  expected.erase(src + "/sub/deeper");
  expected.erase(src + "/sub/deeper/y.TMP");
  listed.clear();
  for (const auto& l : SplitLines(ls2.out)) listed.insert(l);
  EXPECT_EQ(listed, expected);
}

}  // namespace
}  // namespace kstest
