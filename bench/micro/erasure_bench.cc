// Reed-Solomon erasure coding (ISA-L) and CRC32C. A buffer of 1 or 8 MiB is
// split into k data shards; bytes/second counts the data bytes (k * shard).
#include <algorithm>
#include <vector>

#include "bench_util.h"
#include "codec/erasure.h"

namespace ks::bench {
namespace {

struct Shards {
  Shards(int k, int m, size_t total) : len((total + size_t(k) - 1) / size_t(k)) {
    for (int i = 0; i < k + m; i++) {
      bufs.push_back(i < k ? RandomData(len, 100 + uint64_t(i)) : Bytes(len));
      ptrs.push_back(bufs.back().data());
    }
  }
  size_t len;
  std::vector<Bytes> bufs;
  std::vector<uint8_t*> ptrs;
};

void BM_ErasureEncode(benchmark::State& state) {
  const int k = int(state.range(1)), m = int(state.range(2));
  const ErasureCode ec(k, m);
  Shards s(k, m, size_t(state.range(0)));
  for (auto _ : state) {
    ec.Encode(s.ptrs.data(), s.ptrs.data() + k, s.len);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(s.len) * k);
}
BENCHMARK(BM_ErasureEncode)
    ->ArgNames({"bytes", "k", "m"})
    ->ArgsProduct({{int64_t(kMiB), int64_t(8 * kMiB)}, {8}, {2}})
    ->ArgsProduct({{int64_t(kMiB), int64_t(8 * kMiB)}, {10}, {4}});

// Plain GF(2^8) arithmetic, one gf_mul per byte and coefficient: 1 MiB only.
void BM_ErasureEncodeReference(benchmark::State& state) {
  const int k = int(state.range(1)), m = int(state.range(2));
  const ErasureCode ec(k, m);
  Shards s(k, m, size_t(state.range(0)));
  for (auto _ : state) {
    EncodeReference(ec, s.ptrs.data(), s.ptrs.data() + k, s.len);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(s.len) * k);
}
BENCHMARK(BM_ErasureEncodeReference)
    ->ArgNames({"bytes", "k", "m"})
    ->Args({int64_t(kMiB), 8, 2})
    ->Args({int64_t(kMiB), 10, 4});

// Two data shards lost (the costly case: matrix inversion, then rebuild).
// Includes the per-call inversion and table setup, as a healed read pays it.
void BM_ErasureReconstruct2(benchmark::State& state) {
  const int k = int(state.range(1)), m = int(state.range(2));
  const ErasureCode ec(k, m);
  Shards s(k, m, size_t(state.range(0)));
  ec.Encode(s.ptrs.data(), s.ptrs.data() + k, s.len);
  std::vector<bool> present(size_t(k + m), true);
  present[0] = present[size_t(k) / 2] = false;
  const Bytes want = s.bufs[0];
  std::fill(s.bufs[0].begin(), s.bufs[0].end(), 0);  // lose them for real
  std::fill(s.bufs[size_t(k) / 2].begin(), s.bufs[size_t(k) / 2].end(), 0);
  for (auto _ : state) {
    if (!ec.Reconstruct(s.ptrs.data(), present, s.len)) {
      state.SkipWithError("Reconstruct failed");
      break;
    }
    benchmark::ClobberMemory();
  }
  if (s.bufs[0] != want) state.SkipWithError("Reconstruct produced wrong data");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(s.len) * k);
}
BENCHMARK(BM_ErasureReconstruct2)
    ->ArgNames({"bytes", "k", "m"})
    ->ArgsProduct({{int64_t(kMiB), int64_t(8 * kMiB)}, {8}, {2}})
    ->ArgsProduct({{int64_t(kMiB), int64_t(8 * kMiB)}, {10}, {4}});

void BM_Crc32c(benchmark::State& state) {
  const Bytes data = RandomData(size_t(state.range(0)), 11);
  for (auto _ : state) benchmark::DoNotOptimize(Crc32c(data));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
// 4 KiB: the envelope's CRC block size.
BENCHMARK(BM_Crc32c)->Arg(4 * int64_t(kKiB))->Apply(Sizes);

}  // namespace
}  // namespace ks::bench
