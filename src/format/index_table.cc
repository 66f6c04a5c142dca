#include "format/index_table.h"

#include <algorithm>
#include <cstring>

#include "format/varint.h"

namespace ks {
namespace {

constexpr uint8_t kMagic[4] = {'K', 'S', 'I', '1'};
constexpr std::string_view kBlockAad = "KSI1 block";
constexpr std::string_view kFooterAad = "KSI1 footer";

}  // namespace

BloomFilter::BloomFilter(uint64_t n, uint32_t bits_per_item) {
  nbits_ = std::max<uint64_t>(64, n * bits_per_item);
  nbits_ = (nbits_ + 7) / 8 * 8;
  // k = ln 2 * bits per item minimises false positives.
  hashes_ = std::max<uint32_t>(1, uint32_t(bits_per_item * 0.69 + 0.5));
  bits_.assign(nbits_ / 8, 0);
}

// Maps a 64-bit hash onto [0, nbits) by multiply-shift (Lemire's fast
// range reduction): uniform for uniform hashes, and no 64-bit division.
static inline uint64_t Reduce(uint64_t h, uint64_t n) {
  return uint64_t((static_cast<unsigned __int128>(h) * n) >> 64);
}

void BloomFilter::Add(const Id& id) {
  uint64_t h1 = GetU64(id.b.data()), h2 = GetU64(id.b.data() + 8) | 1;
  for (uint32_t i = 0; i < hashes_; i++) {
    uint64_t bit = Reduce(h1 + i * h2, nbits_);
    bits_[bit / 8] |= uint8_t(1 << (bit % 8));
  }
}

bool BloomFilter::MayContain(const Id& id) const {
  if (nbits_ == 0) return false;
  uint64_t h1 = GetU64(id.b.data()), h2 = GetU64(id.b.data() + 8) | 1;
  for (uint32_t i = 0; i < hashes_; i++) {
    uint64_t bit = Reduce(h1 + i * h2, nbits_);
    if (!(bits_[bit / 8] & (1 << (bit % 8)))) return false;
  }
  return true;
}

void BloomFilter::Encode(Bytes& out) const {
  AppendU32(out, hashes_);
  AppendU64(out, nbits_);
  Append(out, bits_);
}

std::optional<BloomFilter> BloomFilter::Decode(ByteSpan d) {
  if (d.size() < 12) return std::nullopt;
  BloomFilter f;
  f.hashes_ = GetU32(d.data());
  f.nbits_ = GetU64(d.data() + 4);
  if (f.hashes_ == 0 || f.hashes_ > 32 || f.nbits_ % 8 || f.nbits_ / 8 != d.size() - 12)
    return std::nullopt;
  f.bits_.assign(d.begin() + 12, d.end());
  return f;
}

Result<Aead> IndexAead(const RepoKeys& keys, ByteSpan prefix) {
  if (prefix.size() < kIndexPrefixSize || std::memcmp(prefix.data(), kMagic, 4) != 0)
    return Fail(ErrorKind::kCorrupt, "not an index table (bad magic)");
  return Aead(ObjectKey(keys.data, prefix.subspan(4, kSaltSize)));
}

Bytes BuildIndexTable(const RepoKeys& keys, std::vector<IndexEntry> entries,
                      size_t block_entries) {
  std::sort(entries.begin(), entries.end(),
            [](const IndexEntry& a, const IndexEntry& b) { return a.blob.id < b.blob.id; });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const IndexEntry& a, const IndexEntry& b) {
                              return a.blob.id == b.blob.id;
                            }),
                entries.end());
  IndexFooter footer;
  footer.count = entries.size();
  footer.filter = BloomFilter(entries.size(), 10);
  {
    std::vector<Id> packs;
    for (const auto& e : entries) packs.push_back(e.pack);
    std::sort(packs.begin(), packs.end());
    packs.erase(std::unique(packs.begin(), packs.end()), packs.end());
    footer.packs = std::move(packs);
  }
  auto ordinal = [&](const Id& p) {
    return uint32_t(std::lower_bound(footer.packs.begin(), footer.packs.end(), p) -
                    footer.packs.begin());
  };

  Bytes out(kMagic, kMagic + 4);
  out.resize(kIndexPrefixSize);
  RandomBytes(out.data() + 4, kSaltSize);
  Aead aead(ObjectKey(keys.data, ByteSpan(out.data() + 4, kSaltSize)));
  block_entries = std::max<size_t>(block_entries, 1);
  for (size_t start = 0; start < entries.size(); start += block_entries) {
    size_t end = std::min(entries.size(), start + block_entries);
    Bytes block;
    block.reserve((end - start) * kIndexEntrySize);
    for (size_t i = start; i < end; i++) {
      const auto& e = entries[i];
      footer.filter.Add(e.blob.id);
      Append(block, e.blob.id.b);
      AppendU32(block, ordinal(e.pack));
      AppendU32(block, e.blob.offset);
      AppendU32(block, e.blob.length);
      AppendU32(block, e.blob.raw_length);
      block.push_back(uint8_t(e.blob.type));
      block.push_back(uint8_t(e.blob.compression));
    }
    IndexFooter::Block b{entries[start].blob.id, out.size(), 0, uint32_t(end - start)};
    aead.Seal(footer.blocks.size(), AsBytes(kBlockAad), block, out);
    b.length = uint32_t(out.size() - b.offset);
    footer.blocks.push_back(b);
  }
  Bytes f;
  AppendU64(f, footer.count);
  AppendU32(f, uint32_t(footer.packs.size()));
  for (const Id& p : footer.packs) Append(f, p.b);
  AppendU32(f, uint32_t(footer.blocks.size()));
  for (const auto& b : footer.blocks) {
    Append(f, b.first.b);
    AppendU64(f, b.offset);
    AppendU32(f, b.length);
    AppendU32(f, b.count);
  }
  footer.filter.Encode(f);
  size_t before = out.size();
  aead.Seal(kHeaderNonce, AsBytes(kFooterAad), f, out);
  AppendU32(out, uint32_t(out.size() - before));
  return out;
}

