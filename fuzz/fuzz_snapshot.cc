// Fuzzes DecodeSnapshot, the parser of the snapshot JSON (the plaintext
// behind a sealed object's tag). Properties: no exception escapes, no crash;
// errors are kCorrupt or kUnsupported; whatever decodes re-encodes to a
// snapshot that decodes to the same values.
#include "format/snapshot.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "fuzz_common.h"

namespace {


bool Same(const ks::Snapshot& a, const ks::Snapshot& b) {
  const auto &x = a.summary, &y = b.summary;
  return a.time_ns == b.time_ns && a.tree == b.tree && a.paths == b.paths &&
         a.hostname == b.hostname && a.username == b.username && a.uid == b.uid &&
         a.gid == b.gid && a.tags == b.tags && a.excludes == b.excludes &&
         a.parent == b.parent && a.program_version == b.program_version &&
         x.files_new == y.files_new && x.files_changed == y.files_changed &&
         x.files_unmodified == y.files_unmodified && x.dirs == y.dirs &&
         x.files_failed == y.files_failed && x.bytes_read == y.bytes_read &&
         x.bytes_total == y.bytes_total && x.bytes_added == y.bytes_added &&
         x.blobs_added == y.blobs_added && x.duration_ns == y.duration_ns;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ks;
  Result<Snapshot> r = Fail(ErrorKind::kInternal, "not run");
  try {
    r = DecodeSnapshot(ByteSpan(data, size));
  } catch (...) {
    KS_FUZZ_CHECK(!"DecodeSnapshot let an exception escape");
  }
  if (!r) {
    KS_FUZZ_CHECK(r.error().kind() == ErrorKind::kCorrupt ||
                  r.error().kind() == ErrorKind::kUnsupported);
    fuzz::Count(0, "rejected");
    return 0;
  }
  fuzz::Count(1, "decoded");
  std::string text = EncodeSnapshot(*r);
  auto again = DecodeSnapshot(AsBytes(text));
  KS_FUZZ_CHECK(again.has_value());
  KS_FUZZ_CHECK(Same(*again, *r));
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  using namespace ks;
  std::vector<Bytes> seeds;
  Snapshot s;
  s.time_ns = 1796056393123456789;
  s.tree.b[0] = 0xab;
  s.paths = {"/home/alice", "/etc"};
  s.hostname = "host";
  s.username = "alice";
  s.uid = 1000;
  s.gid = 100;
  s.tags = {"daily"};
  s.excludes = {"*.tmp"};
  s.parent = Id{};
  s.program_version = "kintsugi 0.1.0";
  s.summary.files_new = 3;
  s.summary.duration_ns = 12345;
  std::string full = EncodeSnapshot(s);
  seeds.emplace_back(full.begin(), full.end());
  std::string minimal = R"({"version":1,"time":"2026-11-29T16:33:13Z","tree":")" +
                        std::string(64, '0') + R"(","paths":[],"hostname":"h"})";
  seeds.emplace_back(minimal.begin(), minimal.end());
  return seeds;
}
