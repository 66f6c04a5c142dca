// zstd through MaybeCompress / Decompress: HL7-like text at levels 1 and 3,
// random data, which the 64 KiB sample trial must reject cheaply (its
// throughput should be far above level 1 on text: one small trial + a copy),
// and 16-bit image samples, as data blobs are compressed (byte planes
// allowed: "shuffled" 1 when they were used).
#include "bench_util.h"
#include "compress/compress.h"

namespace ks::bench {
namespace {

void RunMaybeCompress(benchmark::State& state, const Bytes& data, int level,
                      bool planes = false) {
  Bytes out;
  out.reserve(data.size() + data.size() / 64 + 1024);
  Compression method = Compression::kNone;
  for (auto _ : state) {
    method = MaybeCompress(data, level, out, planes);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
  state.counters["zstd"] = method != Compression::kNone ? 1 : 0;  // 0: stored as is
  state.counters["shuffled"] = method == Compression::kZstdShuffle2 ? 1 : 0;
  state.counters["ratio"] = double(out.size()) / double(data.size());
}

// 16-bit little-endian samples: a smooth gradient plus 4 bits of noise.
Bytes SixteenBitImage(size_t n, uint64_t seed) {
  Bytes out(n);
  Rng r(seed);
  for (size_t i = 0; i + 1 < n; i += 2) {
    uint16_t v = uint16_t(1000 + (i / 2) % 512 * 3 + r.Below(16));
    out[i] = uint8_t(v);
    out[i + 1] = uint8_t(v >> 8);
  }
  return out;
}

void BM_MaybeCompressImage(benchmark::State& state) {
  const Bytes data = SixteenBitImage(size_t(state.range(0)), 9);
  RunMaybeCompress(state, data, 2, state.range(1) != 0);
}
BENCHMARK(BM_MaybeCompressImage)
    ->ArgNames({"bytes", "planes"})
    ->ArgsProduct({{int64_t(kMiB), int64_t(8 * kMiB)}, {0, 1}});

void BM_MaybeCompressTextAsData(benchmark::State& state) {
  const Bytes data = Hl7Text(size_t(state.range(0)), 7);
  RunMaybeCompress(state, data, 2, true);
}
BENCHMARK(BM_MaybeCompressTextAsData)->Arg(int64_t(kMiB));

void BM_MaybeCompressText(benchmark::State& state) {
  const Bytes data = Hl7Text(size_t(state.range(0)), 7);
  RunMaybeCompress(state, data, int(state.range(1)));
}
BENCHMARK(BM_MaybeCompressText)
    ->ArgNames({"bytes", "level"})
    ->ArgsProduct({{int64_t(kMiB), int64_t(8 * kMiB)}, {1, 3}});

void BM_MaybeCompressRandom(benchmark::State& state) {
  const Bytes data = RandomData(size_t(state.range(0)), 8);
  RunMaybeCompress(state, data, int(state.range(1)));
}
BENCHMARK(BM_MaybeCompressRandom)
    ->ArgNames({"bytes", "level"})
    ->ArgsProduct({{int64_t(kMiB), int64_t(8 * kMiB)}, {3}});

// The sample trial alone (CompressRatio of the 16 KiB trial sample), for
// comparison.
void BM_CompressRatioSample(benchmark::State& state) {
  const Bytes data = RandomData(kTrialSampleSize, 9);
  double r = 0;
  for (auto _ : state) benchmark::DoNotOptimize(r = CompressRatio(data));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
  state.counters["ratio"] = r;
}
BENCHMARK(BM_CompressRatioSample);

// Decompression of text compressed at level 3; bytes = decompressed bytes.
void BM_Decompress(benchmark::State& state) {
  const Bytes data = Hl7Text(size_t(state.range(0)), 7);
  Bytes packed, out;
  if (MaybeCompress(data, 3, packed) != Compression::kZstd) {
    state.SkipWithError("text did not compress");
    return;
  }
  out.reserve(data.size());
  for (auto _ : state) {
    if (!Decompress(Compression::kZstd, packed, data.size(), out)) {
      state.SkipWithError("Decompress failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Decompress)->Apply(Sizes);

}  // namespace
}  // namespace ks::bench
