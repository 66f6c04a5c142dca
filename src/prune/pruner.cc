#include "prune/pruner.h"

#include <unistd.h>

#include <unordered_map>

#include "backup/blob_saver.h"
#include "prune/marks.h"
#include "prune/references.h"
#include "repo/lock.h"
#include "util/human.h"

namespace ks {
namespace {

constexpr uint32_t kNoPack = UINT32_MAX;

struct PackStats {
  Id id;
  uint64_t bytes = 0, blobs = 0, live_bytes = 0, live_blobs = 0;
  bool marked = false;
};

std::string HostName() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// What the index says about every pack, and which copy of each needed blob
// is the one that counts ("home"): a copy in an unmarked pack wins over one
// in a marked pack, so a pack whose needed blobs all live elsewhere too is
// free to go.
class PackLedger {
 public:
  PackLedger(const ReferenceSet& refs, const std::unordered_map<Id, int64_t, IdHash>& marked)
      : refs_(refs), marked_(marked), home_(refs.size(), kNoPack) {}

  Status Build(Index& index) {
    KS_TRY(index.ForEach([&](const IndexEntry& e) -> Status {
      uint32_t p = Ordinal(e.pack);
      packs_[p].bytes += e.blob.length;
      packs_[p].blobs++;
      int64_t r = refs_.Find(e.blob.id);
      if (r >= 0) {
        uint32_t& h = home_[size_t(r)];
        if (h == kNoPack || (packs_[h].marked && !packs_[p].marked)) h = p;
      }
      return Ok();
    }));
    return index.ForEach([&](const IndexEntry& e) -> Status {
      uint32_t p = ordinals_.at(e.pack);
      if (IsHome(e, p)) {
        packs_[p].live_bytes += e.blob.length;
        packs_[p].live_blobs++;
      }
      return Ok();
    });
  }

  bool IsHome(const IndexEntry& e, uint32_t p) const {
    int64_t r = refs_.Find(e.blob.id);
    return r >= 0 && home_[size_t(r)] == p;
  }
  uint64_t Missing() const {
    uint64_t n = 0;
    for (uint32_t h : home_) n += h == kNoPack;
    return n;
  }
  const PackStats* Find(const Id& pack) const {
    auto it = ordinals_.find(pack);
    return it == ordinals_.end() ? nullptr : &packs_[it->second];
  }
  std::optional<uint32_t> OrdinalOf(const Id& pack) const {
    auto it = ordinals_.find(pack);
    if (it == ordinals_.end()) return std::nullopt;
    return it->second;
  }
  const std::vector<PackStats>& packs() const { return packs_; }

