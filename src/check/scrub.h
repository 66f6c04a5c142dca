// Scrub: read every shard of every object, verify, and with `repair`
// rewrite damaged or missing shards from parity (ZFS's scrub and resilver).
// Repair writes a complete new shard and renames it over the old one, so a
// scrub killed half-way leaves every object as good as or better than it
// found it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backup/progress.h"
#include "util/clock.h"

namespace ks {

struct ScrubOptions {
  bool repair = false;
  double max_bytes_per_second = 0;  // 0: no limit
  Progress* progress = nullptr;
  // Sleeps for the rate limit; injectable so tests need not wait.
  std::function<void(double seconds)> sleep;
};

struct ScrubReport {
  uint64_t objects = 0, bytes = 0;
  std::vector<std::string> damaged;      // found damaged (before repair)
  std::vector<std::string> repaired;     // rewritten and verified intact
  std::vector<std::string> unrecoverable;
  std::vector<std::string> leftovers;  // incomplete objects of interrupted writes
};

Result<ScrubReport> RunScrub(Backend& backend, const ScrubOptions& o);

}  // namespace ks
