// Counters a long operation updates and a reporter (cli/) reads. Plain
// atomics: the pipeline never waits for the terminal.
#pragma once

#include <atomic>
#include <cstdint>

namespace ks {

struct Progress {
  std::atomic<uint64_t> files_done{0};
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<uint64_t> files_total{0};  // as far as scanned
  std::atomic<uint64_t> bytes_total{0};
  std::atomic<bool> total_final{false};  // totals are complete
  std::atomic<uint64_t> errors{0};
};

}  // namespace ks
