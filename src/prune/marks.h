// Prune marks: the first phase of the two-phase reclaim (docs/design.md,
// "Prune"). A mark names packs that no snapshot needed when it was written
// (garbage, or packs whose live blobs were first copied elsewhere). Marked
// packs are deleted by a later prune only after a grace period, and only if
// still unneeded; meanwhile backups do not deduplicate against them, so no
// new snapshot starts to depend on a pack that is about to go.
//
// Marks are sealed JSON objects (kind "prune") in prune/, write-once and
// named by their SHA-256 like every other object.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/prune_mark.h"
#include "repo/repository.h"

namespace ks {

struct StoredMark {
  std::string name;
  PruneMark mark;
  int64_t recorded_ns = 0;  // storage time of the mark object (0: unknown)
  // When the mark counts as written: the later of the two clocks, so that
  // neither a slow client clock nor a storage without times shortens the
  // grace period.
  int64_t marked_at() const { return std::max(recorded_ns, mark.time_ns); }
};

Result<std::string> WriteMark(Repository& repo, const PruneMark& m);
// Every readable mark. A damaged mark is reported in `damaged` and ignored:
// ignoring it can only keep packs longer, never delete one early.
Result<std::vector<StoredMark>> LoadMarks(Repository& repo, std::vector<std::string>* damaged);

// Called by backup after it took its lock: every marked pack is excluded
// from deduplication (Index::SetDedupExclusions).
Status ExcludeMarkedPacks(Repository& repo);

}  // namespace ks
