#include "prune/references.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace ks {

ReferenceSet::Key ReferenceSet::KeyOf(const Id& id) {
  Key k;
  std::memcpy(k.data(), id.b.data(), k.size());
  return k;
}

void ReferenceSet::Add(const Id& id) {
  keys_.push_back(KeyOf(id));
  // Keep memory near the number of distinct blobs: compact when the
  // unsorted tail has grown as large as the sorted part.
  if (keys_.size() - sorted_ > std::max<size_t>(sorted_, 1u << 16)) Seal();
}

void ReferenceSet::Seal() {
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  keys_.shrink_to_fit();
  sorted_ = keys_.size();
}

int64_t ReferenceSet::Find(const Id& id) const {
  Key k = KeyOf(id);
  auto it = std::lower_bound(keys_.begin(), keys_.begin() + sorted_, k);
  if (it == keys_.begin() + sorted_ || *it != k) return -1;
  return it - keys_.begin();
}

Result<ReferenceSet> CollectReferences(Repository& repo,
                                       const std::vector<std::pair<Id, Snapshot>>& snapshots,
                                       ReferenceStats* stats) {
  ReferenceSet refs;
  std::unordered_set<Id, IdHash> seen_trees;
  std::vector<Id> stack;
  ReferenceStats st;
  for (const auto& [snap_id, snap] : snapshots) {
    st.snapshots++;
    if (seen_trees.insert(snap.tree).second) stack.push_back(snap.tree);
    while (!stack.empty()) {
      Id tree = stack.back();
      stack.pop_back();
      refs.Add(tree);
      st.trees++;
      auto nodes = repo.LoadTree(tree);
      if (!nodes)
        return Fail(nodes.error().kind(),
                    "snapshot " + snap_id.Short() + ": tree " + tree.Short() +
                        " cannot be read (" + nodes.error().message() +
                        "); prune does not run on a damaged repository: run 'kintsugi check', "
                        "repair with 'kintsugi scrub --repair' or forget the snapshot");
      for (const Node& n : *nodes) {
        for (const Id& c : n.content) {
          refs.Add(c);
          st.blobs++;
        }
        if (n.type == NodeType::kDir && seen_trees.insert(n.subtree).second)
          stack.push_back(n.subtree);
      }
    }
  }
  refs.Seal();
  if (stats) *stats = st;
  return refs;
}

}  // namespace ks
