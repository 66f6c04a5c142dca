// Verifying a repository (`kintsugi check`). Structure: every snapshot
// opens, every tree it reaches decodes, every blob it references is in the
// index, every index entry points inside an existing pack. With read_data:
// every shard of every object (all types) verified block by block through
// Backend::Verify (for packs, in the same read as the next checks); every
// pack's name (SHA-256) and header verified, and every blob authenticated
// and decompressed to its recorded length (and, with verify_ids, re-hashed
// against its id). Damage is reported per object, as repairable (within the
// parity budget) or not, with the snapshots and files it affects.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backup/progress.h"
#include "repo/repository.h"

namespace ks {

struct CheckOptions {
  bool read_data = false;
  // Also recompute every blob's id from its plaintext (read_data only).
  bool verify_ids = false;
  // Read only packs in subset n of t (1-based), or a fraction 0 < f <= 1 of
  // them chosen at random; both unset: all packs.
  uint32_t subset_n = 0, subset_t = 0;
  double subset_fraction = 0;
  // Threads reading and verifying packs; 0: one per core.
  int workers = 0;
  Progress* progress = nullptr;
};

struct CheckProblem {
  std::string object;   // e.g. "pack 1a2b3c4d", "snapshot 9f8e7d6c", "index 0011aabb"
  std::string message;
};

struct CheckReport {
  // Damage the storage envelope can repair (shards within the parity
  // budget): reads already return correct bytes; `scrub --repair` rewrites.
  std::vector<CheckProblem> repairable;
  // Damage that loses data, or inconsistencies in the repository's
  // structure.
  std::vector<CheckProblem> problems;
  // Unreadable objects nothing refers to (a pack whose backup was killed
  // before its index was written): harmless, reported for information.
  std::vector<CheckProblem> leftovers;
  // Objects someone deleted that Object Lock kept (hidden behind an S3
  // delete marker): reads still find them, so nothing is lost, but it is
  // what an attacker holding the credentials would do.
  std::vector<CheckProblem> hidden;
  // "snapshot 1a2b3c4d: /data/pacs/x.dcm" for each file that cannot be
  // restored whole.
  std::vector<std::string> affected_files;
  uint64_t snapshots = 0, trees = 0, blobs_referenced = 0, packs = 0, packs_read = 0,
           bytes_read = 0;
  bool ok() const { return problems.empty() && repairable.empty(); }
};

Result<CheckReport> RunCheck(Repository& repo, const CheckOptions& o);

}  // namespace ks
