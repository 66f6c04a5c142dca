// The repository index: blob id -> place in a pack, answered from the index
// tables in the repository without loading them whole. Memory holds, per
// table, its footer (pack list, block directory, Bloom filter: about 2 bytes
// per blob plus 32 bytes per pack) and a bounded cache of decrypted blocks.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backend/backend.h"
#include "format/index_table.h"

namespace ks {

using PackSet = std::unordered_set<Id, IdHash>;

class Index {
 public:
  // The block cache is small: with millions of blobs, lookups of new ids are
  // spread uniformly over the tables, so a cache of any affordable size
  // hits rarely (8 % at 64 MiB for 10 M blobs), while a backup's repeated
  // lookups (its own recent blobs, a parent's unchanged files) touch few
  // blocks. 16 MiB holds about 320 full blocks.
  static constexpr size_t kDefaultCacheBytes = 16u << 20;
  Index(Backend& backend, const RepoKeys& keys, size_t cache_bytes = kDefaultCacheBytes)
      : backend_(backend), keys_(keys), cache_limit_(cache_bytes) {}

  // Loads the footers of tables not loaded yet (call again to see tables
  // written since by other clients). A table that cannot be read is skipped
  // and remembered in damaged(), and tried again by the next Refresh: it
  // may have been listed while another client was still writing it. Only
  // listing failures are errors.
  Status Refresh();
  std::vector<std::string> damaged() const;
  // Names of tables whose footer could not be read at the last Refresh (a
  // subset of damaged()), sorted.
  std::vector<std::string> damaged_tables() const;

  // Finds a blob. nullopt if absent. A table removed meanwhile (prune
  // replaced it) makes the index look for tables written since, once.
  Result<std::optional<IndexEntry>> Lookup(const Id& id);

  // Packs a backup must not deduplicate against: prune marked them for
  // deletion (docs/design.md, "Prune"). Reads still find their blobs.
  void SetDedupExclusions(std::shared_ptr<const PackSet> packs) {
    std::lock_guard l(mu_);
    dedup_exclusions_ = std::move(packs);
  }
  // Like Lookup, but skips entries in excluded packs: the blob counts as
  // absent unless another pack holds it.
  Result<std::optional<IndexEntry>> LookupForDedup(const Id& id);

  // Registers a table this process just stored, without reading it back.
  Status AddTable(const std::string& name, ByteSpan table_bytes);

  size_t table_count() const;
  uint64_t entry_count() const;
  std::vector<std::string> table_names() const;
  // Names of the loaded tables that list any of `packs` (prune rewrites
  // exactly those).
  std::vector<std::string> TablesReferencing(const PackSet& packs) const;

  // Streams every entry of every table (check, stats). Block by block: memory
  // stays bounded.
  Status ForEach(const std::function<Status(const IndexEntry&)>& fn);

 private:
  struct Table {
    Table(std::string n, Aead a, IndexFooter f)
        : name(std::move(n)), aead(std::move(a)), footer(std::move(f)) {}
    std::string name;
    Aead aead;
    IndexFooter footer;
    std::atomic<bool> gone{false};  // removed from the repository meanwhile
  };
  Result<std::optional<IndexEntry>> Find(const Id& id, const PackSet* exclude);
  // One pass over the tables; sets `vanished` if a table was gone.
  std::optional<IndexEntry> FindOnce(const Id& id, const PackSet* exclude, bool& vanished);
  // A decrypted block (raw records), cached: a lookup decodes only the
  // record it finds.
  Result<std::shared_ptr<const Bytes>> Block(size_t table, size_t block);
  Status LoadTable(const std::string& name);
  void NoteDamaged(const std::string& message);

  Backend& backend_;
  const RepoKeys& keys_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Table>> tables_;
  std::unordered_set<std::string> loaded_;  // names of the tables in tables_
  std::vector<std::string> damaged_;        // NoteDamaged's messages
  std::map<std::string, std::string> unreadable_;  // table name -> why it failed
  std::shared_ptr<const PackSet> dedup_exclusions_;

  // LRU cache of decrypted blocks, keyed by (table, block).
  using Key = std::pair<size_t, size_t>;
  struct KeyHash {
    size_t operator()(const Key& k) const { return k.first * 1000003 ^ k.second; }
  };
  std::mutex cache_mu_;
  size_t cache_limit_, cache_bytes_ = 0;
  std::list<Key> lru_;
  std::unordered_map<Key, std::pair<std::shared_ptr<const Bytes>,
                                    std::list<Key>::iterator>,
                     KeyHash>
      cache_;
};

}  // namespace ks
