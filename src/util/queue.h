// A bounded blocking queue between pipeline stages. Bounded so that a fast
// stage cannot run ahead and fill memory; Close() lets consumers drain and
// stop.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace ks {

// Producers that find the queue full sleep until consumers have drained it
// to half its capacity, then refill it in a burst; a producer woken on
// every pop would sleep and wake once per item (on a first backup, the
// scanners and readers did so about 60,000 times), and each wake-up costs
// two context switches. Notifications are sent after the lock is
// released, so a woken thread does not block on it again at once.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity)
      : capacity_(capacity ? capacity : 1), low_water_(capacity_ / 2) {}

  // Blocks while full. Returns false if the queue was closed.
  bool Push(T item) {
    std::unique_lock l(mu_);
    not_full_.wait(l, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    const bool wake = waiting_consumers_ > 0;
    l.unlock();
    if (wake) not_empty_.notify_one();
    return true;
  }

  // Blocks while empty; nullopt once closed and drained.
  std::optional<T> Pop() {
    std::unique_lock l(mu_);
    if (!closed_ && items_.empty()) {
      waiting_consumers_++;
      not_empty_.wait(l, [&] { return closed_ || !items_.empty(); });
      waiting_consumers_--;
    }
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    // Producers wait only while the queue is full, so it drains through
    // every size down to the low-water mark, where they are woken.
    const bool wake = items_.size() == low_water_;
    l.unlock();
    if (wake) not_full_.notify_all();
    return item;
  }

  void Close() {
    {
      std::lock_guard l(mu_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  const size_t capacity_;
  const size_t low_water_;  // producers waiting on a full queue wake at this size
  size_t waiting_consumers_ = 0;
  bool closed_ = false;
};

}  // namespace ks
