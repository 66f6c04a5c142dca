// Key files: the master key sealed under a passphrase.
//
// A key file is JSON (the only repository object that is not encrypted as a
// whole, because it is what unlocks the rest). The passphrase is stretched
// with Argon2id (libsodium crypto_pwhash) into a 32-byte key that seals the
// master key with XChaCha20-Poly1305 under a random 24-byte nonce. The
// descriptive fields are bound to the ciphertext as associated data, so
// editing them (or the KDF parameters) makes the key file fail to open.
#pragma once

#include <cstdint>
#include <string>

#include "crypto/master_key.h"
#include "util/status.h"

namespace ks {

struct KdfParams {
  uint64_t ops = 3;                 // Argon2id passes
  // RFC 9106, second recommended option: t = 3, m = 64 MiB.
  uint64_t mem_bytes = 64ull << 20;  // Argon2id memory
};

struct KeyFileInfo {
  std::string host;
  std::string user;
  std::string created;  // ISO 8601 UTC
};

// Creates the JSON text of a key file for `mk` under `passphrase`.
Result<std::string> SealKeyFile(const MasterKey& mk, const std::string& passphrase,
                                const KdfParams& kdf, const KeyFileInfo& info);

// Opens a key file. kWrongPassword if the passphrase does not open it,
// kCorrupt if the text is not a key file.
Result<MasterKey> OpenKeyFile(const std::string& json_text, const std::string& passphrase);

// Reads the descriptive fields without the passphrase (for `key list`).
Result<KeyFileInfo> PeekKeyFile(const std::string& json_text);

}  // namespace ks
