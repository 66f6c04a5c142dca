// Object Lock retention travels through the repository config: init tells
// the storage before it writes anything, every open tells it again, and
// storage that cannot enforce it refuses up front (docs/design.md 2.2, 6.6).
#include <gtest/gtest.h>

#include <vector>

#include "../core/test_util.h"
#include "backend/mem_backend.h"
#include "repo/repository.h"

namespace ks {
namespace {

const KdfParams kFastKdf{1, 8u << 20};
const KeyFileInfo kInfo{"test-host", "tester", "2026-01-01T00:00:00.000000000Z"};

// Memory that claims to enforce Object Lock, and records what it was told
// and when.
class LockingMem : public MemBackend {
 public:
  Status SetObjectLock(uint32_t days) override {
    calls.push_back({days, puts});
    return Ok();
  }
  Status Put(ObjectType t, const std::string& name, ByteSpan data) override {
    puts++;
    return MemBackend::Put(t, name, data);
  }
  struct Call {
    uint32_t days;
    int puts_before;
  };
  std::vector<Call> calls;
  int puts = 0;
};

// Repository::Open owns its backend; this forwards to one the test keeps.
class Borrowed : public Backend {
 public:
  explicit Borrowed(Backend& b) : b_(b) {}
  std::string Location() const override { return b_.Location(); }
  Status Put(ObjectType t, const std::string& n, ByteSpan d) override { return b_.Put(t, n, d); }
  Result<Bytes> Get(ObjectType t, const std::string& n, uint64_t o, uint64_t l) override {
    return b_.Get(t, n, o, l);
  }
  Result<ObjectInfo> Stat(ObjectType t, const std::string& n) override { return b_.Stat(t, n); }
  Result<std::vector<ObjectInfo>> List(ObjectType t) override { return b_.List(t); }
  Status Remove(ObjectType t, const std::string& n) override { return b_.Remove(t, n); }
  Status SetObjectLock(uint32_t days) override { return b_.SetObjectLock(days); }

 private:
  Backend& b_;
};

TEST(ObjectLockConfig, InitSetsRetentionBeforeWritingAndOpenAgain) {
  LockingMem mem;
  RepoConfig cfg;
  cfg.object_lock_days = 30;
  ASSERT_OK(Repository::Init(mem, "pw", kFastKdf, cfg, kInfo));
  ASSERT_FALSE(mem.calls.empty());
  EXPECT_EQ(mem.calls[0].days, 30u);
  EXPECT_EQ(mem.calls[0].puts_before, 0);  // before the key and the config

  mem.calls.clear();
  auto repo = Repository::Open(std::make_unique<Borrowed>(mem), "pw");
  ASSERT_OK(repo);
  EXPECT_EQ((*repo)->config().object_lock_days, 30u);
  ASSERT_EQ(mem.calls.size(), 1u);
  EXPECT_EQ(mem.calls[0].days, 30u);
}

TEST(ObjectLockConfig, WithoutRetentionTheConfigSaysZero) {
  LockingMem mem;
  ASSERT_OK(Repository::Init(mem, "pw", kFastKdf, RepoConfig{}, kInfo));
  auto repo = Repository::Open(std::make_unique<Borrowed>(mem), "pw");
  ASSERT_OK(repo);
  EXPECT_EQ((*repo)->config().object_lock_days, 0u);
}

TEST(ObjectLockConfig, StorageThatCannotEnforceItRefusesBeforeWriting) {
  MemBackend mem;  // the default Backend::SetObjectLock: unsupported
  RepoConfig cfg;
  cfg.object_lock_days = 7;
  auto st = Repository::Init(mem, "pw", kFastKdf, cfg, kInfo);
  EXPECT_ERR(st, ErrorKind::kUnsupported);
  EXPECT_TRUE(mem.List(ObjectType::kKey)->empty());
  EXPECT_TRUE(mem.List(ObjectType::kConfig)->empty());
}

TEST(ObjectLockConfig, ImplausibleRetentionIsRefused) {
  LockingMem mem;
  RepoConfig cfg;
  cfg.object_lock_days = 100000;
  EXPECT_ERR(Repository::Init(mem, "pw", kFastKdf, cfg, kInfo), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace ks
