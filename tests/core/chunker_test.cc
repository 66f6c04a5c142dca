#include "chunker/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "crypto/aead.h"
#include "test_util.h"

namespace ks {
namespace {

using test::FixedKeys;
using test::PseudoRandom;

GearTable TestGear(uint8_t seed = 1) { return MakeGearTable(FixedKeys(seed).chunker); }

// Cut points (chunk end offsets) of a whole buffer.
std::vector<size_t> CutAll(const Chunker& c, ByteSpan data) {
  std::vector<size_t> cuts;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = c.NextCut(data.subspan(pos), /*at_eof=*/true);
    EXPECT_GT(n, 0u);
    if (n == 0) break;
    pos += n;
    cuts.push_back(pos);
  }
  return cuts;
}

std::vector<Id> ChunkHashes(ByteSpan data, const std::vector<size_t>& cuts) {
  std::vector<Id> out;
  size_t prev = 0;
  for (size_t c : cuts) {
    out.push_back(Sha256(data.subspan(prev, c - prev)));
    prev = c;
  }
  return out;
}

// Data on which cut conditions are rarely or never met.
Bytes LowEntropy(size_t n, uint64_t seed, int kind) {
  Bytes b(n);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < n; i++) {
    switch (kind) {
      case 0: b[i] = 0; break;
      case 1: b[i] = uint8_t(i % 7); break;
      default: b[i] = uint8_t(rng() & 1); break;
    }
  }
  return b;
}

const ChunkerParams kSmallParams[] = {
    {2048, 12, 32 * 1024},
    {64, 8, 1024},         // smallest minimum a config allows
    {4096, 11, 16 * 1024},  // average below the minimum
    {1000, 10, 5000},       // sizes that are not powers of two
};

TEST(ChunkerTest, GearTableDeterministicAndKeyed) {
  GearTable a = TestGear(1), b = TestGear(1), c = TestGear(2);
  EXPECT_EQ(a, b);
  int same = 0;
  for (int i = 0; i < 256; i++) same += a[i] == c[i];
  EXPECT_EQ(same, 0);
  // The entries come from HMAC-SHA-256(key, "gear" || i || 0), four per block.
  Key32 key = FixedKeys(1).chunker;
  uint8_t msg[6] = {'g', 'e', 'a', 'r', 8, 0};
  Key32 block = HmacSha256(key, ByteSpan(msg, 6));
  for (int j = 0; j < 4; j++) EXPECT_EQ(a[8 + j], GetU64(block.data() + 8 * j));
}

TEST(ChunkerTest, ReferenceTwinAgreesOnRandomData) {
  GearTable gear = TestGear();
  std::mt19937_64 rng(42);
  int compared = 0;
  for (const ChunkerParams& p : kSmallParams) {
    Chunker c(p, gear);
    for (uint64_t seed = 0; seed < 60; seed++) {
      size_t len = rng() % (3 * p.max_size + 1);
      Bytes data = PseudoRandom(len, seed * 1000 + p.min_size);
      // Walk the buffer chunk by chunk, comparing at every chunk start.
      size_t pos = 0;
      while (pos < data.size()) {
        ByteSpan rest = ByteSpan(data).subspan(pos);
        for (bool eof : {false, true}) {
          size_t fast = c.NextCut(rest, eof);
          size_t ref = NextCutReference(p, gear, rest, eof);
          ASSERT_EQ(fast, ref) << "min " << p.min_size << " seed " << seed << " pos " << pos
                               << " eof " << eof;
          compared++;
        }
        size_t n = c.NextCut(rest, true);
        ASSERT_GT(n, 0u);
        pos += n;
      }
    }
  }
  EXPECT_GT(compared, 1000);
}

