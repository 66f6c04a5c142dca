// The backup pipeline (docs/design.md, "Backup pipeline"):
//
//   scanners (this thread and workers-1 more) --files--> readers (chunk) --chunks--> workers
//   (hash, dedup, compress, encrypt, pack) --packs--> uploaders
//
// A directory's tree blob is written when its last child is done, by
// whichever thread finishes that child; the snapshot is written last, after
// every pack and index table is stored.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backup/progress.h"
#include "backup/stage_times.h"
#include "repo/repository.h"

namespace ks {

struct BackupOptions {
  std::vector<std::string> paths;  // as given; made absolute
  std::vector<std::string> tags;
  std::vector<std::string> excludes;  // glob patterns (see docs)
  std::string hostname;
  std::optional<Id> parent;  // unset: latest snapshot of same host and paths
  bool force_reread = false;  // ignore the parent (read every file)
  int workers = 0;            // scanners and workers; 0: one per core
  std::string program_version;
  // The time to record as the snapshot's `time` (restic's --time), shown by
  // `snapshots`; retention ignores it (docs/design.md 16.1). Unset: now.
  std::optional<int64_t> time_ns;
  Progress* progress = nullptr;
  // Time each pipeline stage (BackupResult::stages). Off, the report's
  // stage figures are zero and the run saves the clock reads.
  bool measure_stages = true;
  // Called for each source entry that could not be read (the backup goes on).
  std::function<void(const std::string& path, const Error& e)> on_error;
};

struct BackupResult {
  Id snapshot_id;
  Snapshot snapshot;
  uint64_t failed = 0;  // entries that could not be read (exit code 3)
  StageReport stages;   // where the time went (not stored in the snapshot)
};

Result<BackupResult> RunBackup(Repository& repo, const Clock& clock, const BackupOptions& opts);

// True if `path` (absolute) or its base name matches one of the patterns.
bool IsExcluded(const std::vector<std::string>& patterns, const std::string& path);

}  // namespace ks
