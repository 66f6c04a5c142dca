// Fuzzes ReadPackHeader and OpenBlob with fixed repository keys.
//
// The pack header is parsed only after its tag verifies, so random bytes
// never get past Aead::Open. The first input byte picks a mode:
//   0: the rest is the header *plaintext*; the harness builds a pack around
//      it (magic, fixed salt, a data area whose size is given by the next two
//      bytes, the header sealed with the pack key, the length trailer), so the
//      entry parser and its range checks get the fuzzer's bytes;
//   1: the rest is a whole pack, as stored (framing, lengths, tag);
//   2: the rest is one blob record's entry fields and payload, sealed by the
//      harness with the right nonce and associated data, so OpenBlob's
//      decompression sees the fuzzer's bytes.
// Properties: no crash; errors are kCorrupt; every entry that
// ReadPackHeader returns lies inside the data area (the harness then reads it
// through exactly that span); OpenBlob output has exactly raw_length bytes.
#include "format/pack.h"

#include <string_view>

#include "fuzz_common.h"

namespace {

using namespace ks;

constexpr std::string_view kHeaderAad = "KSP1 header";  // docs/design.md 6.1

Bytes Prefix() {
  Bytes p(kPackMagic, kPackMagic + 4);
  Bytes salt = fuzz::FixedSalt();
  Append(p, salt);
  return p;
}

Aead PackKey() { return Aead(ObjectKey(fuzz::FixedKeys().data, fuzz::FixedSalt())); }

Bytes PackAroundHeader(size_t data_len, ByteSpan header_plain) {
  Bytes pack = Prefix();
  for (size_t i = 0; i < data_len; i++) pack.push_back(uint8_t(i * 31 + 7));
  size_t before = pack.size();
  PackKey().Seal(kHeaderNonce, AsBytes(kHeaderAad), header_plain, pack);
  AppendU32(pack, uint32_t(pack.size() - before));
  return pack;
}

void CheckPack(ByteSpan pack) {
  auto entries = ReadPackHeader(fuzz::FixedKeys(), pack);
  if (!entries) {
    KS_FUZZ_CHECK(entries.error().kind() == ErrorKind::kCorrupt);
    fuzz::Count(0, "header rejected");
    return;
  }
  fuzz::Count(1, "header accepted");
  KS_FUZZ_CHECK(pack.size() >= kPackPrefixSize + 4 + kAeadTagSize);
  uint32_t hlen = GetU32(pack.data() + pack.size() - 4);
  size_t data_end = pack.size() - 4 - hlen;
  KS_FUZZ_CHECK(entries->size() <= kMaxPackHeaderEntries);
  auto aead = PackAead(fuzz::FixedKeys(), pack);
  KS_FUZZ_CHECK(aead.has_value());
  for (const PackEntry& e : *entries) {
    KS_FUZZ_CHECK(e.type == BlobType::kData || e.type == BlobType::kTree);
    KS_FUZZ_CHECK(e.offset >= kPackPrefixSize);
    KS_FUZZ_CHECK(e.length >= kAeadTagSize);
    KS_FUZZ_CHECK(uint64_t(e.offset) + e.length <= data_end);
    auto blob = OpenBlob(*aead, e, pack.subspan(e.offset, e.length));
    if (blob) {
      KS_FUZZ_CHECK(blob->size() == e.raw_length);
      fuzz::Count(2, "blob opened");
    }
  }
}

void CheckBlob(fuzz::Cursor& c) {
  PackEntry e;
  e.type = BlobType(c.U8());
  e.compression = Compression(c.U8());
  e.offset = kPackPrefixSize + c.U16();
  // raw_length may reach 4 GiB and Decompress allocates it up front (a
  // documented limit, docs/design.md T7); keep it small to fuzz the rest.
  e.raw_length = uint32_t(c.U16()) | uint32_t(c.U8() & 0x0f) << 16;
  ByteSpan payload = c.Rest();
  for (size_t i = 0; i < 32; i++) e.id.b[i] = uint8_t(i);
  e.length = uint32_t(payload.size() + kAeadTagSize);
  Bytes sealed;
  Aead aead = PackKey();
  aead.Seal(e.offset, BlobAad(e), payload, sealed);
  auto blob = OpenBlob(aead, e, sealed);
  if (!blob) {
    KS_FUZZ_CHECK(blob.error().kind() == ErrorKind::kCorrupt);
    fuzz::Count(3, "blob rejected");
    return;
  }
  KS_FUZZ_CHECK(blob->size() == e.raw_length);
  if (e.compression == Compression::kNone) KS_FUZZ_CHECK(*blob == Bytes(payload.begin(), payload.end()));
  fuzz::Count(4, "blob decoded");
  // The same record under any other entry fields fails.
  PackEntry other = e;
  other.raw_length ^= 1;
  KS_FUZZ_CHECK(!OpenBlob(aead, other, sealed).has_value());
}

Bytes EncodeHeader(const std::vector<PackEntry>& entries) {
  Bytes h;
  AppendU32(h, uint32_t(entries.size()));
  for (const PackEntry& e : entries) {
    h.push_back(uint8_t(e.type));
    h.push_back(uint8_t(e.compression));
    Append(h, e.id.b);
    AppendU32(h, e.offset);
    AppendU32(h, e.length);
    AppendU32(h, e.raw_length);
  }
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Cursor c(data, size);
  switch (c.U8() % 3) {
    case 0: {
      size_t data_len = c.U16();
      Bytes pack = PackAroundHeader(data_len, c.Rest());
      CheckPack(pack);
      break;
    }
    case 1:
      CheckPack(c.Rest());
      break;
    default:
      CheckBlob(c);
      break;
  }
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  std::vector<Bytes> seeds;
  // Mode 0: a header with two entries inside a 200-byte data area.
  PackEntry a{BlobType::kData, Compression::kNone, Id{}, 36, 100, 84};
  PackEntry b{BlobType::kTree, Compression::kZstd, Id{}, 136, 100, 300};
  b.id.b[0] = 1;
  Bytes s = {0, 200, 0};
  Append(s, EncodeHeader({a, b}));
  seeds.push_back(s);
  seeds.push_back(Bytes{0, 0, 0, 0, 0, 0, 0});  // empty header
  // Mode 1: real packs written by PackWriter with the fixed keys.
  for (int n : {0, 1, 3}) {
    PackWriter w(fuzz::FixedKeys());
    for (int i = 0; i < n; i++) {
      Bytes plain(100 + 50 * i, uint8_t('a' + i));
      Bytes payload;
      Compression comp = MaybeCompress(plain, 3, payload);
      w.Add(i % 2 ? BlobType::kTree : BlobType::kData, fuzz::FixedKeys().BlobId(plain), comp,
            payload, uint32_t(plain.size()));
    }
    Bytes p = {1};
    Append(p, w.Finish().bytes);
    seeds.push_back(p);
  }
  // Mode 2: a plain and a zstd blob.
  Bytes plain = {2, 1, 0, 0, 0, 5, 0, 0};  // data, none, offset +0, raw 5
  Append(plain, AsBytes("hello"));
  seeds.push_back(plain);
  Bytes text(1000, 'k');
  Bytes z;
  MaybeCompress(text, 3, z);
  Bytes zs = {2, 1, 1, 10, 0, 0xe8, 0x03, 0};  // data, zstd, offset +10, raw 1000
  Append(zs, z);
  seeds.push_back(zs);
  // Mode 2: 16-bit samples stored as zstd of byte planes (70000 bytes).
  Bytes samples(70000);
  for (size_t i = 0; i + 1 < samples.size(); i += 2) {
    uint16_t v = uint16_t(2000 + i / 64 + (i * 7919 % 13));
    samples[i] = uint8_t(v);
    samples[i + 1] = uint8_t(v >> 8);
  }
  Bytes planes;
  if (MaybeCompress(samples, 2, planes, true) == Compression::kZstdShuffle2) {
    Bytes ps = {2, 1, 2, 0, 0, 0x70, 0x11, 0x01};  // data, planes, offset +0, raw 70000
    Append(ps, planes);
    seeds.push_back(ps);
  }
  return seeds;
}
