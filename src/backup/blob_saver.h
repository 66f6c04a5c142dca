// Stores blobs for one backup session: dedup against the index and this
// session, compress, encrypt into packs (one open pack per blob type, shared
// by every worker), upload finished packs, and write index tables for
// uploaded packs.
//
// Memory: a data pack's buffer is taken from a small pool and returned once
// the pack is stored, so at most kDataPackBuffers packs of data exist at a
// time: the one being filled and the one being stored. When a pack is full
// before the previous one is stored, workers wait for the uploader (the
// disk is then the limit anyway). Reusing the buffers also spares the page
// faults of fresh 16 MiB allocations.
//
// Write ordering (docs/design.md): a blob's index entry is written only after
// its pack is durably stored; the caller writes the snapshot only after
// Finish() returned OK, so a snapshot never refers to a missing blob.
//
// Thread-safety: Save may be called from many threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "backup/stage_times.h"
#include "repo/repository.h"
#include "util/queue.h"

namespace ks {

class BlobSaver {
 public:
  // `stages` (may be null) receives compress/encrypt/pack-name/store/index
  // times.
  explicit BlobSaver(Repository& repo, StageTimes* stages = nullptr, int uploaders = 1);
  ~BlobSaver();

  // Stores `plain` as blob `id` unless it is already stored. Returns true if
  // this call added it.
  Result<bool> Save(BlobType type, const Id& id, ByteSpan plain);

  // Uploads partial packs and writes the remaining index entries. After an
  // error, the session's data must not be referenced by a snapshot.
  Status Finish();

  uint64_t bytes_added() const { return bytes_added_; }
  uint64_t blobs_added() const { return blobs_added_; }

  // Data packs in memory at once: filling, storing.
  static constexpr int kDataPackBuffers = 2;

 private:
  struct Upload {
    std::unique_ptr<PackWriter> writer;
    bool pooled = false;  // its buffer goes back to the pool
  };
  void UploadLoop();
  Status Enqueue(Upload u);
  Status WriteIndexTable(std::vector<IndexEntry> entries);
  Status FirstError();
  void SetError(const Error& e);
  // A writer for a new data pack on a pooled buffer; waits while all are in
  // use. Null after an error.
  std::unique_ptr<PackWriter> NewDataWriter();
  void ReturnBuffer(UninitBytes buf);

  Repository& repo_;
  StageTimes* stages_;
  std::mutex known_mu_;
  std::unordered_set<Id, IdHash> known_;  // claimed this session, not yet in a table

  std::mutex pack_mu_;
  std::unique_ptr<PackWriter> open_[3];  // by BlobType

  std::mutex buf_mu_;
  std::condition_variable buf_cv_;
  std::vector<UninitBytes> free_bufs_;
  int bufs_out_ = 0;
  bool stopping_ = false;

  BoundedQueue<Upload> uploads_;
  std::vector<std::thread> uploaders_;

  std::mutex index_mu_;
  std::vector<IndexEntry> pending_index_;

  std::mutex err_mu_;
  std::optional<Error> error_;
  std::atomic<uint64_t> bytes_added_{0}, blobs_added_{0};
  bool finished_ = false;
};

}  // namespace ks
