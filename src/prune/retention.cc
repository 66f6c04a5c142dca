#include "prune/retention.h"

#include <algorithm>
#include <map>

namespace ks {
namespace {

constexpr int64_t kHourNs = 3600LL * 1000000000;
constexpr int64_t kDayNs = 24 * kHourNs;

// One calendar rule (--keep-hourly etc.): keeps the newest snapshot of each
// of the `count` most recent periods that have one.
struct Bucket {
  const char* reason;
  int count;
  std::function<int64_t(const std::tm&)> period;
  std::optional<int64_t> last;
};

int64_t IsoWeek(const std::tm& t) {
  char buf[16];
  std::strftime(buf, sizeof buf, "%G%V", &t);
  return std::atoll(buf);
}

std::string GroupKey(const SnapshotFacts& s, const GroupBy& g) {
  std::string key;
  auto join = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
    return out;
  };
  if (g.host) key += "host=" + s.host;
  if (g.paths) key += std::string(key.empty() ? "" : " ") + "paths=[" + join(s.paths) + "]";
  if (g.tags) key += std::string(key.empty() ? "" : " ") + "tags=[" + join(s.tags) + "]";
  return key;
}

RetentionGroup Decide(std::vector<const SnapshotFacts*> snaps, const RetentionPolicy& p,
                      int64_t now_ns, const CalendarFn& calendar) {
  // Newest first by recorded time; the id breaks ties so the result does not
  // depend on listing order.
  std::sort(snaps.begin(), snaps.end(), [](const SnapshotFacts* a, const SnapshotFacts* b) {
    if (a->recorded_ns != b->recorded_ns) return a->recorded_ns > b->recorded_ns;
    return b->id < a->id;
  });
  std::vector<Bucket> buckets = {
      {"hourly", p.hourly,
       [](const std::tm& t) {
         return ((int64_t(t.tm_year) * 100 + t.tm_mon) * 100 + t.tm_mday) * 100 + t.tm_hour;
       }, {}},
      {"daily", p.daily,
       [](const std::tm& t) { return (int64_t(t.tm_year) * 100 + t.tm_mon) * 100 + t.tm_mday; },
       {}},
      {"weekly", p.weekly, IsoWeek, {}},
      {"monthly", p.monthly, [](const std::tm& t) { return int64_t(t.tm_year) * 100 + t.tm_mon; },
       {}},
      {"yearly", p.yearly, [](const std::tm& t) { return int64_t(t.tm_year); }, {}},
  };
  int last_left = p.last;
  RetentionGroup g;
  for (const SnapshotFacts* s : snaps) {
    RetentionDecision d{s->id, false, {}};
    if (s->suspicious) {
      // Evidence of an attack: kept, but it takes no slot a clean snapshot
      // would have had.
      d.keep = true;
      d.reasons.push_back("suspicious (evidence; remove by id)");
      if (s->held) d.reasons.push_back("held");
      g.decisions.push_back(std::move(d));
      continue;
    }
    if (last_left > 0) {
      last_left--;
      d.keep = true;
      d.reasons.push_back("last");
    }
    std::tm t = calendar(s->recorded_ns);
    for (auto& b : buckets) {
      if (b.count <= 0) continue;
      int64_t v = b.period(t);
      if (b.last && *b.last == v) continue;
      b.last = v;
      b.count--;
      d.keep = true;
      d.reasons.push_back(b.reason);
    }
    if (p.within_ns > 0 && s->recorded_ns >= now_ns - p.within_ns) {
      d.keep = true;
      d.reasons.push_back("within");
    }
    for (const auto& tag : p.keep_tags)
      if (std::find(s->tags.begin(), s->tags.end(), tag) != s->tags.end()) {
        d.keep = true;
        d.reasons.push_back("tag " + tag);
        break;
      }
    if (s->held) {
      d.keep = true;
      d.reasons.push_back("held");
    }
    g.decisions.push_back(std::move(d));
  }
  return g;
}

}  // namespace

std::tm LocalCalendar(int64_t ns) {
  time_t secs = time_t(ns / 1000000000);
  std::tm t{};
  localtime_r(&secs, &t);
  return t;
}

std::vector<RetentionGroup> ApplyRetention(const std::vector<SnapshotFacts>& snapshots,
                                           const RetentionPolicy& policy, const GroupBy& group,
                                           int64_t now_ns, const CalendarFn& calendar) {
  std::map<std::string, std::vector<const SnapshotFacts*>> groups;
  for (const auto& s : snapshots) groups[GroupKey(s, group)].push_back(&s);
  std::vector<RetentionGroup> out;
  for (auto& [key, snaps] : groups) {
    RetentionGroup g = Decide(std::move(snaps), policy, now_ns, calendar);
    g.key = key;
    out.push_back(std::move(g));
  }
  return out;
}

Result<int64_t> ParseDuration(const std::string& text) {
  if (text.empty()) return Fail(ErrorKind::kInvalidArgument, "empty duration");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') j++;
    if (j == i || j == text.size() || j - i > 6)
      return Fail(ErrorKind::kInvalidArgument,
                  "bad duration '" + text + "': use numbers with units y, m, w, d, h, as in 1y6m or 36h");
    int64_t n = std::stoll(text.substr(i, j - i));
    int64_t unit = 0;
    switch (text[j]) {
      case 'y': unit = 365 * kDayNs; break;
      case 'm': unit = 30 * kDayNs; break;
      case 'w': unit = 7 * kDayNs; break;
      case 'd': unit = kDayNs; break;
      case 'h': unit = kHourNs; break;
      default:
        return Fail(ErrorKind::kInvalidArgument,
                    "bad duration '" + text + "': unknown unit '" + std::string(1, text[j]) +
                        "' (use y, m, w, d, h)");
    }
    total += n * unit;
    i = j + 1;
  }
  return total;
}

}  // namespace ks
