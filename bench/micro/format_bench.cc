// Pack writing and index-table Bloom filter probes.
#include <memory>
#include <vector>

#include "bench_util.h"
#include "format/index_table.h"
#include "format/pack.h"

namespace ks::bench {
namespace {

// PackWriter::Add of blobs of range(0) bytes (payload already compressed):
// AAD + AES-256-GCM seal into the pack buffer. A new writer is started once
// the pack reaches the default 16 MiB, as the blob saver does; creating it
// (and Finish) is outside the timing, but its fresh buffer's page faults are
// inside (the real writer pays them too).
void BM_PackWriterAdd(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  const RepoKeys keys = FixedKeys();
  const Bytes payload = RandomData(n, 12);
  Rng r(13);
  auto w = std::make_unique<PackWriter>(keys);
  for (auto _ : state) {
    if (w->size() >= 16 * kMiB) {
      state.PauseTiming();
      w = std::make_unique<PackWriter>(keys);
      state.ResumeTiming();
    }
    w->Add(BlobType::kData, RandomId(r), Compression::kNone, payload, uint32_t(n));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}
BENCHMARK(BM_PackWriterAdd)->Apply(Sizes);

// A whole 16 MiB pack: 16 Adds of 1 MiB and Finish (header seal + SHA-256
// of the pack for its name).
void BM_PackWriteFull(benchmark::State& state) {
  const RepoKeys keys = FixedKeys();
  const Bytes payload = RandomData(kMiB, 14);
  Rng r(15);
  for (auto _ : state) {
    PackWriter w(keys);
    for (int i = 0; i < 16; i++)
      w.Add(BlobType::kData, RandomId(r), Compression::kNone, payload, uint32_t(kMiB));
    auto f = w.Finish();
    benchmark::DoNotOptimize(f.bytes.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(16 * kMiB));
}
BENCHMARK(BM_PackWriteFull);

// BloomFilter::MayContain on a filter of range(0) ids at 10 bits per id (as
// BuildIndexTable makes it): 1 M ids = 1.2 MiB of bits, 10 M = 12 MiB (no
// longer fits the caches). Half the probes are present, half absent.
// Reported as items/second (probes).
void BM_BloomMayContain(benchmark::State& state) {
  const uint64_t n = uint64_t(state.range(0));
  BloomFilter f(n, 10);
  Rng r(16);
  constexpr size_t kProbes = 1 << 16;
  std::vector<Id> probes;
  probes.reserve(kProbes);
  for (uint64_t i = 0; i < n; i++) {
    Id id = RandomId(r);
    f.Add(id);
    if (i % (n / (kProbes / 2)) == 0 && probes.size() < kProbes / 2) probes.push_back(id);
  }
  while (probes.size() < kProbes) probes.push_back(RandomId(r));
  // Interleave present and absent probes.
  Rng shuffle(17);
  for (size_t i = probes.size() - 1; i > 0; i--) std::swap(probes[i], probes[shuffle.Below(i + 1)]);
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    hits += f.MayContain(probes[i]);
    i = (i + 1) & (kProbes - 1);
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["filter_MiB"] = double(f.memory()) / double(kMiB);
  state.counters["hit_rate"] = double(hits) / double(state.iterations());
}
BENCHMARK(BM_BloomMayContain)->Arg(1'000'000)->Arg(10'000'000);

}  // namespace
}  // namespace ks::bench
