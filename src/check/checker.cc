#include "check/checker.h"

#include <atomic>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <algorithm>

#include "format/tree.h"
#include "util/parallel.h"

namespace ks {
namespace {

class Checker {
 public:
  Checker(Repository& repo, const CheckOptions& o) : repo_(repo), o_(o) {}
  Result<CheckReport> Run();

 private:
  void Problem(std::string object, std::string message) {
    report_.problems.push_back({std::move(object), std::move(message)});
  }
  void WalkTree(const Id& snap, const Id& tree, const std::string& path);
  // What reading one pack found. Computed on a worker thread, merged into
  // the report on the calling thread (in pack order, so reports are stable).
  struct PackFindings {
    uint64_t bytes_read = 0;
    std::vector<std::string> problems;
    std::vector<Id> bad_blobs;
    std::optional<std::string> whole_pack;  // nothing in it can be trusted: why
    // The storage envelope's verdict on the same read (every shard, every
    // block CRC), reported with the other objects' shard checks.
    Result<ObjectHealth> health = ObjectHealth{};
  };
  PackFindings ReadPack(const std::string& name) const;
  void MergePack(const std::string& name, PackFindings f);
  void FindAffected(const std::vector<std::pair<Id, Snapshot>>& snaps);
  void FindAffectedIn(const Id& snap, const Id& tree, const std::string& path,
                      std::unordered_set<Id, IdHash>& seen_trees);

