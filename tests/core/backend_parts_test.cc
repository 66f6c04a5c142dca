// Backend::PutParts stores exactly the concatenation of its parts, through
// the default (join, then Put) and LocalBackend's gathered writes, including
// more parts than one writev call takes and empty parts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "backend/local_backend.h"
#include "backend/mem_backend.h"

namespace ks {
namespace {

std::pair<std::vector<Bytes>, Bytes> MakeParts(size_t n) {
  std::vector<Bytes> parts;
  Bytes joined;
  for (size_t i = 0; i < n; i++) {
    Bytes p(i % 7 == 3 ? 0 : 1 + (i * 37) % 5000);  // some parts empty
    for (size_t j = 0; j < p.size(); j++) p[j] = uint8_t(i * 131 + j);
    joined.insert(joined.end(), p.begin(), p.end());
    parts.push_back(std::move(p));
  }
  return {std::move(parts), std::move(joined)};
}

std::vector<ByteSpan> Spans(const std::vector<Bytes>& parts) {
  return std::vector<ByteSpan>(parts.begin(), parts.end());
}

TEST(BackendPutParts, DefaultJoinsParts) {
  MemBackend mem;
  auto [parts, joined] = MakeParts(50);
  ASSERT_TRUE(mem.PutParts(ObjectType::kPack, "p", Spans(parts)));
  auto got = mem.Get(ObjectType::kPack, "p", 0, 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, joined);
}

TEST(BackendPutParts, LocalGathersManyParts) {
  char tmpl[] = "/tmp/ks-parts-XXXXXX";
  std::string root = mkdtemp(tmpl);
  {
    LocalBackend local(root + "/repo");
    ASSERT_TRUE(local.Create());
    for (size_t n : {size_t(0), size_t(1), size_t(1023), size_t(3001)}) {
      auto [parts, joined] = MakeParts(n);
      std::string name = "obj" + std::to_string(n);
      ASSERT_TRUE(local.PutParts(ObjectType::kIndex, name, Spans(parts)));
      auto got = local.Get(ObjectType::kIndex, name, 0, 0);
      ASSERT_TRUE(got) << n;
      EXPECT_EQ(*got, joined) << n;
      // Write-once holds for PutParts too.
      auto again = local.PutParts(ObjectType::kIndex, name, Spans(parts));
      ASSERT_FALSE(again);
      EXPECT_EQ(again.error().kind(), ErrorKind::kAlreadyExists);
    }
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace ks
