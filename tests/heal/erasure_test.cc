// Reed-Solomon codec (src/codec/erasure.h) and CRC32C.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "codec/erasure.h"

namespace {

using ks::Bytes;
using ks::ErasureCode;

struct Stripe {
  int k, m;
  size_t len;
  std::vector<Bytes> shards;  // k data then m parity
  std::vector<const uint8_t*> dptr() const {
    std::vector<const uint8_t*> p;
    for (int i = 0; i < k; i++) p.push_back(shards[size_t(i)].data());
    return p;
  }
  std::vector<uint8_t*> pptr() {
    std::vector<uint8_t*> p;
    for (int i = 0; i < m; i++) p.push_back(shards[size_t(k + i)].data());
    return p;
  }
  std::vector<uint8_t*> all() {
    std::vector<uint8_t*> p;
    for (auto& s : shards) p.push_back(s.data());
    return p;
  }
};

Stripe RandomStripe(const ErasureCode& ec, size_t len, std::mt19937_64& rng) {
  Stripe s{ec.k(), ec.m(), len, {}};
  for (int i = 0; i < ec.k() + ec.m(); i++) {
    Bytes b(len);
    for (auto& c : b) c = uint8_t(rng());
    s.shards.push_back(std::move(b));
  }
  auto d = s.dptr();
  auto p = s.pptr();
  ec.Encode(d.data(), p.data(), len);
  return s;
}

// Every subset of {0..n-1} of size `size`, as bitmasks.
std::vector<uint32_t> Subsets(int n, int size) {
  std::vector<uint32_t> out;
  for (uint32_t mask = 0; mask < (1u << n); mask++)
    if (std::popcount(mask) == size) out.push_back(mask);
  return out;
}

// Wipes the shards in `missing` with a sentinel, reconstructs, and returns
// whether it succeeded; `after` gets the shards as left by Reconstruct.
bool Erase(const ErasureCode& ec, const Stripe& good, uint32_t missing, std::vector<Bytes>& after) {
  after = good.shards;
  std::vector<bool> present(size_t(ec.k() + ec.m()), true);
  for (int i = 0; i < ec.k() + ec.m(); i++)
    if (missing & (1u << i)) {
      present[size_t(i)] = false;
      std::fill(after[size_t(i)].begin(), after[size_t(i)].end(), uint8_t(0xA5));
    }
  std::vector<uint8_t*> ptrs;
  for (auto& b : after) ptrs.push_back(b.data());
  return ec.Reconstruct(ptrs.data(), present, good.len);
}

std::string MaskStr(uint32_t mask) {
  std::string s = "{";
  for (int i = 0; i < 32; i++)
    if (mask & (1u << i)) s += (s.size() > 1 ? "," : "") + std::to_string(i);
  return s + "}";
}

TEST(Erasure, GeneratorIsIdentityOnTop) {
  for (auto [k, m] : {std::pair{1, 0}, {4, 2}, {8, 2}, {20, 12}, {31, 1}}) {
    ErasureCode ec(k, m);
    for (int r = 0; r < k; r++)
      for (int j = 0; j < k; j++) ASSERT_EQ(ec.Row(r)[j], r == j ? 1 : 0) << k << "+" << m;
    for (int r = k; r < k + m; r++)
      for (int j = 0; j < k; j++) ASSERT_NE(ec.Row(r)[j], 0) << "Cauchy entries are non-zero";
  }
}

// Property: the SIMD encoder equals the plain GF(2^8) reference on random
// geometries (k 1..20, m 0..8, k+m <= 32) and lengths, including 1 and odd
// lengths around the SIMD widths.
TEST(Erasure, EncodeEqualsReferenceOnRandomGeometries) {
  const std::vector<size_t> edge = {1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129, 4095, 4097};
  int cases = 0;
  for (uint64_t seed = 1; seed <= 400; seed++) {
    std::mt19937_64 rng(seed);
    int k = 1 + int(rng() % 20);
    int m = int(rng() % 9);
    if (k + m > ks::kMaxShards) m = ks::kMaxShards - k;
    size_t len = seed % 3 == 0 ? edge[rng() % edge.size()] : 1 + size_t(rng() % 3000);
    if (seed % 2 == 1 && len % 2 == 0) len++;  // plenty of odd sizes
    ErasureCode ec(k, m);
    Stripe s = RandomStripe(ec, len, rng);
    std::vector<Bytes> ref(size_t(m), Bytes(len, 0x5A));
    std::vector<uint8_t*> rp;
    for (auto& b : ref) rp.push_back(b.data());
    auto d = s.dptr();
    ks::EncodeReference(ec, d.data(), rp.data(), len);
    for (int r = 0; r < m; r++)
      ASSERT_EQ(s.shards[size_t(k + r)], ref[size_t(r)])
          << "seed " << seed << ": " << k << "+" << m << " len " << len << " parity " << r;
    cases++;
  }
  EXPECT_EQ(cases, 400);
}

TEST(Erasure, EncodeIsLinearAndDeterministic) {
  std::mt19937_64 rng(99);
  ErasureCode ec(6, 3);
  Stripe a = RandomStripe(ec, 1000, rng), b = RandomStripe(ec, 1000, rng);
  Stripe c = a;
  for (int i = 0; i < 6; i++)
    for (size_t x = 0; x < 1000; x++) c.shards[size_t(i)][x] ^= b.shards[size_t(i)][x];
  auto d = c.dptr();
  auto p = c.pptr();
  ec.Encode(d.data(), p.data(), 1000);
  for (int r = 0; r < 3; r++)
    for (size_t x = 0; x < 1000; x++)
      ASSERT_EQ(c.shards[size_t(6 + r)][x], a.shards[size_t(6 + r)][x] ^ b.shards[size_t(6 + r)][x]);
}

// Small geometries: every pattern of up to m missing shards is rebuilt
// exactly; every pattern of m+1 fails and writes nothing.
void ExhaustiveReconstruct(int k, int m, size_t len) {
  SCOPED_TRACE(std::to_string(k) + "+" + std::to_string(m) + " len " + std::to_string(len));
  std::mt19937_64 rng(uint64_t(k * 100 + m));
  ErasureCode ec(k, m);
  Stripe good = RandomStripe(ec, len, rng);
  int ok_cases = 0, fail_cases = 0;
  for (int lost = 0; lost <= m; lost++)
    for (uint32_t mask : Subsets(k + m, lost)) {
      std::vector<Bytes> after;
      ASSERT_TRUE(Erase(ec, good, mask, after)) << "missing " << MaskStr(mask);
      for (int i = 0; i < k + m; i++)
        ASSERT_EQ(after[size_t(i)], good.shards[size_t(i)]) << "missing " << MaskStr(mask) << " shard " << i;
      ok_cases++;
    }
  for (uint32_t mask : Subsets(k + m, m + 1)) {
    std::vector<Bytes> after;
    ASSERT_FALSE(Erase(ec, good, mask, after)) << "missing " << MaskStr(mask);
    for (int i = 0; i < k + m; i++) {
      if (mask & (1u << i))
        ASSERT_TRUE(std::all_of(after[size_t(i)].begin(), after[size_t(i)].end(),
                                [](uint8_t c) { return c == 0xA5; }))
            << "a failed Reconstruct wrote into missing shard " << i << " of " << MaskStr(mask);
      else
        ASSERT_EQ(after[size_t(i)], good.shards[size_t(i)]) << "a present shard was modified";
    }
    fail_cases++;
  }
  EXPECT_GT(ok_cases, 0);
  EXPECT_GT(fail_cases, 0);
}

TEST(Erasure, ReconstructAllPatterns_4plus2) { ExhaustiveReconstruct(4, 2, 4096); }
TEST(Erasure, ReconstructAllPatterns_3plus3) { ExhaustiveReconstruct(3, 3, 777); }
TEST(Erasure, ReconstructAllPatterns_8plus2) { ExhaustiveReconstruct(8, 2, 129); }
TEST(Erasure, ReconstructAllPatterns_2plus1) { ExhaustiveReconstruct(2, 1, 1); }
TEST(Erasure, ReconstructAllPatterns_1plus4) { ExhaustiveReconstruct(1, 4, 65); }
TEST(Erasure, ReconstructAllPatterns_5plus0) { ExhaustiveReconstruct(5, 0, 33); }

// Bigger geometries: random patterns of exactly m, fewer than m, and m+1
// (or more) missing shards.
TEST(Erasure, ReconstructRandomPatternsOnBigGeometries) {
  const std::vector<std::pair<int, int>> geos = {{10, 4}, {16, 8}, {20, 12}, {24, 8}, {12, 6}, {29, 3}, {17, 0}};
  int cases = 0;
  for (auto [k, m] : geos) {
    ErasureCode ec(k, m);
    std::mt19937_64 rng(uint64_t(k * 1000 + m));
    Stripe good = RandomStripe(ec, 1 + size_t(rng() % 2000), rng);
    for (int trial = 0; trial < 60; trial++) {
      int lost = trial % 3 == 0 ? m : int(rng() % (size_t(m) + 1));
      bool beyond = trial % 4 == 3;
      if (beyond) lost = std::min(k + m, m + 1 + int(rng() % 3));
      std::vector<int> idx(size_t(k + m));
      std::iota(idx.begin(), idx.end(), 0);
      std::shuffle(idx.begin(), idx.end(), rng);
      uint32_t mask = 0;
      for (int i = 0; i < lost; i++) mask |= 1u << idx[size_t(i)];
      std::vector<Bytes> after;
      bool ok = Erase(ec, good, mask, after);
      SCOPED_TRACE(std::to_string(k) + "+" + std::to_string(m) + " missing " + MaskStr(mask));
      if (beyond) {
        ASSERT_FALSE(ok);
        for (int i = 0; i < k + m; i++)
          if (!(mask & (1u << i))) {
            ASSERT_EQ(after[size_t(i)], good.shards[size_t(i)]);
          }
      } else {
        ASSERT_TRUE(ok);
        for (int i = 0; i < k + m; i++) ASSERT_EQ(after[size_t(i)], good.shards[size_t(i)]) << "shard " << i;
      }
      cases++;
    }
  }
  EXPECT_EQ(cases, 60 * 7);
}

TEST(Crc32c, CheckValue) {
  EXPECT_EQ(ks::Crc32c(ks::AsBytes("123456789")), 0xE3069283u);
  EXPECT_EQ(ks::Crc32c(ks::AsBytes("")), 0u);
  // RFC 3720 B.4: 32 bytes of zeros, and of 0xFF.
  Bytes zeros(32, 0), ones(32, 0xFF);
  EXPECT_EQ(ks::Crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(ks::Crc32c(ones), 0x62A8AB43u);
}

TEST(Crc32c, ChainingEqualsWhole) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; trial++) {
    Bytes all(size_t(rng() % 5000));
    for (auto& c : all) c = uint8_t(rng());
    size_t cut = all.empty() ? 0 : size_t(rng() % (all.size() + 1));
    ks::ByteSpan a(all.data(), cut), b(all.data() + cut, all.size() - cut);
    ASSERT_EQ(ks::Crc32c(b, ks::Crc32c(a)), ks::Crc32c(all)) << "len " << all.size() << " cut " << cut;
  }
  // A single flipped bit anywhere changes the CRC.
  Bytes data(4096);
  for (auto& c : data) c = uint8_t(rng());
  uint32_t base = ks::Crc32c(data);
  for (size_t bit = 0; bit < data.size() * 8; bit += 97) {
    data[bit / 8] ^= uint8_t(1u << (bit % 8));
    ASSERT_NE(ks::Crc32c(data), base) << "bit " << bit;
    data[bit / 8] ^= uint8_t(1u << (bit % 8));
  }
}

}  // namespace
