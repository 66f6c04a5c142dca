// The storage interface every location implements (local directory, RADOS
// pool, S3 bucket; a server later). Objects are write-once: Put never replaces
// an existing object. Wrappers (retry, rate limit, fault injection in tests)
// implement the same interface around another Backend.
//
// Thread-safety: every method may be called from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace ks {

enum class ObjectType { kConfig, kKey, kSnapshot, kIndex, kPack, kLock, kHold, kPrune };

const char* ObjectTypeDir(ObjectType t);

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
  // When the storage recorded the object (ns since the epoch, UTC; 0 if the
  // location cannot say). Retention trusts this, never a client's clock:
  // on S3 it is the server's Last-Modified, on a directory the file's mtime.
  int64_t mtime_ns = 0;
};

// What Verify found out about one stored object.
struct ObjectHealth {
  bool intact = true;       // every byte of every copy/shard verified
  bool recoverable = true;  // the object can be read whole (perhaps via parity)
  std::string detail;       // what is damaged, for reports
  // Unreadable, but every shard that exists is intact and only whole shard
  // files are missing: what a write interrupted part-way leaves behind.
  bool incomplete = false;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // A human-readable location for messages.
  virtual std::string Location() const = 0;

  // Stores an object atomically and durably. Fails with kAlreadyExists if an
  // object of that type and name exists (it is left untouched).
  virtual Status Put(ObjectType t, const std::string& name, ByteSpan data) = 0;

  // Put of the concatenation of `parts`. Lets a caller that assembles an
  // object from pieces (the storage envelope interleaves 4 KiB blocks with
  // their CRCs) store it without first copying it into one buffer. The
  // default joins the parts and calls Put; backends that can write
  // scattered buffers directly override it.
  virtual Status PutParts(ObjectType t, const std::string& name,
                          std::span<const ByteSpan> parts) {
    size_t n = 0;
    for (const auto& p : parts) n += p.size();
    Bytes joined;
    joined.reserve(n);
    for (const auto& p : parts) joined.insert(joined.end(), p.begin(), p.end());
    return Put(t, name, joined);
  }

  // Reads `length` bytes at `offset` (length 0: to the end). Fails with
  // kNotFound if absent, kCorrupt if the object is shorter than asked.
  virtual Result<Bytes> Get(ObjectType t, const std::string& name, uint64_t offset = 0,
                            uint64_t length = 0) = 0;

  // The whole object, if it is at most `limit` bytes; a longer one fails
  // as kCorrupt. Backends that learn the size first (a local file's fstat)
  // fail before allocating anything, so a damaged file size or a sparse
  // file cannot exhaust memory; the others read, then check.
  virtual Result<Bytes> GetAtMost(ObjectType t, const std::string& name, uint64_t limit) {
    KS_ASSIGN(Bytes b, Get(t, name, 0, 0));
    if (b.size() > limit) return Fail(TooLong(name, b.size(), limit));
    return b;
  }
  static Error TooLong(const std::string& name, uint64_t size, uint64_t limit) {
    return Error(ErrorKind::kCorrupt, "object " + name + " is " + std::to_string(size) +
                                          " bytes, longer than the " + std::to_string(limit) +
                                          " it can be");
  }

  virtual Result<ObjectInfo> Stat(ObjectType t, const std::string& name) = 0;
  virtual Result<std::vector<ObjectInfo>> List(ObjectType t) = 0;
  virtual Status Remove(ObjectType t, const std::string& name) = 0;

  // Creates an empty location (directories, ...). Idempotent.
  virtual Status Create() { return Ok(); }

  // Atomically replaces an object with new bytes (write new, then rename
  // over): used only by repair, which rewrites damaged shards.
  virtual Status Replace(ObjectType t, const std::string& name, ByteSpan data) {
    (void)Remove(t, name);
    return Put(t, name, data);
  }

  // Reads and verifies every stored byte of an object. Backends without
  // redundancy report "intact" if the object can be read.
  virtual Result<ObjectHealth> Verify(ObjectType t, const std::string& name) {
    auto b = Get(t, name, 0, 0);
    if (!b) return ObjectHealth{false, false, b.error().message()};
    return ObjectHealth{};
  }

  // Verify, and with it the object's bytes (healed if need be) in `content`
  // whenever they can be read, so a full check reads every byte once.
  // `content` is left empty when the object is not recoverable.
  virtual Result<ObjectHealth> VerifyRead(ObjectType t, const std::string& name, Bytes* content) {
    auto b = Get(t, name, 0, 0);
    if (!b) return ObjectHealth{false, false, b.error().message()};
    *content = std::move(*b);
    return ObjectHealth{};
  }

  // Rewrites what is damaged from what is left. kUnsupported without
  // redundancy; kCorrupt if the damage is beyond repair.
  virtual Status Repair(ObjectType t, const std::string& name) {
    return Fail(ErrorKind::kUnsupported, "this backend keeps no redundancy to repair from");
  }

  // Object Lock (docs/design.md, "S3 locations"): from now on every object
  // written (locks excepted) is retained for `days` days, during which the
  // storage itself refuses to delete or overwrite it. 0: no retention.
  // kUnsupported where the storage cannot enforce it (a local directory).
  virtual Status SetObjectLock(uint32_t days) {
    if (days == 0) return Ok();
    return Fail(ErrorKind::kUnsupported,
                Location() + " cannot enforce Object Lock retention; use an S3 bucket");
  }

  // Objects of type `t` that were deleted but are still stored and still
  // read (an S3 delete marker hiding a version under Object Lock): `check`
  // reports them as a sign that someone tried to destroy data. Empty where
  // deletion is final.
  virtual Result<std::vector<std::string>> ListHidden(ObjectType t) {
    return std::vector<std::string>{};
  }
};

// Opens the storage of a repository: one or more locations separated by
// commas ("/disk1/vault,/disk2/vault"), each a local directory (a plain path
// or "local:PATH"), a Ceph RADOS pool ("rados:POOL[/NAMESPACE]",
// backend/rados_backend.h) or an S3 bucket ("s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]",
// backend/s3_backend.h), wrapped in the erasure-coding envelope
// (backend/sharded_backend.h).
// `geometry` {0, 0}: learn it from the stored config (existing repository).
struct Geometry;
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location);
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, Geometry geometry);

// One location, without the envelope.
Result<std::unique_ptr<Backend>> OpenLocation(const std::string& location);

}  // namespace ks
