// The storage envelope (src/backend/sharded_backend.h) over in-memory
// locations: round trips, ranged reads, healed reads under damage within the
// parity budget, clean failure beyond it, Verify/Repair, the name tag,
// List/Remove, placement over several locations, lost and reordered
// locations.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "heal_helpers.h"
#include "mem_rig.h"

namespace {

using heal::MemRig;
using heal::RandomData;
using ks::Bytes;
using ks::ErrorKind;
using ks::ObjectType;

constexpr ObjectType kPack = ObjectType::kPack;

heal::ShardHeader HeaderOf(const Bytes& shard) {
  auto h = heal::ParseShardHeader(std::string(shard.begin(), shard.end()));
  EXPECT_TRUE(h.has_value());
  return h.value_or(heal::ShardHeader{});
}

// Offset of row r's block in a shard file.
uint64_t RowOffset(const heal::ShardHeader& h, uint32_t r) {
  return heal::kShardHeaderSize + uint64_t(r) * h.stride();
}

enum class Damage { kDelete, kTruncate, kFlip, kZeroBlock, kHeader };
const char* Name(Damage d) {
  switch (d) {
    case Damage::kDelete: return "delete";
    case Damage::kTruncate: return "truncate";
    case Damage::kFlip: return "flip";
    case Damage::kZeroBlock: return "zero-4k";
    case Damage::kHeader: return "header";
  }
  return "?";
}
constexpr Damage kAllDamage[] = {Damage::kDelete, Damage::kTruncate, Damage::kFlip,
                                 Damage::kZeroBlock, Damage::kHeader};

// Damages shard `i` of an object; `row` picks the block for flip/zero.
void Apply(MemRig& rig, const std::string& name, int i, Damage d, uint32_t row) {
  Bytes* b = rig.Shard(kPack, name, i);
  ASSERT_NE(b, nullptr) << "shard " << i;
  heal::ShardHeader h = HeaderOf(*b);
  switch (d) {
    case Damage::kDelete: ASSERT_TRUE(rig.RemoveShard(kPack, name, i)); break;
    case Damage::kTruncate: b->resize(b->size() / 2); break;
    case Damage::kFlip: (*b)[RowOffset(h, row) + h.block / 2] ^= 0xFF; break;
    case Damage::kZeroBlock: {
      uint64_t at = RowOffset(h, row);
      std::fill(b->begin() + long(at), b->begin() + long(std::min<uint64_t>(at + 4096, b->size())), 0);
      break;
    }
    case Damage::kHeader: (*b)[9] ^= 0x01; break;  // length field: header CRC fails
  }
}

TEST(ShardedBackend, RoundTripSizes) {
  const std::vector<ks::Geometry> geos = {{4, 2}, {8, 2}, {1, 0}, {3, 3}, {2, 1}, {30, 2}};
  for (auto g : geos) {
    SCOPED_TRACE(std::to_string(g.k) + "+" + std::to_string(g.m));
    MemRig rig(1, g);
    const std::vector<size_t> sizes = {0, 1, 63, 64, 4095, size_t(g.k) * 4096, (10u << 20) + 17};
    for (size_t n : sizes) {
      SCOPED_TRACE("size " + std::to_string(n));
      std::string name = "obj" + std::to_string(n);
      Bytes data = RandomData(n + 1, n);
      ASSERT_TRUE(rig.sb->Put(kPack, name, data));
      for (int i = 0; i < g.k + g.m; i++) {
        Bytes* s = rig.Shard(kPack, name, i);
        ASSERT_NE(s, nullptr) << "shard " << i;
        heal::ShardHeader h = HeaderOf(*s);
        EXPECT_EQ(h.k, g.k);
        EXPECT_EQ(h.m, g.m);
        EXPECT_EQ(h.index, i);
        EXPECT_EQ(h.length, n);
        EXPECT_EQ(s->size(), h.file_size());
        EXPECT_GE(uint64_t(h.rows) * h.block * uint64_t(g.k), n);
      }
      EXPECT_EQ(rig.Shard(kPack, name, g.k + g.m), nullptr);
      auto got = rig.sb->Get(kPack, name, 0, 0);
      ASSERT_TRUE(got) << got.error().message();
      ASSERT_EQ(*got, data);
      auto st = rig.sb->Stat(kPack, name);
      ASSERT_TRUE(st);
      EXPECT_EQ(st->size, n);
    }
    rig.Reopen();  // fresh header cache
    for (size_t n : sizes) {
      auto got = rig.sb->Get(kPack, "obj" + std::to_string(n), 0, 0);
      ASSERT_TRUE(got);
      ASSERT_EQ(*got, RandomData(n + 1, n));
    }
    EXPECT_EQ(rig.sb->stats().blocks_rebuilt, 0u);
  }
}

TEST(ShardedBackend, RangedGetEqualsSlice) {
  MemRig rig(1, {4, 2});
  const size_t n = (1u << 20) + 12345;
  Bytes data = RandomData(5, n);
  ASSERT_TRUE(rig.sb->Put(kPack, "big", data));
  std::mt19937_64 rng(11);
  auto check = [&](int trials) {
    for (int t = 0; t < trials; t++) {
      uint64_t off = rng() % n;
      uint64_t len = 1 + rng() % std::min<uint64_t>(n - off, t % 4 == 0 ? 3 : 300000);
      auto got = rig.sb->Get(kPack, "big", off, len);
      ASSERT_TRUE(got) << "off " << off << " len " << len << ": " << got.error().message();
      ASSERT_TRUE(std::equal(got->begin(), got->end(), data.begin() + long(off), data.begin() + long(off + len)))
          << "off " << off << " len " << len;
      ASSERT_EQ(got->size(), len);
    }
  };
  check(300);
  // length 0 means "to the end".
  auto tail = rig.sb->Get(kPack, "big", n - 100, 0);
  ASSERT_TRUE(tail);
  EXPECT_TRUE(std::equal(tail->begin(), tail->end(), data.end() - 100, data.end()));
  EXPECT_EQ(tail->size(), 100u);
  auto empty = rig.sb->Get(kPack, "big", n, 0);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto past = rig.sb->Get(kPack, "big", n - 1, 2);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().kind(), ErrorKind::kCorrupt);
  auto beyond = rig.sb->Get(kPack, "big", n + 1, 0);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().kind(), ErrorKind::kCorrupt);
  auto absent = rig.sb->Get(kPack, "nothere", 0, 0);
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().kind(), ErrorKind::kNotFound);

  // Ranged reads heal too: data shard 1 gone, shard 2 with a zeroed block.
  ASSERT_TRUE(rig.RemoveShard(kPack, "big", 1));
  Apply(rig, "big", 2, Damage::kZeroBlock, 7);
  rig.Reopen();
  check(200);
  EXPECT_GT(rig.sb->stats().blocks_rebuilt, 0u);
}

