#include "format/pack.h"

#include <cstring>

namespace ks {
namespace {

constexpr std::string_view kHeaderAad = "KSP1 header";

void EncodeEntry(const PackEntry& e, Bytes& out) {
  out.push_back(uint8_t(e.type));
  out.push_back(uint8_t(e.compression));
  Append(out, e.id.b);
  AppendU32(out, e.offset);
  AppendU32(out, e.length);
  AppendU32(out, e.raw_length);
}

}  // namespace

Bytes BlobAad(const PackEntry& e) {
  Bytes aad;
  aad.reserve(38);
  aad.push_back(uint8_t(e.type));
  aad.push_back(uint8_t(e.compression));
  Append(aad, e.id.b);
  AppendU32(aad, e.raw_length);
  return aad;
}

static Key32 NewSaltedKey(const RepoKeys& keys, UninitBytes& buf) {
  buf.assign(kPackMagic, kPackMagic + 4);
  buf.resize(kPackPrefixSize);
  RandomBytes(buf.data() + 4, kSaltSize);
  return ObjectKey(keys.data, ByteSpan(buf.data() + 4, kSaltSize));
}

PackWriter::PackWriter(const RepoKeys& keys, UninitBytes buffer)
    : buf_(std::move(buffer)), aead_(NewSaltedKey(keys, buf_)) {
  // One allocation for a whole pack: growing by doubling would briefly hold
  // two copies and round a 16 MiB pack up to 32 MiB.
  buf_.reserve(kPackReserve);
}

void PackWriter::Add(BlobType type, const Id& id, Compression compression, ByteSpan payload,
                     uint32_t raw_length) {
  PackEntry e{type, compression, id, uint32_t(buf_.size()),
              uint32_t(payload.size() + kAeadTagSize), raw_length};
  buf_.resize(e.offset + e.length);
  aead_.SealTo(e.offset, BlobAad(e), payload, buf_.data() + e.offset);
  entries_.push_back(e);
}

PackWriter::Finished PackWriter::Finish() {
  Bytes header;
  header.reserve(4 + entries_.size() * kPackEntrySize);
  AppendU32(header, uint32_t(entries_.size()));
  for (const auto& e : entries_) EncodeEntry(e, header);
  const size_t before = buf_.size(), sealed = header.size() + kAeadTagSize;
  buf_.resize(before + sealed + 4);
  aead_.SealTo(kHeaderNonce, AsBytes(kHeaderAad), header, buf_.data() + before);
  PutU32(buf_.data() + before + sealed, uint32_t(sealed));
  Finished f;
  f.storage_id = Sha256(buf_);
  f.bytes = std::move(buf_);
  f.entries = std::move(entries_);
  return f;
}

Result<Aead> PackAead(const RepoKeys& keys, ByteSpan prefix) {
  if (prefix.size() < kPackPrefixSize || std::memcmp(prefix.data(), kPackMagic, 4) != 0)
    return Fail(ErrorKind::kCorrupt, "not a pack (bad magic)");
  return Aead(ObjectKey(keys.data, prefix.subspan(4, kSaltSize)));
}

Result<Bytes> OpenBlob(const Aead& aead, const PackEntry& e, ByteSpan sealed) {
  if (sealed.size() != e.length || e.length < kAeadTagSize)
    return Fail(ErrorKind::kCorrupt, "blob record has the wrong length");
  Bytes out;
  if (e.compression == Compression::kNone) {
    // Stored as is: decrypt straight into the result, not via a copy.
    KS_TRY(aead.Open(e.offset, BlobAad(e), sealed, out));
    if (out.size() != e.raw_length)
      return Fail(ErrorKind::kCorrupt, "stored blob has the wrong length");
    return out;
  }
  thread_local Bytes plain;
  KS_TRY(aead.Open(e.offset, BlobAad(e), sealed, plain));
  KS_TRY(Decompress(e.compression, plain, e.raw_length, out));
  return out;
}

Result<std::vector<PackEntry>> ReadPackHeader(const RepoKeys& keys, ByteSpan pack) {
  if (pack.size() < kPackPrefixSize + 4 + kAeadTagSize)
    return Fail(ErrorKind::kCorrupt, "pack too short");
  KS_ASSIGN(Aead aead, PackAead(keys, pack));
  uint32_t hlen = GetU32(pack.data() + pack.size() - 4);
  if (hlen < kAeadTagSize + 4 || hlen > pack.size() - kPackPrefixSize - 4)
    return Fail(ErrorKind::kCorrupt, "pack header length out of range");
  ByteSpan sealed = pack.subspan(pack.size() - 4 - hlen, hlen);
  Bytes header;
  KS_TRY(aead.Open(kHeaderNonce, AsBytes(kHeaderAad), sealed, header));
  uint32_t count = GetU32(header.data());
  if (count > kMaxPackHeaderEntries || header.size() != 4 + size_t(count) * kPackEntrySize)
    return Fail(ErrorKind::kCorrupt, "pack header has the wrong size");
  std::vector<PackEntry> entries(count);
  const uint8_t* p = header.data() + 4;
  size_t data_end = pack.size() - 4 - hlen;
  for (auto& e : entries) {
    e.type = BlobType(p[0]);
    e.compression = Compression(p[1]);
    std::memcpy(e.id.b.data(), p + 2, 32);
    e.offset = GetU32(p + 34);
    e.length = GetU32(p + 38);
    e.raw_length = GetU32(p + 42);
    p += kPackEntrySize;
    if ((e.type != BlobType::kData && e.type != BlobType::kTree) ||
        e.offset < kPackPrefixSize || uint64_t(e.offset) + e.length > data_end ||
        e.length < kAeadTagSize)
      return Fail(ErrorKind::kCorrupt, "pack header entry out of range");
  }
  return entries;
}

}  // namespace ks
