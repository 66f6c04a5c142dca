// Fuzzes the storage envelope (backend/sharded_backend.h): the 64-byte
// shard header and the rows of blocks and CRCs behind it, read from a
// location that anyone with write access to the storage can alter without
// the repository key. An object of 20000 bytes is stored as 4 data + 2
// parity shards in memory, then one shard file is altered by the input:
//   mode 0: the rest of the input replaces the whole shard file;
//   mode 1: the input's next 60 bytes replace the shard's header, and the
//           harness appends a correct CRC (what a forger computes), so the
//           header fields themselves are fuzzed; the rows stay as stored.
// Then Get (whole and a range), Stat, VerifyRead, Verify and Repair.
// Properties: no crash; errors are kCorrupt or kNotFound; reads return
// exactly the length asked; peak memory stays far below what a claimed
// length could make a reader allocate; and in mode 1 (one shard's header,
// within the parity budget) every read returns the stored bytes, the
// object is recoverable, and Repair makes it intact.
#include <sys/resource.h>

#include <memory>
#include <string>

#include "backend/mem_backend.h"
#include "backend/sharded_backend.h"
#include "codec/erasure.h"
#include "fuzz_common.h"

namespace {

using namespace ks;

constexpr ObjectType kType = ObjectType::kPack;
constexpr const char* kName = "ab12cd34";
constexpr int kShards = 6;  // 4 + 2

Bytes Original() {
  Bytes b(20000);
  for (size_t i = 0; i < b.size(); i++) b[i] = uint8_t(i * 131 + (i >> 7));
  return b;
}

struct Rig {
  MemBackend* mem = nullptr;
  std::unique_ptr<ShardedBackend> sb;
  Rig() {
    auto m = std::make_unique<MemBackend>();
    mem = m.get();
    std::vector<std::unique_ptr<Backend>> locs;
    locs.push_back(std::move(m));
    sb = std::make_unique<ShardedBackend>(std::move(locs), Geometry{4, 2});
    KS_FUZZ_CHECK(sb->Put(kType, kName, Original()).has_value());
  }
  Bytes Shard(int i) { return *mem->Get(kType, std::string(kName) + "." + std::to_string(i), 0, 0); }
  void SetShard(int i, ByteSpan b) {
    KS_FUZZ_CHECK(mem->Replace(kType, std::string(kName) + "." + std::to_string(i), b).has_value());
  }
};

bool Expected(const Error& e) {
  return e.kind() == ErrorKind::kCorrupt || e.kind() == ErrorKind::kNotFound;
}

long PeakRssMiB() {
  struct rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

void Exercise(Rig& rig, bool within_budget) {
  const Bytes original = Original();
  auto whole = rig.sb->Get(kType, kName, 0, 0);
  if (whole) {
    KS_FUZZ_CHECK(whole->size() == original.size() || !within_budget);
    fuzz::Count(0, "whole read");
  } else {
    KS_FUZZ_CHECK(Expected(whole.error()) && !within_budget);
  }
  if (within_budget) KS_FUZZ_CHECK(whole && *whole == original);
  auto part = rig.sb->Get(kType, kName, 4000, 9000);
  if (part) KS_FUZZ_CHECK(part->size() == 9000);
  else KS_FUZZ_CHECK(Expected(part.error()));
  if (within_budget)
    KS_FUZZ_CHECK(part && *part == Bytes(original.begin() + 4000, original.begin() + 13000));
  auto info = rig.sb->Stat(kType, kName);
  if (info && within_budget) KS_FUZZ_CHECK(info->size == original.size());
  Bytes content;
  auto checked = rig.sb->VerifyRead(kType, kName, &content);
  if (checked && checked->recoverable && within_budget) KS_FUZZ_CHECK(content == original);
  auto health = rig.sb->Verify(kType, kName);
  KS_FUZZ_CHECK(health.has_value());
  if (within_budget) KS_FUZZ_CHECK(health->recoverable);
  if (!health->intact) fuzz::Count(1, "damage seen");
  auto repaired = rig.sb->Repair(kType, kName);
  if (!repaired) {
    KS_FUZZ_CHECK(Expected(repaired.error()) && !within_budget);
  } else if (within_budget) {
    auto after = rig.sb->Verify(kType, kName);
    KS_FUZZ_CHECK(after && after->intact);
    auto again = rig.sb->Get(kType, kName, 0, 0);
    KS_FUZZ_CHECK(again && *again == original);
    fuzz::Count(2, "repaired");
  }
  // A claimed length could ask for up to 4 GiB per object; ASan's own
  // shadow and quarantine stay far below this.
  KS_FUZZ_CHECK(PeakRssMiB() < 1024);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Cursor c(data, size);
  const int mode = c.U8() % 2;
  const int shard = c.U8() % kShards;
  Rig rig;
  if (mode == 0) {
    rig.SetShard(shard, c.Rest());
    Exercise(rig, /*within_budget=*/false);
    return 0;
  }
  Bytes file = rig.Shard(shard);
  for (size_t i = 0; i < 60; i++) file[i] = c.U8();
  uint32_t crc = Crc32c(ByteSpan(file.data(), 60));
  for (int b = 0; b < 4; b++) file[60 + size_t(b)] = uint8_t(crc >> (8 * b));
  rig.SetShard(shard, file);
  fuzz::Count(3, "header replaced");
  Exercise(rig, /*within_budget=*/true);
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  std::vector<Bytes> seeds;
  Rig rig;
  for (int i = 0; i < kShards; i++) {
    Bytes whole = {0, uint8_t(i)};
    Append(whole, rig.Shard(i));
    seeds.push_back(whole);
    Bytes header = {1, uint8_t(i)};
    Bytes f = rig.Shard(i);
    header.insert(header.end(), f.begin(), f.begin() + 60);
    seeds.push_back(header);
  }
  // Shard 0's header claiming the largest object allowed (4 GiB: 131072
  // rows of 4 KiB per data shard).
  Bytes huge = seeds[1];
  for (int b = 0; b < 8; b++) huge[2 + 8 + size_t(b)] = uint8_t((4ull << 30) >> (8 * b));
  for (int b = 0; b < 4; b++) huge[2 + 20 + size_t(b)] = uint8_t(262144u >> (8 * b));
  seeds.push_back(huge);
  return seeds;
}