TEST(ShardedBackend, PutTwiceIsAlreadyExists) {
  MemRig rig(2, {3, 1});
  Bytes a = RandomData(1, 50000), b = RandomData(2, 50000);
  ASSERT_TRUE(rig.sb->Put(kPack, "x", a));
  auto again = rig.sb->Put(kPack, "x", b);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), ErrorKind::kAlreadyExists);
  auto same = rig.sb->Put(kPack, "x", a);
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().kind(), ErrorKind::kAlreadyExists);
  auto got = rig.sb->Get(kPack, "x", 0, 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, a);
  // An interrupted earlier write (some shards present) is completed.
  ASSERT_TRUE(rig.RemoveShard(kPack, "x", 2));
  ASSERT_TRUE(rig.sb->Put(kPack, "x", a));
  auto h = rig.sb->Verify(kPack, "x");
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->intact) << h->detail;
}

// One object, one or two damaged shards (every pair of 4+2) with every kind
// of damage: reads return the exact bytes, Verify says damaged but
// recoverable, Repair restores every shard byte for byte.
TEST(ShardedBackend, DamageWithinBudgetIsHealedAndRepaired) {
  const ks::Geometry g{4, 2};
  const size_t n = 300 * 1024 + 5;  // 19 rows of 4 KiB per shard
  Bytes data = RandomData(3, n);
  std::vector<std::vector<int>> sets;
  for (int a = 0; a < 6; a++) {
    sets.push_back({a});
    for (int b = a + 1; b < 6; b++) sets.push_back({a, b});
  }
  int cases = 0;
  std::mt19937_64 rng(5);
  for (int mixed = 0; mixed < 2; mixed++)
    for (Damage kind : kAllDamage)
      for (const auto& set : sets) {
        MemRig rig(1, g);
        ASSERT_TRUE(rig.sb->Put(kPack, "obj", data));
        std::vector<Bytes> orig;
        for (int i = 0; i < 6; i++) orig.push_back(*rig.Shard(kPack, "obj", i));
        uint32_t rows = HeaderOf(orig[0]).rows;
        ASSERT_EQ(rows, 19u);
        std::string what;
        bool data_blocks_hit = false;
        for (int i : set) {
          Damage d = mixed ? kAllDamage[rng() % 5] : kind;
          uint32_t row = uint32_t(rng() % rows);
          Apply(rig, "obj", i, d, row);
          what += std::string(Name(d)) + "(shard " + std::to_string(i) + " row " + std::to_string(row) + ") ";
          if (i < g.k && d != Damage::kHeader) data_blocks_hit = true;
        }
        SCOPED_TRACE(what);
        rig.Reopen();
        auto got = rig.sb->Get(kPack, "obj", 0, 0);
        ASSERT_TRUE(got) << got.error().message();
        ASSERT_EQ(*got, data);
        if (data_blocks_hit) {
          EXPECT_GT(rig.sb->stats().blocks_rebuilt, 0u);
        }
        auto h = rig.sb->Verify(kPack, "obj");
        ASSERT_TRUE(h);
        EXPECT_FALSE(h->intact);
        EXPECT_TRUE(h->recoverable) << h->detail;
        ASSERT_TRUE(rig.sb->Repair(kPack, "obj"));
        for (int i = 0; i < 6; i++) {
          Bytes* s = rig.Shard(kPack, "obj", i);
          ASSERT_NE(s, nullptr) << "shard " << i << " not rewritten";
          EXPECT_EQ(*s, orig[size_t(i)]) << "repaired shard " << i << " differs from the original";
        }
        h = rig.sb->Verify(kPack, "obj");
        ASSERT_TRUE(h);
        EXPECT_TRUE(h->intact) << h->detail;
        rig.Reopen();
        got = rig.sb->Get(kPack, "obj", 0, 0);
        ASSERT_TRUE(got);
        EXPECT_EQ(*got, data);
        EXPECT_EQ(rig.sb->stats().blocks_rebuilt, 0u);
        cases++;
      }
  EXPECT_EQ(cases, 2 * 5 * 21);
}

// Every shard damaged, but no row has more than m bad blocks: each row is
// rebuilt from its own k intact blocks.
TEST(ShardedBackend, ScatteredDamageInEveryShardWithinEachRow) {
  MemRig rig(1, {4, 2});
  Bytes data = RandomData(8, 300 * 1024 + 5);
  ASSERT_TRUE(rig.sb->Put(kPack, "obj", data));
  for (int i = 0; i < 6; i++)
    for (uint32_t r = 0; r < 19; r++)
      if (int(r % 3) == i % 3) Apply(rig, "obj", i, (r + uint32_t(i)) % 2 ? Damage::kFlip : Damage::kZeroBlock, r);
  rig.Reopen();
  auto got = rig.sb->Get(kPack, "obj", 0, 0);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, data);
  auto h = rig.sb->Verify(kPack, "obj");
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->intact);
  EXPECT_TRUE(h->recoverable) << h->detail;
  ASSERT_TRUE(rig.sb->Repair(kPack, "obj"));
  h = rig.sb->Verify(kPack, "obj");
  EXPECT_TRUE(h && h->intact);
}

