#include "cli_repo.h"

#include <sys/stat.h>
#include <unistd.h>

#include <set>

namespace heal {

std::string BuiltRepo::LocationAt(const std::string& base, size_t i) const {
  if (locations.size() == 1) return base + "/repo";
  return base + "/d" + std::to_string(i + 1);
}

std::string BuiltRepo::SpecAt(const std::string& base) const {
  std::string s;
  for (size_t i = 0; i < locations.size(); i++) s += (i ? "," : "") + LocationAt(base, i);
  return s;
}

namespace {

std::string Backup(const CliRepo& repo, const std::string& src, std::string& error) {
  RunResult r = repo.Run({"--json", "backup", src});
  nlohmann::json j = LastJson(r);
  // 8: stored, but the ransomware detector raised an alert (a generated
  // --mutate can look like one); the snapshot is there all the same.
  if ((r.code != 0 && r.code != 8) || !j.is_object() || !j.contains("snapshot_id")) {
    error = "backup failed: " + r.Describe();
    return "";
  }
  return j["snapshot_id"].get<std::string>();
}

}  // namespace

BuiltRepo BuildRepo(const std::string& tag, const BuildOptions& o) {
  BuiltRepo b;
  b.dir = std::make_unique<TempDir>(tag);
  b.password_file = b.dir->Path("password");
  WriteFile(b.password_file, "heal-test-password\n", 0600);
  b.src = b.dir->Path("src");
  MakeDirs(b.pristine_base());
  b.locations.resize(o.locations);
  for (size_t i = 0; i < o.locations; i++) b.locations[i] = b.LocationAt(b.pristine_base(), i);
  RunResult g = Run({GenBinary(), "--seed", std::to_string(o.seed), "--size", o.size, b.src});
  if (g.code != 0) {
    b.error = "kintsugi-gen failed: " + g.Describe();
    return b;
  }
  CliRepo repo(b.SpecAt(b.pristine_base()), b.password_file);
  RunResult init = repo.Init(o.init_args);
  if (init.code != 0) {
    b.error = "init failed: " + init.Describe();
    return b;
  }
  std::string id = Backup(repo, b.src, b.error);
  if (id.empty()) return b;
  b.snapshot_ids.push_back(id);
  b.srcs.push_back(b.src);
  b.manifests.push_back(ScanTree(b.src));
  if (o.second == BuildOptions::Second::kMutate) {
    RunResult m = Run({GenBinary(), "--mutate", "10", "--seed", std::to_string(o.seed + 1), b.src});
    if (m.code != 0) {
      b.error = "kintsugi-gen --mutate failed: " + m.Describe();
      return b;
    }
    id = Backup(repo, b.src, b.error);
    if (id.empty()) return b;
    b.snapshot_ids.push_back(id);
    b.srcs.push_back(b.src);
    b.manifests.push_back(ScanTree(b.src));
    if (b.manifests[0] == b.manifests[1]) b.error = "--mutate changed nothing";
  } else if (o.second == BuildOptions::Second::kOtherTree) {
    std::string src2 = b.dir->Path("src2");
    RunResult g2 = Run({GenBinary(), "--seed", std::to_string(o.seed + 100), "--size", o.size, src2});
    if (g2.code != 0) {
      b.error = "kintsugi-gen failed: " + g2.Describe();
      return b;
    }
    id = Backup(repo, src2, b.error);
    if (id.empty()) return b;
    b.snapshot_ids.push_back(id);
    b.srcs.push_back(src2);
    b.manifests.push_back(ScanTree(src2));
  }
  return b;
}

std::string RestoreAndCompare(const CliRepo& repo, const std::string& snapshot,
                              const std::string& target, const std::string& src,
                              const Manifest& want) {
  RemoveTree(target);
  RunResult r = repo.Run({"restore", snapshot, "--target", target});
  std::string msg;
  if (r.code != 0) {
    msg = "restore " + snapshot + " failed: " + r.Describe();
  } else if (!Exists(target + src)) {
    msg = "restore " + snapshot + " produced no " + target + src;
  } else {
    auto diff = DiffManifests(want, ScanTree(target + src));
    if (!diff.empty()) msg = "restore " + snapshot + " differs from the source:\n" + FormatDiff(diff);
  }
  RemoveTree(target);
  return msg;
}

TreeImage LoadImage(const std::string& root) {
  TreeImage img;
  for (const auto& f : ListFiles(root)) {
    struct stat st;
    std::string p = root + "/" + f;
    if (::stat(p.c_str(), &st) != 0) continue;
    img[f] = FileImage{ReadFile(p), uint32_t(st.st_mode & 07777)};
  }
  return img;
}

std::vector<std::string> SyncToImage(const std::string& root, const TreeImage& image) {
  std::vector<std::string> diffs;
  std::set<std::string> seen;
  for (const auto& f : ListFiles(root)) {
    std::string p = root + "/" + f;
    auto it = image.find(f);
    if (it == image.end()) {
      diffs.push_back("extra file " + f);
      ::unlink(p.c_str());
      continue;
    }
    seen.insert(f);
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) continue;
    bool same_mode = uint32_t(st.st_mode & 07777) == it->second.mode;
    bool same = ReadFile(p) == it->second.content;
    if (!same) diffs.push_back("file differs " + f);
    else if (!same_mode) diffs.push_back("mode differs " + f);
    if (!same || !same_mode) {
      ::unlink(p.c_str());
      WriteFile(p, it->second.content, it->second.mode);
    }
  }
  for (const auto& [f, img] : image) {
    if (seen.count(f)) continue;
    diffs.push_back("missing file " + f);
    std::string p = root + "/" + f;
    MakeDirs(p.substr(0, p.rfind('/')));
    WriteFile(p, img.content, img.mode);
  }
  return diffs;
}

std::vector<std::string> HealCycle(const BuiltRepo& b, const TreeImage& image,
                                   const std::string& base, bool earlier_too) {
  CliRepo repo(b.SpecAt(base), b.password_file);
  std::vector<std::string> errs;
  std::string m = RestoreAndCompare(repo, "latest", base + "/out", b.srcs.back(), b.manifests.back());
  if (!m.empty()) errs.push_back(m);
  if (earlier_too) {
    m = RestoreAndCompare(repo, b.snapshot_ids[0], base + "/out", b.srcs[0], b.manifests[0]);
    if (!m.empty()) errs.push_back(m);
  }
  RunResult r = repo.Run({"check", "--read-data"});
  if (r.code != 5) errs.push_back("check --read-data before repair: want exit 5, got " + r.Describe());
  r = repo.Run({"scrub", "--repair"});
  if (r.code != 0) errs.push_back("scrub --repair: want exit 0, got " + r.Describe());
  r = repo.Run({"check", "--read-data"});
  if (r.code != 0) errs.push_back("check --read-data after repair: want exit 0, got " + r.Describe());
  auto diffs = SyncToImage(base, image);
  if (!diffs.empty())
    errs.push_back("after scrub --repair the repository differs from the pristine copy:\n" + FormatDiff(diffs));
  return errs;
}

std::string FreshCopy(const BuiltRepo& b, const std::string& name) {
  std::string base = b.dir->Path(name);
  RemoveTree(base);
  CopyTree(b.pristine_base(), base);
  return base;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "  " + x + "\n";
  return s;
}

}  // namespace heal
