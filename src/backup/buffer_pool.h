// Byte buffers handed back and forth between pipeline threads, kept for
// reuse instead of freed. A backup moves every byte through a few
// buffers of 0.5 to 8 MiB; allocating each anew makes the allocator keep
// freed memory in per-thread arenas (or map fresh pages, which costs page
// faults), so the process holds far more than the data in flight. A pool
// holding at most `keep` buffers bounds that to what is actually in use.
//
// Thread-safety: Take and Give may be called from any thread.
#pragma once

#include <algorithm>
#include <mutex>
#include <vector>

#include "util/bytes.h"

namespace ks {

class BufferPool {
 public:
  // Keeps at most `keep` free buffers of at most `keep_bytes` in all.
  BufferPool(size_t keep, size_t keep_bytes) : keep_(keep), keep_bytes_(keep_bytes) {}

  // A buffer of unspecified size and contents (callers assign or resize:
  // clearing it here would make the next resize zero-fill it), preferably
  // one already holding `capacity` bytes.
  Bytes Take(size_t capacity) {
    std::lock_guard l(mu_);
    // The smallest kept buffer that fits, else the largest (it grows once).
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (best == free_.end()) {
        best = it;
        continue;
      }
      bool fits = it->capacity() >= capacity, best_fits = best->capacity() >= capacity;
      if (fits && (!best_fits || it->capacity() < best->capacity())) best = it;
      if (!fits && !best_fits && it->capacity() > best->capacity()) best = it;
    }
    if (best == free_.end()) return {};
    Bytes b = std::move(*best);
    free_.erase(best);
    bytes_ -= b.capacity();
    return b;
  }

  // Returns a buffer for reuse. Over the limits, the largest free buffers
  // are released (rare: chunks above a few MiB).
  void Give(Bytes b) {
    if (b.capacity() == 0) return;
    Bytes drop;  // released outside the lock
    std::lock_guard l(mu_);
    bytes_ += b.capacity();
    free_.push_back(std::move(b));
    while (free_.size() > keep_ || bytes_ > keep_bytes_) {
      auto largest = std::max_element(free_.begin(), free_.end(), [](const Bytes& a, const Bytes& c) {
        return a.capacity() < c.capacity();
      });
      bytes_ -= largest->capacity();
      drop = std::move(*largest);
      free_.erase(largest);
    }
  }

 private:
  std::mutex mu_;
  size_t keep_, keep_bytes_;
  size_t bytes_ = 0;
  std::vector<Bytes> free_;
};

}  // namespace ks
