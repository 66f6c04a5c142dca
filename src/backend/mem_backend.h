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
  // The time recorded for objects stored from now on (the "server clock"
  // that retention trusts); tests move it to simulate days passing.
  void SetRecordedTime(int64_t ns) {
    std::lock_guard l(mu_);
    now_ns_ = ns;
  }

 private:
  struct Stored {
    Bytes bytes;
    int64_t mtime_ns = 0;
  };
  std::mutex mu_;
  int64_t now_ns_ = 0;
  std::map<std::pair<ObjectType, std::string>, Stored> objects_;
};

}  // namespace ks
