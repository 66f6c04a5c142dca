#include "chunker/chunker.h"

#include <algorithm>

#include "crypto/aead.h"

namespace ks {
namespace {

// A mask of `bits` ones in the top bits of the hash. Bit k of a gear hash
// depends on the last k+1 bytes, so the top bits see a 64-byte window.
uint64_t TopMask(uint32_t bits) { return bits == 0 ? 0 : ~uint64_t{0} << (64 - bits); }

}  // namespace

GearTable MakeGearTable(ByteSpan key) {
  GearTable g{};
  for (int i = 0; i < 256; i += 4) {
    uint8_t msg[6] = {'g', 'e', 'a', 'r', uint8_t(i), 0};
    Key32 block = HmacSha256(key, ByteSpan(msg, sizeof msg));
    for (int j = 0; j < 4; j++) g[i + j] = GetU64(block.data() + 8 * j);
  }
  return g;
}

Chunker::Chunker(const ChunkerParams& p, const GearTable& gear)
    : p_(p),
      gear_(gear),
      // Normalised chunking (level 2): two more bits before the average size,
      // two fewer after it, which narrows the size distribution.
      mask_small_(TopMask(p.avg_bits + 2)),
      mask_large_(TopMask(p.avg_bits - 2)) {}

size_t Chunker::NextCut(ByteSpan data, bool at_eof) const {
  Scan scan;
  return NextCut(data, at_eof, scan);
}

size_t Chunker::NextCut(ByteSpan data, bool at_eof, Scan& scan) const {
  size_t n = data.size();
  if (n <= p_.min_size) return at_eof ? n : 0;
  size_t limit = std::min<size_t>(n, p_.max_size);
  size_t normal = std::min<size_t>(limit, size_t{1} << p_.avg_bits);
  const uint8_t* d = data.data();
  uint64_t h = scan.h;
  size_t i = scan.pos;
  if (i < p_.min_size) {
    // Start hashing 64 bytes before min_size so the window is full at min_size.
    h = 0;
    for (i = p_.min_size - 64; i < p_.min_size; i++) h = (h << 1) + gear_[d[i]];
  }
  for (; i < normal; i++) {
    h = (h << 1) + gear_[d[i]];
    if (!(h & mask_small_)) return i + 1;
  }
  for (; i < limit; i++) {
    h = (h << 1) + gear_[d[i]];
    if (!(h & mask_large_)) return i + 1;
  }
  scan.pos = i;
  scan.h = h;
  if (limit == p_.max_size) return limit;
  return at_eof ? n : 0;
}

size_t NextCutReference(const ChunkerParams& p, const GearTable& gear, ByteSpan data,
                        bool at_eof) {
  size_t n = data.size();
  if (n <= p.min_size) return at_eof ? n : 0;
  auto hash_at = [&](size_t i) {  // hash after consuming byte i
    uint64_t h = 0;
    for (size_t j = 0; j < 64; j++) h += gear[data[i - j]] << j;
    return h;
  };
  for (size_t i = p.min_size; i < std::min<size_t>(n, p.max_size); i++) {
    uint64_t mask = i < (size_t{1} << p.avg_bits) ? TopMask(p.avg_bits + 2) : TopMask(p.avg_bits - 2);
    if (!(hash_at(i) & mask)) return i + 1;
  }
  if (n >= p.max_size) return p.max_size;
  return at_eof ? n : 0;
}

}  // namespace ks
