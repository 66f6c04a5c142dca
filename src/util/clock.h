// Time, passed in so tests can fake it.
#pragma once

#include <cstdint>
#include <string>

namespace ks {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowNs() const = 0;  // ns since the Unix epoch, UTC
};

class SystemClock : public Clock {
 public:
  int64_t NowNs() const override;
};

// "2026-11-29T16:33:13.123456789Z"
std::string FormatTimeUtc(int64_t ns);
// Local time for terminals: "2026-11-29 16:33:13"
std::string FormatTimeLocal(int64_t ns);
// Parses what FormatTimeUtc writes (fraction optional). False on error.
bool ParseTimeUtc(const std::string& s, int64_t& ns);

}  // namespace ks
