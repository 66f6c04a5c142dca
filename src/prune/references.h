// What the snapshots need: every tree and data blob reachable from them.
// Prune deletes nothing this set contains.
#pragma once

#include <array>
#include <vector>

#include "repo/repository.h"

namespace ks {

// A set of blob ids held as 16-byte prefixes in a sorted vector: 16 bytes a
// blob instead of restic's ~60, and a collision (2^-64 for a billion blobs)
// could only keep a blob that is not needed, never drop one that is.
class ReferenceSet {
 public:
  using Key = std::array<uint8_t, 16>;
  static Key KeyOf(const Id& id);

  void Add(const Id& id);
  // Sorts and removes duplicates; call before Find/Contains.
  void Seal();
  bool Contains(const Id& id) const { return Find(id) >= 0; }
  // Position of the id in the sealed set, or -1.
  int64_t Find(const Id& id) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<Key> keys_;
  size_t sorted_ = 0;
};

struct ReferenceStats {
  uint64_t snapshots = 0, trees = 0, blobs = 0;
};

// Walks every tree of `snapshots` once (shared subtrees are walked once).
// Fails if any tree cannot be read: prune must not guess what a damaged
// tree refers to.
Result<ReferenceSet> CollectReferences(Repository& repo,
                                       const std::vector<std::pair<Id, Snapshot>>& snapshots,
                                       ReferenceStats* stats);

}  // namespace ks
