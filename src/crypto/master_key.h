// The repository master key and the keys derived from it.
//
// The master key is 64 random bytes, created at `init` and stored only
// encrypted in key files (crypto/key_file.h). Every working key is derived
// from it as HMAC-SHA-256(master, label || 0x01), i.e. one HKDF-Expand block
// with the master key as PRK (RFC 5869), so adding a new use never changes an
// existing key.
#pragma once

#include <array>

#include "crypto/aead.h"

namespace ks {

struct MasterKey {
  std::array<uint8_t, 64> secret{};
  static MasterKey Generate();
};

struct RepoKeys {
  Key32 data;     // root of per-object AEAD keys (ObjectKey)
  Key32 blob_id;  // HMAC key: blob id = HMAC-SHA-256(blob_id, plaintext)
  Key32 chunker;  // seeds the gear table, so chunk boundaries are per repository

  static RepoKeys Derive(const MasterKey& mk);

  Id BlobId(ByteSpan plaintext) const { return Id{HmacSha256(blob_id, plaintext)}; }
};

}  // namespace ks
