// Fuzzes ReadIndexFooter and ReadIndexBlock (and the Bloom filter decoder)
// with fixed repository keys. The footer and blocks are parsed only after
// their tags verify, so the first input byte picks a mode:
//   0: the rest is the footer *plaintext*, sealed by the harness with the
//      table key; blocks the footer describes are then filled from the
//      input's bytes (cyclically), sealed with their nonce, and read back;
//   1: the rest is a whole table as stored, read like repo/index does
//      (prefix, trailer length, footer, then every block inside the table),
//      and also registered through Index::AddTable.
// Properties: no crash; errors are kCorrupt; an accepted footer satisfies
// the documented validations; a block decodes to exactly its entry count
// with every pack drawn from the footer's pack list.
#include "format/index_table.h"

#include <cstdlib>
#include <string_view>

#include "backend/mem_backend.h"
#include "repo/index.h"

#include "fuzz_common.h"

namespace {

using namespace ks;

constexpr std::string_view kBlockAad = "KSI1 block";    // docs/design.md 6.3
constexpr std::string_view kFooterAad = "KSI1 footer";
constexpr size_t kMaxBlocksRead = 8;

void CheckFooter(const IndexFooter& f) {
  uint64_t total = 0;
  for (const auto& b : f.blocks) {
    KS_FUZZ_CHECK(b.count >= 1 && b.count <= kIndexBlockEntries);
    KS_FUZZ_CHECK(b.length == b.count * kIndexEntrySize + kAeadTagSize);
    total += b.count;
  }
  KS_FUZZ_CHECK(total == f.count);
  // Filter probes must stay inside the filter.
  for (const Id& p : f.packs) (void)f.filter.MayContain(p);
  for (const auto& b : f.blocks) (void)f.filter.MayContain(b.first);
}

void CheckBlock(const Aead& aead, const IndexFooter& f, size_t i, ByteSpan sealed) {
  auto entries = ReadIndexBlock(aead, f, i, sealed);
  if (!entries) {
    KS_FUZZ_CHECK(entries.error().kind() == ErrorKind::kCorrupt);
    fuzz::Count(3, "block rejected");
    return;
  }
  fuzz::Count(4, "block decoded");
  KS_FUZZ_CHECK(entries->size() == f.blocks[i].count);
  for (const IndexEntry& e : *entries) {
    bool known = false;
    for (const Id& p : f.packs) known |= p == e.pack;
    KS_FUZZ_CHECK(known);
  }
}

void SealedFooterMode(ByteSpan plain, ByteSpan fill) {
  Aead aead(ObjectKey(fuzz::FixedKeys().data, fuzz::FixedSalt()));
  Bytes sealed;
  aead.Seal(kHeaderNonce, AsBytes(kFooterAad), plain, sealed);
  auto f = ReadIndexFooter(aead, sealed);
  if (!f) {
    KS_FUZZ_CHECK(f.error().kind() == ErrorKind::kCorrupt);
    fuzz::Count(0, "footer rejected");
    return;
  }
  fuzz::Count(1, "footer accepted");
  CheckFooter(*f);
  for (size_t i = 0; i < f->blocks.size() && i < kMaxBlocksRead; i++) {
    Bytes block(f->blocks[i].length - kAeadTagSize);
    for (size_t k = 0; k < block.size(); k++)
      block[k] = fill.empty() ? uint8_t(k) : fill[(k + i * 7) % fill.size()];
    Bytes sb;
    aead.Seal(i, AsBytes(kBlockAad), block, sb);
    CheckBlock(aead, *f, i, sb);
  }
  // A sealed block of the wrong length is refused before decryption.
  if (!f->blocks.empty()) {
    Bytes short_block(f->blocks[0].length - 1);
    KS_FUZZ_CHECK(!ReadIndexBlock(aead, *f, 0, short_block).has_value());
  }
  KS_FUZZ_CHECK(!ReadIndexBlock(aead, *f, f->blocks.size(), sealed).has_value());
}

void WholeTableMode(ByteSpan t) {
  if (t.size() < kIndexPrefixSize + 4 + kAeadTagSize) return;
  auto aead = IndexAead(fuzz::FixedKeys(), t);
  if (!aead) {
    KS_FUZZ_CHECK(aead.error().kind() == ErrorKind::kCorrupt);
    return;
  }
  uint32_t flen = GetU32(t.data() + t.size() - 4);
  bool flen_ok = flen <= t.size() - kIndexPrefixSize - 4;
  // Index::AddTable must reject a footer length beyond the table (it once
  // read before the buffer; tests/core/repo_test.cc).
  {
    MemBackend mem;
    Index idx(mem, fuzz::FixedKeys());
    auto st = idx.AddTable("table", t);
    KS_FUZZ_CHECK(!st || idx.table_count() == 1);
    if (!flen_ok) KS_FUZZ_CHECK(!st.has_value());
  }
  if (!flen_ok) return;
  auto f = ReadIndexFooter(*aead, t.subspan(t.size() - 4 - flen, flen));
  if (!f) {
    KS_FUZZ_CHECK(f.error().kind() == ErrorKind::kCorrupt);
    fuzz::Count(0, "footer rejected");
    return;
  }
  fuzz::Count(2, "table footer accepted");
  CheckFooter(*f);
  for (size_t i = 0; i < f->blocks.size() && i < kMaxBlocksRead; i++) {
    const auto& b = f->blocks[i];
    if (b.offset > t.size() || b.length > t.size() - b.offset) continue;
    CheckBlock(*aead, *f, i, t.subspan(b.offset, b.length));
  }
}

Bytes FooterPlain(size_t n_entries, size_t n_packs) {
  Bytes f;
  AppendU64(f, n_entries);
  AppendU32(f, uint32_t(n_packs));
  for (size_t i = 0; i < n_packs; i++) f.insert(f.end(), 32, uint8_t(i + 1));
  size_t nblocks = (n_entries + kIndexBlockEntries - 1) / kIndexBlockEntries;
  AppendU32(f, uint32_t(nblocks));
  uint64_t offset = kIndexPrefixSize;
  for (size_t i = 0; i < nblocks; i++) {
    uint32_t count = uint32_t(std::min(kIndexBlockEntries, n_entries - i * kIndexBlockEntries));
    f.insert(f.end(), 32, uint8_t(i * 16));
    AppendU64(f, offset);
    uint32_t len = uint32_t(count * kIndexEntrySize + kAeadTagSize);
    AppendU32(f, len);
    AppendU32(f, count);
    offset += len;
  }
  BloomFilter bf(n_entries, 10);
  bf.Encode(f);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Cursor c(data, size);
  uint8_t mode = c.U8();
  ByteSpan rest = c.Rest();
  if (mode % 2 == 0) SealedFooterMode(rest, rest);
  else WholeTableMode(rest);
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  std::vector<Bytes> seeds;
  for (auto [n, p] : {std::pair<size_t, size_t>{0, 0}, {3, 1}, {1025, 2}}) {
    Bytes s = {0};
    Append(s, FooterPlain(n, p));
    seeds.push_back(s);
  }
  // Whole tables built by the writer, with the fixed keys.
  for (size_t n : {size_t(0), size_t(2), size_t(1030)}) {
    std::vector<IndexEntry> entries(n);
    for (size_t i = 0; i < n; i++) {
      entries[i].pack.b[0] = uint8_t(i % 3);
      PutU64(entries[i].blob.id.b.data(), i * 0x9e3779b97f4a7c15ull);
      entries[i].blob.offset = uint32_t(36 + i);
      entries[i].blob.length = 116;
      entries[i].blob.raw_length = 100;
    }
    Bytes s = {1};
    Append(s, BuildIndexTable(fuzz::FixedKeys(), entries));
    seeds.push_back(s);
  }
  return seeds;
}
