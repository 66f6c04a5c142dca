// Running one function over the indices 0..n-1 on a few threads. For work
// items that are independent and similar in cost (reading and verifying
// packs): each thread takes the next index, so a slow item does not hold up
// the others. Results go wherever fn puts them; fn must be safe to call
// from several threads at once.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <system_error>
#include <thread>
#include <vector>

namespace ks {

// workers <= 0: one per core. Returns when every index is done; fn runs on
// the calling thread too, so workers == 1 spawns nothing.
inline void ParallelFor(size_t n, int workers, const std::function<void(size_t)>& fn) {
  if (workers <= 0) workers = int(std::max(1u, std::thread::hardware_concurrency()));
  size_t threads = std::min(size_t(workers), n);
  std::atomic<size_t> next{0};
  auto loop = [&] {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
  };
  std::vector<std::jthread> pool;
  try {
    for (size_t t = 1; t < threads; t++) pool.emplace_back(loop);
  } catch (const std::system_error&) {
    // No more threads (a pids or process limit): the ones made, and this
    // one, do all the work.
  }
  loop();
}

}  // namespace ks
