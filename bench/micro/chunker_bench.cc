// Content-defined chunking: the rolling gear hash (Chunker::NextCut) and its
// slow reference twin, on random data with the default parameters.
#include "bench_util.h"
#include "chunker/chunker.h"

namespace ks::bench {
namespace {

// Cuts a whole buffer into chunks, as the archiver does with file data.
size_t CutAll(const Chunker& c, ByteSpan data) {
  size_t pos = 0, chunks = 0;
  while (pos < data.size()) {
    size_t n = c.NextCut(data.subspan(pos), /*at_eof=*/true);
    pos += n;
    chunks++;
  }
  return chunks;
}

// Default parameters: every chunk skips its first min_size - 64 bytes (512 KiB
// minus the window) without hashing, so this is the real chunking rate, not
// the hash rate (see BM_ChunkerGearHash).
void BM_ChunkerNextCut(benchmark::State& state) {
  const Bytes data = RandomData(size_t(state.range(0)), 1);
  const Chunker c(ChunkerParams{}, MakeGearTable(FixedKeys().chunker));
  size_t chunks = 0;
  for (auto _ : state) {
    chunks = CutAll(c, data);
    benchmark::DoNotOptimize(chunks);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
  state.counters["chunks"] = double(chunks);
}
BENCHMARK(BM_ChunkerNextCut)->Apply(Sizes);

// Raw rolling-hash rate: min_size at the window (64 bytes), a cut condition
// that practically never holds, max_size = the buffer. Every byte is hashed.
void BM_ChunkerGearHash(benchmark::State& state) {
  const Bytes data = RandomData(size_t(state.range(0)), 1);
  ChunkerParams p;
  p.min_size = 64;
  p.avg_bits = 40;
  p.max_size = uint32_t(state.range(0));
  const Chunker c(p, MakeGearTable(FixedKeys().chunker));
  for (auto _ : state) benchmark::DoNotOptimize(c.NextCut(data, true));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChunkerGearHash)->Apply(Sizes);

// NextCutReference recomputes 64 table lookups per byte: 1 MiB only.
void BM_ChunkerReference(benchmark::State& state) {
  const Bytes data = RandomData(size_t(state.range(0)), 1);
  const ChunkerParams p;
  const GearTable gear = MakeGearTable(FixedKeys().chunker);
  for (auto _ : state) {
    size_t pos = 0;
    while (pos < data.size()) pos += NextCutReference(p, gear, ByteSpan(data).subspan(pos), true);
    benchmark::DoNotOptimize(pos);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChunkerReference)->Arg(int64_t(kMiB));

}  // namespace
}  // namespace ks::bench