// m+1 bad blocks in one row: reads that need that row fail with kCorrupt
// (never wrong bytes); other rows still read; Verify says not recoverable;
// Repair refuses and makes nothing worse.
TEST(ShardedBackend, BeyondBudgetFailsWithCorrupt) {
  MemRig rig(1, {4, 2});
  const size_t n = 300 * 1024 + 5;
  Bytes data = RandomData(9, n);
  ASSERT_TRUE(rig.sb->Put(kPack, "obj", data));
  const uint64_t shard_bytes = 19 * 4096;
  for (int i : {0, 1, 4}) Apply(rig, "obj", i, Damage::kFlip, 5);
  rig.Reopen();
  auto all = rig.sb->Get(kPack, "obj", 0, 0);
  ASSERT_FALSE(all) << "read returned bytes although row 5 has 3 bad blocks of 6";
  EXPECT_EQ(all.error().kind(), ErrorKind::kCorrupt);
  auto in_row5 = rig.sb->Get(kPack, "obj", 5 * 4096 + 10, 100);  // shard 0, row 5
  ASSERT_FALSE(in_row5);
  EXPECT_EQ(in_row5.error().kind(), ErrorKind::kCorrupt);
  auto row2 = rig.sb->Get(kPack, "obj", 2 * 4096, 4096);  // shard 0, row 2: intact
  ASSERT_TRUE(row2);
  EXPECT_TRUE(std::equal(row2->begin(), row2->end(), data.begin() + 2 * 4096));
  auto shard2_row5 = rig.sb->Get(kPack, "obj", 2 * shard_bytes + 5 * 4096, 4096);  // intact shard
  ASSERT_TRUE(shard2_row5);
  EXPECT_TRUE(std::equal(shard2_row5->begin(), shard2_row5->end(), data.begin() + long(2 * shard_bytes + 5 * 4096)));
  auto h = rig.sb->Verify(kPack, "obj");
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->intact);
  EXPECT_FALSE(h->recoverable) << h->detail;
  auto rep = rig.sb->Repair(kPack, "obj");
  ASSERT_FALSE(rep);
  EXPECT_EQ(rep.error().kind(), ErrorKind::kCorrupt);
  row2 = rig.sb->Get(kPack, "obj", 2 * 4096, 4096);
  ASSERT_TRUE(row2);
  EXPECT_TRUE(std::equal(row2->begin(), row2->end(), data.begin() + 2 * 4096));

  // Three whole shards lost (at least one of them a data shard).
  MemRig rig2(1, {4, 2});
  ASSERT_TRUE(rig2.sb->Put(kPack, "obj", data));
  for (int i : {1, 3, 5}) ASSERT_TRUE(rig2.RemoveShard(kPack, "obj", i));
  rig2.Reopen();
  auto g2 = rig2.sb->Get(kPack, "obj", 0, 0);
  ASSERT_FALSE(g2);
  EXPECT_EQ(g2.error().kind(), ErrorKind::kCorrupt);
  auto s0 = rig2.sb->Get(kPack, "obj", 0, shard_bytes);  // data shard 0 is intact
  ASSERT_TRUE(s0);
  EXPECT_TRUE(std::equal(s0->begin(), s0->end(), data.begin()));
  h = rig2.sb->Verify(kPack, "obj");
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->recoverable);
  // Every shard lost: not found.
  for (int i : {0, 2, 4}) ASSERT_TRUE(rig2.RemoveShard(kPack, "obj", i));
  rig2.Reopen();
  auto g3 = rig2.sb->Get(kPack, "obj", 0, 0);
  ASSERT_FALSE(g3);
  EXPECT_EQ(g3.error().kind(), ErrorKind::kNotFound);
}

