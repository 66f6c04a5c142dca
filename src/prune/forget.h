// `kintsugi forget`: applies a retention policy to the snapshots of a
// repository, with the facts retention trusts: the time the storage
// recorded for each snapshot object, the ransomware verdict, holds.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "prune/retention.h"
#include "repo/repository.h"

namespace ks {

struct ForgetPlan {
  std::vector<RetentionGroup> groups;
  std::map<Id, SnapshotFacts> facts;
  std::map<Id, Snapshot> snapshots;
  std::vector<std::string> damaged;  // unreadable snapshots, left alone
  // The storage reported no times for some snapshots, so the times their
  // clients wrote were used (a warning for the operator).
  bool used_client_times = false;
  std::vector<Id> ToRemove() const;
};

// `hosts` empty: every host.
Result<ForgetPlan> PlanForget(Repository& repo, const RetentionPolicy& policy,
                              const GroupBy& group, const std::vector<std::string>& hosts,
                              int64_t now_ns, const CalendarFn& calendar);

// Removes snapshots; refuses (kInvalidArgument) a held one before removing
// anything. Returns how many were removed.
Result<size_t> RemoveSnapshots(Repository& repo, const std::vector<Id>& ids);

}  // namespace ks
