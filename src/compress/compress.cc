#include "compress/compress.h"

#include <zstd.h>

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

Compression MaybeCompress(ByteSpan in, int level, Bytes& out) {
  out.clear();
  if (level > 0 && in.size() >= 64) {
    if (in.size() <= kSampleSize || CompressRatio(in.subspan(0, kSampleSize)) < kWorthIt) {
      out.resize(ZSTD_compressBound(in.size()));
      size_t n = ZSTD_compressCCtx(ThreadCCtx(), out.data(), out.size(), in.data(), in.size(),
                                   level);
      if (!ZSTD_isError(n) && double(n) < kWorthIt * double(in.size())) {
        out.resize(n);
        return Compression::kZstd;
      }
    }
  }
  out.assign(in.begin(), in.end());
  return Compression::kNone;
}

Status Decompress(Compression method, ByteSpan in, size_t raw_len, Bytes& out) {
  if (method == Compression::kNone) {
    if (in.size() != raw_len) return Fail(ErrorKind::kCorrupt, "stored blob has the wrong length");
    out.assign(in.begin(), in.end());
    return Ok();
  }
  if (method != Compression::kZstd)
    return Fail(ErrorKind::kCorrupt, "unknown compression method");
  out.resize(raw_len);
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n) || n != raw_len)
    return Fail(ErrorKind::kCorrupt, "compressed blob does not decompress to its recorded size");
  return Ok();
}

}  // namespace ks
