// Pack objects: many encrypted blobs in one stored object, with an encrypted
// header at the end so a pack can be read without the index.
// Byte layout: docs/design.md, "Pack format". Pure: buffers in and out.
#pragma once

#include <cstdint>
#include <vector>

#include "compress/compress.h"
#include "crypto/master_key.h"
#include "util/bytes.h"
#include "util/status.h"

namespace ks {

enum class BlobType : uint8_t { kData = 1, kTree = 2 };

constexpr uint8_t kPackMagic[4] = {'K', 'S', 'P', '1'};
constexpr size_t kPackPrefixSize = 4 + 32;  // magic, salt
constexpr size_t kPackEntrySize = 1 + 1 + 32 + 4 + 4 + 4;
constexpr size_t kMaxPackHeaderEntries = 1 << 20;
// Default pack size (16 MiB) plus one maximal chunk (8 MiB) plus header room.
constexpr size_t kPackReserve = (24u << 20) + (64u << 10);

// Where one blob sits in a pack. `offset` is also the blob's AEAD nonce
// counter: offsets within a pack are distinct, so nonces never repeat.
struct PackEntry {
  BlobType type = BlobType::kData;
  Compression compression = Compression::kNone;
  Id id;
  uint32_t offset = 0;   // of the sealed record within the pack
  uint32_t length = 0;   // sealed length (payload + tag)
  uint32_t raw_length = 0;  // plaintext length after decompression
  bool operator==(const PackEntry&) const = default;
};

// Associated data of a blob record: binds it to its id, type and encoding,
// so an index that points at the wrong blob fails authentication.
Bytes BlobAad(const PackEntry& e);

class PackWriter {
 public:
  // `buffer`: storage to reuse (a spent pack's bytes); its contents are
  // discarded, its capacity kept, so a writer after the first one costs no
  // new pages.
  explicit PackWriter(const RepoKeys& keys, UninitBytes buffer = {});

  // Seals one blob whose payload is already compressed per `compression`.
  void Add(BlobType type, const Id& id, Compression compression, ByteSpan payload,
           uint32_t raw_length);

  size_t size() const { return buf_.size(); }
  // Bytes Finish() appends for a header of `entries` entries.
  static size_t HeaderSize(size_t entries) {
    return 4 + entries * kPackEntrySize + kAeadTagSize + 4;
  }
  size_t count() const { return entries_.size(); }

  struct Finished {
    UninitBytes bytes;
    Id storage_id;  // SHA-256 of bytes: the pack's object name
    std::vector<PackEntry> entries;
  };
  // Appends the sealed header and trailer. The writer is spent afterwards.
  Finished Finish();

 private:
  // Declared before aead_: the constructor fills it first. Not zero-filled
  // as it grows: every byte is written by the seal that grows it.
  UninitBytes buf_;
  Aead aead_;
  std::vector<PackEntry> entries_;
};

// Key of a pack from its first kPackPrefixSize bytes.
Result<Aead> PackAead(const RepoKeys& keys, ByteSpan prefix);

// Decrypts and decompresses one blob record `sealed` described by `e`.
Result<Bytes> OpenBlob(const Aead& pack_aead, const PackEntry& e, ByteSpan sealed);

// Parses the header of a whole pack.
Result<std::vector<PackEntry>> ReadPackHeader(const RepoKeys& keys, ByteSpan pack);

}  // namespace ks
