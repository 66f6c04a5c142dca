#include "repo/repository.h"

#include <algorithm>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "backend/local_backend.h"
#include "format/sealed.h"
#include "format/tree.h"

namespace ks {
namespace {

using json = nlohmann::json;
constexpr const char* kConfigName = "config";

std::string EncodeConfig(const RepoConfig& c) {
  json j = {{"version", c.version},
            {"id", c.id},
            {"chunker", {{"min", c.chunker.min_size}, {"avg_bits", c.chunker.avg_bits},
                         {"max", c.chunker.max_size}}},
            {"compression_level", c.compression_level},
            {"pack_size", c.pack_size},
            {"created", c.created}};
  // Written only when set, so configs without it stay as they were.
  if (c.object_lock_days) j["object_lock_days"] = c.object_lock_days;
  return j.dump();
}

Status ValidateConfig(const RepoConfig& c) {
  const auto& k = c.chunker;
  if (k.min_size < 64 || k.avg_bits < 8 || k.avg_bits > 28 || k.max_size > (64u << 20) ||
      k.min_size >= k.max_size || (1u << k.avg_bits) <= k.min_size / 2 || c.pack_size > (1u << 30) ||
      c.compression_level < 0 || c.compression_level > 22 || c.object_lock_days > 36500)
    return Fail(ErrorKind::kCorrupt, "repository config has implausible parameters");
  return Ok();
}

Result<RepoConfig> DecodeConfig(ByteSpan text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Fail(ErrorKind::kCorrupt, "repository config is not valid JSON");
  RepoConfig c;
  try {
    c.version = j.at("version").get<uint32_t>();
    if (c.version != kRepoVersion)
      return Fail(ErrorKind::kUnsupported,
                  "repository format version " + std::to_string(c.version) +
                      " is not supported by this program; upgrade Kintsugi");
    c.id = j.at("id").get<std::string>();
    c.chunker.min_size = j.at("chunker").at("min").get<uint32_t>();
    c.chunker.avg_bits = j.at("chunker").at("avg_bits").get<uint32_t>();
    c.chunker.max_size = j.at("chunker").at("max").get<uint32_t>();
    c.compression_level = j.at("compression_level").get<int>();
    c.pack_size = j.at("pack_size").get<uint32_t>();
    c.created = j.value("created", "");
    c.object_lock_days = j.value("object_lock_days", uint32_t{0});
  } catch (const json::exception& e) {
    return Fail(ErrorKind::kCorrupt, std::string("repository config is malformed: ") + e.what());
  }
  KS_TRY(ValidateConfig(c));
  return c;
}

}  // namespace

Repository::Repository(std::unique_ptr<Backend> b, const MasterKey& mk)
    : backend_(std::move(b)),
      master_(mk),
      keys_(RepoKeys::Derive(mk)),
      chunker_(ChunkerParams{}, MakeGearTable(keys_.chunker)),
      index_(*backend_, keys_) {}

Status Repository::Init(Backend& backend, const std::string& passphrase, const KdfParams& kdf,
                        RepoConfig config, const KeyFileInfo& info) {
  if (auto v = ValidateConfig(config); !v)
    return Fail(ErrorKind::kInvalidArgument, "invalid repository parameters for init");
  // Before Create: an S3 bucket must be created with Object Lock enabled.
  KS_TRY(backend.SetObjectLock(config.object_lock_days));
  if (auto st = backend.Stat(ObjectType::kConfig, kConfigName); st)
    return Fail(ErrorKind::kAlreadyExists,
                "a repository already exists at " + backend.Location());
  KS_TRY(backend.Create());
  MasterKey mk = MasterKey::Generate();
  RepoKeys keys = RepoKeys::Derive(mk);
  uint8_t rid[32];
  RandomBytes(rid, sizeof rid);
  config.id = HexEncode(rid);
  // The key goes first: a config without a key would be a repository nobody
  // can open, while a stray key without a config is ignored.
  KS_ASSIGN(std::string keyfile, SealKeyFile(mk, passphrase, kdf, info));
  KS_TRY(backend.Put(ObjectType::kKey, Sha256(AsBytes(keyfile)).Hex(), AsBytes(keyfile)));
  Bytes sealed = SealObject(keys, "config", AsBytes(EncodeConfig(config)));
  return backend.Put(ObjectType::kConfig, kConfigName, sealed);
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<Backend> backend,
                                                     const std::string& passphrase) {
  auto cfg_bytes = backend->Get(ObjectType::kConfig, kConfigName);
  if (!cfg_bytes) {
    if (cfg_bytes.error().kind() == ErrorKind::kNotFound)
      return Fail(ErrorKind::kNoRepository,
                  "no repository at " + backend->Location() + " (create one with 'kintsugi init')");
    return Fail(cfg_bytes.error());
  }
  KS_ASSIGN(auto keys, backend->List(ObjectType::kKey));
  if (keys.empty()) return Fail(ErrorKind::kCorrupt, "repository has no key files");
  // Every key file is tried until one opens AND decrypts the config: a key
  // left behind by an interrupted `init` may open with the same passphrase
  // but hold another master key.
  std::optional<Error> config_error;
  for (const auto& k : keys) {
    auto text = backend->Get(ObjectType::kKey, k.name);
    if (!text) continue;
    auto mk = OpenKeyFile(AsString(*text), passphrase);
    if (!mk) continue;
    RepoKeys rk = RepoKeys::Derive(*mk);
    auto plain = OpenObject(rk, "config", *cfg_bytes);
    if (!plain) {
      config_error = plain.error().With("repository config");
      continue;
    }
    KS_ASSIGN(RepoConfig config, DecodeConfig(*plain));
    // Everything this process writes is retained like the rest.
    KS_TRY(backend->SetObjectLock(config.object_lock_days));
    auto repo = std::unique_ptr<Repository>(new Repository(std::move(backend), *mk));
    repo->current_key_ = k.name;
    repo->config_ = config;
    repo->chunker_ = Chunker(repo->config_.chunker, MakeGearTable(repo->keys_.chunker));
    KS_TRY(repo->index_.Refresh());
    return repo;
  }
  if (config_error) return Fail(*config_error);
  return Fail(ErrorKind::kWrongPassword,
              "wrong password: no key file in the repository opens with it");
}

Status Repository::CheckBlobLength(const PackEntry& e) const {
  if (e.type == BlobType::kData && e.raw_length > config_.chunker.max_size)
    return Fail(ErrorKind::kCorrupt,
                fmt::format("data blob {} claims {} bytes, more than the repository's largest "
                            "chunk ({} bytes)",
                            e.id.Short(), e.raw_length, config_.chunker.max_size));
  return Ok();
}

Result<Bytes> Repository::LoadBlobAt(const IndexEntry& e) {
  KS_TRY(CheckBlobLength(e.blob));
  std::shared_ptr<Aead> aead;
  {
    std::lock_guard l(pack_mu_);
    auto it = pack_aeads_.find(e.pack);
    if (it != pack_aeads_.end()) aead = it->second;
  }
  std::string pack = e.pack.Hex();
  if (!aead) {
    KS_ASSIGN(Bytes prefix, backend_->Get(ObjectType::kPack, pack, 0, kPackPrefixSize));
    auto a = PackAead(keys_, prefix);
    if (!a) return Fail(a.error().With("pack " + pack));
    aead = std::make_shared<Aead>(*a);
    std::lock_guard l(pack_mu_);
    if (pack_aeads_.size() > 65536) pack_aeads_.clear();  // bound memory
    pack_aeads_[e.pack] = aead;
  }
  KS_ASSIGN(Bytes sealed, backend_->Get(ObjectType::kPack, pack, e.blob.offset, e.blob.length));
  auto blob = OpenBlob(*aead, e.blob, sealed);
  if (!blob)
    return Fail(blob.error().With("blob " + e.blob.id.Short() + " in pack " + pack.substr(0, 8)));
  return blob;
}

Result<Bytes> Repository::LoadBlob(const Id& id) {
  KS_ASSIGN(auto entry, index_.Lookup(id));
  if (!entry)
    return Fail(ErrorKind::kNotFound, "blob " + id.Short() + " is not in the index");
  return LoadBlobAt(*entry);
}

Result<std::vector<Node>> Repository::LoadTree(const Id& id) {
  KS_ASSIGN(Bytes b, LoadBlob(id));
  auto t = DecodeTree(b);
  if (!t) return Fail(t.error().With("tree " + id.Short()));
  return t;
}

Result<Id> Repository::SaveSnapshot(const Snapshot& s) {
  Bytes sealed = SealObject(keys_, "snapshot", AsBytes(EncodeSnapshot(s)));
  Id id = Sha256(sealed);
  KS_TRY(backend_->Put(ObjectType::kSnapshot, id.Hex(), sealed));
  return id;
}

Result<Snapshot> Repository::LoadSnapshot(const Id& id) {
  KS_ASSIGN(Bytes sealed, backend_->Get(ObjectType::kSnapshot, id.Hex()));
  // The name is the hash of the content: a swapped or altered file shows.
  if (Sha256(sealed) != id)
    return Fail(ErrorKind::kCorrupt, "snapshot " + id.Short() + " does not match its name");
  auto plain = OpenObject(keys_, "snapshot", sealed);
  if (!plain) return Fail(plain.error().With("snapshot " + id.Short()));
  return DecodeSnapshot(*plain);
}

Result<std::vector<std::pair<Id, Snapshot>>> Repository::ListSnapshots(
    std::vector<std::string>* damaged) {
  KS_ASSIGN(auto list, backend_->List(ObjectType::kSnapshot));
  std::vector<std::pair<Id, Snapshot>> out;
  // Ordered by the client's time, but never later than an hour after the
  // storage recorded the snapshot: a client that forges a future `time`
  // cannot make its snapshot "latest" or the parent of the next backup. A
  // repository copied without its file times (recorded times all late)
  // keeps its order.
  std::unordered_map<Id, int64_t, IdHash> order;
  for (const auto& o : list) {
    auto id = Id::FromHex(o.name);
    if (!id) continue;
    order[*id] = o.mtime_ns;
    auto s = LoadSnapshot(*id);
    if (!s && s.error().kind() == ErrorKind::kNotFound) continue;  // forgotten since the listing
    if (!s) {
      // A snapshot object whose write was interrupted (the backup was
      // killed) is not a snapshot; `check` notes it as a leftover.
      auto h = backend_->Verify(ObjectType::kSnapshot, o.name);
      if (h && h->incomplete) continue;
      if (damaged) damaged->push_back(s.error().message());
      continue;
    }
    out.emplace_back(*id, std::move(*s));
  }
  constexpr int64_t kTolerance = 3600LL * 1000000000;
  for (const auto& [id, s] : out) {
    int64_t recorded = order[id];
    order[id] = recorded > 0 ? std::min(s.time_ns, recorded + kTolerance) : s.time_ns;
  }
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    int64_t ta = order[a.first], tb = order[b.first];
    if (ta != tb) return ta < tb;
    if (a.second.time_ns != b.second.time_ns) return a.second.time_ns < b.second.time_ns;
    return a.first < b.first;
  });
  return out;
}

