#include "repo/index.h"

#include <algorithm>

namespace ks {

Status Index::LoadTable(const std::string& name) {
  KS_ASSIGN(ObjectInfo info, backend_.Stat(ObjectType::kIndex, name));
  if (info.size < kIndexPrefixSize + 4 + kAeadTagSize)
    return Fail(ErrorKind::kCorrupt, "index table " + name + " is truncated");
  KS_ASSIGN(Bytes prefix, backend_.Get(ObjectType::kIndex, name, 0, kIndexPrefixSize));
  KS_ASSIGN(Bytes len_bytes, backend_.Get(ObjectType::kIndex, name, info.size - 4, 4));
  uint32_t flen = GetU32(len_bytes.data());
  if (flen > info.size - kIndexPrefixSize - 4)
    return Fail(ErrorKind::kCorrupt, "index table " + name + " has a bad footer length");
  KS_ASSIGN(Bytes sealed, backend_.Get(ObjectType::kIndex, name, info.size - 4 - flen, flen));
  KS_ASSIGN(Aead aead, IndexAead(keys_, prefix));
  auto footer = ReadIndexFooter(aead, sealed);
  if (!footer) return Fail(footer.error().With("index table " + name));
  std::lock_guard l(mu_);
  if (!loaded_.insert(name).second) return Ok();
  tables_.push_back(std::make_shared<Table>(name, aead, std::move(*footer)));
  return Ok();
}

Status Index::Refresh() {
  KS_ASSIGN(auto list, backend_.List(ObjectType::kIndex));
  {
    // Tables removed since (prune replaced them) are forgotten.
    std::unordered_set<std::string> listed;
    for (const auto& o : list) listed.insert(o.name);
    std::lock_guard l(mu_);
    for (auto& t : tables_)
      if (!listed.count(t->name)) t->gone = true;
    for (auto it = unreadable_.begin(); it != unreadable_.end();)
      it = listed.count(it->first) ? std::next(it) : unreadable_.erase(it);
  }
  for (const auto& o : list) {
    {
      std::lock_guard l(mu_);
      if (loaded_.count(o.name)) continue;
    }
    // Tables that failed before are tried again: one listed while its
    // writer was still storing it reads whole once the write is done, and
    // a snapshot listed after it may need it (prune lists snapshots, then
    // refreshes, relying on exactly that).
    auto s = LoadTable(o.name);
    std::lock_guard l(mu_);
    if (s || loaded_.count(o.name))  // or another thread's Refresh read it
      unreadable_.erase(o.name);
    else
      unreadable_[o.name] = s.error().message();
  }
  return Ok();
}

std::vector<std::string> Index::damaged_tables() const {
  std::lock_guard l(mu_);
  std::vector<std::string> out;
  for (const auto& [name, why] : unreadable_) out.push_back(name);
  return out;
}

void Index::NoteDamaged(const std::string& message) {
  std::lock_guard l(mu_);
  if (std::find(damaged_.begin(), damaged_.end(), message) == damaged_.end())
    damaged_.push_back(message);
}

std::vector<std::string> Index::damaged() const {
  std::lock_guard l(mu_);
  std::vector<std::string> out;
  for (const auto& [name, why] : unreadable_) out.push_back(why);
  for (const auto& m : damaged_)
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  return out;
}

Status Index::AddTable(const std::string& name, ByteSpan bytes) {
  if (bytes.size() < kIndexPrefixSize + 4 + kAeadTagSize)
    return Fail(ErrorKind::kCorrupt, "index table " + name + " is truncated");
  KS_ASSIGN(Aead aead, IndexAead(keys_, bytes));
  uint32_t flen = GetU32(bytes.data() + bytes.size() - 4);
  if (flen > bytes.size() - kIndexPrefixSize - 4)
    return Fail(ErrorKind::kCorrupt, "index table " + name + " has a bad footer length");
  auto footer = ReadIndexFooter(aead, bytes.subspan(bytes.size() - 4 - flen, flen));
  if (!footer) return Fail(footer.error());
  std::lock_guard l(mu_);
  if (!loaded_.insert(name).second) return Ok();
  tables_.push_back(std::make_shared<Table>(name, aead, std::move(*footer)));
  unreadable_.erase(name);
  return Ok();
}

size_t Index::table_count() const {
  std::lock_guard l(mu_);
  return tables_.size();
}

uint64_t Index::entry_count() const {
  std::lock_guard l(mu_);
  uint64_t n = 0;
  for (const auto& t : tables_)
    if (!t->gone) n += t->footer.count;
  return n;
}

std::vector<std::string> Index::table_names() const {
  std::lock_guard l(mu_);
  std::vector<std::string> out;
  for (const auto& t : tables_)
    if (!t->gone) out.push_back(t->name);
  return out;
}

std::vector<std::string> Index::TablesReferencing(const PackSet& packs) const {
  std::lock_guard l(mu_);
  std::vector<std::string> out;
  for (const auto& t : tables_) {
    if (t->gone) continue;
    for (const Id& p : t->footer.packs)
      if (packs.count(p)) {
        out.push_back(t->name);
        break;
      }
  }
  return out;
}

Result<std::shared_ptr<const Bytes>> Index::Block(size_t ti, size_t bi) {
  Key key{ti, bi};
  {
    std::lock_guard l(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
  }
  std::shared_ptr<Table> t;
  {
    std::lock_guard l(mu_);
    t = tables_[ti];
  }
  const auto& b = t->footer.blocks[bi];
  KS_ASSIGN(Bytes sealed, backend_.Get(ObjectType::kIndex, t->name, b.offset, b.length));
  auto plain = OpenIndexBlock(t->aead, t->footer, bi, sealed);
  if (!plain) return Fail(plain.error().With("index table " + t->name));
  auto block = std::make_shared<const Bytes>(std::move(*plain));
  std::lock_guard l(cache_mu_);
  if (!cache_.count(key)) {
    lru_.push_front(key);
    cache_[key] = {block, lru_.begin()};
    cache_bytes_ += block->size();
    while (cache_bytes_ > cache_limit_ && lru_.size() > 1) {
      auto victim = cache_.find(lru_.back());
      cache_bytes_ -= victim->second.first->size();
      cache_.erase(victim);
      lru_.pop_back();
    }
  }
  return block;
}

Result<std::optional<IndexEntry>> Index::Lookup(const Id& id) { return Find(id, nullptr); }

Result<std::optional<IndexEntry>> Index::LookupForDedup(const Id& id) {
  std::shared_ptr<const PackSet> exclude;
  {
    std::lock_guard l(mu_);
    exclude = dedup_exclusions_;
  }
  return Find(id, exclude && !exclude->empty() ? exclude.get() : nullptr);
}

Result<std::optional<IndexEntry>> Index::Find(const Id& id, const PackSet* exclude) {
  bool vanished = false;
  auto e = FindOnce(id, exclude, vanished);
  if (e || !vanished) return e;
  // Prune writes a table's replacement before it removes the table: the
  // entry is in a table this process has not loaded yet.
  KS_TRY(Refresh());
  vanished = false;
  return FindOnce(id, exclude, vanished);
}

std::optional<IndexEntry> Index::FindOnce(const Id& id, const PackSet* exclude, bool& vanished) {
  std::vector<std::shared_ptr<Table>> tables;
  {
    std::lock_guard l(mu_);
    tables = tables_;
  }
  // Tables added by this process (AddTable) come last and are searched
  // first: a running backup mostly finds its own recent blobs.
  for (size_t ti = tables.size(); ti-- > 0;) {
    if (tables[ti]->gone) continue;
    const IndexFooter& f = tables[ti]->footer;
    if (!f.filter.MayContain(id)) continue;
    auto it = std::upper_bound(f.blocks.begin(), f.blocks.end(), id,
                               [](const Id& x, const IndexFooter::Block& b) { return x < b.first; });
    if (it == f.blocks.begin()) continue;
    size_t bi = size_t(it - f.blocks.begin()) - 1;
    auto block = Block(ti, bi);
    if (!block && block.error().kind() == ErrorKind::kNotFound) {
      tables[ti]->gone = true;  // removed by prune after it wrote a replacement
      vanished = true;
      continue;
    }
    if (!block) {
      // A damaged block only hides its entries: the caller then treats those
      // blobs as absent (backup stores them again; check reports them).
      NoteDamaged(block.error().message());
      continue;
    }
    auto at = FindIndexRecord(**block, id);
    if (!at) continue;
    auto e = DecodeIndexRecord(f, (*block)->data() + *at * kIndexEntrySize);
    if (!e) {
      NoteDamaged(e.error().With("index table " + tables[ti]->name).message());
      continue;
    }
    if (exclude && exclude->count(e->pack)) continue;
    return *e;
  }
  return std::nullopt;
}

Status Index::ForEach(const std::function<Status(const IndexEntry&)>& fn) {
  size_t n = table_count();
  for (size_t ti = 0; ti < n; ti++) {
    size_t nb;
    {
      std::lock_guard l(mu_);
      if (tables_[ti]->gone) continue;
      nb = tables_[ti]->footer.blocks.size();
    }
    for (size_t bi = 0; bi < nb; bi++) {
      auto block = Block(ti, bi);
      if (!block && block.error().kind() == ErrorKind::kNotFound) {
        // Removed meanwhile by prune, after it wrote the replacement.
        std::lock_guard l(mu_);
        tables_[ti]->gone = true;
        break;
      }
      if (!block) {
        NoteDamaged(block.error().message());
        continue;
      }
      std::shared_ptr<Table> t;
      {
        std::lock_guard l(mu_);
        t = tables_[ti];
      }
      for (size_t r = 0; r < (*block)->size() / kIndexEntrySize; r++) {
        auto e = DecodeIndexRecord(t->footer, (*block)->data() + r * kIndexEntrySize);
        if (!e) {
          NoteDamaged(e.error().With("index table " + t->name).message());
          break;
        }
        KS_TRY(fn(*e));
      }
    }
  }
  return Ok();
}

}  // namespace ks
