// Index tables: immutable, sorted maps from blob id to its place in a pack,
// stored encrypted in blocks so that a lookup decrypts one small block, not
// the whole table (docs/design.md, "Index tables"). Pure.
//
// Layout: "KSI1" | salt(32) | block 0 .. block n-1 | footer | u32 footer len.
// Block i is sealed with nonce counter i; the footer with kHeaderNonce. The
// footer holds the entry count, the list of pack ids (entries refer to packs
// by ordinal), one directory record per block (first id, offset, length,
// entry count) and a Bloom filter over all blob ids, so a reader keeps only
// the footer in memory and answers most "absent" lookups without I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "crypto/master_key.h"
#include "format/pack.h"
#include "util/bytes.h"
#include "util/status.h"

namespace ks {

constexpr size_t kIndexPrefixSize = 4 + 32;
constexpr size_t kIndexEntrySize = 32 + 4 + 4 + 4 + 4 + 1 + 1;
// Entries per block that writers use: a lookup whose block is not cached
// reads and decrypts one block (~13 KiB).
constexpr size_t kIndexBlockEntries = 256;
// The most a reader accepts (tables written before took 1024 per block).
constexpr size_t kIndexBlockMaxEntries = 1024;

struct IndexEntry {
  Id pack;
  PackEntry blob;
};

// A Bloom filter over ids. Ids are uniformly random (keyed hashes), so the
// probe positions come straight from the id's bytes (double hashing).
class BloomFilter {
 public:
  BloomFilter() = default;
  BloomFilter(uint64_t expected_items, uint32_t bits_per_item);
  void Add(const Id& id);
  bool MayContain(const Id& id) const;
  void Encode(Bytes& out) const;
  static std::optional<BloomFilter> Decode(ByteSpan data);
  size_t memory() const { return bits_.size(); }

 private:
  uint32_t hashes_ = 0;
  uint64_t nbits_ = 0;
  Bytes bits_;
};

struct IndexFooter {
  struct Block {
    Id first;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint32_t count = 0;
  };
  uint64_t count = 0;
  std::vector<Id> packs;
  std::vector<Block> blocks;
  BloomFilter filter;
};

// Builds a table from entries (any order; duplicates of one blob id are
// reduced to one).
// `block_entries` (1 to kIndexBlockMaxEntries) is for tests that make
// tables as older versions wrote them.
Bytes BuildIndexTable(const RepoKeys& keys, std::vector<IndexEntry> entries,
                      size_t block_entries = kIndexBlockEntries);

// The AEAD of a table from its first kIndexPrefixSize bytes.
Result<Aead> IndexAead(const RepoKeys& keys, ByteSpan prefix);

// Parses the sealed footer (the bytes before the final u32).
Result<IndexFooter> ReadIndexFooter(const Aead& aead, ByteSpan sealed_footer);

// Decrypts block `i` of a table: count records of kIndexEntrySize bytes,
// sorted by id.
Result<Bytes> OpenIndexBlock(const Aead& aead, const IndexFooter& footer, size_t i,
                             ByteSpan sealed);
// Binary search for `id` in a decrypted block; the record's index.
std::optional<size_t> FindIndexRecord(ByteSpan plain, const Id& id);
// Decodes one record (resolving its pack ordinal).
Result<IndexEntry> DecodeIndexRecord(const IndexFooter& footer, const uint8_t* record);

// Decrypts and decodes every record of block `i`.
Result<std::vector<IndexEntry>> ReadIndexBlock(const Aead& aead, const IndexFooter& footer,
                                               size_t i, ByteSpan sealed_block);

// Every entry of a whole table (prune rewrites tables entry by entry).
// Fails with kCorrupt on any damage: a table is rewritten whole or not at all.
Result<std::vector<IndexEntry>> DecodeIndexTable(const RepoKeys& keys, ByteSpan table);

}  // namespace ks
