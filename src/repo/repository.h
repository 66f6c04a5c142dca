// A repository: the keys, the config, the index, and typed access to the
// objects in a Backend. It orders nothing by itself; the pipelines above it
// (backup/, restore/, check/) decide what is written when (docs/design.md,
// "Write ordering").
//
// Thread-safety: LoadBlob, LoadTree and SaveBlob-free reads may run from
// several threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "chunker/chunker.h"
#include "crypto/key_file.h"
#include "format/node.h"
#include "format/pack.h"
#include "format/snapshot.h"
#include "repo/index.h"
#include "util/clock.h"

namespace ks {

constexpr uint32_t kRepoVersion = 1;

struct RepoConfig {
  uint32_t version = kRepoVersion;
  std::string id;  // 64 hex digits, random
  ChunkerParams chunker;
  int compression_level = 1;  // zstd level; 0 = off (why 1: docs/design.md section 5)
  uint32_t pack_size = 16u << 20;
  std::string created;
  // Object Lock retention in days (S3 locations only; 0 = none): every
  // object written is undeletable for this long (docs/design.md 6.6).
  uint32_t object_lock_days = 0;
};

// A hold keeps a snapshot from ever being removed (by retention or by
// hand). Holds are append-only events: "hold" and "unhold" objects; the
// latest event of a snapshot (by time, then name) decides.
struct HoldState {
  bool held = false;
  std::string reason;
  int64_t time_ns = 0;
  std::string host;
};

struct KeyListEntry {
  std::string name;
  KeyFileInfo info;
  bool current = false;
};

class Repository {
 public:
  // Creates a repository: layout, config and a first key file. Fails with
  // kAlreadyExists if there is one already.
  static Status Init(Backend& backend, const std::string& passphrase, const KdfParams& kdf,
                     RepoConfig config, const KeyFileInfo& info);

  // Opens with a passphrase: tries every key file. kNoRepository if there is
  // no config object, kWrongPassword if no key opens.
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<Backend> backend,
                                                  const std::string& passphrase);

  Backend& backend() { return *backend_; }
  const RepoKeys& keys() const { return keys_; }
  const RepoConfig& config() const { return config_; }
  Index& index() { return index_; }
  const Chunker& chunker() const { return chunker_; }

  // Reads, decrypts, decompresses one blob via the index.
  Result<Bytes> LoadBlob(const Id& id);
  // Reads one blob at a known place.
  Result<Bytes> LoadBlobAt(const IndexEntry& e);
  // kCorrupt if the record claims a length no blob of this repository can
  // have: a data blob longer than the chunker's maximum. Checked before
  // anything is allocated for it (a record is authenticated, but a
  // compromised key holder could write one that makes every restore
  // allocate gigabytes).
  Status CheckBlobLength(const PackEntry& e) const;
  Result<std::vector<Node>> LoadTree(const Id& id);

  // Snapshots.
  Result<Id> SaveSnapshot(const Snapshot& s);
  Result<Snapshot> LoadSnapshot(const Id& id);
  // All snapshots, oldest first by their time, capped at an hour after the
  // storage recorded them (docs/design.md 6.5). Damaged ones are skipped and named in
  // `damaged` if given.
  Result<std::vector<std::pair<Id, Snapshot>>> ListSnapshots(
      std::vector<std::string>* damaged = nullptr);
  // Resolves "latest", a full id, or a unique prefix of at least 8 hex digits.
  Result<Id> ResolveSnapshot(const std::string& ref);

  // Holds.
  Status AddHoldEvent(const Id& snapshot, bool hold, const std::string& reason, int64_t time_ns,
                      const std::string& host);
  // Current hold state of every snapshot that ever had an event.
  Result<std::map<Id, HoldState>> Holds();

  // Keys.
  Result<std::vector<KeyListEntry>> ListKeys();
  Result<std::string> AddKey(const std::string& passphrase, const KdfParams& kdf,
                             const KeyFileInfo& info);
  // Refuses to remove the last key, and refuses the key in use unless
  // `allow_current` (passwd replaces it).
  Status RemoveKey(const std::string& name_or_prefix, bool allow_current = false);
  const std::string& current_key() const { return current_key_; }

 private:
  Repository(std::unique_ptr<Backend> b, const MasterKey& mk);
  std::unique_ptr<Backend> backend_;
  MasterKey master_;
  RepoKeys keys_;
  RepoConfig config_;
  Chunker chunker_;
  Index index_;
  std::string current_key_;

  // Pack AEADs by pack id: reading a blob needs its pack's salt.
  std::mutex pack_mu_;
  std::unordered_map<Id, std::shared_ptr<Aead>, IdHash> pack_aeads_;
};

}  // namespace ks