// Property: under random damage (flips, zeroed blocks, lost shards) a read
// returns the exact bytes or fails with kCorrupt, never other bytes; and when
// no row has more than m bad blocks (counting a lost shard as bad in every
// row), it succeeds, as do Verify (recoverable) and Repair.
TEST(ShardedBackend, RandomDamageNeverYieldsWrongBytes) {
  int ok_reads = 0, refused = 0;
  for (uint64_t seed = 1; seed <= 150; seed++) {
    std::mt19937_64 rng(seed);
    const ks::Geometry g = seed % 3 == 0 ? ks::Geometry{3, 3} : seed % 3 == 1 ? ks::Geometry{4, 2} : ks::Geometry{6, 1};
    const int n = g.k + g.m;
    MemRig rig(1, g);
    const size_t size = 1 + size_t(rng() % 200000);
    Bytes data = RandomData(seed * 7, size);
    ASSERT_TRUE(rig.sb->Put(kPack, "obj", data));
    heal::ShardHeader h = HeaderOf(*rig.Shard(kPack, "obj", 0));
    std::vector<Bytes> orig;
    for (int i = 0; i < n; i++) orig.push_back(*rig.Shard(kPack, "obj", i));
    int events = 1 + int(rng() % 8);
    std::string what;
    for (int e = 0; e < events; e++) {
      int i = int(rng() % size_t(n));
      uint32_t r = uint32_t(rng() % h.rows);
      int kind = int(rng() % 5);
      Bytes* s = rig.Shard(kPack, "obj", i);
      if (!s) continue;
      if (kind == 0) {
        ASSERT_TRUE(rig.RemoveShard(kPack, "obj", i));
      } else if (kind <= 2) {
        (*s)[RowOffset(h, r) + rng() % h.block] ^= uint8_t(1u << (rng() % 8));
      } else {
        auto from = s->begin() + long(RowOffset(h, r));
        std::fill(from, from + long(h.block), 0);
      }
      what += std::to_string(kind) + "@" + std::to_string(i) + ":" + std::to_string(r) + " ";
    }
    // Which blocks are bad, from the bytes (a zeroed block of padding zeros,
    // or a flip undone by a later zeroing, damages nothing).
    std::vector<std::vector<bool>> bad(size_t(n), std::vector<bool>(h.rows, false));
    for (int i = 0; i < n; i++) {
      const Bytes* s = rig.Shard(kPack, "obj", i);
      for (uint32_t r = 0; r < h.rows; r++)
        bad[size_t(i)][r] = !s || !std::equal(s->begin() + long(RowOffset(h, r)), s->begin() + long(RowOffset(h, r) + h.stride()),
                                              orig[size_t(i)].begin() + long(RowOffset(h, r)));
    }
    bool within = true;
    for (uint32_t r = 0; r < h.rows; r++) {
      int cnt = 0;
      for (int i = 0; i < n; i++) cnt += bad[size_t(i)][r];
      if (cnt > g.m) within = false;
    }
    SCOPED_TRACE("seed " + std::to_string(seed) + " size " + std::to_string(size) + " damage " + what);
    rig.Reopen();
    auto got = rig.sb->Get(kPack, "obj", 0, 0);
    if (got) {
      ASSERT_EQ(*got, data) << "a read returned WRONG bytes";
      ok_reads++;
    } else {
      ASSERT_EQ(got.error().kind(), ErrorKind::kCorrupt) << got.error().message();
      ASSERT_FALSE(within) << "read failed although every row is within the budget: " << got.error().message();
      refused++;
    }
    // The one-read check agrees with Verify and never returns wrong bytes.
    Bytes content;
    auto vr = rig.sb->VerifyRead(kPack, "obj", &content);
    ASSERT_TRUE(vr);
    if (within) {
      EXPECT_TRUE(vr->recoverable) << vr->detail;
      ASSERT_EQ(content, data) << "VerifyRead returned WRONG bytes";
    } else {
      EXPECT_FALSE(vr->recoverable) << vr->detail;
      EXPECT_TRUE(content.empty());
    }
    auto v = rig.sb->Verify(kPack, "obj");
    ASSERT_TRUE(v);
    EXPECT_EQ(vr->intact, v->intact);
    EXPECT_EQ(vr->detail, v->detail);
    if (within) {
      EXPECT_TRUE(v->recoverable) << v->detail;
      ASSERT_TRUE(rig.sb->Repair(kPack, "obj"));
      v = rig.sb->Verify(kPack, "obj");
      EXPECT_TRUE(v && v->intact);
    } else {
      EXPECT_FALSE(v->recoverable) << v->detail;
    }
  }
  std::printf("[ heal ] random damage: %d exact reads, %d refused (beyond budget)\n", ok_reads, refused);
  EXPECT_GT(ok_reads, 20);
  EXPECT_GT(refused, 5);
}

TEST(ShardedBackend, VerifyReadOfHealthyObjectsIsIntactAndExact) {
  for (size_t size : {size_t(0), size_t(1), size_t(4095), size_t(65536), size_t(1) << 20, size_t(3'000'001)}) {
    MemRig rig(1, ks::Geometry{8, 2});
    Bytes data = RandomData(size + 1, size);
    ASSERT_TRUE(rig.sb->Put(kPack, "obj", data));
    Bytes content{1, 2, 3};
    auto h = rig.sb->VerifyRead(kPack, "obj", &content);
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->intact && h->recoverable) << size << ": " << h->detail;
    EXPECT_EQ(content, data) << size;
  }
}

// A shard that belongs to the same object but another index (a file renamed
// from .0 to .1) fails its block CRCs (they cover the index) and is healed.
TEST(ShardedBackend, ShardUnderAnotherIndexIsRejected) {
  MemRig rig(1, {4, 2});
  Bytes data = RandomData(12, 100000);
  ASSERT_TRUE(rig.sb->Put(kPack, "obj", data));
  Bytes orig1 = *rig.Shard(kPack, "obj", 1);
  *rig.Shard(kPack, "obj", 1) = *rig.Shard(kPack, "obj", 0);
  rig.Reopen();
  auto got = rig.sb->Get(kPack, "obj", 0, 0);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, data);
  EXPECT_GT(rig.sb->stats().blocks_rebuilt, 0u);
  auto h = rig.sb->Verify(kPack, "obj");
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->intact);
  EXPECT_TRUE(h->recoverable);
  ASSERT_TRUE(rig.sb->Repair(kPack, "obj"));
  EXPECT_EQ(*rig.Shard(kPack, "obj", 1), orig1);
}

