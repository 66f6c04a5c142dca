#include "prune/forget.h"

#include <algorithm>

namespace ks {

std::vector<Id> ForgetPlan::ToRemove() const {
  std::vector<Id> out;
  for (const auto& g : groups)
    for (const auto& d : g.decisions)
      if (!d.keep) out.push_back(d.id);
  return out;
}

Result<ForgetPlan> PlanForget(Repository& repo, const RetentionPolicy& policy,
                              const GroupBy& group, const std::vector<std::string>& hosts,
                              int64_t now_ns, const CalendarFn& calendar) {
  ForgetPlan plan;
  KS_ASSIGN(auto snaps, repo.ListSnapshots(&plan.damaged));
  KS_ASSIGN(auto holds, repo.Holds());
  // The storage's time for each snapshot object: a client cannot choose it.
  KS_ASSIGN(auto listed, repo.backend().List(ObjectType::kSnapshot));
  std::map<Id, int64_t> recorded;
  for (const auto& o : listed)
    if (auto id = Id::FromHex(o.name)) recorded[*id] = o.mtime_ns;
  std::vector<SnapshotFacts> facts;
  for (auto& [id, s] : snaps) {
    if (!hosts.empty() && std::find(hosts.begin(), hosts.end(), s.hostname) == hosts.end())
      continue;
    SnapshotFacts f;
    f.id = id;
    f.recorded_ns = recorded.count(id) ? recorded[id] : 0;
    if (f.recorded_ns == 0) {
      f.recorded_ns = s.time_ns;
      plan.used_client_times = true;
    }
    f.host = s.hostname;
    f.paths = s.paths;
    f.tags = s.tags;
    f.suspicious = s.verdict && s.verdict->suspicious;
    auto h = holds.find(id);
    f.held = h != holds.end() && h->second.held;
    plan.facts[id] = f;
    facts.push_back(std::move(f));
    plan.snapshots[id] = std::move(s);
  }
  // Recorded times far later than the backups ran, for most snapshots, mean
  // the repository was copied without its file times (or the storage's
  // clock is wrong): retention by those times would drop most of the
  // history, so forget refuses. A few forged snapshots cannot trigger this
  // to any effect but making forget do nothing.
  constexpr int64_t kDayNs = 24LL * 3600 * 1000000000;
  size_t late = 0, timed = 0;
  for (const auto& f : facts) {
    const Snapshot& s = plan.snapshots[f.id];
    if (recorded.count(f.id) == 0 || recorded[f.id] == 0) continue;
    timed++;
    if (recorded[f.id] > s.time_ns + s.summary.duration_ns + kDayNs) late++;
  }
  if (late >= 2 && late * 2 > timed)
    return Fail(ErrorKind::kInvalidArgument,
                std::to_string(late) + " of " + std::to_string(timed) +
                    " snapshots were stored more than a day after their backups ran, as if the "
                    "repository was copied without its file times; retention by those times "
                    "would drop most of the history. Copy with 'cp -a' or 'rsync -a' to keep the "
                    "times, or forget snapshots by id");
  plan.groups = ApplyRetention(facts, policy, group, now_ns, calendar);
  return plan;
}

Result<size_t> RemoveSnapshots(Repository& repo, const std::vector<Id>& ids) {
  // Holds are read again right before removing: one placed since the plan
  // was made still wins.
  KS_ASSIGN(auto holds, repo.Holds());
  for (const Id& id : ids) {
    auto h = holds.find(id);
    if (h != holds.end() && h->second.held)
      return Fail(ErrorKind::kInvalidArgument,
                  "snapshot " + id.Short() + " is held (" + h->second.reason +
                      "): release it with 'kintsugi unhold " + id.Short() + "' first");
  }
  size_t removed = 0;
  for (const Id& id : ids) {
    auto s = repo.backend().Remove(ObjectType::kSnapshot, id.Hex());
    if (!s && s.error().kind() != ErrorKind::kNotFound) return Fail(s.error());
    if (s) removed++;
  }
  return removed;
}

}  // namespace ks