Result<IndexFooter> ReadIndexFooter(const Aead& aead, ByteSpan sealed) {
  Bytes f;
  KS_TRY(aead.Open(kHeaderNonce, AsBytes(kFooterAad), sealed, f));
  auto bad = [] { return Fail(ErrorKind::kCorrupt, "index table footer is malformed"); };
  Reader r(f);
  IndexFooter footer;
  auto u64 = [&](uint64_t& v) {
    auto s = r.Take(8);
    if (s) v = GetU64(s->data());
    return bool(s);
  };
  auto u32 = [&](uint32_t& v) {
    auto s = r.Take(4);
    if (s) v = GetU32(s->data());
    return bool(s);
  };
  uint32_t npacks = 0, nblocks = 0;
  if (!u64(footer.count) || !u32(npacks) || npacks > r.remaining() / 32) return bad();
  footer.packs.resize(npacks);
  for (auto& p : footer.packs) p = Id::FromBytes(*r.Take(32));
  if (!u32(nblocks) || nblocks > r.remaining() / 48) return bad();
  footer.blocks.resize(nblocks);
  uint64_t total = 0;
  for (auto& b : footer.blocks) {
    b.first = Id::FromBytes(*r.Take(32));
    if (!u64(b.offset) || !u32(b.length) || !u32(b.count)) return bad();
    if (b.count == 0 || b.count > kIndexBlockMaxEntries ||
        b.length != b.count * kIndexEntrySize + kAeadTagSize)
      return bad();
    total += b.count;
  }
  if (total != footer.count) return bad();
  auto filter = BloomFilter::Decode(*r.Take(r.remaining()));
  if (!filter) return bad();
  footer.filter = std::move(*filter);
  return footer;
}