// Shard 0's header rewritten with a correct CRC (anyone who can write to
// the storage can do it: no key is needed) to claim another object: the
// largest allowed (4 GiB), as a bare 64-byte file; a shorter one whose rows
// still verify; or one stored in this shard alone (k = 1, m = 0), which no
// other shard could confirm if only its own k + m were asked. The other
// shards' headers outvote it, so the object reads whole and right, verifies
// as damaged and is repaired; and memory is never allocated for the
// claimed length.
TEST(ShardedBackend, ForgedHeaderIsOutvoted) {
  struct Claim {
    uint64_t length;
    int k, m;
  };
  const Claim kClaims[] = {{4ull << 30, 8, 2}, {512u << 10, 8, 2}, {8192, 1, 0}};
  for (Claim claim : kClaims) {
    const uint64_t claimed = claim.length;
    SCOPED_TRACE("claimed length " + std::to_string(claimed) + ", k " + std::to_string(claim.k));
    MemRig rig(1, {8, 2});
    Bytes data = RandomData(13, 1 << 20);
    ASSERT_TRUE(rig.sb->Put(kPack, "obj", data));
    Bytes orig0 = *rig.Shard(kPack, "obj", 0);
    Bytes forged = orig0;
    if (claimed > data.size()) forged.resize(heal::kShardHeaderSize);
    heal::ForgeShardHeader(forged.data(), claimed, claim.k, claim.m);
    ASSERT_EQ(HeaderOf(forged).length, claimed);
    *rig.Shard(kPack, "obj", 0) = forged;

    const long rss_before = heal::PeakRssKiB();
    rig.Reopen();
    auto got = rig.sb->Get(kPack, "obj", 0, 0);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, data);
    rig.Reopen();
    auto part = rig.sb->Get(kPack, "obj", 300000, 100000);
    ASSERT_TRUE(part) << part.error().message();
    EXPECT_EQ(*part, Bytes(data.begin() + 300000, data.begin() + 400000));
    rig.Reopen();
    auto info = rig.sb->Stat(kPack, "obj");
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->size, data.size());
    rig.Reopen();
    auto h = rig.sb->Verify(kPack, "obj");
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_FALSE(h->intact);
    EXPECT_TRUE(h->recoverable);
    ASSERT_TRUE(rig.sb->Repair(kPack, "obj"));
    EXPECT_EQ(*rig.Shard(kPack, "obj", 0), orig0);
    // The claimed 4 GiB (or the 512 MiB of one shard) would show here.
    EXPECT_LT(heal::PeakRssKiB() - rss_before, 64 * 1024);
  }
}

// Every shard's header forged alike to claim 4 GiB: no vote can help, and
// the object is as good as deleted. Reads, Verify and Repair fail cleanly,
// and still allocate only for the bytes really stored.
TEST(ShardedBackend, HeadersForgedAlikeFailCleanly) {
  MemRig rig(1, {8, 2});
  ASSERT_TRUE(rig.sb->Put(kPack, "obj", RandomData(14, 1 << 20)));
  for (int i = 0; i < 10; i++)
    heal::ForgeShardHeader(rig.Shard(kPack, "obj", i)->data(), 4ull << 30, 8, 2);
  const long rss_before = heal::PeakRssKiB();
  rig.Reopen();
  auto got = rig.sb->Get(kPack, "obj", 0, 0);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().kind(), ErrorKind::kCorrupt) << got.error().message();
  auto part = rig.sb->Get(kPack, "obj", 3u << 30, 1 << 20);
  ASSERT_FALSE(part);
  EXPECT_EQ(part.error().kind(), ErrorKind::kCorrupt) << part.error().message();
  auto h = rig.sb->Verify(kPack, "obj");
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_FALSE(h->intact);
  EXPECT_FALSE(h->recoverable);
  auto repaired = rig.sb->Repair(kPack, "obj");
  ASSERT_FALSE(repaired);
  EXPECT_EQ(repaired.error().kind(), ErrorKind::kCorrupt);
  EXPECT_LT(heal::PeakRssKiB() - rss_before, 64 * 1024);
}

// A shard file of ANOTHER object (same size, so same layout) put under this
// object's name. Its header carries the other object's name tag, and Verify
// notices that.
TEST(ShardedBackend, ShardOfAnotherObjectIsDetectedByVerify) {
  MemRig rig(1, {4, 2});
  Bytes a = RandomData(21, 100000), b = RandomData(22, 90000);
  ASSERT_TRUE(rig.sb->Put(kPack, "aaaa", a));
  ASSERT_TRUE(rig.sb->Put(kPack, "bbbb", b));
  *rig.Shard(kPack, "bbbb", 0) = *rig.Shard(kPack, "aaaa", 0);
  rig.Reopen();
  auto h = rig.sb->Verify(kPack, "bbbb");
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->intact) << "a shard of another object went unnoticed";
  // The header of the foreign shard (shard 0, the first one tried) is not
  // taken as this object's header: the size comes from shard 1.
  auto st = rig.sb->Stat(kPack, "bbbb");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->size, b.size());
}

// The same situation, read: the foreign shard's blocks must fail their CRCs
// (which cover the object's name tag) and be rebuilt from parity, never
// returned. (Before a79aff5 the block CRCs did not cover the name tag and Get
// returned the other object's bytes.)
TEST(ShardedBackend, ShardOfAnotherObjectIsNotRead) {
  MemRig rig(1, {4, 2});
  Bytes a = RandomData(21, 100000), b = RandomData(22, 100000);
  ASSERT_TRUE(rig.sb->Put(kPack, "aaaa", a));
  ASSERT_TRUE(rig.sb->Put(kPack, "bbbb", b));
  *rig.Shard(kPack, "bbbb", 0) = *rig.Shard(kPack, "aaaa", 0);
  rig.Reopen();
  auto got = rig.sb->Get(kPack, "bbbb", 0, 0);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, b) << "Get returned wrong bytes (" << (std::equal(got->begin(), got->begin() + 25000, a.begin()) ? "the first 25000 are the other object's" : "garbage") << ")";
  EXPECT_GT(rig.sb->stats().blocks_rebuilt, 0u);
  // A foreign parity shard must not poison a rebuild either.
  MemRig rig2(1, {4, 2});
  ASSERT_TRUE(rig2.sb->Put(kPack, "aaaa", a));
  ASSERT_TRUE(rig2.sb->Put(kPack, "bbbb", b));
  *rig2.Shard(kPack, "bbbb", 4) = *rig2.Shard(kPack, "aaaa", 4);
  ASSERT_TRUE(rig2.RemoveShard(kPack, "bbbb", 1));
  rig2.Reopen();
  got = rig2.sb->Get(kPack, "bbbb", 0, 0);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, b) << "rebuild used the other object's parity shard";
}