TEST(ChunkerTest, ReferenceTwinAgreesOnShortBuffersAndEdges) {
  GearTable gear = TestGear(3);
  for (const ChunkerParams& p : kSmallParams) {
    Chunker c(p, gear);
    Bytes data = PseudoRandom(p.max_size + 200, p.min_size);
    std::vector<size_t> lens;
    for (size_t n = 0; n <= p.min_size + 300 && n <= data.size(); n += (n < 80 ? 1 : 7))
      lens.push_back(n);
    for (size_t n : {size_t(p.min_size - 1), size_t(p.min_size), size_t(p.min_size + 1),
                     size_t(1) << p.avg_bits, (size_t(1) << p.avg_bits) + 1,
                     size_t(p.max_size - 1), size_t(p.max_size), size_t(p.max_size + 1),
                     size_t(p.max_size + 200)})
      lens.push_back(n);
    for (size_t n : lens) {
      ByteSpan s = ByteSpan(data).subspan(0, n);
      for (bool eof : {false, true})
        ASSERT_EQ(c.NextCut(s, eof), NextCutReference(p, gear, s, eof))
            << "min " << p.min_size << " len " << n << " eof " << eof;
    }
    // Buffers where the cut conditions never or rarely hold: forced cuts at
    // max_size must agree too.
    for (int kind = 0; kind < 3; kind++) {
      Bytes low = LowEntropy(2 * p.max_size + 17, kind, kind);
      size_t pos = 0;
      while (pos < low.size()) {
        ByteSpan rest = ByteSpan(low).subspan(pos);
        for (bool eof : {false, true})
          ASSERT_EQ(c.NextCut(rest, eof), NextCutReference(p, gear, rest, eof))
              << "kind " << kind << " pos " << pos;
        pos += c.NextCut(rest, true);
      }
    }
  }
}

TEST(ChunkerTest, ShortBuffersFollowTheContract) {
  ChunkerParams p{2048, 12, 32 * 1024};
  Chunker c(p, TestGear());
  Bytes data = PseudoRandom(p.min_size + 1, 9);
  // At or below the minimum: nothing to cut unless the input has ended.
  for (size_t n : {size_t(0), size_t(1), size_t(100), size_t(p.min_size)}) {
    ByteSpan s = ByteSpan(data).subspan(0, n);
    EXPECT_EQ(c.NextCut(s, false), 0u) << n;
    EXPECT_EQ(c.NextCut(s, true), n) << n;
  }
  // All zeros never meet the cut condition: cut at max_size exactly.
  Bytes zeros(p.max_size * 2, 0);
  EXPECT_EQ(c.NextCut(zeros, false), p.max_size);
  EXPECT_EQ(c.NextCut(ByteSpan(zeros).subspan(0, p.max_size), false), p.max_size);
  EXPECT_EQ(c.NextCut(ByteSpan(zeros).subspan(0, p.max_size - 1), false), 0u);
  EXPECT_EQ(c.NextCut(ByteSpan(zeros).subspan(0, p.max_size - 1), true), p.max_size - 1);
}

// Feeding a prefix of the input (more to come) must give either "need more"
// or the same cut as the whole input: streaming does not move boundaries.
TEST(ChunkerTest, PrefixesGiveTheSameCut) {
  ChunkerParams p{2048, 12, 32 * 1024};
  GearTable gear = TestGear(4);
  Chunker c(p, gear);
  for (uint64_t seed = 0; seed < 40; seed++) {
    Bytes data = PseudoRandom(p.max_size + 1, 500 + seed);
    size_t full = c.NextCut(data, false);
    ASSERT_GT(full, p.min_size);
    ASSERT_LE(full, p.max_size);
    for (size_t len = 0; len <= data.size(); len += 97) {
      ByteSpan s = ByteSpan(data).subspan(0, len);
      EXPECT_EQ(c.NextCut(s, false), len >= full ? full : 0) << seed << " " << len;
      EXPECT_EQ(c.NextCut(s, true), len >= full ? full : len) << seed << " " << len;
    }
  }
}