Result<Id> Repository::ResolveSnapshot(const std::string& ref) {
  if (ref == "latest") {
    std::vector<std::string> damaged;
    KS_ASSIGN(auto all, ListSnapshots(&damaged));
    // An unreadable snapshot may be the newest: never fall back silently to
    // an older one.
    if (!damaged.empty())
      return Fail(ErrorKind::kCorrupt,
                  "'latest' is ambiguous: " + std::to_string(damaged.size()) +
                      " snapshot(s) cannot be read (" + damaged.front() + ")" +
                      (all.empty() ? std::string()
                                   : "; the newest readable one is " + all.back().first.Short() +
                                         ": name it explicitly to use it"));
    if (all.empty()) return Fail(ErrorKind::kNotFound, "the repository has no snapshots yet");
    return all.back().first;
  }
  if (ref.size() < 8 || !HexDecode(ref.size() % 2 ? ref + "0" : ref))
    return Fail(ErrorKind::kInvalidArgument,
                "snapshot '" + ref + "': give 'latest', a full id or at least 8 hex digits");
  KS_ASSIGN(auto list, backend_->List(ObjectType::kSnapshot));
  std::optional<Id> found;
  for (const auto& o : list) {
    if (o.name.rfind(ref, 0) != 0) continue;
    if (found)
      return Fail(ErrorKind::kInvalidArgument, "snapshot prefix '" + ref + "' is ambiguous");
    found = Id::FromHex(o.name);
  }
  if (!found) return Fail(ErrorKind::kNotFound, "no snapshot matches '" + ref + "'");
  return *found;
}

