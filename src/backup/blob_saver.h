// Stores blobs for one backup session: dedup against the index and this
// session, compress, encrypt into packs (one open pack per worker at a
// time), upload finished packs, and write index tables for uploaded packs.
//
// Write ordering (docs/design.md): a blob's index entry is written only after
// its pack is durably stored; the caller writes the snapshot only after
// Finish() returned OK, so a snapshot never refers to a missing blob.
//
// Thread-safety: Save may be called from many threads.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "repo/repository.h"
#include "util/queue.h"

namespace ks {

class BlobSaver {
 public:
  explicit BlobSaver(Repository& repo, int uploaders = 1);
  ~BlobSaver();

  // Stores `plain` as blob `id` unless it is already stored. Returns true if
  // this call added it.
  Result<bool> Save(BlobType type, const Id& id, ByteSpan plain);

  // Uploads partial packs and writes the remaining index entries. After an
  // error, the session's data must not be referenced by a snapshot.
  Status Finish();

  uint64_t bytes_added() const { return bytes_added_; }
  uint64_t blobs_added() const { return blobs_added_; }

 private:
  void UploadLoop();
  Status Enqueue(std::unique_ptr<PackWriter> w);
  Status WriteIndexTable(std::vector<IndexEntry> entries);
  Status FirstError();
  void SetError(const Error& e);

  Repository& repo_;
  std::mutex known_mu_;
  std::unordered_set<Id, IdHash> known_;  // claimed this session, not yet in a table

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<PackWriter>> pool_[3];  // by BlobType

  BoundedQueue<std::unique_ptr<PackWriter>> uploads_;
  std::vector<std::thread> uploaders_;

  std::mutex index_mu_;
  std::vector<IndexEntry> pending_index_;

  std::mutex err_mu_;
  std::optional<Error> error_;
  std::atomic<uint64_t> bytes_added_{0}, blobs_added_{0};
  bool finished_ = false;
};

}  // namespace ks
