#include "backup/blob_saver.h"

#include "compress/compress.h"

namespace ks {
namespace {
// Index entries per table written during a session. Writing tables as the
// session goes keeps the session's own memory bounded and leaves a usable
// index behind if the process dies.
constexpr size_t kEntriesPerTable = 256 * 1024;
}  // namespace

// One pack waits while the uploaders write theirs: enough to keep them busy,
// little enough that finished packs do not pile up in memory.
BlobSaver::BlobSaver(Repository& repo, StageTimes* stages, int uploaders)
    : repo_(repo), stages_(stages), uploads_(1) {
  for (int i = 0; i < uploaders; i++) uploaders_.emplace_back([this] { UploadLoop(); });
}

BlobSaver::~BlobSaver() {
  {
    std::lock_guard l(buf_mu_);
    stopping_ = true;
  }
  buf_cv_.notify_all();
  uploads_.Close();
  for (auto& t : uploaders_)
    if (t.joinable()) t.join();
}

void BlobSaver::SetError(const Error& e) {
  {
    std::lock_guard l(err_mu_);
    if (!error_) error_ = e;
  }
  // Workers waiting for a pack buffer must see the error, not wait forever.
  {
    std::lock_guard l(buf_mu_);
    stopping_ = true;
  }
  buf_cv_.notify_all();
}

Status BlobSaver::FirstError() {
  std::lock_guard l(err_mu_);
  if (error_) return Fail(*error_);
  return Ok();
}

std::unique_ptr<PackWriter> BlobSaver::NewDataWriter() {
  UninitBytes buf;
  {
    std::unique_lock l(buf_mu_);
    buf_cv_.wait(l, [&] { return stopping_ || bufs_out_ < kDataPackBuffers; });
    if (stopping_) return nullptr;
    bufs_out_++;
    if (!free_bufs_.empty()) {
      buf = std::move(free_bufs_.back());
      free_bufs_.pop_back();
    }
  }
  return std::make_unique<PackWriter>(repo_.keys(), std::move(buf));
}

void BlobSaver::ReturnBuffer(UninitBytes buf) {
  {
    std::lock_guard l(buf_mu_);
    bufs_out_--;
    if (buf.capacity() > 0) free_bufs_.push_back(std::move(buf));
  }
  buf_cv_.notify_one();
}

Result<bool> BlobSaver::Save(BlobType type, const Id& id, ByteSpan plain) {
  KS_TRY(FirstError());
  {
    std::lock_guard l(known_mu_);
    if (known_.count(id)) return false;
  }
  KS_ASSIGN(auto existing, repo_.index().LookupForDedup(id));
  if (existing) return false;
  {
    std::lock_guard l(known_mu_);
    if (!known_.insert(id).second) return false;  // another thread claimed it
  }
  thread_local UninitBytes scratch;
  CompressedPayload compressed;
  {
    StageTimer t(stages_, Stage::kCompress, plain.size());
    // Data may be raw image samples, which compress far better (and
    // faster) split into byte planes; trees never are.
    compressed = CompressForStorage(plain, repo_.config().compression_level, scratch,
                                    type == BlobType::kData);
  }
  const Compression c = compressed.method;
  const ByteSpan payload = compressed.bytes;  // `plain` itself when not compressed
  Upload full, closed;
  {
    // Sealing happens under the lock: one open pack per type for all
    // workers keeps one pack in memory instead of one per worker, and
    // AES-GCM is fast next to compression (the lock is held briefly).
    std::lock_guard l(pack_mu_);
    auto& w = open_[size_t(type)];
    // A blob that would take the pack past pack_size goes into the next
    // one: packs (and the reused buffers holding them) stay within
    // pack_size unless a single blob is larger.
    const bool pooled = type == BlobType::kData;
    if (w && w->count() > 0 &&
        w->size() + payload.size() + kAeadTagSize + PackWriter::HeaderSize(w->count() + 1) >
            repo_.config().pack_size)
      closed = {std::move(w), pooled};
    if (!w) {
      if (type == BlobType::kData) {
        w = NewDataWriter();
        if (!w) {
          KS_TRY(FirstError());
          return Fail(ErrorKind::kInternal, "backup is stopping");
        }
      } else {
        w = std::make_unique<PackWriter>(repo_.keys());
      }
    }
    {
      StageTimer t(stages_, Stage::kEncrypt, payload.size());
      w->Add(type, id, c, payload, uint32_t(plain.size()));
    }
    if (w->size() + PackWriter::HeaderSize(w->count()) >= repo_.config().pack_size)
      full = {std::move(w), pooled};
  }
  bytes_added_ += payload.size() + kAeadTagSize;
  blobs_added_++;
  if (closed.writer) KS_TRY(Enqueue(std::move(closed)));
  if (full.writer) KS_TRY(Enqueue(std::move(full)));
  return true;
}

Status BlobSaver::Enqueue(Upload u) {
  bool pooled = u.pooled;
  if (!uploads_.Push(std::move(u))) {
    if (pooled) ReturnBuffer({});
    return Fail(ErrorKind::kInternal, "upload queue closed");
  }
  return FirstError();
}

void BlobSaver::UploadLoop() {
  while (auto u = uploads_.Pop()) {
    PackWriter::Finished f;
    {
      StageTimer t(stages_, Stage::kPackName, u->writer->size());
      f = u->writer->Finish();
    }
    u->writer.reset();
    if (FirstError()) {
      Status st = Ok();
      {
        StageTimer t(stages_, Stage::kStore, f.bytes.size(), true);
        st = repo_.backend().Put(ObjectType::kPack, f.storage_id.Hex(), f.bytes);
      }
      if (!st && st.error().kind() != ErrorKind::kAlreadyExists) {
        SetError(st.error().With("storing pack " + f.storage_id.Short()));
      } else {
        std::vector<IndexEntry> table;
        {
          std::lock_guard l(index_mu_);
          // Room for a whole table at once: the pages are touched only as
          // entries arrive, and the vector never doubles (which held the
          // old and the new copy at once and up to twice the entries).
          if (pending_index_.capacity() < kEntriesPerTable) pending_index_.reserve(kEntriesPerTable);
          for (const auto& e : f.entries) pending_index_.push_back({f.storage_id, e});
          if (pending_index_.size() >= kEntriesPerTable) table.swap(pending_index_);
        }
        if (!table.empty())
          if (auto s = WriteIndexTable(std::move(table)); !s) SetError(s.error());
      }
    }
    if (u->pooled) ReturnBuffer(std::move(f.bytes));
  }
}

Status BlobSaver::WriteIndexTable(std::vector<IndexEntry> entries) {
  if (entries.empty()) return Ok();
  StageTimer t(stages_, Stage::kIndex, entries.size() * kIndexEntrySize, true);
  Bytes table = BuildIndexTable(repo_.keys(), entries);
  std::string name = Sha256(table).Hex();
  KS_TRY(repo_.backend().Put(ObjectType::kIndex, name, table));
  KS_TRY(repo_.index().AddTable(name, table));
  // Now findable through the index: no need to remember them here.
  std::lock_guard l(known_mu_);
  for (const auto& e : entries) known_.erase(e.blob.id);
  return Ok();
}

Status BlobSaver::Finish() {
  if (finished_) return FirstError();
  finished_ = true;
  std::vector<Upload> rest;
  {
    std::lock_guard l(pack_mu_);
    for (size_t t = 0; t < 3; t++)
      if (open_[t]) rest.push_back({std::move(open_[t]), BlobType(t) == BlobType::kData});
  }
  for (auto& u : rest) {
    if (u.writer->count() > 0) {
      KS_TRY(Enqueue(std::move(u)));
    } else if (u.pooled) {
      ReturnBuffer({});
    }
  }
  uploads_.Close();
  for (auto& t : uploaders_) t.join();
  uploaders_.clear();
  KS_TRY(FirstError());
  std::vector<IndexEntry> table;
  {
    std::lock_guard l(index_mu_);
    table.swap(pending_index_);
  }
  return WriteIndexTable(std::move(table));
}

}  // namespace ks
