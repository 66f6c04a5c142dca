// An in-memory Backend for fast unit tests.
#pragma once

#include <map>
#include <mutex>

#include "backend/backend.h"

namespace ks {

class MemBackend : public Backend {
 public:
  std::string Location() const override { return "memory"; }
  Status Put(ObjectType t, const std::string& name, ByteSpan data) override;
  Result<Bytes> Get(ObjectType t, const std::string& name, uint64_t offset,
                    uint64_t length) override;
  Result<ObjectInfo> Stat(ObjectType t, const std::string& name) override;
  Result<std::vector<ObjectInfo>> List(ObjectType t) override;
  Status Remove(ObjectType t, const std::string& name) override;

  // Direct access for fault injection in tests.
  Bytes* Find(ObjectType t, const std::string& name);

 private:
  std::mutex mu_;
  std::map<std::pair<ObjectType, std::string>, Bytes> objects_;
};

}  // namespace ks
