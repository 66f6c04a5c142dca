// Ransomware features of what a backup reads (src/detect/features.h): every
// KiB's byte histogram, entropy estimate and unit hash. Runs over every byte
// of every changed file, so it is one of the per-byte stages.
#include "bench_util.h"
#include "detect/features.h"

namespace ks::bench {
namespace {

void RunCollector(benchmark::State& state, const Bytes& data) {
  for (auto _ : state) {
    FeatureCollector c("scan.dcm");
    // In 256 KiB pieces, as the readers hand them over.
    for (size_t at = 0; at < data.size(); at += 256 * kKiB)
      c.Update(ByteSpan(data).subspan(at, std::min<size_t>(256 * kKiB, data.size() - at)));
    benchmark::DoNotOptimize(c.Finish());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}

void BM_FeaturesRandom(benchmark::State& state) {
  RunCollector(state, RandomData(size_t(state.range(0)), 11));
}
BENCHMARK(BM_FeaturesRandom)->Apply(Sizes);

void BM_FeaturesText(benchmark::State& state) {
  RunCollector(state, Hl7Text(size_t(state.range(0)), 12));
}
BENCHMARK(BM_FeaturesText)->Apply(Sizes);

}  // namespace
}  // namespace ks::bench
