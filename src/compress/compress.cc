#include "compress/compress.h"

#include <zstd.h>

#include <algorithm>
#include <memory>

namespace ks {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// Contexts are reused per thread; allocating one per blob costs more than
// compressing a small one.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> c(ZSTD_createCCtx());
  return c.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> c(ZSTD_createDCtx());
  return c.get();
}

constexpr size_t kSampleSize = 64 * 1024;
// Keep the compressed form only if it saves at least 3%.
constexpr double kWorthIt = 0.97;
// Split into byte planes only if the sample comes out at least 10 %
// smaller that way: on text and mixed data the planes do worse.
constexpr double kShuffleWins = 0.9;
constexpr double kIncompressible = 0.99;

// The planes are produced and consumed a slice at a time, so neither
// direction needs a second buffer the size of the blob.
constexpr size_t kPlaneSlice = 128 * 1024;

// The shuffled form of an n-byte input is its even bytes, then its odd
// bytes; an odd last byte stays last. Calls f(raw, shuffled) with the
// index pairs of shuffled bytes [at, at + len), shuffled counted from at.
template <typename F>
void ForPlanes(size_t n, size_t at, size_t len, F f) {
  const size_t half = n / 2, end = at + len;
  size_t i = at;
  for (; i < std::min(end, half); i++) f(2 * i, i - at);
  for (; i < std::min(end, 2 * half); i++) f(2 * (i - half) + 1, i - at);
  for (; i < end; i++) f(i, i - at);
}

void Gather(ByteSpan in, size_t at, size_t len, uint8_t* out) {
  ForPlanes(in.size(), at, len, [&](size_t r, size_t s) { out[s] = in[r]; });
}

void Scatter(const uint8_t* shuffled, size_t at, size_t len, Bytes& out) {
  ForPlanes(out.size(), at, len, [&](size_t r, size_t s) { out[r] = shuffled[s]; });
}

// zstd (one frame, `level`) of the shuffled form of `in`, at the start of
// `out` (grown to the bound if smaller, never shrunk: a reused buffer is
// not zero-filled again); its size, or 0 if zstd fails or it does not pay.
size_t CompressShuffled(ByteSpan in, int level, Bytes& out) {
  ZSTD_CCtx* c = ThreadCCtx();
  ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
  if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
      ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c, in.size())))
    return 0;
  const size_t bound = ZSTD_compressBound(in.size());
  if (out.size() < bound) out.resize(bound);
  ZSTD_outBuffer ob{out.data(), bound, 0};
  uint8_t slice[kPlaneSlice];
  for (size_t at = 0; at < in.size();) {
    const size_t n = std::min(kPlaneSlice, in.size() - at);
    Gather(in, at, n, slice);
    at += n;
    ZSTD_inBuffer ib{slice, n, 0};
    const ZSTD_EndDirective mode = at == in.size() ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
      size_t r = ZSTD_compressStream2(c, &ob, &ib, mode);
      if (ZSTD_isError(r)) return 0;
      if (mode == ZSTD_e_end ? r == 0 : ib.pos == ib.size) break;
      if (ob.pos == ob.size) return 0;  // cannot happen within the bound
    }
  }
  if (double(ob.pos) >= kWorthIt * double(in.size())) return 0;
  return ob.pos;
}

// The inverse: decompresses `in` (a shuffled payload) slice by slice and
// puts every byte back in its place in `out` (raw_len bytes).
Status DecompressShuffled(ByteSpan in, size_t raw_len, Bytes& out) {
  ZSTD_DCtx* d = ThreadDCtx();
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  out.resize(raw_len);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  uint8_t slice[kPlaneSlice];
  size_t done = 0;
  for (;;) {
    ZSTD_outBuffer ob{slice, sizeof slice, 0};
    size_t r = ZSTD_decompressStream(d, &ob, &ib);
    if (ZSTD_isError(r) || done + ob.pos > raw_len)
      return Fail(ErrorKind::kCorrupt, "compressed blob does not decompress to its recorded size");
    Scatter(slice, done, ob.pos, out);
    done += ob.pos;
    if (r == 0 && ib.pos == ib.size) break;  // the last frame is complete
    if (ob.pos == 0 && ib.pos == ib.size)    // input ended inside a frame
      return Fail(ErrorKind::kCorrupt, "compressed blob does not decompress to its recorded size");
  }
  if (done != raw_len)
    return Fail(ErrorKind::kCorrupt, "compressed blob does not decompress to its recorded size");
  return Ok();
}

