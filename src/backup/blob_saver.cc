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
BlobSaver::BlobSaver(Repository& repo, int uploaders) : repo_(repo), uploads_(1) {
  for (int i = 0; i < uploaders; i++) uploaders_.emplace_back([this] { UploadLoop(); });
}

BlobSaver::~BlobSaver() {
  uploads_.Close();
  for (auto& t : uploaders_)
    if (t.joinable()) t.join();
}

void BlobSaver::SetError(const Error& e) {
  std::lock_guard l(err_mu_);
  if (!error_) error_ = e;
}

Status BlobSaver::FirstError() {
  std::lock_guard l(err_mu_);
  if (error_) return Fail(*error_);
  return Ok();
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
  thread_local Bytes payload;
  Compression c = MaybeCompress(plain, repo_.config().compression_level, payload);
  std::unique_ptr<PackWriter> w;
  {
    std::lock_guard l(pool_mu_);
    auto& pool = pool_[size_t(type)];
    if (!pool.empty()) {
      w = std::move(pool.back());
      pool.pop_back();
    }
  }
  if (!w) w = std::make_unique<PackWriter>(repo_.keys());
  w->Add(type, id, c, payload, uint32_t(plain.size()));
  bytes_added_ += payload.size() + kAeadTagSize;
  blobs_added_++;
  if (w->size() >= repo_.config().pack_size) {
    KS_TRY(Enqueue(std::move(w)));
  } else {
    std::lock_guard l(pool_mu_);
    pool_[size_t(type)].push_back(std::move(w));
  }
  return true;
}

Status BlobSaver::Enqueue(std::unique_ptr<PackWriter> w) {
  if (!uploads_.Push(std::move(w)))
    return Fail(ErrorKind::kInternal, "upload queue closed");
  return FirstError();
}

void BlobSaver::UploadLoop() {
  while (auto w = uploads_.Pop()) {
    if (FirstError()) {
      auto f = (*w)->Finish();
      auto st = repo_.backend().Put(ObjectType::kPack, f.storage_id.Hex(), f.bytes);
      if (!st && st.error().kind() != ErrorKind::kAlreadyExists) {
        SetError(st.error().With("storing pack " + f.storage_id.Short()));
        continue;
      }
      std::vector<IndexEntry> table;
      {
        std::lock_guard l(index_mu_);
        for (const auto& e : f.entries) pending_index_.push_back({f.storage_id, e});
        if (pending_index_.size() >= kEntriesPerTable) table.swap(pending_index_);
      }
      if (!table.empty())
        if (auto s = WriteIndexTable(std::move(table)); !s) SetError(s.error());
    }
  }
}

Status BlobSaver::WriteIndexTable(std::vector<IndexEntry> entries) {
  if (entries.empty()) return Ok();
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
  std::vector<std::unique_ptr<PackWriter>> rest;
  {
    std::lock_guard l(pool_mu_);
    for (auto& pool : pool_)
      for (auto& w : pool) rest.push_back(std::move(w));
  }
  for (auto& w : rest)
    if (w->count() > 0) KS_TRY(Enqueue(std::move(w)));
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