// Property: a chunk fed in pieces of random sizes through the resumable
// NextCut is cut exactly where the whole buffer is, for every parameter
// set, at EOF or not, on random and on low-entropy data (cuts at max).
TEST(ChunkerTest, ResumedScanCutsWhereTheWholeBufferDoes) {
  std::mt19937_64 rng(77);
  std::vector<ChunkerParams> params(std::begin(kSmallParams), std::end(kSmallParams));
  params.push_back(ChunkerParams{});
  for (const auto& p : params) {
    GearTable gear = TestGear(6);
    Chunker c(p, gear);
    for (int trial = 0; trial < 30; trial++) {
      const size_t n = size_t(rng() % (p.max_size + p.max_size / 2 + 2));
      Bytes data = trial % 5 == 4 ? LowEntropy(n, rng(), trial % 3) : PseudoRandom(n, rng());
      const bool eof = trial % 2;
      const size_t whole = c.NextCut(data, eof);
      Chunker::Scan scan;
      size_t len = 0, got = 0;
      while (true) {
        len = std::min(n, len + 1 + size_t(rng() % (p.max_size / 3 + 1)));
        const bool last = len == n;
        got = c.NextCut(ByteSpan(data).subspan(0, len), last && eof, scan);
        if (got || last) break;
      }
      ASSERT_EQ(got, whole) << p.min_size << " trial " << trial << " n " << n;
    }
  }
}

TEST(ChunkerTest, ChunkSizesWithinBoundsAndAverage) {
  ChunkerParams p;  // defaults: min 512 KiB, avg 2^20, max 8 MiB
  ASSERT_EQ(p.min_size, 512u * 1024);
  ASSERT_EQ(p.avg_bits, 20u);
  ASSERT_EQ(p.max_size, 8u * 1024 * 1024);
  Chunker c(p, TestGear());
  Bytes data = PseudoRandom(64u << 20, 2024);
  std::vector<size_t> cuts = CutAll(c, data);
  ASSERT_FALSE(cuts.empty());
  EXPECT_EQ(cuts.back(), data.size());
  size_t prev = 0, minc = SIZE_MAX, maxc = 0;
  for (size_t i = 0; i < cuts.size(); i++) {
    size_t len = cuts[i] - prev;
    if (i + 1 < cuts.size()) {
      EXPECT_GT(len, p.min_size) << "chunk " << i;
      EXPECT_LE(len, p.max_size) << "chunk " << i;
      minc = std::min(minc, len);
      maxc = std::max(maxc, len);
    }
    prev = cuts[i];
  }
  double avg = double(data.size()) / double(cuts.size());
  std::printf("[ chunker  ] default params: %zu chunks over 64 MiB, average %.0f KiB, "
              "smallest %zu KiB, largest %zu KiB\n",
              cuts.size(), avg / 1024, minc / 1024, maxc / 1024);
  // Expected ~1.2 MiB: 512 KiB minimum, rare cuts up to 1 MiB, then 2^-18 per byte.
  EXPECT_GT(avg, 900.0 * 1024);
  EXPECT_LT(avg, 1600.0 * 1024);

  // Small parameters give many chunks; the same bounds hold.
  ChunkerParams sp{2048, 12, 32 * 1024};
  Chunker small(sp, TestGear());
  cuts = CutAll(small, ByteSpan(data).subspan(0, 8u << 20));
  prev = 0;
  for (size_t i = 0; i + 1 < cuts.size(); i++) {
    EXPECT_GT(cuts[i] - prev, sp.min_size);
    EXPECT_LE(cuts[i] - prev, sp.max_size);
    prev = cuts[i];
  }
  avg = double(8u << 20) / double(cuts.size());
  std::printf("[ chunker  ] min 2 KiB / avg 2^12 / max 32 KiB: %zu chunks, average %.0f B\n",
              cuts.size(), avg);
  EXPECT_GT(avg, 4096.0);
  EXPECT_LT(avg, 8192.0);
}

