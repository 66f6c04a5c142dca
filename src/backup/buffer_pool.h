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
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "util/bytes.h"

namespace ks {

// A pipeline buffer (UninitBytes: resizing does not zero-fill): only the
// bytes a read or copy wrote are ever exposed (its size is always the
// count of bytes written into it).
using PoolBytes = UninitBytes;

// The capacity to allocate for `n` bytes: rounded up (to 64 KiB, then to
// 256 KiB steps), so that buffers freed by one chunk fit the next of
// about the same size instead of each size getting a fresh allocation.
inline size_t PoolCapacity(size_t n) {
  constexpr size_t kSmall = size_t(64) << 10, kStep = size_t(256) << 10;
  if (n <= kSmall) return kSmall;
  return (n + kStep - 1) / kStep * kStep;
}

// Grows `b` to hold at least `capacity` bytes, keeping its contents. Not
// vector::reserve: with a non-standard allocator that moves byte by byte.
inline void GrowPoolBytes(PoolBytes& b, size_t capacity) {
  if (b.capacity() >= capacity) return;
  PoolBytes bigger;
  bigger.reserve(PoolCapacity(capacity));
  bigger.resize(b.size());
  if (!b.empty()) std::memcpy(bigger.data(), b.data(), b.size());
  b.swap(bigger);
}

class BufferPool {
 public:
  // Keeps at most `keep` free buffers of at most `keep_bytes` in all.
  BufferPool(size_t keep, size_t keep_bytes) : keep_(keep), keep_bytes_(keep_bytes) {}

  // An empty buffer whose capacity is at least `capacity`: the smallest
  // kept one that fits, else a new one (replacing the smallest kept one,
  // which no request of this size can use).
  PoolBytes Take(size_t capacity) {
    std::unique_lock l(mu_);
    // Either way the smallest that fits, or the smallest of all.
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (best == free_.end()) {
        best = it;
        continue;
      }
      bool fits = it->capacity() >= capacity, best_fits = best->capacity() >= capacity;
      if (fits != best_fits ? fits : it->capacity() < best->capacity()) best = it;
    }
    PoolBytes b;
    if (best != free_.end()) {
      b = std::move(*best);
      free_.erase(best);
      bytes_ -= b.capacity();
    }
    l.unlock();
    b.clear();
    GrowPoolBytes(b, capacity);
    return b;
  }

  // Returns a buffer for reuse. Over the limits, the largest free buffers
  // are released (rare: chunks above a few MiB).
  void Give(PoolBytes b) {
    if (b.capacity() == 0) return;
    PoolBytes drop;  // released outside the lock
    std::lock_guard l(mu_);
    bytes_ += b.capacity();
    free_.push_back(std::move(b));
    while (free_.size() > keep_ || bytes_ > keep_bytes_) {
      auto largest = std::max_element(free_.begin(), free_.end(), [](const PoolBytes& a, const PoolBytes& c) {
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
  std::vector<PoolBytes> free_;
};

}  // namespace ks
