// Retention policy (`kintsugi forget --keep-*`): which snapshots to keep.
// Pure: snapshot facts and a policy in, a decision per snapshot out.
//
// Unlike restic, the times that decide are the ones the storage recorded
// when it stored each snapshot object (ObjectInfo::mtime_ns), never the
// time a client wrote into the snapshot: a compromised client that forges
// old or future times cannot push real snapshots out of the policy
// (docs/design.md, "Retention"). Suspicious snapshots (ransomware verdict)
// never fill a keep slot, so a burst of attacked backups cannot displace
// the clean history; held snapshots are never removed.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace ks {

struct RetentionPolicy {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  int64_t within_ns = 0;  // keep everything recorded within this span of now
  std::vector<std::string> keep_tags;  // keep snapshots carrying any of these tags
  bool empty() const {
    return last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 &&
           yearly == 0 && within_ns == 0 && keep_tags.empty();
  }
};

struct SnapshotFacts {
  Id id;
  int64_t recorded_ns = 0;  // storage time; the one retention trusts
  std::string host;
  std::vector<std::string> paths, tags;
  bool suspicious = false;
  bool held = false;
};

struct RetentionDecision {
  Id id;
  bool keep = false;
  std::vector<std::string> reasons;  // "last", "daily", "held", "suspicious (evidence)", ...
};

// Which snapshots are grouped together (restic's --group-by).
struct GroupBy {
  bool host = true, paths = true, tags = false;
};

struct RetentionGroup {
  std::string key;  // "host=a paths=[/x]" for display
  std::vector<RetentionDecision> decisions;  // newest first
};

// Breaks a time into calendar fields (local time for operators; tests pass
// UTC). Injected so the policy has no hidden dependency on TZ.
using CalendarFn = std::function<std::tm(int64_t ns)>;
std::tm LocalCalendar(int64_t ns);

// Applies `policy` within each group. Suspicious snapshots are kept as
// evidence (they are removed only by id, `forget ID`), never counted as
// keepers; held ones are kept whatever the policy says.
std::vector<RetentionGroup> ApplyRetention(const std::vector<SnapshotFacts>& snapshots,
                                           const RetentionPolicy& policy, const GroupBy& group,
                                           int64_t now_ns, const CalendarFn& calendar);

// restic-style durations: a sequence of <number><unit> with units y (365
// days), m (30 days), w, d, h, e.g. "1y6m", "14d", "36h". kInvalidArgument
// on anything else.
Result<int64_t> ParseDuration(const std::string& text);

}  // namespace ks
