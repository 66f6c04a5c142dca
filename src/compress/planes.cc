#include "compress/planes.h"

#include <algorithm>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ks {

// Sixteen samples (32 bytes) per step with SSE2, part of every x86-64 CPU:
// a byte-at-a-time loop with stride 2 is not vectorised by the compiler,
// and ran at a few hundred MB/s in restore and check.

namespace {

// out[j] = in[2j + odd] for j < count.
void ExtractPlane(const uint8_t* in, size_t count, bool odd, uint8_t* out) {
  size_t j = 0;
#if defined(__SSE2__)
  const __m128i low = _mm_set1_epi16(0x00FF);
  for (; j + 16 <= count; j += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * j));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * j + 16));
    __m128i p = odd ? _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8))
                    : _mm_packus_epi16(_mm_and_si128(a, low), _mm_and_si128(b, low));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j), p);
  }
#endif
  for (; j < count; j++) out[j] = in[2 * j + (odd ? 1 : 0)];
}

}  // namespace

void SplitPlanes(const uint8_t* in, size_t n, uint8_t* out) { PlanesSlice(in, n, 0, n, out); }

void PlanesSlice(const uint8_t* in, size_t n, size_t at, size_t len, uint8_t* out) {
  const size_t half = n / 2, end = at + len;
  size_t i = at;
  if (i < end && i < half) {  // even bytes: planes position i is input byte 2i
    size_t c = std::min(end, half) - i;
    ExtractPlane(in + 2 * i, c, false, out);
    out += c;
    i += c;
  }
  if (i < end && i < 2 * half) {  // odd bytes: position i is input byte 2(i - half) + 1
    size_t c = std::min(end, 2 * half) - i;
    ExtractPlane(in + 2 * (i - half), c, true, out);
    out += c;
    i += c;
  }
  if (i < end) *out = in[n - 1];  // an odd length's last byte
}

void JoinPlanes(const uint8_t* planes, size_t n, uint8_t* out) {
  const size_t half = n / 2;
  const uint8_t* even = planes;
  const uint8_t* odd = planes + half;
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= half; i += 16) {
    __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(even + i));
    __m128i o = _mm_loadu_si128(reinterpret_cast<const __m128i*>(odd + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), _mm_unpacklo_epi8(e, o));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i + 16), _mm_unpackhi_epi8(e, o));
  }
#endif
  for (; i < half; i++) {
    out[2 * i] = even[i];
    out[2 * i + 1] = odd[i];
  }
  if (n % 2) out[n - 1] = planes[n - 1];
}

}  // namespace ks
