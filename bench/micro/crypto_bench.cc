// Hashing and encryption of blob-sized buffers: blob ids (HMAC-SHA-256),
// storage ids (SHA-256), AES-256-GCM seal and open.
#include "bench_util.h"
#include "crypto/aead.h"
#include "crypto/master_key.h"

namespace ks::bench {
namespace {

void BM_BlobId(benchmark::State& state) {
  const Bytes data = RandomData(size_t(state.range(0)), 2);
  const RepoKeys keys = FixedKeys();
  for (auto _ : state) benchmark::DoNotOptimize(keys.BlobId(data));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
// 4 KiB: a small tree blob, where the per-call cost shows.
BENCHMARK(BM_BlobId)->Arg(4 * int64_t(kKiB))->Apply(Sizes);

void BM_Sha256(benchmark::State& state) {
  const Bytes data = RandomData(size_t(state.range(0)), 3);
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Apply(Sizes);

Key32 BenchKey() {
  Key32 k;
  Rng r(4);
  for (auto& c : k) c = uint8_t(r.Next());
  return k;
}

const uint8_t kAad[38] = {1, 0};  // the size of a blob's associated data

void BM_AeadSeal(benchmark::State& state) {
  const Bytes data = RandomData(size_t(state.range(0)), 5);
  const Aead aead(BenchKey());
  Bytes out;
  out.reserve(data.size() + kAeadTagSize);
  uint64_t counter = 0;
  for (auto _ : state) {
    out.clear();
    aead.Seal(counter++, ByteSpan(kAad, sizeof kAad), data, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AeadSeal)->Arg(4 * int64_t(kKiB))->Apply(Sizes);

void BM_AeadOpen(benchmark::State& state) {
  const Bytes data = RandomData(size_t(state.range(0)), 6);
  const Aead aead(BenchKey());
  Bytes sealed, out;
  aead.Seal(7, ByteSpan(kAad, sizeof kAad), data, sealed);
  out.reserve(data.size());
  for (auto _ : state) {
    if (!aead.Open(7, ByteSpan(kAad, sizeof kAad), sealed, out)) {
      state.SkipWithError("Open failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AeadOpen)->Arg(4 * int64_t(kKiB))->Apply(Sizes);

}  // namespace
}  // namespace ks::bench