Status Repository::AddHoldEvent(const Id& snapshot, bool hold, const std::string& reason,
                                int64_t time_ns, const std::string& host) {
  nlohmann::json j = {{"version", 1},          {"snapshot", snapshot.Hex()},
                      {"action", hold ? "hold" : "unhold"}, {"reason", reason},
                      {"time", FormatTimeUtc(time_ns)},     {"host", host}};
  Bytes sealed = SealObject(keys_, "hold", AsBytes(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  return backend_->Put(ObjectType::kHold, Sha256(sealed).Hex(), sealed);
}

Result<std::map<Id, HoldState>> Repository::Holds() {
  KS_ASSIGN(auto list, backend_->List(ObjectType::kHold));
  std::map<Id, std::pair<std::pair<int64_t, std::string>, HoldState>> latest;
  for (const auto& o : list) {
    auto sealed = backend_->Get(ObjectType::kHold, o.name);
    if (!sealed) continue;  // check reports damaged objects
    auto plain = OpenObject(keys_, "hold", *sealed);
    if (!plain) continue;
    auto j = nlohmann::json::parse(plain->begin(), plain->end(), nullptr, false);
    if (!j.is_object()) continue;
    try {
      auto id = Id::FromHex(j.at("snapshot").get<std::string>());
      int64_t t = 0;
      if (!id || !ParseTimeUtc(j.at("time").get<std::string>(), t)) continue;
      HoldState st{j.at("action").get<std::string>() == "hold", j.value("reason", ""), t,
                   j.value("host", "")};
      auto key = std::make_pair(t, o.name);
      auto it = latest.find(*id);
      if (it == latest.end() || it->second.first < key) latest[*id] = {key, st};
    } catch (const nlohmann::json::exception&) {
      continue;
    }
  }
  std::map<Id, HoldState> out;
  for (auto& [id, v] : latest) out[id] = v.second;
  return out;
}

Result<std::vector<KeyListEntry>> Repository::ListKeys() {
  KS_ASSIGN(auto list, backend_->List(ObjectType::kKey));
  std::vector<KeyListEntry> out;
  for (const auto& o : list) {
    KS_ASSIGN(Bytes text, backend_->Get(ObjectType::kKey, o.name));
    KeyListEntry e{o.name, {}, o.name == current_key_};
    if (auto info = PeekKeyFile(AsString(text))) e.info = *info;
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::string> Repository::AddKey(const std::string& passphrase, const KdfParams& kdf,
                                       const KeyFileInfo& info) {
  KS_ASSIGN(std::string keyfile, SealKeyFile(master_, passphrase, kdf, info));
  std::string name = Sha256(AsBytes(keyfile)).Hex();
  KS_TRY(backend_->Put(ObjectType::kKey, name, AsBytes(keyfile)));
  return name;
}

Status Repository::RemoveKey(const std::string& ref, bool allow_current) {
  KS_ASSIGN(auto list, backend_->List(ObjectType::kKey));
  if (list.size() <= 1)
    return Fail(ErrorKind::kInvalidArgument,
                "refusing to remove the last key: the repository could never be opened again");
  std::optional<std::string> found;
  for (const auto& o : list) {
    if (ref.size() < 8 || o.name.rfind(ref, 0) != 0) continue;
    if (found) return Fail(ErrorKind::kInvalidArgument, "key prefix '" + ref + "' is ambiguous");
    found = o.name;
  }
  if (!found) return Fail(ErrorKind::kNotFound, "no key matches '" + ref + "'");
  if (*found == current_key_ && !allow_current)
    return Fail(ErrorKind::kInvalidArgument,
                "refusing to remove the key in use; open the repository with another key");
  return backend_->Remove(ObjectType::kKey, *found);
}

}  // namespace ks
