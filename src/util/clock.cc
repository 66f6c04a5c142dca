#include "util/clock.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace ks {

int64_t SystemClock::NowNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

static void Split(int64_t ns, time_t& secs, long& frac) {
  secs = time_t(ns / 1000000000);
  frac = long(ns % 1000000000);
  if (frac < 0) {
    frac += 1000000000;
    secs -= 1;
  }
}

std::string FormatTimeUtc(int64_t ns) {
  time_t secs;
  long frac;
  Split(ns, secs, frac);
  struct tm tm;
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

std::string FormatTimeLocal(int64_t ns) {
  time_t secs;
  long frac;
  Split(ns, secs, frac);
  struct tm tm;
  localtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool ParseTimeUtc(const std::string& s, int64_t& ns) {
  struct tm tm = {};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t frac = 0;
  size_t i = size_t(consumed);
  if (i < s.size() && s[i] == '.') {
    int digits = 0;
    for (i++; i < s.size() && isdigit((unsigned char)s[i]); i++, digits++)
      if (digits < 9) frac = frac * 10 + (s[i] - '0');
    for (; digits < 9; digits++) frac *= 10;
  }
  if (i >= s.size() || s[i] != 'Z') return false;
  // int64 nanoseconds cover 1677-09-21 .. 2262-04-11; anything outside is
  // not a time this program wrote.
  int64_t secs = int64_t(timegm(&tm));
  if (secs < -9223372035LL || secs > 9223372035LL) return false;
  ns = secs * 1000000000 + frac;
  return true;
}

}  // namespace ks
