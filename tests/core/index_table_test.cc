#include "format/index_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "test_util.h"

namespace ks {
namespace {

using test::FixedKeys;
using test::RandomId;

std::vector<IndexEntry> RandomEntries(size_t n, size_t npacks, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Id> packs;
  for (size_t i = 0; i < npacks; i++) packs.push_back(RandomId(rng));
  std::vector<IndexEntry> out(n);
  for (auto& e : out) {
    e.pack = packs[rng() % npacks];
    e.blob.id = RandomId(rng);
    e.blob.type = rng() % 2 ? BlobType::kData : BlobType::kTree;
    e.blob.compression = rng() % 2 ? Compression::kZstd : Compression::kNone;
    e.blob.offset = uint32_t(rng());
    e.blob.length = uint32_t(rng());
    e.blob.raw_length = uint32_t(rng());
  }
  return out;
}

bool SameEntry(const IndexEntry& a, const IndexEntry& b) {
  return a.pack == b.pack && a.blob == b.blob;
}

struct Parsed {
  Aead aead;
  IndexFooter footer;
};

// What a reader does with a whole table: prefix, trailer, footer.
Result<Parsed> ParseTable(const RepoKeys& keys, ByteSpan t) {
  if (t.size() < kIndexPrefixSize + 4) return Fail(ErrorKind::kCorrupt, "short");
  KS_ASSIGN(Aead aead, IndexAead(keys, t));
  uint32_t flen = GetU32(t.data() + t.size() - 4);
  if (flen > t.size() - kIndexPrefixSize - 4) return Fail(ErrorKind::kCorrupt, "footer length");
  KS_ASSIGN(IndexFooter f, ReadIndexFooter(aead, t.subspan(t.size() - 4 - flen, flen)));
  return Parsed{aead, std::move(f)};
}

Result<std::vector<IndexEntry>> ReadBlock(const Parsed& p, ByteSpan t, size_t i) {
  const auto& b = p.footer.blocks[i];
  if (b.offset + b.length > t.size()) return Fail(ErrorKind::kCorrupt, "block beyond end");
  return ReadIndexBlock(p.aead, p.footer, i, t.subspan(b.offset, b.length));
}

// Looks an id up like repo/index does: Bloom filter, block directory, block.
std::optional<IndexEntry> Find(const Parsed& p, ByteSpan t, const Id& id, int* blocks_read) {
  if (!p.footer.filter.MayContain(id)) return std::nullopt;
  const auto& blocks = p.footer.blocks;
  auto it = std::upper_bound(blocks.begin(), blocks.end(), id,
                             [](const Id& x, const IndexFooter::Block& b) { return x < b.first; });
  if (it == blocks.begin()) return std::nullopt;
  size_t bi = size_t(it - blocks.begin()) - 1;
  if (blocks_read) ++*blocks_read;
  auto entries = ReadBlock(p, t, bi);
  EXPECT_TRUE(entries.has_value());
  if (!entries) return std::nullopt;
  for (const auto& e : *entries)
    if (e.blob.id == id) return e;
  return std::nullopt;
}

TEST(IndexTableTest, TenThousandEntriesOverFiftyPacks) {
  RepoKeys keys = FixedKeys();
  std::vector<IndexEntry> entries = RandomEntries(10000, 50, 1);
  Bytes table = BuildIndexTable(keys, entries);
  EXPECT_EQ(Bytes(table.begin(), table.begin() + 4), Bytes({'K', 'S', 'I', '1'}));
  auto parsed = ParseTable(keys, table);
  ASSERT_OK(parsed);
  const IndexFooter& f = parsed->footer;
  EXPECT_EQ(f.count, 10000u);
  ASSERT_EQ(f.packs.size(), 50u);
  EXPECT_TRUE(std::is_sorted(f.packs.begin(), f.packs.end()));
  constexpr size_t kB = kIndexBlockEntries;
  ASSERT_EQ(f.blocks.size(), (10000 + kB - 1) / kB);
  uint64_t offset = kIndexPrefixSize;
  for (size_t i = 0; i < f.blocks.size(); i++) {
    EXPECT_EQ(f.blocks[i].offset, offset);
    EXPECT_EQ(f.blocks[i].count, i + 1 < f.blocks.size() ? kB : 10000u - (f.blocks.size() - 1) * kB);
    EXPECT_EQ(f.blocks[i].length, f.blocks[i].count * kIndexEntrySize + kAeadTagSize);
    offset += f.blocks[i].length;
  }
  uint32_t flen = GetU32(table.data() + table.size() - 4);
  EXPECT_EQ(offset + flen + 4, table.size());

  // Reading every block gives back the entries, sorted by id.
  std::vector<IndexEntry> sorted = entries;
  std::sort(sorted.begin(), sorted.end(),
            [](const IndexEntry& a, const IndexEntry& b) { return a.blob.id < b.blob.id; });
  size_t k = 0;
  for (size_t i = 0; i < f.blocks.size(); i++) {
    auto block = ReadBlock(*parsed, table, i);
    ASSERT_OK(block);
    ASSERT_EQ(block->size(), f.blocks[i].count);
    EXPECT_EQ(block->front().blob.id, f.blocks[i].first);
    for (const auto& e : *block) {
      ASSERT_LT(k, sorted.size());
      EXPECT_TRUE(SameEntry(e, sorted[k])) << "entry " << k;
      k++;
    }
  }
  EXPECT_EQ(k, sorted.size());

  // Every entry is found through filter + directory + one block.
  int blocks_read = 0;
  for (const auto& e : entries) {
    auto got = Find(*parsed, table, e.blob.id, &blocks_read);
    ASSERT_TRUE(got.has_value()) << e.blob.id.Hex();
    EXPECT_TRUE(SameEntry(*got, e));
  }
  EXPECT_EQ(blocks_read, 10000);
}

// FindIndexRecord compares ids by their first 8 bytes first: ids sharing
// those (and more) are still found exactly, in the order memcmp gives, and
// ids between them are absent.
TEST(IndexTableTest, FindRecordWithSharedPrefixes) {
  std::mt19937_64 rng(31);
  std::vector<Id> ids;
  for (int i = 0; i < 300; i++) {
    Id id = RandomId(rng);
    if (i % 3) std::fill(id.b.begin(), id.b.begin() + 8, uint8_t(0x80));  // shared first 8 bytes
    if (i % 5 == 0) id.b[8 + size_t(i) % 20] = 0xff;
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end(), [](const Id& a, const Id& b) { return a.b < b.b; });
  ids.erase(std::unique(ids.begin(), ids.end(), [](const Id& a, const Id& b) { return a.b == b.b; }),
            ids.end());
  Bytes plain(ids.size() * kIndexEntrySize);
  for (size_t i = 0; i < ids.size(); i++)
    std::copy(ids[i].b.begin(), ids[i].b.end(), plain.begin() + ptrdiff_t(i * kIndexEntrySize));
  for (size_t i = 0; i < ids.size(); i++) {
    auto at = FindIndexRecord(plain, ids[i]);
    ASSERT_TRUE(at) << i;
    EXPECT_EQ(*at, i);
    Id near = ids[i];
    near.b[31] ^= 1;  // differs only in its last byte
    if (!std::binary_search(ids.begin(), ids.end(), near,
                            [](const Id& a, const Id& b) { return a.b < b.b; })) {
      EXPECT_FALSE(FindIndexRecord(plain, near)) << i;
    }
  }
}

TEST(IndexTableTest, BloomFilterNoFalseNegativesLowFalsePositives) {
  RepoKeys keys = FixedKeys();
  std::vector<IndexEntry> entries = RandomEntries(10000, 50, 2);
  Bytes table = BuildIndexTable(keys, entries);
  auto parsed = ParseTable(keys, table);
  ASSERT_OK(parsed);
  const BloomFilter& bf = parsed->footer.filter;
  for (const auto& e : entries) ASSERT_TRUE(bf.MayContain(e.blob.id));
  std::mt19937_64 rng(12345);
  int fp = 0, absent_found = 0;
  const int kProbes = 100000;
  for (int i = 0; i < kProbes; i++) {
    Id id = RandomId(rng);
    if (bf.MayContain(id)) {
      fp++;
      if (i < 5000 && Find(*parsed, table, id, nullptr)) absent_found++;
    }
  }
  double rate = double(fp) / kProbes;
  std::printf("[ index    ] Bloom filter: %zu bytes for 10000 ids, false positive rate %.3f%%\n",
              bf.memory(), rate * 100);
  EXPECT_EQ(bf.memory(), 10000u * 10 / 8);
  EXPECT_LT(rate, 0.02);
  EXPECT_GT(rate, 0.0001);  // a filter that says "no" to everything is broken too
  EXPECT_EQ(absent_found, 0);
}

TEST(IndexTableTest, BloomFilterEncodeDecode) {
  BloomFilter f(100, 10);
  std::mt19937_64 rng(3);
  std::vector<Id> ids;
  for (int i = 0; i < 100; i++) {
    ids.push_back(RandomId(rng));
    f.Add(ids.back());
  }
  Bytes enc;
  f.Encode(enc);
  EXPECT_EQ(enc.size(), 12u + 1000 / 8);
  EXPECT_EQ(GetU32(enc.data()), 7u);  // round(10 * ln 2)
  EXPECT_EQ(GetU64(enc.data() + 4), 1000u);
  auto g = BloomFilter::Decode(enc);
  ASSERT_TRUE(g.has_value());
  for (const Id& id : ids) EXPECT_TRUE(g->MayContain(id));
  // Malformed encodings.
  EXPECT_FALSE(BloomFilter::Decode(ByteSpan(enc).subspan(0, 11)).has_value());
  EXPECT_FALSE(BloomFilter::Decode(ByteSpan(enc).subspan(0, enc.size() - 1)).has_value());
  Bytes bad = enc;
  PutU32(bad.data(), 0);
  EXPECT_FALSE(BloomFilter::Decode(bad).has_value());
  PutU32(bad.data(), 33);
  EXPECT_FALSE(BloomFilter::Decode(bad).has_value());
  bad = enc;
  PutU64(bad.data() + 4, 1001);
  EXPECT_FALSE(BloomFilter::Decode(bad).has_value());
  PutU64(bad.data() + 4, 2000);
  EXPECT_FALSE(BloomFilter::Decode(bad).has_value());
  // An empty default filter contains nothing.
  EXPECT_FALSE(BloomFilter().MayContain(ids[0]));
}

TEST(IndexTableTest, DuplicatesEmptyAndBlockBoundaries) {
  RepoKeys keys = FixedKeys();
  // Duplicates of one blob id are reduced to one.
  std::vector<IndexEntry> entries = RandomEntries(100, 3, 4);
  std::vector<IndexEntry> dup = entries;
  dup.insert(dup.end(), entries.begin(), entries.begin() + 30);
  Bytes table = BuildIndexTable(keys, dup);
  auto parsed = ParseTable(keys, table);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->footer.count, 100u);

