// `kintsugi prune`: reclaims the space of data no snapshot needs, in two
// phases that never block backups (docs/design.md, "Prune"):
//
//  1. finish: delete the packs of marks older than the grace period, if no
//     lock older than the mark is still live (a backup that might have
//     deduplicated against them before the mark is then finished and its
//     snapshot visible) and they are still unneeded; a marked pack that a
//     snapshot needs again is kept ("resurrected"). Index tables that list
//     deleted packs are rewritten first, then the packs go, then the mark.
//  2. mark: packs nothing needs, and partly used packs once their live
//     blobs are copied into new packs, are named in a new mark.
//
// Every step leaves a repository in which every snapshot restores: a crash
// at any point only leaves work for the next prune.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace ks {

struct PruneOptions {
  int64_t grace_ns = 24LL * 3600 * 1000000000;
  // Repack a pack when at least this share of its bytes is unused.
  double repack_unused = 0.2;
  // How far client clocks may disagree (lock times against mark times).
  int64_t clock_skew_ns = 10LL * 60 * 1000000000;
  bool dry_run = false;
  // The caller's lock, not waited for: its name, and its creation time,
  // which stays the same when a refresh renames it.
  std::string own_lock;
  int64_t own_lock_created_ns = 0;
};

struct PruneReport {
  uint64_t snapshots = 0, trees = 0, blobs_referenced = 0;
  uint64_t packs = 0, bytes = 0, bytes_used = 0;   // indexed packs before this run
  uint64_t blobs_missing = 0;  // referenced but in no index table (check reports them)
  // Finishing earlier marks.
  uint64_t marks_finished = 0, marks_waiting = 0;
  uint64_t packs_deleted = 0, bytes_deleted = 0, packs_resurrected = 0, tables_rewritten = 0;
  std::vector<std::string> waiting;  // why each waiting mark waits
  // This run's mark.
  std::string new_mark;
  uint64_t packs_marked = 0, bytes_marked = 0;  // whole packs nothing needs
  uint64_t packs_repacked = 0, blobs_repacked = 0, bytes_repacked = 0;
  uint64_t unindexed_marked = 0;  // packs in no index table (killed backups)
  std::vector<std::string> warnings;
};

Result<PruneReport> RunPrune(Repository& repo, const Clock& clock, const PruneOptions& o);

}  // namespace ks
