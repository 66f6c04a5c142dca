#include "util/parallel.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

namespace ks {
namespace {

TEST(ParallelFor, EveryIndexExactlyOnce) {
  for (int workers : {0, 1, 2, 7}) {
    for (size_t n : {size_t(0), size_t(1), size_t(5), size_t(1000)}) {
      std::vector<std::atomic<int>> hits(n);
      ParallelFor(n, workers, [&](size_t i) { hits[i]++; });
      for (size_t i = 0; i < n; i++) EXPECT_EQ(hits[i], 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ParallelFor, UsesSeveralThreadsWhenAsked) {
  std::mutex mu;
  std::set<std::thread::id> seen;
  std::atomic<int> inside{0}, most{0};
  ParallelFor(64, 4, [&](size_t) {
    int now = ++inside;
    int m = most.load();
    while (now > m && !most.compare_exchange_weak(m, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    --inside;
    std::lock_guard l(mu);
    seen.insert(std::this_thread::get_id());
  });
  EXPECT_GT(seen.size(), 1u);
  EXPECT_LE(most.load(), 4);
}

}  // namespace
}  // namespace ks