  Bytes empty = BuildIndexTable(keys, {});
  auto pe = ParseTable(keys, empty);
  ASSERT_OK(pe);
  EXPECT_EQ(pe->footer.count, 0u);
  EXPECT_TRUE(pe->footer.blocks.empty());
  EXPECT_TRUE(pe->footer.packs.empty());
  EXPECT_FALSE(pe->footer.filter.MayContain(entries[0].blob.id));

  constexpr size_t kB = kIndexBlockEntries;
  for (size_t n : {size_t(1), kB - 1, kB, kB + 1, 2 * kB, 4 * kB + 3}) {
    Bytes t = BuildIndexTable(keys, RandomEntries(n, 1, n));
    auto p = ParseTable(keys, t);
    ASSERT_OK(p);
    EXPECT_EQ(p->footer.blocks.size(), (n + kB - 1) / kB) << n;
    EXPECT_EQ(p->footer.count, n);
  }
}

// Tables written with 1024 entries per block (before blocks shrank to
// kIndexBlockEntries) are still read, entry for entry; a block larger than
// any writer makes is refused.
TEST(IndexTableTest, OlderLargerBlocksAreReadAndOversizedRefused) {
  RepoKeys keys = FixedKeys();
  std::vector<IndexEntry> entries = RandomEntries(3000, 4, 9);
  Bytes old_table = BuildIndexTable(keys, entries, kIndexBlockMaxEntries);
  auto p = ParseTable(keys, old_table);
  ASSERT_OK(p);
  ASSERT_EQ(p->footer.blocks.size(), 3u);
  EXPECT_EQ(p->footer.blocks[0].count, kIndexBlockMaxEntries);
  std::vector<IndexEntry> back;
  for (size_t i = 0; i < p->footer.blocks.size(); i++) {
    auto b = ReadBlock(*p, old_table, i);
    ASSERT_OK(b);
    back.insert(back.end(), b->begin(), b->end());
  }
  auto by_id = [](const IndexEntry& a, const IndexEntry& b) { return a.blob.id < b.blob.id; };
  std::sort(entries.begin(), entries.end(), by_id);
  ASSERT_EQ(back.size(), entries.size());
  for (size_t i = 0; i < back.size(); i++) {
    EXPECT_EQ(back[i].blob.id, entries[i].blob.id);
    EXPECT_EQ(back[i].pack, entries[i].pack);
  }
  EXPECT_ERR(ParseTable(keys, BuildIndexTable(keys, entries, kIndexBlockMaxEntries + 1)),
             ErrorKind::kCorrupt);
}

TEST(IndexTableTest, BlockBoundToItsPosition) {
  RepoKeys keys = FixedKeys();
  Bytes table = BuildIndexTable(keys, RandomEntries(3 * kIndexBlockEntries - 10, 5, 5));
  auto p = ParseTable(keys, table);
  ASSERT_OK(p);
  ASSERT_EQ(p->footer.blocks.size(), 3u);
  const auto& b0 = p->footer.blocks[0];
  ByteSpan block0 = ByteSpan(table).subspan(b0.offset, b0.length);
  ASSERT_OK(ReadIndexBlock(p->aead, p->footer, 0, block0));
  // Block 0's bytes presented as block 1 (same length): the nonce differs.
  EXPECT_ERR(ReadIndexBlock(p->aead, p->footer, 1, block0), ErrorKind::kCorrupt);
  EXPECT_ERR(ReadIndexBlock(p->aead, p->footer, 3, block0), ErrorKind::kCorrupt);
  EXPECT_ERR(ReadIndexBlock(p->aead, p->footer, 0, block0.subspan(1)), ErrorKind::kCorrupt);
  // A table of another repository, or with the wrong magic.
  EXPECT_ERR(ParseTable(FixedKeys(2), table), ErrorKind::kCorrupt);
  Bytes bad = table;
  bad[0] = 'X';
  EXPECT_ERR(IndexAead(keys, bad), ErrorKind::kCorrupt);
  EXPECT_ERR(IndexAead(keys, ByteSpan(table).subspan(0, kIndexPrefixSize - 1)),
             ErrorKind::kCorrupt);
  // A footer sealed as a block is not a footer.
  EXPECT_ERR(ReadIndexFooter(p->aead, block0), ErrorKind::kCorrupt);
}

// A flipped byte anywhere gives an error where it is read, never wrong data.
TEST(IndexTableTest, FlippedBytesAreErrorsNotWrongData) {
  RepoKeys keys = FixedKeys();
  std::vector<IndexEntry> entries = RandomEntries(2500, 7, 6);
  Bytes table = BuildIndexTable(keys, entries);
  auto good = ParseTable(keys, table);
  ASSERT_OK(good);
  const auto& blocks = good->footer.blocks;
  size_t data_end = blocks.back().offset + blocks.back().length;
  std::vector<std::vector<IndexEntry>> good_blocks;
  for (size_t i = 0; i < blocks.size(); i++) good_blocks.push_back(*ReadBlock(*good, table, i));

  std::mt19937_64 rng(7);
  std::vector<size_t> positions;
  for (size_t i = 0; i < kIndexPrefixSize + 4; i++) positions.push_back(i);
  for (size_t i = data_end - 8; i < table.size(); i++) positions.push_back(i);  // footer, trailer
  for (int i = 0; i < 1500; i++) positions.push_back(rng() % table.size());
  for (size_t pos : positions) {
    Bytes bad = table;
    bad[pos] ^= uint8_t(1 << (rng() % 8));
    auto p = ParseTable(keys, bad);
    bool in_blocks = pos >= kIndexPrefixSize && pos < data_end;
    if (!in_blocks) {
      EXPECT_FALSE(p.has_value()) << "flip at " << pos << " of " << table.size();
      continue;
    }
    ASSERT_TRUE(p.has_value()) << pos << ": " << p.error().message();
    for (size_t i = 0; i < blocks.size(); i++) {
      auto got = ReadBlock(*p, bad, i);
      bool hit = pos >= blocks[i].offset && pos < blocks[i].offset + blocks[i].length;
      if (hit) {
        EXPECT_ERR(got, ErrorKind::kCorrupt) << "flip at " << pos << " in block " << i;
      } else {
        ASSERT_OK(got);
        ASSERT_EQ(got->size(), good_blocks[i].size());
        for (size_t k = 0; k < got->size(); k++)
          ASSERT_TRUE(SameEntry((*got)[k], good_blocks[i][k]));
      }
    }
  }
  // Truncations of the table: the footer no longer parses.
  for (size_t n = 0; n < table.size(); n += 1 + n / 8)
    EXPECT_FALSE(ParseTable(keys, ByteSpan(table).subspan(0, n)).has_value()) << n;
}

}  // namespace
}  // namespace ks