// Repair must rebuild the foreign shard, not keep its blocks under a new,
// correct header (which would turn a detected fault into silent corruption
// that Verify calls intact).
TEST(ShardedBackend, RepairReplacesShardOfAnotherObject) {
  MemRig rig(1, {4, 2});
  Bytes a = RandomData(21, 100000), b = RandomData(22, 100000);
  ASSERT_TRUE(rig.sb->Put(kPack, "aaaa", a));
  ASSERT_TRUE(rig.sb->Put(kPack, "bbbb", b));
  Bytes orig0 = *rig.Shard(kPack, "bbbb", 0);
  *rig.Shard(kPack, "bbbb", 0) = *rig.Shard(kPack, "aaaa", 0);
  rig.Reopen();
  ASSERT_TRUE(rig.sb->Repair(kPack, "bbbb"));
  EXPECT_EQ(*rig.Shard(kPack, "bbbb", 0), orig0) << "Repair did not rebuild the foreign shard";
  auto v = rig.sb->Verify(kPack, "bbbb");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->intact) << v->detail;
  rig.Reopen();
  auto got = rig.sb->Get(kPack, "bbbb", 0, 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, b) << "after Repair the object holds wrong bytes";
  EXPECT_EQ(rig.sb->stats().blocks_rebuilt, 0u);
}

// A truncated shard: its rows before the cut are intact and count towards
// each row's k. Verify and Repair see them.
TEST(ShardedBackend, TruncatedShardKeepsItsIntactRowsForRepair) {
  MemRig rig(1, {4, 2});
  Bytes data = RandomData(31, 300 * 1024 + 5);  // 19 rows
  ASSERT_TRUE(rig.sb->Put(kPack, "obj", data));
  heal::ShardHeader h = HeaderOf(*rig.Shard(kPack, "obj", 0));
  rig.Shard(kPack, "obj", 0)->resize(RowOffset(h, 10));  // rows 10..18 of shard 0 gone
  Apply(rig, "obj", 1, Damage::kFlip, 3);
  Apply(rig, "obj", 2, Damage::kFlip, 3);  // row 3: shards 1 and 2 bad, 0 intact
  rig.Reopen();
  auto v = rig.sb->Verify(kPack, "obj");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->intact);
  EXPECT_TRUE(v->recoverable) << v->detail;
  ASSERT_TRUE(rig.sb->Repair(kPack, "obj"));
  auto got = rig.sb->Get(kPack, "obj", 0, 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, data);
}

// Was a bug (fixed): the same damage, read before any repair. Get reads a
// run of rows per shard with one ranged read; the truncated shard makes that
// read fail as a whole, so its intact rows 0..9 are treated as missing too,
// row 3 is left with 3 of 6 blocks, and Get fails with kCorrupt although
// Verify (above) calls the object recoverable and check/scrub call it
// repairable (exit 5).
TEST(ShardedBackend, TruncatedShardKeepsItsIntactRowsForReads) {
  MemRig rig(1, {4, 2});
  Bytes data = RandomData(31, 300 * 1024 + 5);
  ASSERT_TRUE(rig.sb->Put(kPack, "obj", data));
  heal::ShardHeader h = HeaderOf(*rig.Shard(kPack, "obj", 0));
  rig.Shard(kPack, "obj", 0)->resize(RowOffset(h, 10));
  Apply(rig, "obj", 1, Damage::kFlip, 3);
  Apply(rig, "obj", 2, Damage::kFlip, 3);
  rig.Reopen();
  auto got = rig.sb->Get(kPack, "obj", 0, 0);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, data);
  // Same with the truncated shard being parity used in a rebuild.
  MemRig rig2(1, {4, 2});
  ASSERT_TRUE(rig2.sb->Put(kPack, "obj", data));
  rig2.Shard(kPack, "obj", 4)->resize(RowOffset(h, 10));
  Apply(rig2, "obj", 0, Damage::kFlip, 3);
  Apply(rig2, "obj", 5, Damage::kFlip, 3);  // row 3: shards 0, 5 bad; 4 intact
  rig2.Reopen();
  got = rig2.sb->Get(kPack, "obj", 0, 0);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, data);
}

TEST(ShardedBackend, ListGroupsShardsAndReportsLogicalSizes) {
  MemRig rig(3, {3, 2});
  std::map<std::string, uint64_t> packs = {{"p0", 0}, {"p1", 1}, {"p5000", 5000}, {"pbig", 123457}};
  for (const auto& [name, size] : packs) ASSERT_TRUE(rig.sb->Put(kPack, name, RandomData(size, size)));
  ASSERT_TRUE(rig.sb->Put(ObjectType::kIndex, "i1", RandomData(1, 777)));
  ASSERT_TRUE(rig.sb->Put(ObjectType::kSnapshot, "s1", RandomData(2, 300)));
  auto list = rig.sb->List(kPack);
  ASSERT_TRUE(list);
  std::map<std::string, uint64_t> got;
  for (const auto& o : *list) EXPECT_TRUE(got.emplace(o.name, o.size).second) << "listed twice: " << o.name;
  EXPECT_EQ(got, packs);
  auto idx = rig.sb->List(ObjectType::kIndex);
  ASSERT_TRUE(idx);
  ASSERT_EQ(idx->size(), 1u);
  EXPECT_EQ((*idx)[0].name, "i1");
  EXPECT_EQ((*idx)[0].size, 777u);
  auto keys = rig.sb->List(ObjectType::kKey);
  ASSERT_TRUE(keys);
  EXPECT_TRUE(keys->empty());
  // Damage does not change what is listed.
  ASSERT_TRUE(rig.RemoveShard(kPack, "pbig", 0));
  ASSERT_TRUE(rig.RemoveShard(kPack, "p5000", 1));
  rig.Reopen();
  list = rig.sb->List(kPack);
  ASSERT_TRUE(list);
  got.clear();
  for (const auto& o : *list) got[o.name] = o.size;
  EXPECT_EQ(got, packs);
}