TEST(ChunkerTest, DifferentKeysGiveDifferentBoundaries) {
  Bytes data = PseudoRandom(8u << 20, 77);
  ChunkerParams p;
  std::vector<size_t> a = CutAll(Chunker(p, TestGear(1)), data);
  std::vector<size_t> a2 = CutAll(Chunker(p, TestGear(1)), data);
  std::vector<size_t> b = CutAll(Chunker(p, TestGear(2)), data);
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_NE(a.front(), b.front());

  ChunkerParams sp{2048, 12, 32 * 1024};
  a = CutAll(Chunker(sp, TestGear(1)), data);
  b = CutAll(Chunker(sp, TestGear(2)), data);
  std::set<size_t> sa(a.begin(), a.end());
  size_t shared = 0;
  for (size_t x : b) shared += sa.count(x);
  // Only the final cut (end of data) and chance coincidences are shared.
  EXPECT_LT(shared, a.size() / 20) << shared << " of " << a.size();
}

enum class Edit { kInsert, kDelete, kModify };

Bytes ApplyEdit(const Bytes& in, Edit e, size_t pos, size_t k, uint64_t seed) {
  Bytes out = in;
  Bytes junk = PseudoRandom(k, seed);
  switch (e) {
    case Edit::kInsert: out.insert(out.begin() + pos, junk.begin(), junk.end()); break;
    case Edit::kDelete: out.erase(out.begin() + pos, out.begin() + pos + k); break;
    case Edit::kModify:
      for (size_t i = 0; i < k; i++) out[pos + i] ^= uint8_t(junk[i] | 1);
      break;
  }
  return out;
}

void CheckEditStability(const ChunkerParams& p, size_t size, size_t max_new_chunks,
                        const std::vector<size_t>& positions) {
  Chunker c(p, TestGear(5));
  Bytes data = PseudoRandom(size, 31337);
  std::vector<size_t> cuts = CutAll(c, data);
  std::vector<Id> hashes = ChunkHashes(data, cuts);
  std::multiset<Id> before(hashes.begin(), hashes.end());
  int trial = 0;
  for (size_t pos : positions) {
    for (Edit e : {Edit::kInsert, Edit::kDelete, Edit::kModify}) {
      for (size_t k : {size_t(1), size_t(3), size_t(100)}) {
        trial++;
        Bytes edited = ApplyEdit(data, e, pos, k, trial);
        std::vector<size_t> ecuts = CutAll(c, edited);
        // Every cut at or before the edit is unchanged.
        for (size_t i = 0; i < cuts.size() && cuts[i] <= pos; i++) {
          ASSERT_LT(i, ecuts.size());
          EXPECT_EQ(ecuts[i], cuts[i]) << "edit at " << pos << " cut " << i;
        }
        // After the edit the boundaries resynchronise: at most a few chunks
        // are new, and the last cuts coincide after the shift.
        std::vector<Id> eh = ChunkHashes(edited, ecuts);
        size_t fresh = 0;
        for (const Id& h : eh) fresh += before.count(h) == 0;
        EXPECT_LE(fresh, max_new_chunks)
            << "edit kind " << int(e) << " len " << k << " at " << pos << ": " << fresh
            << " new chunks of " << eh.size();
        EXPECT_GE(fresh, 1u) << "an edit must change at least one chunk";
        std::ptrdiff_t shift = e == Edit::kInsert ? std::ptrdiff_t(k)
                               : e == Edit::kDelete ? -std::ptrdiff_t(k)
                                                    : 0;
        ASSERT_GE(cuts.size(), 2u);
        EXPECT_EQ(std::ptrdiff_t(ecuts[ecuts.size() - 2]),
                  std::ptrdiff_t(cuts[cuts.size() - 2]) + shift);
      }
    }
  }
}

TEST(ChunkerTest, BoundariesStableUnderEditsDefaultParams) {
  CheckEditStability(ChunkerParams{}, 8u << 20, 3,
                     {100, 1000000, 2500000, 3333333, 4194304});
}

TEST(ChunkerTest, BoundariesStableUnderEditsSmallParams) {
  CheckEditStability(ChunkerParams{2048, 12, 32 * 1024}, 8u << 20, 3,
                     {0, 5000, 1234567, 4000000, 7000000});
}

}  // namespace
}  // namespace ks
