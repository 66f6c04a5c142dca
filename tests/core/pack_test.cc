#include "format/pack.h"

#include <gtest/gtest.h>

#include <map>

#include "format/tree.h"
#include "test_util.h"

namespace ks {
namespace {

using test::FixedKeys;
using test::PseudoRandom;
using test::SampleText;

struct Built {
  PackWriter::Finished f;
  std::map<Id, Bytes> plain;  // blob id -> plaintext
};

// A pack with data blobs (random and compressed text, including an empty
// one) and tree blobs.
Built BuildPack(const RepoKeys& keys, int n_random, int n_text, size_t max_len, uint64_t seed) {
  Built b;
  PackWriter w(keys);
  std::mt19937_64 rng(seed);
  auto add = [&](BlobType t, const Bytes& plain) {
    Bytes payload;
    Compression c = MaybeCompress(plain, 3, payload);
    Id id = keys.BlobId(plain);
    if (b.plain.count(id)) return;
    w.Add(t, id, c, payload, uint32_t(plain.size()));
    b.plain[id] = plain;
  };
  add(BlobType::kData, Bytes{});
  for (int i = 0; i < n_random; i++) add(BlobType::kData, PseudoRandom(rng() % max_len, rng()));
  for (int i = 0; i < n_text; i++) add(BlobType::kData, SampleText(64 + rng() % max_len, rng()));
  for (int i = 0; i < 2; i++) {
    Node n;
    n.type = NodeType::kFile;
    n.name = "file-" + std::to_string(seed) + "-" + std::to_string(i);
    n.size = rng();
    add(BlobType::kTree, EncodeTree({n}));
  }
  EXPECT_EQ(w.count(), b.plain.size());
  size_t size_before = w.size();
  b.f = w.Finish();
  EXPECT_GT(b.f.bytes.size(), size_before);
  return b;
}

Result<Bytes> OpenIn(const RepoKeys& keys, ByteSpan pack, const PackEntry& e) {
  KS_ASSIGN(Aead aead, PackAead(keys, pack));
  if (uint64_t(e.offset) + e.length > pack.size())
    return Fail(ErrorKind::kCorrupt, "entry beyond the pack");
  return OpenBlob(aead, e, pack.subspan(e.offset, e.length));
}

TEST(PackTest, WriteReadRoundTrip) {
  RepoKeys keys = FixedKeys();
  Built b = BuildPack(keys, 6, 4, 3000, 1);
  const auto& f = b.f;
  EXPECT_EQ(f.storage_id, Sha256(f.bytes));
  ASSERT_EQ(f.entries.size(), b.plain.size());
  // Layout: magic, salt, sealed blobs back to back, sealed header, u32 length.
  EXPECT_EQ(Bytes(f.bytes.begin(), f.bytes.begin() + 4), Bytes({'K', 'S', 'P', '1'}));
  uint32_t expect_offset = kPackPrefixSize;
  int compressed = 0, trees = 0;
  for (const PackEntry& e : f.entries) {
    EXPECT_EQ(e.offset, expect_offset);
    expect_offset += e.length;
    ASSERT_TRUE(b.plain.count(e.id));
    EXPECT_EQ(e.raw_length, b.plain[e.id].size());
    if (e.compression == Compression::kZstd) {
      compressed++;
      EXPECT_LT(e.length, e.raw_length + kAeadTagSize);
    } else {
      EXPECT_EQ(e.length, e.raw_length + kAeadTagSize);
    }
    trees += e.type == BlobType::kTree;
  }
  EXPECT_GE(compressed, 4);
  EXPECT_EQ(trees, 2);
  uint32_t hlen = GetU32(f.bytes.data() + f.bytes.size() - 4);
  EXPECT_EQ(hlen, 4 + f.entries.size() * kPackEntrySize + kAeadTagSize);
  EXPECT_EQ(expect_offset + hlen + 4, f.bytes.size());

  auto header = ReadPackHeader(keys, f.bytes);
  ASSERT_OK(header);
  EXPECT_EQ(*header, f.entries);
  for (const PackEntry& e : *header) {
    auto blob = OpenIn(keys, f.bytes, e);
    ASSERT_OK(blob);
    EXPECT_EQ(*blob, b.plain[e.id]);
  }
}

TEST(PackTest, EmptyPack) {
  RepoKeys keys = FixedKeys();
  PackWriter w(keys);
  auto f = w.Finish();
  EXPECT_EQ(f.bytes.size(), kPackPrefixSize + 4 + kAeadTagSize + 4);
  auto header = ReadPackHeader(keys, f.bytes);
  ASSERT_OK(header);
  EXPECT_TRUE(header->empty());
}

TEST(PackTest, FreshSaltPerPack) {
  RepoKeys keys = FixedKeys();
  Bytes plain = SampleText(1000);
  Id id = keys.BlobId(plain);
  PackWriter a(keys), b(keys);
  a.Add(BlobType::kData, id, Compression::kNone, plain, 1000);
  b.Add(BlobType::kData, id, Compression::kNone, plain, 1000);
  auto fa = a.Finish(), fb = b.Finish();
  EXPECT_NE(fa.bytes, fb.bytes);
  EXPECT_NE(fa.storage_id, fb.storage_id);
  EXPECT_EQ(fa.entries, fb.entries);
  // A record from one pack does not open with the other pack's key.
  const PackEntry& e = fa.entries[0];
  auto aead_b = PackAead(keys, fb.bytes);
  ASSERT_OK(aead_b);
  EXPECT_ERR(OpenBlob(*aead_b, e, ByteSpan(fa.bytes).subspan(e.offset, e.length)),
             ErrorKind::kCorrupt);
  // Nor with another repository's keys.
  EXPECT_ERR(ReadPackHeader(FixedKeys(2), fa.bytes), ErrorKind::kCorrupt);
  EXPECT_ERR(OpenIn(FixedKeys(2), fa.bytes, e), ErrorKind::kCorrupt);
}

TEST(PackTest, EntryMustMatchRecord) {
  RepoKeys keys = FixedKeys();
  Built b = BuildPack(keys, 3, 3, 2000, 2);
  const auto& f = b.f;
  auto aead = PackAead(keys, f.bytes);
  ASSERT_OK(aead);
  for (const PackEntry& e : f.entries) {
    ByteSpan rec = ByteSpan(f.bytes).subspan(e.offset, e.length);
    ASSERT_OK(OpenBlob(*aead, e, rec));
    PackEntry x = e;
    x.id.b[0] ^= 1;  // an index pointing at the wrong blob
    EXPECT_ERR(OpenBlob(*aead, x, rec), ErrorKind::kCorrupt);
    x = e;
    x.type = e.type == BlobType::kData ? BlobType::kTree : BlobType::kData;
    EXPECT_ERR(OpenBlob(*aead, x, rec), ErrorKind::kCorrupt);
    x = e;
    x.compression = e.compression == Compression::kNone ? Compression::kZstd : Compression::kNone;
    EXPECT_ERR(OpenBlob(*aead, x, rec), ErrorKind::kCorrupt);
    x = e;
    x.raw_length++;
    EXPECT_ERR(OpenBlob(*aead, x, rec), ErrorKind::kCorrupt);
    x = e;
    x.offset += 1;  // nonce of another position
    EXPECT_ERR(OpenBlob(*aead, x, rec), ErrorKind::kCorrupt);
    x = e;
    x.length -= 1;
    EXPECT_ERR(OpenBlob(*aead, x, rec), ErrorKind::kCorrupt);
    EXPECT_ERR(OpenBlob(*aead, e, rec.subspan(0, rec.size() - 1)), ErrorKind::kCorrupt);
  }
  EXPECT_ERR(PackAead(keys, ByteSpan(f.bytes).subspan(0, kPackPrefixSize - 1)),
             ErrorKind::kCorrupt);
  Bytes bad_magic(f.bytes.begin(), f.bytes.end());
  bad_magic[3] = '2';
  EXPECT_ERR(PackAead(keys, bad_magic), ErrorKind::kCorrupt);
}

// Flips one byte at `pos` and checks that the damage is detected exactly
// where it is: in the prefix or header/trailer the header fails; inside a
// blob record only that blob fails. No call ever returns wrong plaintext.
// With `sample`, only the hit blob and the first and last are opened.
void CheckFlip(const RepoKeys& keys, const Built& b, size_t pos, uint8_t mask,
               bool sample = false) {
  const auto& f = b.f;
  Bytes bad(f.bytes.begin(), f.bytes.end());
  bad[pos] ^= mask;
  size_t data_end = f.bytes.size() - 4 - GetU32(f.bytes.data() + f.bytes.size() - 4);
  auto header = ReadPackHeader(keys, bad);
  bool in_blob = pos >= kPackPrefixSize && pos < data_end;
  if (!in_blob) {
    EXPECT_FALSE(header.has_value()) << "flip at " << pos << " not detected by the header";
    if (!header) {
      EXPECT_EQ(header.error().kind(), ErrorKind::kCorrupt);
    }
  } else {
    ASSERT_TRUE(header.has_value()) << "flip at " << pos << ": " << header.error().message();
    EXPECT_EQ(*header, f.entries);
  }
  // Whatever the header says, every blob either fails or is exactly right.
  int failed = 0, opened = 0;
  for (size_t i = 0; i < f.entries.size(); i++) {
    const PackEntry& e = f.entries[i];
    bool hit = pos >= e.offset && pos < e.offset + e.length;
    if (sample && !hit && i != 0 && i + 1 != f.entries.size()) continue;
    opened++;
    auto blob = OpenIn(keys, bad, e);
    if (blob) {
      EXPECT_EQ(*blob, b.plain.at(e.id)) << "wrong plaintext after flip at " << pos;
      EXPECT_FALSE(hit) << "flip at " << pos << " inside the record went unnoticed";
      EXPECT_TRUE(pos >= kPackPrefixSize) << "salt flip at " << pos << " went unnoticed";
    } else {
      EXPECT_EQ(blob.error().kind(), ErrorKind::kCorrupt);
      failed++;
    }
  }
  int want_failed = in_blob ? 1 : pos < kPackPrefixSize ? opened : 0;
  EXPECT_EQ(failed, want_failed) << "flip at " << pos;
}

TEST(PackTest, EveryByteFlipDetectedSmallPack) {
  RepoKeys keys = FixedKeys();
  Built b = BuildPack(keys, 4, 3, 300, 3);
  ASSERT_LT(b.f.bytes.size(), 4000u);
  for (size_t pos = 0; pos < b.f.bytes.size(); pos++) {
    CheckFlip(keys, b, pos, 0x01);
    if (HasFailure()) return;
  }
  for (size_t pos = 0; pos < b.f.bytes.size(); pos += 5) CheckFlip(keys, b, pos, 0xff);
}

TEST(PackTest, SampledByteFlipsDetectedBigPack) {
  RepoKeys keys = FixedKeys();
  Built b = BuildPack(keys, 40, 20, 40000, 4);
  ASSERT_GT(b.f.bytes.size(), 500000u);
  std::mt19937_64 rng(99);
  for (int i = 0; i < 2000; i++) {
    CheckFlip(keys, b, rng() % b.f.bytes.size(), uint8_t(1 << (rng() % 8)), /*sample=*/true);
    if (HasFailure()) return;
  }
  // All of the trailer and the end of the header.
  for (size_t pos = b.f.bytes.size() - 64; pos < b.f.bytes.size(); pos++)
    CheckFlip(keys, b, pos, 0x80, /*sample=*/true);
}

TEST(PackTest, TruncationAndExtensionFailCleanly) {
  RepoKeys keys = FixedKeys();
  Built b = BuildPack(keys, 3, 2, 500, 5);
  const Bytes bytes(b.f.bytes.begin(), b.f.bytes.end());
  for (size_t n = 0; n < bytes.size(); n++)
    EXPECT_ERR(ReadPackHeader(keys, ByteSpan(bytes).subspan(0, n)), ErrorKind::kCorrupt) << n;
  // Appending bytes moves the trailer: must fail as well.
  for (Bytes tail : {Bytes{0}, Bytes{0, 0, 0, 0}, Bytes(bytes.end() - 4, bytes.end())}) {
    Bytes longer = bytes;
    longer.insert(longer.end(), tail.begin(), tail.end());
    EXPECT_ERR(ReadPackHeader(keys, longer), ErrorKind::kCorrupt);
  }
  // Removing a byte anywhere in the data area shifts the header.
  Bytes shorter = bytes;
  shorter.erase(shorter.begin() + kPackPrefixSize + 3);
  EXPECT_ERR(ReadPackHeader(keys, shorter), ErrorKind::kCorrupt);
}

}  // namespace
}  // namespace ks
