// A repository in a local directory (docs/design.md, "Local layout").
#pragma once

#include <list>
#include <mutex>
#include <unordered_map>

#include "backend/backend.h"
#include "fs/unique_fd.h"

namespace ks {

// Read descriptors kept open between ranged reads: a restore reads many
// small ranges of the same shard files, and open(2) would cost more than the
// read. Objects are write-once; Replace and Remove drop the cached entry.
class ReadFdCache {
 public:
  Result<std::shared_ptr<UniqueFd>> Open(const std::string& path);
  void Forget(const std::string& path);

 private:
  static constexpr size_t kCapacity = 128;
  std::mutex mu_;
  std::list<std::string> lru_;
  std::unordered_map<std::string,
                     std::pair<std::shared_ptr<UniqueFd>, std::list<std::string>::iterator>>
      fds_;
};

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(std::string root) : root_(std::move(root)) {}

  // Creates the directory layout (idempotent).
  Status CreateLayout();
  Status Create() override { return CreateLayout(); }
  Status Replace(ObjectType t, const std::string& name, ByteSpan data) override;

  std::string Location() const override { return root_; }
  Status Put(ObjectType t, const std::string& name, ByteSpan data) override;
  Status PutParts(ObjectType t, const std::string& name,
                  std::span<const ByteSpan> parts) override;
  Result<Bytes> Get(ObjectType t, const std::string& name, uint64_t offset,
                    uint64_t length) override;
  Result<Bytes> GetAtMost(ObjectType t, const std::string& name, uint64_t limit) override;
  Result<ObjectInfo> Stat(ObjectType t, const std::string& name) override;
  Result<std::vector<ObjectInfo>> List(ObjectType t) override;
  Status Remove(ObjectType t, const std::string& name) override;

  // Path of an object (tests use it to damage objects on purpose).
  std::string PathOf(ObjectType t, const std::string& name) const;

 private:
  std::string DirOf(ObjectType t, const std::string& name) const;
  // Get, and for whole reads (length 0) GetAtMost's limit.
  Result<Bytes> Read(ObjectType t, const std::string& name, uint64_t offset, uint64_t length,
                     uint64_t limit);
  // Writes the concatenation of `parts` durably to a fresh temp file in
  // `dir`; returns its path.
  Result<std::string> WriteTemp(const std::string& dir, std::span<const ByteSpan> parts,
                                bool create_dir);
  std::string root_;
  ReadFdCache fds_;
};

}  // namespace ks