// zstd of `in` at `level` at the start of `out` (grown as above); its
// size, or 0 if it does not pay.
size_t CompressInto(ByteSpan in, int level, Bytes& out) {
  const size_t bound = ZSTD_compressBound(in.size());
  if (out.size() < bound) out.resize(bound);
  size_t n = ZSTD_compressCCtx(ThreadCCtx(), out.data(), bound, in.data(), in.size(), level);
  if (ZSTD_isError(n) || double(n) >= kWorthIt * double(in.size())) return 0;
  return n;
}

}  // namespace

double CompressRatio(ByteSpan sample) {
  if (sample.empty()) return 1.0;
  thread_local Bytes buf;
  buf.resize(ZSTD_compressBound(sample.size()));
  size_t n = ZSTD_compressCCtx(ThreadCCtx(), buf.data(), buf.size(), sample.data(),
                               sample.size(), 1);
  if (ZSTD_isError(n)) return 1.0;
  return double(n) / double(sample.size());
}

CompressedPayload CompressForStorage(ByteSpan in, int level, Bytes& scratch, bool allow_shuffle) {
  auto stored = [&](Compression c, size_t n) {
    return CompressedPayload{c, ByteSpan(scratch.data(), n)};
  };
  if (level > 0 && in.size() >= 64) {
    if (in.size() <= kSampleSize) {
      if (size_t n = CompressInto(in, level, scratch)) return stored(Compression::kZstd, n);
    } else {
      const double plain = CompressRatio(in.subspan(0, kSampleSize));
      double planes = 1.0;
      // Data zstd cannot shrink at all (already compressed or encrypted)
      // has no byte structure for the planes to expose: skip the trial.
      if (allow_shuffle && plain < kIncompressible) {
        thread_local Bytes sample;
        sample.resize(kSampleSize);
        Gather(in.subspan(0, kSampleSize), 0, kSampleSize, sample.data());
        planes = CompressRatio(sample);
      }
      if (planes < kWorthIt && planes < kShuffleWins * plain) {
        if (size_t n = CompressShuffled(in, level, scratch))
          return stored(Compression::kZstdShuffle2, n);
      } else if (plain < kWorthIt) {
        if (size_t n = CompressInto(in, level, scratch)) return stored(Compression::kZstd, n);
      }
    }
  }
  return CompressedPayload{Compression::kNone, in};
}

Compression MaybeCompress(ByteSpan in, int level, Bytes& out, bool allow_shuffle) {
  CompressedPayload p = CompressForStorage(in, level, out, allow_shuffle);
  if (p.method == Compression::kNone)
    out.assign(in.begin(), in.end());
  else
    out.resize(p.bytes.size());  // the compressed bytes are at its start
  return p.method;
}

Status Decompress(Compression method, ByteSpan in, size_t raw_len, Bytes& out) {
  if (method == Compression::kNone) {
    if (in.size() != raw_len) return Fail(ErrorKind::kCorrupt, "stored blob has the wrong length");
    out.assign(in.begin(), in.end());
    return Ok();
  }
  if (method != Compression::kZstd && method != Compression::kZstdShuffle2)
    return Fail(ErrorKind::kCorrupt, "unknown compression method");
  if (method == Compression::kZstdShuffle2) return DecompressShuffled(in, raw_len, out);
  out.resize(raw_len);
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n) || n != raw_len)
    return Fail(ErrorKind::kCorrupt, "compressed blob does not decompress to its recorded size");
  return Ok();
}

}  // namespace ks
