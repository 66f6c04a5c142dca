// Compression of blob payloads with zstd. Pure: buffers in, buffers out.
#pragma once

#include "util/bytes.h"
#include "util/status.h"

namespace ks {

enum class Compression : uint8_t {
  kNone = 0,
  kZstd = 1,
  // zstd of the input with its even and odd bytes split into two planes
  // (the even bytes, then the odd ones). 16-bit samples (raw image pixel
  // data) separate into a smooth plane and a noisy one: on such data this
  // is both smaller and several times faster than zstd alone.
  kZstdShuffle2 = 2,
};

// Compresses `in` at zstd `level` into `out` unless that does not pay: a
// sample is tried first, so already-compressed data (JPEG, ZIP, encrypted)
// costs one small trial, not a full compression. With `allow_shuffle`, the
// sample is also tried split into byte planes, and kZstdShuffle2 is used
// when that is clearly smaller. Returns the method used; with kNone, `out`
// is a copy of `in`.
Compression MaybeCompress(ByteSpan in, int level, Bytes& out, bool allow_shuffle = false);

// The same decision without copies, for the backup's hot path: the bytes to
// store are `in` itself (kNone) or the compressed form, written at the start
// of `scratch`. `scratch` is grown to zstd's bound when too small but never
// shrunk, and never zero-filled (UninitBytes): only the pages the
// compressed bytes land on are touched. `bytes` stays valid until
// `scratch` (or `in`) is next changed.
struct CompressedPayload {
  Compression method;
  ByteSpan bytes;
};
CompressedPayload CompressForStorage(ByteSpan in, int level, UninitBytes& scratch,
                                     bool allow_shuffle = false);

// The trial sample of an input of more than 64 KiB (docs/design.md, section
// 5): four 4 KiB pieces spread evenly from its start to its end, at even
// offsets, written to `out` (16 KiB).
inline constexpr size_t kTrialSampleSize = 16 * 1024;
void TrialSample(ByteSpan in, uint8_t* out);

// Decompresses a payload stored with `method`; `raw_len` is the expected
// size and any other size is an error (kCorrupt).
Status Decompress(Compression method, ByteSpan in, size_t raw_len, Bytes& out);

// Fraction (0..1] of the size that zstd level 1 leaves of `sample`; cheap
// compressibility estimate shared with ransomware detection.
double CompressRatio(ByteSpan sample);

}  // namespace ks
