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

// In-place encryption keeps a file's size, or adds a short trailer (the
// file key wrapped for the attacker, a marker): up to this much.
constexpr uint64_t kTrailerMax = 4096;
// How far the share of a file's units that changed may exceed the share
// that turned random, for partial encryption: the sketch's estimate is
// coarse (8 hashes), and a trailer adds a few changed units.
constexpr double kChangeSlack = 0.25;

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// Kinds that a file's first bytes prove (not text, not unknown).
bool IsSignatureKind(ContentKind k) { return k != ContentKind::kNone && k != ContentKind::kText; }

double RandomFraction(const FileFeatures& f) {
  return f.units_known ? f.unit_random_fraction() : f.random_fraction();
}

}  // namespace

void SnapshotJudge::Add(const std::string& kind, const std::string& path) {
  auto& r = reasons_[kind];
  r.kind = kind;
  r.count++;
  if (r.examples.size() < kExamples) r.examples.push_back(path);
}

bool SnapshotJudge::Compare(const std::string& path, const Node& before, const Node& now) {
  if (!before.features || !now.features) return false;
  const FileFeatures &a = *before.features, &b = *now.features;
  bool signal = false;
  bool magic_broken = a.magic == MagicMatch::kMatch && b.magic == MagicMatch::kMismatch;
  if (a.units_known && b.units_known) {
    // Random bytes are what a compressed format should hold (a DICOM image
    // re-encoded to JPEG 2000, a new version of a ZIP): only its magic and
    // renames can show an attack on it.
    bool compressed = IsCompressedKind(b.kind) && b.magic != MagicMatch::kMismatch;
    double fa = a.unit_random_fraction(), fb = b.unit_random_fraction();
    bool in_place = now.size >= before.size && now.size <= before.size + kTrailerMax;
    if (!compressed && b.units >= 1 && fa < 0.5 && fb >= 0.9) {
      Add("became_random", path);
      signal = true;
    } else if (!compressed && in_place && b.random_units > a.random_units) {
      // Intermittent encryption: random units appeared in a file that kept
      // its size, and what changed is what turned random, the rest byte for
      // byte as before. Edits that add compressed data change the size (a
      // PDF's incremental update) or the whole file (a new program version).
      double j = SketchSimilarity(a.sketch, b.sketch);
      double changed = (1 - j) / (1 + j);  // share of units that differ
      double turned = double(b.random_units - a.random_units) / double(std::max<uint64_t>(b.units, 1));
      if (changed <= turned + kChangeSlack) {
        Add("partly_encrypted", path);
        signal = true;
      }
    }
    if (a.kind == ContentKind::kText && a.binary_units == 0 && b.binary_units > 0) {
      // Text never holds these control bytes; ciphertext holds ~110 per KiB,
      // so even encrypted runs shorter than a unit show.
      Add("binary_in_text", path);
      signal = true;
    }
    // A signature the file had is gone and nothing recognisable replaced
    // it: also for names without an extension (programs, libraries).
    if (IsSignatureKind(a.kind) && b.kind == ContentKind::kNone) magic_broken = true;
  } else {
    if (a.random_fraction() < 0.5 && b.random_fraction() >= 0.9) {
      Add("became_random", path);
      signal = true;
    } else if (b.blocks >= 2 && b.random_fraction() - a.random_fraction() >= 0.25) {
      Add("partly_encrypted", path);
      signal = true;
    }
  }
  if (magic_broken) {
    Add("magic_broken", path);
    signal = true;
  }
  return signal;
}

void SnapshotJudge::File(const std::string& path, const Node* before, const Node& now) {
  std::lock_guard l(mu_);
  files_++;
  if (!before) {
    // New files count only in directories the parent snapshot already had:
    // a first backup, or a new project folder, is not an attack.
    if (!known_dirs_.count(DirOf(path))) return;
    if (auto it = renamed_from_.find(path); it != renamed_from_.end()) {
      Node old = std::move(it->second);
      renamed_from_.erase(it);
      // "app.log" gone, "app.log.gz" new and a valid gzip file: a
      // conversion (log rotation, compression), not ransomware's rename.
      if (now.features && now.features->magic == MagicMatch::kMatch) return;
      // The same bytes under a longer name ("x.pdf" -> "x.pdf.bak"): a
      // rename, and ransomware always changes the content.
      if (now.content == old.content) return;
      Add("renamed_extension", path);
      if (Compare(path, old, now)) encrypted_.insert(path);
      return;
    }
    if (now.size <= kNoteMaxSize && !now.content.empty()) {
      std::string key = now.content.front().Hex() + "/" + std::to_string(now.size);
      small_new_[key].insert(DirOf(path));
      small_new_example_.emplace(key, path);
    }
    // A new file that claims a format and is random-looking garbage instead.
    if (now.features && now.features->magic == MagicMatch::kMismatch &&
        RandomFraction(*now.features) >= 0.9) {
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
  if (Compare(path, *before, now)) encrypted_.insert(path);
}

void SnapshotJudge::Directory(const std::string& path, const std::vector<Node>& before,
                              const std::vector<std::string>& now) {
  if (before.empty()) return;
  std::map<std::string, const Node*> old;
  for (const Node& n : before) old.emplace(n.name, &n);
  std::set<std::string> cur(now.begin(), now.end());
  std::lock_guard l(mu_);
  known_dirs_.insert(path);
  for (const auto& name : now) {
    if (old.count(name)) continue;
    // "report.pdf" gone and "report.pdf.locked" there: renamed to a new
    // extension, as most ransomware does. File() decides, with the content.
    size_t dot = name.rfind('.');
    while (dot != std::string::npos && dot > 0) {
      std::string stem = name.substr(0, dot);
      auto it = old.find(stem);
      if (it != old.end() && !cur.count(stem)) {
        if (it->second->type == NodeType::kFile) renamed_from_[Join(path, name)] = *it->second;
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
