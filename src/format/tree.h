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

Bytes EncodeTree(const std::vector<Node>& nodes);

// Rejects anything malformed (lengths out of range, unsafe names, unsorted
// or duplicate names, unknown node types) with kCorrupt.
Result<std::vector<Node>> DecodeTree(ByteSpan data);

}  // namespace ks
