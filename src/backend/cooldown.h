// A location that just timed out is most likely down: waiting out the full
// timeout again for every following operation would turn a lost failure
// domain into a crawl (one object per timeout). For one period after a
// timeout, operations fail at once instead, with a transient error; the
// envelope writes around the location (degraded, repaired by scrub) and reads
// from parity. After the period the next operation tries the location again.
//
// Thread-safe; time is passed in (nanoseconds of a monotonic clock).
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>

namespace ks {

class Cooldown {
 public:
  explicit Cooldown(int64_t period_ns) : period_ns_(period_ns) {}

  // Whether an operation starting at `now_ns` should fail at once.
  bool Active(int64_t now_ns) const { return now_ns < until_ns_.load(std::memory_order_relaxed); }

  // An operation that ended at `now_ns` timed out.
  void Trip(int64_t now_ns) { until_ns_.store(now_ns + period_ns_, std::memory_order_relaxed); }

 private:
  const int64_t period_ns_;
  std::atomic<int64_t> until_ns_{std::numeric_limits<int64_t>::min()};
};

}  // namespace ks
