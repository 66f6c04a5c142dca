// A shard file whose size is absurd: made sparse to 64 GiB by someone with
// write access to the storage, or given a wrong size by a damaged inode.
// Reads, Verify and Repair go by the object's headers, never by the file's
// size: nothing allocates for it, the object reads whole, and repair puts
// the file back to its proper size (docs/design.md 7.5, 7.7).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "backend/local_backend.h"
#include "backend/sharded_backend.h"
#include "heal_helpers.h"
#include "mem_rig.h"

namespace {

using ks::Bytes;
using ks::ErrorKind;
using ks::ObjectType;

constexpr uint64_t kSparseSize = 64ull << 30;

class OversizedShard : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ks-oversized-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto local = std::make_unique<ks::LocalBackend>(root_ + "/repo");
    local_ = local.get();
    ASSERT_TRUE(local_->Create());
    std::vector<std::unique_ptr<ks::Backend>> locs;
    locs.push_back(std::move(local));
    sb_ = std::make_unique<ks::ShardedBackend>(std::move(locs), ks::Geometry{8, 2});
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string root_;
  ks::LocalBackend* local_ = nullptr;
  std::unique_ptr<ks::ShardedBackend> sb_;
};

TEST_F(OversizedShard, SparseShardIsReadAroundAndRepaired) {
  const std::string name = "ab12cd34";
  Bytes data = heal::RandomData(21, 1 << 20);
  ASSERT_TRUE(sb_->Put(ObjectType::kPack, name, data));
  const std::string shard = local_->PathOf(ObjectType::kPack, name + ".3");
  const uint64_t proper = heal::FileSize(shard);
  ::chmod(shard.c_str(), 0600);
  ASSERT_EQ(::truncate(shard.c_str(), off_t(kSparseSize)), 0);
  const long rss_before = heal::PeakRssKiB();

  // The location refuses the whole file before allocating it.
  auto whole = local_->GetAtMost(ObjectType::kPack, name + ".3", proper);
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().kind(), ErrorKind::kCorrupt) << whole.error().message();

  auto got = sb_->Get(ObjectType::kPack, name, 0, 0);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, data);
  Bytes content;
  auto checked = sb_->VerifyRead(ObjectType::kPack, name, &content);
  ASSERT_TRUE(checked) << checked.error().message();
  EXPECT_FALSE(checked->intact);
  EXPECT_TRUE(checked->recoverable);
  EXPECT_NE(checked->detail.find("shard 3"), std::string::npos) << checked->detail;
  EXPECT_EQ(content, data);

  ASSERT_TRUE(sb_->Repair(ObjectType::kPack, name));
  EXPECT_EQ(heal::FileSize(shard), proper);
  auto after = sb_->Verify(ObjectType::kPack, name);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->intact) << after->detail;
  EXPECT_LT(heal::PeakRssKiB() - rss_before, 64 * 1024);
}

}  // namespace
