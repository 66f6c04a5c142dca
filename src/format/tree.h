// Tree blobs: the Nodes of one directory in a compact, extensible binary
// encoding (docs/design.md, "Tree format"). Pure.
//
// Encoding: magic "KT1\n", varint node count, then per node a varint byte
// length followed by fields, each `varint tag, varint length, bytes`.
// Readers skip tags they do not know, so later versions can add fields
// (e.g. ransomware-detection features) without breaking older readers.
#pragma once

#include <vector>

#include "format/node.h"
#include "util/status.h"

namespace ks {

// Deepest directory nesting a reader follows. Linux paths are at most 4096
// bytes, so no real tree is deeper than 2048; the limit keeps a crafted
// repository from exhausting the stack of a recursive walk.
constexpr size_t kMaxTreeDepth = 2048;

Bytes EncodeTree(const std::vector<Node>& nodes);

// Rejects anything malformed (lengths out of range, unsafe names, unsorted
// or duplicate names, unknown node types) with kCorrupt.
Result<std::vector<Node>> DecodeTree(ByteSpan data);

}  // namespace ks
