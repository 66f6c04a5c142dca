// Snapshot objects: the root of one backup. JSON, sealed as kind
// "snapshot" (format/sealed.h), named by the SHA-256 of the sealed bytes.
// Field list: docs/design.md, "Snapshots".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace ks {

struct SnapshotSummary {
  uint64_t files_new = 0, files_changed = 0, files_unmodified = 0;
  uint64_t dirs = 0, files_failed = 0;
  uint64_t bytes_read = 0;       // file bytes read from the source
  uint64_t bytes_total = 0;      // total size of files in the snapshot
  uint64_t bytes_added = 0;      // stored bytes of new blobs (after compression)
  uint64_t blobs_added = 0;
  int64_t duration_ns = 0;
};

// The ransomware-detection verdict on a snapshot (detect/verdict.h).
struct VerdictReason {
  std::string kind;  // became_random, partly_encrypted, magic_broken, renamed_extension, ransom_note, churn
  uint64_t count = 0;
  std::vector<std::string> examples;  // up to 5 paths
};

struct Verdict {
  bool suspicious = false;
  double score = 0;  // 0 .. 100
  std::vector<VerdictReason> reasons;
  std::string status() const { return suspicious ? "suspicious" : "clean"; }
};

struct Snapshot {
  int64_t time_ns = 0;  // when the backup started, by the client's clock
  Id tree;
  std::vector<std::string> paths;
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
  std::vector<std::string> tags;
  std::vector<std::string> excludes;
  std::optional<Id> parent;
  std::string program_version;
  SnapshotSummary summary;
  std::optional<Verdict> verdict;  // absent in snapshots of older versions
};

std::string EncodeSnapshot(const Snapshot& s);
Result<Snapshot> DecodeSnapshot(ByteSpan json_text);

}  // namespace ks
