#include "util/human.h"

#include <fmt/format.h>

namespace ks {

std::string HumanBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.{}f} {}", v, v < 10 ? 2 : 1, kUnits[u]);
}

std::string HumanRate(double bps) {
  if (bps < 0) bps = 0;
  return HumanBytes(uint64_t(bps)) + "/s";
}

std::string HumanDuration(double s) {
  if (s < 0) s = 0;
  uint64_t t = uint64_t(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

}  // namespace ks
