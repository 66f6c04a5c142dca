// Where a backup's time goes, stage by stage. Each stage adds the CPU time
// of the thread doing it (the thread's own clock: time spent waiting on a
// queue, or lost to other programs on a busy machine, does not count), and
// the bytes it took in. Storing objects is mostly waiting on the disk, so
// that stage also records its wall time.
//
// Thread-safety: Add may be called from any thread.
#pragma once

#include <time.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace ks {

enum class Stage {
  kScan,      // listing directories, reading metadata, comparing with the parent
  kRead,      // read(2) of file contents
  kDetect,    // ransomware features of what was read (entropy, magic bytes)
  kChunk,     // content-defined chunking
  kHash,      // blob ids (keyed SHA-256)
  kCompress,  // zstd, including the trial on a sample
  kEncrypt,   // sealing blobs into packs (AES-256-GCM)
  kPackName,  // SHA-256 of each finished pack (its object name)
  kStore,     // erasure coding, CRCs and durable writes of packs
  kIndex,     // building and storing index tables
  kCount,
};

const char* StageName(Stage s);

// CPU time of the calling thread, in nanoseconds.
inline int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
inline int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct StageStat {
  std::string name;
  double cpu_seconds = 0;
  double wall_seconds = 0;  // stages that wait on I/O only (store, index)
  uint64_t bytes = 0;       // bytes the stage took in
};

// The whole picture: each stage, and how close the run came to the limit
// set by the CPU work spread over every core.
struct StageReport {
  std::vector<StageStat> stages;
  int cores = 1;
  double cpu_seconds = 0;    // all stages
  // The whole process (the stages, plus what no stage counts: the threads
  // writing shard files, memory management, queues, the progress display).
  double process_cpu_seconds = 0;
  // The shortest possible run: the process's CPU work spread over `cores`,
  // or the stage that runs on one thread only (store),
  // whichever is longer.
  double bound_seconds = 0;
  std::string bound_by;      // "cpu" or a stage name
  double wall_seconds = 0;   // the actual run
  double efficiency = 0;     // bound / wall (1 = at the limit)
};

class StageTimes {
 public:
  void Add(Stage s, int64_t cpu_ns, uint64_t bytes, int64_t wall_ns = 0) {
    auto& c = counters_[size_t(s)];
    c.cpu_ns += uint64_t(cpu_ns > 0 ? cpu_ns : 0);
    c.wall_ns += uint64_t(wall_ns > 0 ? wall_ns : 0);
    c.bytes += bytes;
  }
  StageReport Report(int cores, double wall_seconds, double process_cpu_seconds) const;

 private:
  struct Counter {
    std::atomic<uint64_t> cpu_ns{0}, wall_ns{0}, bytes{0};
  };
  std::array<Counter, size_t(Stage::kCount)> counters_;
};

// Adds the CPU time between construction and destruction to a stage.
class StageTimer {
 public:
  StageTimer(StageTimes* t, Stage s, uint64_t bytes = 0, bool wall = false)
      : t_(t), s_(s), bytes_(bytes), cpu0_(t ? ThreadCpuNs() : 0),
        wall0_(t && wall ? MonotonicNs() : 0) {}
  ~StageTimer() {
    if (t_) t_->Add(s_, ThreadCpuNs() - cpu0_, bytes_, wall0_ ? MonotonicNs() - wall0_ : 0);
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  StageTimes* t_;
  Stage s_;
  uint64_t bytes_;
  int64_t cpu0_, wall0_;
};

}  // namespace ks
