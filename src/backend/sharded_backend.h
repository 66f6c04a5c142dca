// The storage envelope: every object is stored as k data shards plus m
// Reed-Solomon parity shards, each shard in its own file "<name>.<i>",
// spread over one or more locations (failure domains: directories on
// different disks now, Ceph pools later). Every shard carries a CRC32C per
// block, so scattered damage (a flipped bit, a zeroed 4 KiB sector) costs
// one block of one shard, and any k valid blocks of a row rebuild that row.
//
// Reads verify every block they touch and rebuild damaged or missing blocks
// from the other shards on the fly ("healed reads", counted in stats()).
// Verify reads everything; Repair rewrites damaged or missing shards (write
// new, then rename over). Byte format: docs/design.md, "Storage envelope".
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "codec/erasure.h"

namespace ks {

struct Geometry {
  int k = 0;  // data shards
  int m = 0;  // parity shards
};

// Default geometry for `locations` failure domains (docs/design.md).
Geometry DefaultGeometry(size_t locations);

struct HealStats {
  std::atomic<uint64_t> blocks_rebuilt{0};   // damaged/missing blocks read around
  std::atomic<uint64_t> objects_degraded{0};  // reads that needed parity
  std::atomic<uint64_t> objects_written_degraded{0};  // writes with shards missing
};

class ShardedBackend : public Backend {
 public:
  // `geometry` may be {0, 0} to discover it from the stored config object
  // (every shard header records k and m).
  ShardedBackend(std::vector<std::unique_ptr<Backend>> locations, Geometry geometry);

  std::string Location() const override;
  Status Create() override;
  Status Put(ObjectType t, const std::string& name, ByteSpan data) override;
  Result<Bytes> Get(ObjectType t, const std::string& name, uint64_t offset,
                    uint64_t length) override;
  Result<ObjectInfo> Stat(ObjectType t, const std::string& name) override;
  Result<std::vector<ObjectInfo>> List(ObjectType t) override;
  Status Remove(ObjectType t, const std::string& name) override;
  Result<ObjectHealth> Verify(ObjectType t, const std::string& name) override;
  // Healthy objects (the usual case) are read shard by shard, each checked
  // and its data copied out before the next is read; damage falls back to
  // Verify and a healed Get.
  Result<ObjectHealth> VerifyRead(ObjectType t, const std::string& name, Bytes* content) override;
  Status Repair(ObjectType t, const std::string& name) override;
  // Every location must enforce it (a local directory cannot).
  Status SetObjectLock(uint32_t days) override;
  // Objects with a shard hidden in some location (names, not shard names).
  Result<std::vector<std::string>> ListHidden(ObjectType t) override;

  Result<Geometry> geometry();
  const HealStats& stats() const { return stats_; }
  size_t location_count() const { return locations_.size(); }
  Backend& location(size_t i) { return *locations_[i]; }

  // Which location shard `index` of object `name` belongs in.
  size_t PlaceOf(ObjectType t, const std::string& name, int index) const;

 private:
  struct Header {
    int k = 0, m = 0, index = 0;
    uint64_t length = 0;
    uint32_t block = 0, rows = 0;
  };
  struct Shards;  // every shard of one object, read whole (Verify/Repair)

  // Equal but for the shard index: headers of the same stored object.
  static bool SameObject(const Header& a, const Header& b) {
    return a.k == b.k && a.m == b.m && a.length == b.length && a.block == b.block &&
           a.rows == b.rows;
  }
  // The header at the start of `b`, if it is well-formed, its CRC verifies,
  // it carries `tag` and `index`, and its layout fits its length.
  static std::optional<Header> ParseHeader(ByteSpan b, const std::array<uint8_t, 16>& tag,
                                           int index);
  // The header most of `headers` agree on (ties: the lowest index).
  static std::optional<Header> Elect(const std::vector<std::optional<Header>>& headers);
  void CacheHeader(ObjectType t, const std::string& name, const Header& h);
  // The first valid shard header once the next valid one agrees (or none
  // is left to ask), else the vote's (VoteHeader); cached.
  Result<Header> LoadHeader(ObjectType t, const std::string& name);
  // Reads every shard's header and caches the one most of them carry.
  Result<Header> VoteHeader(ObjectType t, const std::string& name);
  // Get, reading by header `h`.
  Result<Bytes> GetWith(const Header& h, ObjectType t, const std::string& name, uint64_t offset,
                        uint64_t length);
  // The 64-byte header of a shard file.
  static Bytes ShardFileHeader(const std::array<uint8_t, 16>& tag, const Header& h);
  // Checks one whole shard file (shard `index` of an object with header
  // `h`): true if its own header and length are right; block_ok[r] tells
  // whether row r's CRC verifies (rows cut off by truncation are false).
  static bool CheckShardFile(const Bytes& f, const Header& h, int index,
                             const std::array<uint8_t, 16>& tag, std::vector<bool>& block_ok);
  // A whole shard file: header, then each block of `payload` with its CRC.
  static Bytes BuildShardFile(const std::array<uint8_t, 16>& tag, const Header& h,
                              const uint8_t* payload);
  // k + m of the repository (every object has the config's geometry), or 0
  // while it is not known.
  int KnownShards();
  // The size of every shard file of an object with header `h`.
  static uint64_t FileSize(const Header& h);
  // `unavailable` (per location, optional): locations that failed with a
  // transient error are skipped, and a transient failure marks one. A whole
  // read (length 0) fails as corrupt, before allocating, if the file is
  // longer than `limit` (Backend::GetAtMost).
  Result<Bytes> GetShard(ObjectType t, const std::string& name, int index, uint64_t offset,
                         uint64_t length, std::vector<bool>* unavailable = nullptr,
                         uint64_t limit = UINT64_MAX);
  // Like GetShard for a run of rows of an object with header `h`, but a
  // truncated shard yields the rows it still has (possibly fewer bytes than
  // asked).
  Result<Bytes> GetRows(const Header& h, ObjectType t, const std::string& name, int index,
                        uint64_t offset, uint64_t length);
  Result<Shards> LoadAll(ObjectType t, const std::string& name);
  // Rebuilds rows [r0, r1) of data shard `want` from the other shards.
  Status RebuildRows(ObjectType t, const std::string& name, const Header& h, int want,
                     uint32_t r0, uint32_t r1, uint8_t* out);
  std::shared_ptr<const ErasureCode> Code(int k, int m);

  std::vector<std::unique_ptr<Backend>> locations_;
  std::mutex mu_;
  Geometry geometry_;
  std::unordered_map<std::string, Header> headers_;  // bounded cache
  std::vector<std::shared_ptr<const ErasureCode>> codes_;
  HealStats stats_;
};

}  // namespace ks