TEST(ShardedBackend, RemoveRemovesAllShards) {
  MemRig rig(3, {4, 2});
  Bytes a = RandomData(1, 40000), b = RandomData(2, 40000);
  ASSERT_TRUE(rig.sb->Put(kPack, "a", a));
  ASSERT_TRUE(rig.sb->Put(kPack, "b", b));
  ASSERT_TRUE(rig.sb->Remove(kPack, "a"));
  for (int i = 0; i < 6; i++) EXPECT_TRUE(rig.Holders(kPack, "a", i).empty()) << "shard " << i << " left";
  for (auto& m : rig.mems) {
    auto l = m->List(kPack);
    ASSERT_TRUE(l);
    for (const auto& o : *l) EXPECT_EQ(o.name.substr(0, 2), "b.") << o.name;
  }
  auto g = rig.sb->Get(kPack, "a", 0, 0);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().kind(), ErrorKind::kNotFound);
  auto st = rig.sb->Stat(kPack, "a");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind(), ErrorKind::kNotFound);
  auto again = rig.sb->Remove(kPack, "a");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), ErrorKind::kNotFound);
  auto gb = rig.sb->Get(kPack, "b", 0, 0);
  ASSERT_TRUE(gb);
  EXPECT_EQ(*gb, b);
  // Put again after Remove: a new object.
  ASSERT_TRUE(rig.sb->Put(kPack, "a", b));
  auto ga = rig.sb->Get(kPack, "a", 0, 0);
  ASSERT_TRUE(ga);
  EXPECT_EQ(*ga, b);
  // Remove also takes shards whose headers are all damaged.
  for (int i = 0; i < 6; i++) Apply(rig, "a", i, Damage::kHeader, 0);
  rig.Reopen();
  ASSERT_TRUE(rig.sb->Remove(kPack, "a"));
  for (int i = 0; i < 6; i++) EXPECT_TRUE(rig.Holders(kPack, "a", i).empty()) << "shard " << i << " left";
}

std::vector<std::pair<ObjectType, std::string>> PutMany(MemRig& rig, std::map<std::string, Bytes>& data) {
  std::vector<std::pair<ObjectType, std::string>> objs;
  const std::vector<size_t> sizes = {0, 1, 100, 4096, 12345, 70000, 300001};
  int i = 0;
  for (ObjectType t : {ObjectType::kConfig, ObjectType::kKey, ObjectType::kSnapshot, ObjectType::kIndex, kPack})
    for (size_t n : sizes) {
      if (t == ObjectType::kConfig && n != 100) continue;
      std::string name = t == ObjectType::kConfig ? "config" : "o" + std::to_string(i);
      Bytes b = RandomData(uint64_t(100 + i), n);
      EXPECT_TRUE(rig.sb->Put(t, name, b));
      data[std::string(ks::ObjectTypeDir(t)) + "/" + name] = b;
      objs.emplace_back(t, name);
      i++;
    }
  return objs;
}

TEST(ShardedBackend, ShardsLandInDistinctLocations) {
  for (auto [L, g] : {std::pair<size_t, ks::Geometry>{6, {4, 2}}, {5, {3, 2}}, {10, {8, 2}}, {3, {2, 1}}}) {
    MemRig rig(L, g);
    std::map<std::string, Bytes> data;
    auto objs = PutMany(rig, data);
    for (const auto& [t, name] : objs) {
      std::set<size_t> used;
      for (int i = 0; i < g.k + g.m; i++) {
        size_t p = rig.sb->PlaceOf(t, name, i);
        EXPECT_TRUE(used.insert(p).second) << name << ": shards share location " << p;
        auto holders = rig.Holders(t, name, i);
        ASSERT_EQ(holders.size(), 1u) << name << " shard " << i;
        EXPECT_EQ(holders[0], p) << name << " shard " << i << " not where PlaceOf says";
      }
    }
  }
}

// Losing any m locations (each replaced by an empty one, a new disk) keeps
// every object readable; Repair refills the new locations.
TEST(ShardedBackend, LosingAnyMLocationsKeepsEverythingReadable) {
  struct Setup {
    size_t L;
    ks::Geometry g;
    int lose;
  };
  int combos = 0;
  for (Setup s : {Setup{6, {4, 2}, 2}, Setup{5, {3, 2}, 2}, Setup{4, {2, 2}, 2}, Setup{3, {2, 1}, 1},
                  Setup{3, {4, 2}, 1} /* two shards per location */}) {
    for (uint32_t mask = 0; mask < (1u << s.L); mask++) {
      if (std::popcount(mask) != s.lose) continue;
      SCOPED_TRACE(std::to_string(s.L) + " locations, " + std::to_string(s.g.k) + "+" + std::to_string(s.g.m) +
                   ", lost mask " + std::to_string(mask));
      MemRig rig(s.L, s.g);
      std::map<std::string, Bytes> data;
      auto objs = PutMany(rig, data);
      for (size_t l = 0; l < s.L; l++)
        if (mask & (1u << l)) rig.Wipe(l);
      rig.Reopen();
      for (const auto& [t, name] : objs) {
        auto got = rig.sb->Get(t, name, 0, 0);
        ASSERT_TRUE(got) << name << ": " << got.error().message();
        ASSERT_EQ(*got, data[std::string(ks::ObjectTypeDir(t)) + "/" + name]) << name;
      }
      auto list = rig.sb->List(kPack);
      ASSERT_TRUE(list);
      EXPECT_EQ(list->size(), 7u);
      for (const auto& [t, name] : objs) {
        auto v = rig.sb->Verify(t, name);
        ASSERT_TRUE(v);
        EXPECT_TRUE(v->recoverable) << v->detail;
        ASSERT_TRUE(rig.sb->Repair(t, name)) << name;
        v = rig.sb->Verify(t, name);
        EXPECT_TRUE(v && v->intact) << name;
        for (int i = 0; i < s.g.k + s.g.m; i++)
          EXPECT_EQ(rig.Holders(t, name, i), std::vector<size_t>{rig.sb->PlaceOf(t, name, i)}) << name << " shard " << i;
      }
      combos++;
    }
  }
  EXPECT_EQ(combos, 15 + 10 + 6 + 3 + 3);
}

