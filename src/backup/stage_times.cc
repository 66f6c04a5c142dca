#include "backup/stage_times.h"

#include <algorithm>

namespace ks {

const char* StageName(Stage s) {
  switch (s) {
    case Stage::kScan: return "scan";
    case Stage::kRead: return "read";
    case Stage::kDetect: return "detect";
    case Stage::kChunk: return "chunk";
    case Stage::kHash: return "hash";
    case Stage::kCompress: return "compress";
    case Stage::kEncrypt: return "encrypt";
    case Stage::kPackName: return "pack_name";
    case Stage::kStore: return "store";
    case Stage::kIndex: return "index";
    case Stage::kCount: break;
  }
  return "?";
}

StageReport StageTimes::Report(int cores, double wall_seconds,
                               double process_cpu_seconds) const {
  StageReport r;
  r.process_cpu_seconds = process_cpu_seconds;
  r.cores = std::max(1, cores);
  r.wall_seconds = wall_seconds;
  double serial = 0;
  std::string serial_name;
  for (size_t i = 0; i < size_t(Stage::kCount); i++) {
    StageStat s;
    s.name = StageName(Stage(i));
    s.cpu_seconds = double(counters_[i].cpu_ns) / 1e9;
    s.wall_seconds = double(counters_[i].wall_ns) / 1e9;
    s.bytes = counters_[i].bytes;
    r.cpu_seconds += s.cpu_seconds;
    // The uploader is one thread: its stage cannot be spread over the
    // cores (and its time is its wall time).
    double own = Stage(i) == Stage::kStore ? s.wall_seconds : 0;
    if (own > serial) {
      serial = own;
      serial_name = s.name;
    }
    r.stages.push_back(std::move(s));
  }
  r.bound_seconds = std::max(r.cpu_seconds, process_cpu_seconds) / r.cores;
  r.bound_by = "cpu";
  if (serial > r.bound_seconds) {
    r.bound_seconds = serial;
    r.bound_by = serial_name;
  }
  r.efficiency = wall_seconds > 0 ? std::min(1.0, r.bound_seconds / wall_seconds) : 0;
  return r;
}

}  // namespace ks
