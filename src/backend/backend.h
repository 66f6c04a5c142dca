// The storage interface every location implements (local directory now;
// RADOS, S3 and a server later). Objects are write-once: Put never replaces
// an existing object. Wrappers (retry, rate limit, fault injection in tests)
// implement the same interface around another Backend.
//
// Thread-safety: every method may be called from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace ks {

enum class ObjectType { kConfig, kKey, kSnapshot, kIndex, kPack, kLock };

const char* ObjectTypeDir(ObjectType t);

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // A human-readable location for messages.
  virtual std::string Location() const = 0;

  // Stores an object atomically and durably. Fails with kAlreadyExists if an
  // object of that type and name exists (it is left untouched).
  virtual Status Put(ObjectType t, const std::string& name, ByteSpan data) = 0;

  // Reads `length` bytes at `offset` (length 0: to the end). Fails with
  // kNotFound if absent, kCorrupt if the object is shorter than asked.
  virtual Result<Bytes> Get(ObjectType t, const std::string& name, uint64_t offset = 0,
                            uint64_t length = 0) = 0;

  virtual Result<ObjectInfo> Stat(ObjectType t, const std::string& name) = 0;
  virtual Result<std::vector<ObjectInfo>> List(ObjectType t) = 0;
  virtual Status Remove(ObjectType t, const std::string& name) = 0;
};

// Opens the backend for a repository location. A plain path (or "local:PATH")
// is a local directory.
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location);

}  // namespace ks