Result<Bytes> OpenIndexBlock(const Aead& aead, const IndexFooter& footer, size_t i,
                             ByteSpan sealed) {
  if (i >= footer.blocks.size() || sealed.size() != footer.blocks[i].length)
    return Fail(ErrorKind::kCorrupt, "index block has the wrong length");
  Bytes plain;
  KS_TRY(aead.Open(i, AsBytes(kBlockAad), sealed, plain));
  return plain;
}

Result<IndexEntry> DecodeIndexRecord(const IndexFooter& footer, const uint8_t* p) {
  IndexEntry e;
  e.blob.id = Id::FromBytes(ByteSpan(p, 32));
  uint32_t ord = GetU32(p + 32);
  if (ord >= footer.packs.size())
    return Fail(ErrorKind::kCorrupt, "index entry names an unknown pack");
  e.pack = footer.packs[ord];
  e.blob.offset = GetU32(p + 36);
  e.blob.length = GetU32(p + 40);
  e.blob.raw_length = GetU32(p + 44);
  e.blob.type = BlobType(p[48]);
  e.blob.compression = Compression(p[49]);
  return e;
}

namespace {
uint64_t LoadBigEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];  // one load and a byte swap
  return v;
}
}  // namespace

std::optional<size_t> FindIndexRecord(ByteSpan plain, const Id& id) {
  // Ids are keyed hashes: their first 8 bytes, compared as a big-endian
  // number, order two of them the way memcmp would and almost always
  // decide. A library call per step of the search cost more than the
  // search itself in a no-change backup.
  const uint64_t key = LoadBigEndian64(id.b.data());
  size_t lo = 0, hi = plain.size() / kIndexEntrySize;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const uint8_t* rec = plain.data() + mid * kIndexEntrySize;
    const uint64_t head = LoadBigEndian64(rec);
    int c = head < key ? -1 : head > key ? 1 : std::memcmp(rec + 8, id.b.data() + 8, 24);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return std::nullopt;
}

Result<std::vector<IndexEntry>> ReadIndexBlock(const Aead& aead, const IndexFooter& footer,
                                               size_t i, ByteSpan sealed) {
  KS_ASSIGN(Bytes plain, OpenIndexBlock(aead, footer, i, sealed));
  if (plain.size() != uint64_t(footer.blocks[i].count) * kIndexEntrySize)
    return Fail(ErrorKind::kCorrupt, "index block holds a different number of records than its footer says");
  std::vector<IndexEntry> out;
  out.reserve(footer.blocks[i].count);
  for (size_t r = 0; r < footer.blocks[i].count; r++) {
    KS_ASSIGN(IndexEntry e, DecodeIndexRecord(footer, plain.data() + r * kIndexEntrySize));
    out.push_back(e);
  }
  return out;
}

Result<std::vector<IndexEntry>> DecodeIndexTable(const RepoKeys& keys, ByteSpan table) {
  if (table.size() < kIndexPrefixSize + 4 + kAeadTagSize)
    return Fail(ErrorKind::kCorrupt, "index table is truncated");
  KS_ASSIGN(Aead aead, IndexAead(keys, table));
  uint32_t flen = GetU32(table.data() + table.size() - 4);
  if (flen > table.size() - kIndexPrefixSize - 4)
    return Fail(ErrorKind::kCorrupt, "index table has a bad footer length");
  KS_ASSIGN(IndexFooter footer, ReadIndexFooter(aead, table.subspan(table.size() - 4 - flen, flen)));
  std::vector<IndexEntry> out;
  for (size_t i = 0; i < footer.blocks.size(); i++) {
    const auto& b = footer.blocks[i];
    if (b.offset > table.size() || b.length > table.size() - b.offset)
      return Fail(ErrorKind::kCorrupt, "index table block lies outside the table");
    KS_ASSIGN(auto entries, ReadIndexBlock(aead, footer, i, table.subspan(b.offset, b.length)));
    out.insert(out.end(), entries.begin(), entries.end());
  }
  return out;
}

}  // namespace ks