// A location that fails every call (a dead disk, not a replaced one).
TEST(ShardedBackend, DeadLocationsWithinBudgetStillRead) {
  int combos = 0;
  for (size_t a = 0; a < 6; a++)
    for (size_t b = a + 1; b < 6; b++) {
      MemRig rig(6, {4, 2});
      std::map<std::string, Bytes> data;
      auto objs = PutMany(rig, data);
      rig.Reopen();
      rig.shared[a]->SetFailing(true);
      rig.shared[b]->SetFailing(true);
      for (const auto& [t, name] : objs) {
        auto got = rig.sb->Get(t, name, 0, 0);
        ASSERT_TRUE(got) << name << ": " << got.error().message();
        ASSERT_EQ(*got, data[std::string(ks::ObjectTypeDir(t)) + "/" + name]);
        auto st = rig.sb->Stat(t, name);
        ASSERT_TRUE(st);
        EXPECT_EQ(st->size, got->size());
      }
      auto list = rig.sb->List(kPack);
      ASSERT_TRUE(list) << list.error().message();
      EXPECT_EQ(list->size(), 7u);
      combos++;
    }
  EXPECT_EQ(combos, 15);
}

// The locations given in another order than at write time: shards are found
// where they are (fallback search), without parity.
TEST(ShardedBackend, LocationsInAnotherOrderStillRead) {
  MemRig rig(6, {4, 2});
  std::map<std::string, Bytes> data;
  auto objs = PutMany(rig, data);
  std::mt19937_64 rng(3);
  std::vector<std::vector<size_t>> orders = {{5, 4, 3, 2, 1, 0}, {1, 2, 3, 4, 5, 0}};
  for (int t = 0; t < 4; t++) {
    std::vector<size_t> o = {0, 1, 2, 3, 4, 5};
    std::shuffle(o.begin(), o.end(), rng);
    orders.push_back(o);
  }
  for (const auto& order : orders) {
    rig.Reopen(order);
    for (const auto& [t, name] : objs) {
      auto got = rig.sb->Get(t, name, 0, 0);
      ASSERT_TRUE(got) << name << ": " << got.error().message();
      ASSERT_EQ(*got, data[std::string(ks::ObjectTypeDir(t)) + "/" + name]);
      auto v = rig.sb->Verify(t, name);
      ASSERT_TRUE(v);
      EXPECT_TRUE(v->intact) << name << ": " << v->detail;
    }
    EXPECT_EQ(rig.sb->stats().blocks_rebuilt, 0u) << "shards were rebuilt instead of found";
    auto list = rig.sb->List(kPack);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->size(), 7u);
  }
  // Reordered and one location lost: still readable.
  rig.Wipe(2);
  rig.Reopen({3, 0, 5, 1, 2, 4});
  for (const auto& [t, name] : objs) {
    auto got = rig.sb->Get(t, name, 0, 0);
    ASSERT_TRUE(got) << name << ": " << got.error().message();
    ASSERT_EQ(*got, data[std::string(ks::ObjectTypeDir(t)) + "/" + name]);
  }
}

TEST(ShardedBackend, LearnsGeometryFromConfig) {
  MemRig rig(1, {5, 3});
  ASSERT_TRUE(rig.sb->Put(ObjectType::kConfig, "config", RandomData(1, 200)));
  rig.geo = {0, 0};
  rig.Reopen();
  auto g = rig.sb->geometry();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->k, 5);
  EXPECT_EQ(g->m, 3);
  ASSERT_TRUE(rig.sb->Put(kPack, "p", RandomData(2, 9000)));
  EXPECT_NE(rig.Shard(kPack, "p", 7), nullptr);
  EXPECT_EQ(rig.Shard(kPack, "p", 8), nullptr);
  // Config shard 0 lost: the geometry comes from another shard's header.
  ASSERT_TRUE(rig.RemoveShard(ObjectType::kConfig, "config", 0));
  rig.Reopen();
  g = rig.sb->geometry();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->k, 5);
  // No config at all: nothing to learn from, and Put refuses.
  MemRig empty(1, {0, 0});
  EXPECT_FALSE(empty.sb->geometry());
  EXPECT_FALSE(empty.sb->Put(kPack, "p", RandomData(2, 10)));
}

TEST(ShardedBackend, DefaultGeometry) {
  EXPECT_EQ(ks::DefaultGeometry(1).k, 8);
  EXPECT_EQ(ks::DefaultGeometry(1).m, 2);
  EXPECT_EQ(ks::DefaultGeometry(2).k, 1);
  EXPECT_EQ(ks::DefaultGeometry(2).m, 1);
  EXPECT_EQ(ks::DefaultGeometry(3).k, 2);
  EXPECT_EQ(ks::DefaultGeometry(3).m, 1);
  EXPECT_EQ(ks::DefaultGeometry(4).k, 2);
  EXPECT_EQ(ks::DefaultGeometry(4).m, 2);
  EXPECT_EQ(ks::DefaultGeometry(5).k, 3);
  EXPECT_EQ(ks::DefaultGeometry(5).m, 2);
  EXPECT_EQ(ks::DefaultGeometry(12).k, 10);
  EXPECT_EQ(ks::DefaultGeometry(12).m, 2);
}

}  // namespace