 private:
  uint32_t Ordinal(const Id& pack) {
    auto [it, added] = ordinals_.try_emplace(pack, uint32_t(packs_.size()));
    if (added) packs_.push_back(PackStats{pack, 0, 0, 0, 0, marked_.count(pack) > 0});
    return it->second;
  }
  const ReferenceSet& refs_;
  const std::unordered_map<Id, int64_t, IdHash>& marked_;
  std::vector<uint32_t> home_;
  std::unordered_map<Id, uint32_t, IdHash> ordinals_;
  std::vector<PackStats> packs_;
};

// Rewrites every index table that lists a pack of `doomed` without those
// entries, replacement first: a crash leaves both (duplicate entries are
// harmless), never neither. A table the storage refuses to remove (Object
// Lock, permissions) keeps listing its packs, so those packs must stay: they
// are added to `stuck`.
Result<uint64_t> RewriteTables(Repository& repo, const PackSet& doomed, PackSet& stuck,
                               std::vector<std::string>& warnings) {
  uint64_t rewritten = 0;
  for (const std::string& name : repo.index().TablesReferencing(doomed)) {
    auto bytes = repo.backend().Get(ObjectType::kIndex, name);
    if (!bytes && bytes.error().kind() == ErrorKind::kNotFound) continue;  // rewritten meanwhile
    if (!bytes) return Fail(bytes.error().With("index table " + name.substr(0, 8)));
    auto entries = DecodeIndexTable(repo.keys(), *bytes);
    if (!entries)
      return Fail(entries.error().kind(),
                  "index table " + name.substr(0, 8) + " is damaged (" +
                      entries.error().message() +
                      "); run 'kintsugi scrub --repair' before pruning");
    std::vector<IndexEntry> keep;
    PackSet listed;
    for (const auto& e : *entries) {
      if (!doomed.count(e.pack)) keep.push_back(e);
      else listed.insert(e.pack);
    }
    if (!keep.empty()) {
      Bytes table = BuildIndexTable(repo.keys(), std::move(keep));
      std::string replacement = Sha256(table).Hex();
      auto put = repo.backend().Put(ObjectType::kIndex, replacement, table);
      if (!put && put.error().kind() != ErrorKind::kAlreadyExists) return Fail(put.error());
    }
    auto rm = repo.backend().Remove(ObjectType::kIndex, name);
    if (!rm && rm.error().kind() != ErrorKind::kNotFound) {
      warnings.push_back("index table " + name.substr(0, 8) + " cannot be removed yet (" +
                         rm.error().message() + "); its packs stay until a later prune");
      stuck.insert(listed.begin(), listed.end());
      continue;
    }
    rewritten++;
  }
  return rewritten;
}

}  // namespace

Result<PruneReport> RunPrune(Repository& repo, const Clock& clock, const PruneOptions& o) {
  PruneReport rep;

  // Locks and marks first, snapshots after: a backup that started before a
  // mark and has ended by now wrote its snapshot before its lock went, so
  // the listing below sees it. Listing snapshots first would miss one that
  // lands between the two steps, and delete what it needs.
  int64_t now = clock.NowNs();
  KS_ASSIGN(auto locks, ListLiveLocks(repo.backend(), repo.keys(), clock));
  std::vector<std::string> damaged_marks;
  KS_ASSIGN(auto marks, LoadMarks(repo, &damaged_marks));

  // What the snapshots need. A snapshot that cannot be read stops prune:
  // its blobs would look unneeded.
  std::vector<std::string> damaged;
  KS_ASSIGN(auto snaps, repo.ListSnapshots(&damaged));
  if (!damaged.empty())
    return Fail(ErrorKind::kCorrupt,
                std::to_string(damaged.size()) + " snapshot(s) cannot be read (" +
                    damaged.front() +
                    "); prune would not know what they need: run 'kintsugi check' and "
                    "'kintsugi scrub --repair' first");
  // Each snapshot's index tables were written before it: loading the tables
  // after listing the snapshots finds every tree they name, even when this
  // process opened the repository before they were written.
  KS_TRY(repo.index().Refresh());
  ReferenceStats rs;
  KS_ASSIGN(ReferenceSet refs, CollectReferences(repo, snaps, &rs));
  rep.snapshots = rs.snapshots;
  rep.trees = rs.trees;
  rep.blobs_referenced = refs.size();

  for (auto& d : damaged_marks) rep.warnings.push_back(d + " (ignored: its packs stay)");
  std::unordered_map<Id, int64_t, IdHash> marked;  // pack -> earliest mark time
  for (const auto& m : marks)
    for (const Id& p : m.mark.packs) {
      auto [it, added] = marked.try_emplace(p, m.marked_at());
      if (!added) it->second = std::min(it->second, m.marked_at());
    }

  KS_TRY(repo.index().Refresh());
  bool index_whole = repo.index().damaged_tables().empty();
  PackLedger ledger(refs, marked);
  KS_TRY(ledger.Build(repo.index()));
  rep.blobs_missing = ledger.Missing();
  if (rep.blobs_missing)
    rep.warnings.push_back(std::to_string(rep.blobs_missing) +
                           " needed blobs are in no index table: run 'kintsugi check'");
  if (!repo.index().damaged().empty()) index_whole = false;
  // Packs no index table lists: leftovers of killed backups, or packs of a
  // backup still running (its table comes last). Only a whole index can
  // tell which, so otherwise they are left alone.
  bool can_judge_unindexed = index_whole && rep.blobs_missing == 0;
  KS_ASSIGN(auto stored_packs, repo.backend().List(ObjectType::kPack));
  std::unordered_map<Id, uint64_t, IdHash> unindexed;
  for (const auto& p : stored_packs) {
    auto id = Id::FromHex(p.name);
    if (id && !ledger.Find(*id)) unindexed[*id] = p.size;
  }
  for (const auto& p : ledger.packs()) {
    rep.packs++;
    rep.bytes += p.bytes;
    rep.bytes_used += p.live_bytes;
  }

  // Finish the marks whose time has come.
  PackSet doomed;
  std::vector<std::string> finished;
  for (const auto& m : marks) {
    if (now - m.marked_at() < o.grace_ns) {
      rep.marks_waiting++;
      rep.waiting.push_back("mark " + m.name.substr(0, 8) + ": grace period ends " +
                            FormatTimeLocal(m.marked_at() + o.grace_ns));
      continue;
    }
    const LockInfo* older = nullptr;
    for (const auto& l : locks) {
      // Our own lock, under its first name or a refreshed one.
      bool own = l.name == o.own_lock ||
                 (o.own_lock_created_ns != 0 && l.created_ns == o.own_lock_created_ns &&
                  l.host == HostName() && l.pid == int64_t(getpid()));
      if (!own && l.created_ns <= m.marked_at() + o.clock_skew_ns) older = &l;
    }
    if (older) {
      rep.marks_waiting++;
      rep.waiting.push_back("mark " + m.name.substr(0, 8) + ": waits for " +
                            (older->purpose.empty() ? std::string("a process") : older->purpose) +
                            " on " + older->host + " pid " + std::to_string(older->pid) +
                            ", which started before it");
      continue;
    }
    for (const Id& p : m.mark.packs) {
      if (const PackStats* s = ledger.Find(p)) {
        if (s->live_blobs == 0) {
          if (doomed.insert(p).second) rep.bytes_deleted += s->bytes;
        } else {
          rep.packs_resurrected++;  // a snapshot needs it again: it stays
        }
      } else if (unindexed.count(p)) {
        if (can_judge_unindexed) {
          if (doomed.insert(p).second) rep.bytes_deleted += unindexed[p];
        } else {
          rep.packs_resurrected++;
        }
      }
    }
    finished.push_back(m.name);
  }
  if (!o.dry_run) {
    // Packs the storage will not let go of yet (Object Lock, permissions)
    // stay, and so do the marks that name them: a later prune retries.
    PackSet stuck;
    KS_ASSIGN(rep.tables_rewritten, RewriteTables(repo, doomed, stuck, rep.warnings));
    for (const Id& p : doomed) {
      if (stuck.count(p)) continue;
      auto rm = repo.backend().Remove(ObjectType::kPack, p.Hex());
      if (!rm && rm.error().kind() != ErrorKind::kNotFound) {
        rep.warnings.push_back("pack " + p.Short() + " cannot be removed yet (" +
                               rm.error().message() + "); a later prune retries");
        stuck.insert(p);
      }
    }
    for (const Id& p : stuck) {
      doomed.erase(p);
      uint64_t kept = 0;
      if (const PackStats* st = ledger.Find(p)) kept = st->bytes;
      else if (auto u = unindexed.find(p); u != unindexed.end()) kept = u->second;
      rep.bytes_deleted -= std::min(rep.bytes_deleted, kept);
    }
    std::vector<std::string> done;
    for (const auto& m : marks) {
      if (std::find(finished.begin(), finished.end(), m.name) == finished.end()) continue;
      bool blocked = false;
      for (const Id& p : m.mark.packs) blocked |= stuck.count(p) > 0;
      if (blocked) continue;
      auto rm = repo.backend().Remove(ObjectType::kPrune, m.name);
      if (!rm && rm.error().kind() != ErrorKind::kNotFound) {
        rep.warnings.push_back("prune mark " + m.name.substr(0, 8) + " cannot be removed yet (" +
                               rm.error().message() + ")");
        continue;
      }
      done.push_back(m.name);
    }
    finished = done;
    // The tables just replaced are gone; load their replacements.
    KS_TRY(repo.index().Refresh());
  }
  rep.marks_finished = finished.size();
  rep.packs_deleted = doomed.size();

  // Mark what is unneeded now. Packs still under a waiting mark are marked
  // already; packs of finished marks are judged afresh.
  PackSet still_marked;
  for (const auto& m : marks)
    if (std::find(finished.begin(), finished.end(), m.name) == finished.end())
      still_marked.insert(m.mark.packs.begin(), m.mark.packs.end());
  PruneMark mark;
  mark.time_ns = now;
  mark.host = HostName();
  PackSet repack;
  for (const auto& p : ledger.packs()) {
    if (still_marked.count(p.id) || doomed.count(p.id)) continue;
    if (p.live_blobs == 0) {
      mark.packs.push_back(p.id);
      rep.packs_marked++;
      rep.bytes_marked += p.bytes;
    } else if (double(p.bytes - p.live_bytes) >= o.repack_unused * double(p.bytes) &&
               p.bytes > p.live_bytes) {
      repack.insert(p.id);
      rep.packs_repacked++;
      rep.bytes_marked += p.bytes - p.live_bytes;
    }
  }
  if (can_judge_unindexed)
    for (const auto& [id, size] : unindexed) {
      if (still_marked.count(id) || doomed.count(id)) continue;
      mark.packs.push_back(id);
      rep.unindexed_marked++;
      rep.bytes_marked += size;
    }

  if (!repack.empty() && !o.dry_run) {
    // Copy the live blobs out first; the old packs are marked only once the
    // copies are stored and indexed.
    auto exclude = std::make_shared<PackSet>(repack);
    exclude->insert(still_marked.begin(), still_marked.end());
    exclude->insert(doomed.begin(), doomed.end());
    repo.index().SetDedupExclusions(exclude);
    BlobSaver saver(repo);
    KS_TRY(repo.index().ForEach([&](const IndexEntry& e) -> Status {
      if (!repack.count(e.pack)) return Ok();
      auto ord = ledger.OrdinalOf(e.pack);
      if (!ord || !ledger.IsHome(e, *ord)) return Ok();
      KS_ASSIGN(Bytes plain, repo.LoadBlobAt(e));
      KS_ASSIGN(bool added, saver.Save(e.blob.type, e.blob.id, plain));
      if (added) {
        rep.blobs_repacked++;
        rep.bytes_repacked += e.blob.length;
      }
      return Ok();
    }));
    KS_TRY(saver.Finish());
  }
  if (!repack.empty()) mark.packs.insert(mark.packs.end(), repack.begin(), repack.end());
  if (!mark.packs.empty() && !o.dry_run) {
    KS_ASSIGN(rep.new_mark, WriteMark(repo, mark));
  }
  return rep;
}

}  // namespace ks
