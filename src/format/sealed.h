// Sealed objects: a single encrypted payload (config, snapshots).
// Layout: "KSO1" | salt(32) | AEAD(counter 0, aad = "KSO1" || kind) of
// (compression byte || payload). Pure.
#pragma once

#include <string_view>

#include "crypto/master_key.h"
#include "util/bytes.h"
#include "util/status.h"

namespace ks {

// `kind` names what the object is ("config", "snapshot"); it is bound as
// associated data so a snapshot cannot be passed off as the config.
Bytes SealObject(const RepoKeys& keys, std::string_view kind, ByteSpan payload);
Result<Bytes> OpenObject(const RepoKeys& keys, std::string_view kind, ByteSpan sealed);

}  // namespace ks
