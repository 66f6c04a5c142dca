// A repository in a local directory (docs/design.md, "Local layout").
#pragma once

#include "backend/backend.h"

namespace ks {

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(std::string root) : root_(std::move(root)) {}

  // Creates the directory layout (idempotent).
  Status CreateLayout();
  Status Create() override { return CreateLayout(); }
  Status Replace(ObjectType t, const std::string& name, ByteSpan data) override;

  std::string Location() const override { return root_; }
  Status Put(ObjectType t, const std::string& name, ByteSpan data) override;
  Result<Bytes> Get(ObjectType t, const std::string& name, uint64_t offset,
                    uint64_t length) override;
  Result<ObjectInfo> Stat(ObjectType t, const std::string& name) override;
  Result<std::vector<ObjectInfo>> List(ObjectType t) override;
  Status Remove(ObjectType t, const std::string& name) override;

  // Path of an object (tests use it to damage objects on purpose).
  std::string PathOf(ObjectType t, const std::string& name) const;

 private:
  std::string DirOf(ObjectType t, const std::string& name) const;
  // Writes `data` durably to a fresh temp file in `dir`; returns its path.
  Result<std::string> WriteTemp(const std::string& dir, ByteSpan data, bool create_dir);
  std::string root_;
};

}  // namespace ks
