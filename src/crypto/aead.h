// Authenticated encryption of stored bytes: AES-256-GCM through OpenSSL.
//
// Nonce discipline (docs/design.md, "Encryption"): every stored object draws
// a fresh 32-byte random salt, and its AEAD key is derived from the
// repository's data key and that salt (ObjectKey). Within one object, nonces
// are a counter (blob index; the object's header uses kHeaderNonce). A
// (key, nonce) pair therefore repeats only if two objects draw the same
// 256-bit salt.
#pragma once

#include <array>
#include <cstdint>

#include "util/bytes.h"
#include "util/status.h"

namespace ks {

constexpr size_t kAeadKeySize = 32;
constexpr size_t kAeadTagSize = 16;
constexpr size_t kNonceSize = 12;
constexpr size_t kSaltSize = 32;
constexpr uint64_t kHeaderNonce = ~uint64_t{0};

using Key32 = std::array<uint8_t, 32>;

// The 12-byte GCM nonce for counter n: n as little-endian u64, then 4 zeros.
std::array<uint8_t, kNonceSize> CounterNonce(uint64_t n);

// Derives the AEAD key of one object from the data key and its salt.
Key32 ObjectKey(const Key32& data_key, ByteSpan salt);

class Aead {
 public:
  explicit Aead(const Key32& key) : key_(key) {}

  // Appends ciphertext || 16-byte tag of `plain` to `out`.
  void Seal(uint64_t counter, ByteSpan aad, ByteSpan plain, Bytes& out) const;
  // Writes ciphertext || tag (plain.size() + kAeadTagSize bytes) at `out`.
  void SealTo(uint64_t counter, ByteSpan aad, ByteSpan plain, uint8_t* out) const;

  // Decrypts `sealed` (ciphertext || tag) into `out` (resized). Fails with
  // kCorrupt when the tag does not verify.
  Status Open(uint64_t counter, ByteSpan aad, ByteSpan sealed, Bytes& out) const;

 private:
  Key32 key_;
};

// Keyed hashing and plain hashing.
Key32 HmacSha256(ByteSpan key, ByteSpan msg);
Id Sha256(ByteSpan data);

// Cryptographically secure random bytes (libsodium's randombytes_buf).
void RandomBytes(uint8_t* out, size_t n);

}  // namespace ks
