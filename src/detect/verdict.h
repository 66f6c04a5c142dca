// Ransomware detection, part 2: judging a snapshot as a whole by comparing
// each file with its own previous version (docs/design.md, "Ransomware
// detection"). The archiver reports what it sees; Finish() gives the verdict
// that is stored in the snapshot.
//
// Thread-safety: all methods may be called from several threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "detect/features.h"
#include "format/node.h"
#include "format/snapshot.h"

namespace ks {

class SnapshotJudge {
 public:
  // A regular file of the new snapshot, with its previous version if the
  // parent snapshot had one at the same path.
  void File(const std::string& path, const Node* before, const Node& now);
  // The entries of one directory in the parent snapshot and the names it
  // has now. Call it before File() for the directory's files: new files are
  // judged only in directories the parent had, and a new file that is an
  // old one renamed to a longer name ("a.pdf" -> "a.pdf.locked") is
  // compared with the old one.
  void Directory(const std::string& path, const std::vector<Node>& before,
                 const std::vector<std::string>& now);

  // `parent_churn`: the fraction of files the parent backup found new or
  // changed (negative if unknown).
  Verdict Finish(double parent_churn) const;

 private:
  void Add(const std::string& kind, const std::string& path);
  // The content signals of one file against its previous version; true if
  // any was raised. Called with mu_ held.
  bool Compare(const std::string& path, const Node& before, const Node& now);

  mutable std::mutex mu_;
  std::map<std::string, VerdictReason> reasons_;
  uint64_t files_ = 0, compared_ = 0, changed_ = 0;
  std::set<std::string> encrypted_;  // paths with any content signal
  std::set<std::string> known_dirs_;  // directories the parent snapshot had
  std::map<std::string, Node> renamed_from_;  // new path -> the old file it may be
  // New small files by content: the same ransom note in many directories.
  std::map<std::string, std::set<std::string>> small_new_;  // content key -> dirs
  std::map<std::string, std::string> small_new_example_;
};

}  // namespace ks
