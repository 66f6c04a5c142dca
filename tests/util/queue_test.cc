#include "util/queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace ks {
namespace {

TEST(BoundedQueue, FifoAndBounded) {
  BoundedQueue<int> q(4);
  for (int i = 0; i < 4; i++) ASSERT_TRUE(q.Push(i));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.Push(4);  // blocks: the queue is full
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(pushed);
  // The producer is woken once the queue has drained to half its capacity.
  for (int i = 0; i < 5; i++) EXPECT_EQ(q.Pop(), i);
  producer.join();
  EXPECT_TRUE(pushed);
  q.Close();
  EXPECT_EQ(q.Pop(), std::nullopt);
}

// Every item pushed by several producers is popped exactly once by
// several consumers, whatever the capacity (1 has no room for bursts).
TEST(BoundedQueue, ManyProducersAndConsumersLoseNothing) {
  for (size_t cap : {size_t(1), size_t(2), size_t(3), size_t(64)}) {
    BoundedQueue<int> q(cap);
    constexpr int kPerProducer = 5000, kProducers = 3, kConsumers = 3;
    std::vector<std::atomic<int>> seen(kPerProducer * kProducers);
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; p++)
      threads.emplace_back([&, p] {
        for (int i = 0; i < kPerProducer; i++) ASSERT_TRUE(q.Push(p * kPerProducer + i));
      });
    std::vector<std::thread> consumers;
    for (int c = 0; c < kConsumers; c++)
      consumers.emplace_back([&] {
        while (auto v = q.Pop()) seen[size_t(*v)]++;
      });
    for (auto& t : threads) t.join();
    q.Close();
    for (auto& t : consumers) t.join();
    for (size_t i = 0; i < seen.size(); i++) ASSERT_EQ(seen[i].load(), 1) << cap << " " << i;
  }
}

TEST(BoundedQueue, CloseWakesBlockedProducersAndConsumers) {
  BoundedQueue<int> full(1);
  ASSERT_TRUE(full.Push(1));
  std::thread producer([&] { EXPECT_FALSE(full.Push(2)); });
  BoundedQueue<int> empty(1);
  std::thread consumer([&] { EXPECT_EQ(empty.Pop(), std::nullopt); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  full.Close();
  empty.Close();
  producer.join();
  consumer.join();
  EXPECT_EQ(full.Pop(), 1);  // what was queued before Close is still drained
  EXPECT_EQ(full.Pop(), std::nullopt);
}

}  // namespace
}  // namespace ks
