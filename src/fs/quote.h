// Quoting file names for one-line error messages.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace ks {

// Returns `name` in single quotes with control bytes and backslashes escaped
// (\n, \xNN, \\), so a hostile name cannot break a log line in two. Bytes
// >= 0x80 are kept so UTF-8 names stay readable.
inline std::string QuoteName(std::string_view name) {
  std::string out = "'";
  for (unsigned char c : name) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  out += "'";
  return out;
}

}  // namespace ks
