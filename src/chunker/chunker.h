// Content-defined chunking: a FastCDC-style gear hash with normalised chunk
// sizes. Pure: takes buffers, returns cut points.
//
// The gear table is derived from the repository's chunker key, so chunk
// boundaries differ between repositories and a stolen repository's chunk
// sizes do not match those of a known file chunked elsewhere (threat T4).
//
// Sizes (docs/design.md, "Chunking"): min 512 KiB, average ~1 MiB, max 8 MiB.
// Large chunks keep the index small (10 M chunks ~ 10 TiB of unique data);
// the minimum avoids tiny chunks after a run of cut points; the maximum
// bounds memory per chunk in flight.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "util/bytes.h"

namespace ks {

struct ChunkerParams {
  uint32_t min_size = 512 * 1024;
  uint32_t avg_bits = 20;  // average ~ 2^avg_bits
  uint32_t max_size = 8 * 1024 * 1024;
};

using GearTable = std::array<uint64_t, 256>;

// Derives the 256-entry gear table from a 32-byte key.
GearTable MakeGearTable(ByteSpan key);

class Chunker {
 public:
  Chunker(const ChunkerParams& p, const GearTable& gear);

  // Length of the next chunk at the start of `data`. If `data` is shorter than
  // max_size and more input may follow (`at_eof` false), returns 0 when no
  // cut point lies inside `data`: the caller must supply more bytes first.
  size_t NextCut(ByteSpan data, bool at_eof) const;

  // How far a search for the next cut has got, so that it can go on when
  // more bytes arrive instead of hashing from the start again.
  struct Scan {
    size_t pos = 0;   // bytes of the chunk hashed so far
    uint64_t h = 0;   // the gear hash after them
  };

  // NextCut for a chunk whose bytes arrive in pieces: `data` is the chunk
  // so far (the same start every call, longer each time) and `scan` is
  // carried from call to call (reset for each new chunk). Returns exactly
  // what NextCut(data, at_eof) would.
  size_t NextCut(ByteSpan data, bool at_eof, Scan& scan) const;

  const ChunkerParams& params() const { return p_; }

 private:
  ChunkerParams p_;
  GearTable gear_;
  uint64_t mask_small_;  // harder condition, before the average size
  uint64_t mask_large_;  // easier condition, after it
};

// Reference twin of Chunker::NextCut: recomputes the gear hash of each
// position from its 64-byte window instead of rolling it. Slow; tests check
// that both agree.
size_t NextCutReference(const ChunkerParams& p, const GearTable& gear, ByteSpan data,
                        bool at_eof);

}  // namespace ks
