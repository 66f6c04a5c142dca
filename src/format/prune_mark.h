// Prune marks: the packs one prune found unneeded (prune/marks.h). JSON,
// sealed as kind "prune", named by the SHA-256 of the sealed bytes. Field
// list: docs/design.md, "Prune marks". Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace ks {

struct PruneMark {
  int64_t time_ns = 0;  // client clock of the prune that wrote it
  std::string host;
  std::vector<Id> packs;
};

std::string EncodeMark(const PruneMark& m);
// Parses untrusted (decrypted) bytes; kCorrupt on anything malformed.
Result<PruneMark> DecodeMark(ByteSpan json_text);

}  // namespace ks
