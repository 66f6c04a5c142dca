// Byte planes of 16-bit samples: the even bytes of a buffer, then its odd
// bytes (an odd last byte stays last). Raw image pixel data separates into
// a smooth plane (high bytes) and a noisy one (low bytes), which zstd
// compresses better and faster than the interleaved form (design 5).
// Pure: pointers in, pointers out.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ks {

// Writes the planes of in[0, n) to out[0, n). The two ranges must not
// overlap.
void SplitPlanes(const uint8_t* in, size_t n, uint8_t* out);

// Writes bytes [at, at + len) of the planes form of in[0, n) to out[0, len):
// the planes a slice at a time, for a streaming compressor.
void PlanesSlice(const uint8_t* in, size_t n, size_t at, size_t len, uint8_t* out);

// The inverse: writes the interleaved form of planes[0, n) to out[0, n).
void JoinPlanes(const uint8_t* planes, size_t n, uint8_t* out);

}  // namespace ks
