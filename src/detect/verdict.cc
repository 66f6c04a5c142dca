#include "detect/verdict.h"

#include <algorithm>

namespace ks {
namespace {

constexpr size_t kExamples = 5;
constexpr uint64_t kNoteMaxSize = 64 * 1024;

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

void SnapshotJudge::Add(const std::string& kind, const std::string& path) {
  auto& r = reasons_[kind];
  r.kind = kind;
  r.count++;
  if (r.examples.size() < kExamples) r.examples.push_back(path);
}

void SnapshotJudge::File(const std::string& path, const Node* before, const Node& now) {
  std::lock_guard l(mu_);
  files_++;
  if (!before) {
    // New files count only in directories the parent snapshot already had:
    // a first backup, or a new project folder, is not an attack.
    if (!known_dirs_.count(DirOf(path))) return;
    if (now.size <= kNoteMaxSize && !now.content.empty()) {
      std::string key = now.content.front().Hex() + "/" + std::to_string(now.size);
      small_new_[key].insert(DirOf(path));
      small_new_example_.emplace(key, path);
    }
    // A new file that claims a format and is random-looking garbage instead.
    if (now.features && now.features->magic == MagicMatch::kMismatch &&
        now.features->random_fraction() >= 0.9) {
      Add("magic_broken", path);
      encrypted_.insert(path);
    }
    return;
  }
  if (before->type != NodeType::kFile) return;
  compared_++;
  bool changed = before->content != now.content;
  if (!changed) return;
  changed_++;
  if (!before->features || !now.features) return;
  const FileFeatures &a = *before->features, &b = *now.features;
  bool signal = false;
  if (a.random_fraction() < 0.5 && b.random_fraction() >= 0.9) {
    Add("became_random", path);
    signal = true;
  } else if (b.blocks >= 2 && b.random_fraction() - a.random_fraction() >= 0.25) {
    // Intermittent encryption: some blocks turned random, the rest did not.
    Add("partly_encrypted", path);
    signal = true;
  }
  if (a.magic == MagicMatch::kMatch && b.magic == MagicMatch::kMismatch) {
    Add("magic_broken", path);
    signal = true;
  }
  if (signal) encrypted_.insert(path);
}

void SnapshotJudge::Directory(const std::string& path, const std::vector<std::string>& before,
                              const std::vector<std::string>& now) {
  if (before.empty()) return;
  std::set<std::string> old(before.begin(), before.end()), cur(now.begin(), now.end());
  std::lock_guard l(mu_);
  known_dirs_.insert(path);
  for (const auto& name : now) {
    if (old.count(name)) continue;
    // "report.pdf" gone and "report.pdf.locked" there: renamed to a new
    // extension, as most ransomware does.
    size_t dot = name.rfind('.');
    while (dot != std::string::npos && dot > 0) {
      std::string stem = name.substr(0, dot);
      if (old.count(stem) && !cur.count(stem)) {
        Add("renamed_extension", path + "/" + name);
        break;
      }
      dot = stem.rfind('.');
    }
  }
}

Verdict SnapshotJudge::Finish(double parent_churn) const {
  std::lock_guard l(mu_);
  Verdict v;
  auto reasons = reasons_;
  for (const auto& [key, dirs] : small_new_) {
    if (dirs.size() < 3) continue;
    auto& r = reasons["ransom_note"];
    r.kind = "ransom_note";
    r.count = std::max<uint64_t>(r.count, dirs.size());
    if (r.examples.size() < kExamples) r.examples.push_back(small_new_example_.at(key));
  }
  double churn = compared_ ? double(changed_) / double(compared_) : 0;
  if (compared_ >= 20 && churn >= 0.2 && parent_churn >= 0 && churn >= 3 * parent_churn) {
    auto& r = reasons["churn"];
    r.kind = "churn";
    r.count = changed_;
  }
  uint64_t encrypted = encrypted_.size();
  uint64_t renamed = reasons.count("renamed_extension") ? reasons.at("renamed_extension").count : 0;
  uint64_t notes = reasons.count("ransom_note") ? reasons.at("ransom_note").count : 0;
  uint64_t base = std::max<uint64_t>(compared_, 1);
  // Each signal alone, at a level everyday work does not reach; together
  // they add up.
  double s_content = double(encrypted) / std::max(3.0, 0.02 * double(base));
  double s_renamed = double(renamed) / std::max(5.0, 0.02 * double(base));
  double s_notes = double(notes) / 3.0;
  double s_churn = reasons.count("churn") ? 0.3 : 0.0;
  double total = s_content + s_renamed + s_notes + s_churn;
  v.score = std::min(100.0, 100.0 * total / 2.0);
  v.suspicious = s_content >= 1 || s_renamed >= 1 || s_notes >= 1 || total >= 1.5;
  for (auto& [k, r] : reasons) v.reasons.push_back(r);
  std::sort(v.reasons.begin(), v.reasons.end(),
            [](const VerdictReason& a, const VerdictReason& b) { return a.count > b.count; });
  return v;
}

}  // namespace ks
