#include "compress/compress.h"

#include "compress/planes.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
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

// Inputs up to this size are compressed whole, without a trial.
constexpr size_t kTrialAbove = 64 * 1024;
// The trial sample of a larger input: kSamplePieces pieces of kSamplePiece
// bytes, spread evenly from its start to its end. Spread, because a chunk
// often starts with a header unlike the rest (a DICOM file's tags before
// its pixel data); small, because the trial of 16-bit pixel data runs at a
// third of the speed of its compression in planes, and a 64 KiB trial
// cost a quarter of all compression time on the benchmark corpus. There,
// the compressed size of each kind of data is the same to 0.1 %, and a
// first backup's repository came out 0.4 % larger.
constexpr size_t kSamplePiece = 4096;
constexpr size_t kSamplePieces = 4;
static_assert(kSamplePiece * kSamplePieces == kTrialSampleSize);
// Keep the compressed form only if it saves at least 3%.
constexpr double kWorthIt = 0.97;
// Split into byte planes only if the sample comes out at least 10 %
// smaller that way: on text and mixed data the planes do worse.
constexpr double kShuffleWins = 0.9;
constexpr double kIncompressible = 0.99;

// Compression streams the planes a slice at a time: a buffer of a whole
// blob's planes per worker would stay at the largest chunk's size (up to
// 8 MiB each) for the whole backup.
constexpr size_t kPlaneSlice = 128 * 1024;

// zstd (one frame, `level`) of the planes of `in`, at the start of `out`
// (grown to the bound if smaller, never shrunk); its size, or 0 if zstd
// fails or it does not pay.
size_t CompressShuffled(ByteSpan in, int level, UninitBytes& out) {
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
    PlanesSlice(in.data(), in.size(), at, n, slice);
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

// The inverse: decompresses `in` (zstd of the planes) whole into a
// per-thread buffer (grown to the largest blob, never shrunk) and
// interleaves the planes into `out` (raw_len bytes). Streaming here would
// not save the memory: zstd's stream decoder keeps a window-sized buffer
// of its own, and copies every byte out of it.
Status DecompressShuffled(ByteSpan in, size_t raw_len, Bytes& out) {
  thread_local Bytes planes;
  if (planes.size() < raw_len) planes.resize(raw_len);
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), planes.data(), raw_len, in.data(), in.size());
  if (ZSTD_isError(n) || n != raw_len)
    return Fail(ErrorKind::kCorrupt, "compressed blob does not decompress to its recorded size");
  out.resize(raw_len);
  JoinPlanes(planes.data(), raw_len, out.data());
  return Ok();
}

// zstd of `in` at `level` at the start of `out` (grown as above); its
// size, or 0 if it does not pay.
size_t CompressInto(ByteSpan in, int level, UninitBytes& out) {
  const size_t bound = ZSTD_compressBound(in.size());
  if (out.size() < bound) out.resize(bound);
  size_t n = ZSTD_compressCCtx(ThreadCCtx(), out.data(), bound, in.data(), in.size(), level);
  if (ZSTD_isError(n) || double(n) >= kWorthIt * double(in.size())) return 0;
  return n;
}

}  // namespace

void TrialSample(ByteSpan in, uint8_t* out) {
  // Piece k starts at (n - piece) * k / (pieces - 1), rounded down to an
  // even offset so that the sample's byte planes are the input's.
  const size_t span = in.size() - kSamplePiece;
  for (size_t k = 0; k < kSamplePieces; k++) {
    const size_t at = (span * k / (kSamplePieces - 1)) & ~size_t(1);
    std::memcpy(out + k * kSamplePiece, in.data() + at, kSamplePiece);
  }
}

double CompressRatio(ByteSpan sample) {
  if (sample.empty()) return 1.0;
  thread_local Bytes buf;
  buf.resize(ZSTD_compressBound(sample.size()));
  size_t n = ZSTD_compressCCtx(ThreadCCtx(), buf.data(), buf.size(), sample.data(),
                               sample.size(), 1);
  if (ZSTD_isError(n)) return 1.0;
  return double(n) / double(sample.size());
}

CompressedPayload CompressForStorage(ByteSpan in, int level, UninitBytes& scratch,
                                     bool allow_shuffle) {
  auto stored = [&](Compression c, size_t n) {
    return CompressedPayload{c, ByteSpan(scratch.data(), n)};
  };
  if (level > 0 && in.size() >= 64) {
    if (in.size() <= kTrialAbove) {
      if (size_t n = CompressInto(in, level, scratch)) return stored(Compression::kZstd, n);
    } else {
      thread_local Bytes sample(kTrialSampleSize);
      TrialSample(in, sample.data());
      const double plain = CompressRatio(sample);
      double planes = 1.0;
      // Data zstd cannot shrink at all (already compressed or encrypted)
      // has no byte structure for the planes to expose: skip the trial.
      if (allow_shuffle && plain < kIncompressible) {
        thread_local Bytes split(kTrialSampleSize);
        SplitPlanes(sample.data(), kTrialSampleSize, split.data());
        planes = CompressRatio(split);
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
  thread_local UninitBytes scratch;
  CompressedPayload p = CompressForStorage(in, level, scratch, allow_shuffle);
  out.assign(p.bytes.begin(), p.bytes.end());  // `in` itself when not compressed
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
