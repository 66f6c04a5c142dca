// LEB128 varints and a bounds-checked reader for the binary formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/bytes.h"

namespace ks {

inline void PutVarint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(uint8_t(v) | 0x80);
    v >>= 7;
  }
  out.push_back(uint8_t(v));
}
inline uint64_t ZigZag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

// Reads from a span; every method fails (returns nullopt / false) rather
// than reading past the end.
class Reader {
 public:
  explicit Reader(ByteSpan d) : d_(d) {}
  bool empty() const { return pos_ >= d_.size(); }
  size_t remaining() const { return d_.size() - pos_; }

  std::optional<uint64_t> Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= d_.size()) return std::nullopt;
      uint8_t b = d_[pos_++];
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return std::nullopt;
  }
  std::optional<ByteSpan> Take(uint64_t n) {
    if (n > remaining()) return std::nullopt;
    ByteSpan s = d_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  ByteSpan d_;
  size_t pos_ = 0;
};

}  // namespace ks
