// Shared helpers of the micro-benchmarks: deterministic inputs, fixed keys.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "crypto/master_key.h"
#include "util/bytes.h"

namespace ks::bench {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;

// SplitMix64: small, fast, seeded; every input below is reproducible.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t s_;
};

inline Bytes RandomData(size_t n, uint64_t seed) {
  Bytes b(n);
  Rng r(seed);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) PutU64(b.data() + i, r.Next());
  for (; i < n; i++) b[i] = uint8_t(r.Next());
  return b;
}

inline Id RandomId(Rng& r) {
  Id id;
  for (int k = 0; k < 4; k++) PutU64(id.b.data() + 8 * k, r.Next());
  return id;
}

// Text shaped like HL7 v2 batches (the bulk of the structured text a
// hospital backs up): segments with '|' fields ending in '\r', messages in
// '\n'. Repetitive structure, varying values: zstd level 1 gets roughly 4-6x.
inline Bytes Hl7Text(size_t n, uint64_t seed) {
  static const char* kFamily[] = {"MUELLER", "SCHMIDT", "SCHNEIDER", "FISCHER",  "WEBER",
                                  "MEYER",   "WAGNER",  "BECKER",    "HOFFMANN", "KOCH"};
  static const char* kGiven[] = {"ANNA",  "PAUL",   "MARIE", "LUKAS", "EMMA",
                                 "FELIX", "SOPHIE", "JONAS", "LEA",   "BEN"};
  static const char* kTests[] = {"2345-7^GLUCOSE", "2160-0^CREATININE", "718-7^HEMOGLOBIN",
                                 "6690-2^WBC",     "2823-3^POTASSIUM",  "2951-2^SODIUM",
                                 "1742-6^ALT",     "777-3^PLATELETS"};
  static const char* kUnits[] = {"mg/dL",  "mg/dL",  "g/dL", "10*3/uL",
                                 "mmol/L", "mmol/L", "U/L",  "10*3/uL"};
  Rng r(seed);
  std::string s;
  s.reserve(n + 1024);
  char line[256];
  uint64_t msg = 100000;
  while (s.size() < n) {
    unsigned day = unsigned(1 + r.Below(28)), hh = unsigned(r.Below(24)),
             mm = unsigned(r.Below(60));
    uint64_t mrn = 1000000 + r.Below(9000000);
    std::snprintf(
        line, sizeof line,
        "MSH|^~\\&|LAB|KLINIKUM|HIS|KLINIKUM|202403%02u%02u%02u00||ORU^R01|MSG%llu|P|2.5\r", day,
        hh, mm, static_cast<unsigned long long>(msg++));
    s += line;
    std::snprintf(
        line, sizeof line,
        "PID|1||%llu^^^KLINIKUM^MR||%s^%s||19%02u%02u%02u|%c|||HAUPTSTR. %u^^BERLIN^^%05u\r",
        static_cast<unsigned long long>(mrn), kFamily[r.Below(10)], kGiven[r.Below(10)],
        unsigned(30 + r.Below(70)), unsigned(1 + r.Below(12)), unsigned(1 + r.Below(28)),
        r.Below(2) ? 'F' : 'M', unsigned(1 + r.Below(200)), unsigned(10000 + r.Below(4000)));
    s += line;
    std::snprintf(line, sizeof line,
                  "OBR|1|%llu|%llu|CHEM^CHEMISTRY PANEL|||202403%02u%02u%02u00\r",
                  static_cast<unsigned long long>(r.Below(100000000)),
                  static_cast<unsigned long long>(r.Below(100000000)), day, hh, mm);
    s += line;
    int obx = int(2 + r.Below(6));
    for (int i = 1; i <= obx; i++) {
      size_t t = size_t(r.Below(8));
      std::snprintf(line, sizeof line, "OBX|%d|NM|%s^LN||%u.%u|%s|||%s|||F\r", i, kTests[t],
                    unsigned(r.Below(300)), unsigned(r.Below(10)), kUnits[t],
                    r.Below(5) ? "N" : "H");
      s += line;
    }
    s += '\n';
  }
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

// Fixed keys, so every run chunks and hashes identically.
inline RepoKeys FixedKeys() {
  MasterKey mk;
  Rng r(42);
  for (auto& c : mk.secret) c = uint8_t(r.Next());
  return RepoKeys::Derive(mk);
}

// Buffer sizes the byte-throughput benchmarks run over.
inline void Sizes(benchmark::internal::Benchmark* b) {
  b->Arg(int64_t(kMiB))->Arg(int64_t(8 * kMiB));
}

}  // namespace ks::bench