  Repository& repo_;
  const CheckOptions& o_;
  CheckReport report_;
  std::unordered_set<Id, IdHash> trees_seen_;
  std::unordered_set<Id, IdHash> bad_blobs_;  // missing or damaged
  std::unordered_map<std::string, uint64_t> packs_;  // name -> size
  std::unordered_set<std::string> read_packs_;
  std::unordered_set<std::string> indexed_packs_;
};

void Checker::WalkTree(const Id& snap, const Id& tree_id, const std::string& path) {
  if (!trees_seen_.insert(tree_id).second) return;
  if (size_t(std::count(path.begin(), path.end(), '/')) > kMaxTreeDepth) {
    Problem("tree " + tree_id.Short(), "nested deeper than any file system allows at " + path);
    return;
  }
  report_.trees++;
  auto tree = repo_.LoadTree(tree_id);
  if (!tree) {
    bad_blobs_.insert(tree_id);
    Problem("tree " + tree_id.Short(), "in snapshot " + snap.Short() + " at " +
                                           (path.empty() ? "/" : path) + ": " +
                                           tree.error().message());
    return;
  }
  for (const Node& n : *tree) {
    std::string p = path + "/" + n.name;
    if (n.type == NodeType::kDir) {
      WalkTree(snap, n.subtree, p);
      continue;
    }
    for (const Id& id : n.content) {
      report_.blobs_referenced++;
      auto e = repo_.index().Lookup(id);
      if (!e) {
        Problem("index", e.error().message());
      } else if (!*e) {
        if (bad_blobs_.insert(id).second)
          Problem("blob " + id.Short(), "referenced by " + p + " but not in the index");
      } else if (!packs_.count((*e)->pack.Hex())) {
        if (bad_blobs_.insert(id).second)
          Problem("pack " + (*e)->pack.Short(), "missing (holds blob " + id.Short() + ")");
      }
    }
  }
}

Checker::PackFindings Checker::ReadPack(const std::string& name) const {
  PackFindings f;
  // One read for both checks: the envelope's (every shard) and the pack's.
  Bytes bytes;
  f.health = repo_.backend().VerifyRead(ObjectType::kPack, name, &bytes);
  if (!f.health || !f.health->recoverable) {
    f.whole_pack = f.health ? f.health->detail : f.health.error().message();
    return f;
  }
  f.bytes_read = bytes.size();
  if (o_.progress) o_.progress->bytes_done += bytes.size();
  if (Sha256(bytes).Hex() != name)
    f.problems.push_back("content does not match its name (damaged or altered)");
  auto entries = ReadPackHeader(repo_.keys(), bytes);
  if (!entries) {
    f.whole_pack = "header: " + entries.error().message();
    return f;
  }
  auto aead = PackAead(repo_.keys(), bytes);
  for (const auto& e : *entries) {
    if (auto st = repo_.CheckBlobLength(e); !st) {
      f.bad_blobs.push_back(e.id);
      f.problems.push_back(st.error().message());
      continue;
    }
    // The tag binds the record to its id, type and length (BlobAAD), so a
    // record that opens and decompresses to raw_length is the one its
    // writer stored. Re-hashing the plaintext also catches a writer that
    // hashed one thing and stored another, for half as much CPU again.
    auto plain = OpenBlob(*aead, e, ByteSpan(bytes).subspan(e.offset, e.length));
    if (!plain) {
      f.bad_blobs.push_back(e.id);
      f.problems.push_back("blob " + e.id.Short() + ": " + plain.error().message());
    } else if (o_.verify_ids && repo_.keys().BlobId(*plain) != e.id) {
      f.bad_blobs.push_back(e.id);
      f.problems.push_back("blob " + e.id.Short() + " does not match its id");
    }
  }
  return f;
}

void Checker::MergePack(const std::string& name, PackFindings f) {
  report_.packs_read++;
  report_.bytes_read += f.bytes_read;
  std::string obj = "pack " + name.substr(0, 8);
  for (auto& m : f.problems) Problem(obj, std::move(m));
  bad_blobs_.insert(f.bad_blobs.begin(), f.bad_blobs.end());
  if (!f.whole_pack) return;
  if (!indexed_packs_.count(name)) {
    report_.leftovers.push_back({obj, *f.whole_pack});
    return;
  }
  Problem(obj, *f.whole_pack);
  // Every blob the index places in it is lost (unless parity elsewhere
  // holds it, which the envelope already tried).
  auto id = Id::FromHex(name);
  (void)repo_.index().ForEach([&](const IndexEntry& e) -> Status {
    if (id && e.pack == *id) bad_blobs_.insert(e.blob.id);
    return Ok();
  });
}

void Checker::FindAffectedIn(const Id& snap, const Id& tree_id, const std::string& path,
                             std::unordered_set<Id, IdHash>& seen) {
  if (!seen.insert(tree_id).second) return;
  if (bad_blobs_.count(tree_id)) {
    report_.affected_files.push_back("snapshot " + snap.Short() + ": " +
                                     (path.empty() ? "/" : path) + " (whole directory)");
    return;
  }
  auto tree = repo_.LoadTree(tree_id);
  if (!tree) return;
  for (const Node& n : *tree) {
    std::string p = path + "/" + n.name;
    if (n.type == NodeType::kDir) {
      FindAffectedIn(snap, n.subtree, p, seen);
      continue;
    }
    for (const Id& id : n.content)
      if (bad_blobs_.count(id)) {
        report_.affected_files.push_back("snapshot " + snap.Short() + ": " + p);
        break;
      }
  }
}

void Checker::FindAffected(const std::vector<std::pair<Id, Snapshot>>& snaps) {
  for (const auto& [id, s] : snaps) {
    std::unordered_set<Id, IdHash> seen;  // per snapshot: each names its own files
    FindAffectedIn(id, s.tree, "", seen);
  }
}

Result<CheckReport> Checker::Run() {
  KS_ASSIGN(auto packs, repo_.backend().List(ObjectType::kPack));
  for (const auto& p : packs) packs_[p.name] = p.size;
  report_.packs = packs.size();
  // Every index entry must point inside an existing pack.
  std::unordered_set<std::string> reported;
  KS_TRY(repo_.index().ForEach([&](const IndexEntry& e) -> Status {
    indexed_packs_.insert(e.pack.Hex());
    auto it = packs_.find(e.pack.Hex());
    if (it == packs_.end()) {
      bad_blobs_.insert(e.blob.id);
      if (reported.insert(e.pack.Hex()).second)
        Problem("pack " + e.pack.Short(), "missing, but the index refers to it");
    } else if (uint64_t(e.blob.offset) + e.blob.length > it->second) {
      bad_blobs_.insert(e.blob.id);
      if (reported.insert(e.pack.Hex()).second)
        Problem("pack " + e.pack.Short(), "shorter than the index says (truncated)");
    }
    return Ok();
  }));
  std::vector<std::string> damaged;
  KS_ASSIGN(auto snaps, repo_.ListSnapshots(&damaged));
  if (!damaged.empty()) {
    // Tell a snapshot a killed backup never finished writing (harmless)
    // from one that was damaged after it was written.
    std::unordered_set<std::string> loaded;
    for (const auto& [id, s] : snaps) loaded.insert(id.Hex());
    KS_ASSIGN(auto names, repo_.backend().List(ObjectType::kSnapshot));
    for (const auto& o : names) {
      if (loaded.count(o.name)) continue;
      auto id = Id::FromHex(o.name);
      auto err = id ? repo_.LoadSnapshot(*id) : Result<Snapshot>(Fail(ErrorKind::kCorrupt, "bad name"));
      std::string why = err ? "unreadable" : err.error().message();
      auto h = repo_.backend().Verify(ObjectType::kSnapshot, o.name);
      if (h && h->incomplete) report_.leftovers.push_back({"snapshot " + o.name.substr(0, 8), h->detail});
      else Problem("snapshot " + o.name.substr(0, 8), why);
    }
  }
  report_.snapshots = snaps.size();
  for (const auto& [id, s] : snaps) WalkTree(id, s.tree, "");
  for (ObjectType t : {ObjectType::kConfig, ObjectType::kKey, ObjectType::kSnapshot,
                       ObjectType::kHold, ObjectType::kIndex, ObjectType::kPack}) {
    KS_ASSIGN(auto hidden, repo_.backend().ListHidden(t));
    for (const auto& name : hidden)
      report_.hidden.push_back(
          {std::string(t == ObjectType::kConfig ? "config" : ObjectTypeDir(t)) + " " + name.substr(0, 8),
           "deleted (hidden behind a delete marker) but kept by Object Lock; reads still find it"});
  }

  std::unordered_map<std::string, Result<ObjectHealth>> pack_health;  // packs read below
  if (o_.read_data) {
    std::mt19937_64 rng(std::random_device{}());
    std::uniform_real_distribution<double> uni(0, 1);
    if (o_.progress) {
      for (const auto& p : packs) o_.progress->bytes_total += p.size;
      o_.progress->total_final = true;
    }
    std::vector<std::string> chosen;
    for (const auto& p : packs) {
      if (o_.subset_t) {
        uint32_t bucket = uint32_t(HexDecode(p.name.substr(0, 8)).value_or(Bytes(4))[0]);
        bucket = (bucket * o_.subset_t) / 256;
        if (bucket + 1 != o_.subset_n) continue;
      } else if (o_.subset_fraction > 0 && uni(rng) >= o_.subset_fraction) {
        continue;
      }
      read_packs_.insert(p.name);
      chosen.push_back(p.name);
    }
    // Packs are verified on every core (SHA-256, AEAD, decompression and
    // blob ids are CPU work); each worker holds one pack at a time.
    std::vector<PackFindings> found(chosen.size());
    ParallelFor(chosen.size(), o_.workers, [&](size_t i) { found[i] = ReadPack(chosen[i]); });
    for (size_t i = 0; i < chosen.size(); i++) {
      pack_health.emplace(chosen[i], std::move(found[i].health));
      MergePack(chosen[i], std::move(found[i]));
    }
  }
  if (o_.read_data) {
    // Every shard of every object: the envelope's own checksums.
    for (ObjectType t : {ObjectType::kConfig, ObjectType::kKey, ObjectType::kSnapshot,
                         ObjectType::kHold, ObjectType::kPrune, ObjectType::kIndex, ObjectType::kPack}) {
      KS_ASSIGN(auto listed, repo_.backend().List(t));
      std::vector<ObjectInfo> objects;
      for (auto& obj : listed)
        if (t != ObjectType::kPack || o_.subset_t + o_.subset_fraction == 0 || read_packs_.count(obj.name))
          objects.push_back(std::move(obj));
      // The first error (a location that does not answer) ends the check:
      // the other workers stop asking rather than each wait out a timeout.
      std::vector<std::optional<Result<ObjectHealth>>> health(objects.size());
      std::vector<char> misnamed(objects.size(), 0);  // index tables: bytes do not match the name
      std::atomic<bool> failed{false};
      ParallelFor(objects.size(), o_.workers, [&](size_t i) {
        if (failed) return;
        const std::string& name = objects[i].name;
        if (auto it = pack_health.find(name); t == ObjectType::kPack && it != pack_health.end()) {
          health[i] = std::move(it->second);  // verified when the pack was read
        } else if (t == ObjectType::kIndex) {
          // Named by the SHA-256 of their bytes, like packs: checked in
          // the same read as the shards.
          Bytes bytes;
          health[i] = repo_.backend().VerifyRead(t, name, &bytes);
          misnamed[i] = *health[i] && (*health[i])->recoverable && Sha256(bytes).Hex() != name;
        } else {
          health[i] = repo_.backend().Verify(t, name);
        }
        if (!*health[i]) failed = true;
      });
      for (size_t i = 0; i < objects.size(); i++) {
        if (!health[i]) continue;  // skipped after an error; the error is returned below
        const ObjectInfo& obj = objects[i];
        KS_ASSIGN(ObjectHealth h, std::move(*health[i]));
        std::string what = std::string(t == ObjectType::kConfig ? "config" : ObjectTypeDir(t)) +
                           " " + obj.name.substr(0, 8);
        if (misnamed[i]) Problem(what, "content does not match its name (damaged or altered)");
        if (h.intact) continue;
        if (t == ObjectType::kPack && !indexed_packs_.count(obj.name))
          // Shards of a pack that no index refers to: the leftover of a
          // backup killed while storing it. Nothing refers to its data.
          report_.leftovers.push_back({what, h.detail});
        else if (h.incomplete && t != ObjectType::kConfig && t != ObjectType::kKey)
          // An unreadable object whose write was interrupted (shard 0,
          // written last, is absent; everything else intact): nothing
          // refers to it (a snapshot is the root; an index table's blobs
          // are checked above through the snapshots that use them).
          report_.leftovers.push_back({what, h.detail});
        else if (h.recoverable) report_.repairable.push_back({what, h.detail});
        else Problem(what, h.detail);
      }
    }
  }
  // Damage met in index tables while walking (reported once, at the end).
  // A table a killed backup never finished writing is a harmless leftover:
  // its blobs were checked above through the snapshots that use them.
  std::unordered_set<std::string> incomplete_tables;
  for (const auto& name : repo_.index().damaged_tables()) {
    auto h = repo_.backend().Verify(ObjectType::kIndex, name);
    if (h && h->incomplete) {
      incomplete_tables.insert(name);
      report_.leftovers.push_back({"index " + name.substr(0, 8), h->detail});
    }
  }
  for (const auto& d : repo_.index().damaged()) {
    bool leftover = false;
    for (const auto& name : incomplete_tables)
      if (d.find(name) != std::string::npos) leftover = true;
    if (!leftover) Problem("index", d);
  }
  if (!bad_blobs_.empty()) FindAffected(snaps);
  return std::move(report_);
}

}  // namespace

Result<CheckReport> RunCheck(Repository& repo, const CheckOptions& o) {
  Checker c(repo, o);
  return c.Run();
}

}  // namespace ks
