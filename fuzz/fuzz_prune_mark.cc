// Fuzzes DecodeMark, the parser of prune marks (the plaintext behind a
// sealed object's tag). Properties: no exception escapes, no crash; errors
// are kCorrupt or kUnsupported; whatever decodes re-encodes to the same mark.
#include "format/prune_mark.h"

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ks;
  Result<PruneMark> r = Fail(ErrorKind::kInternal, "not run");
  try {
    r = DecodeMark(ByteSpan(data, size));
  } catch (...) {
    KS_FUZZ_CHECK(!"DecodeMark let an exception escape");
  }
  if (!r) {
    KS_FUZZ_CHECK(r.error().kind() == ErrorKind::kCorrupt ||
                  r.error().kind() == ErrorKind::kUnsupported);
    fuzz::Count(0, "rejected");
    return 0;
  }
  fuzz::Count(1, "decoded");
  auto again = DecodeMark(AsBytes(EncodeMark(*r)));
  KS_FUZZ_CHECK(again.has_value());
  KS_FUZZ_CHECK(again->time_ns == r->time_ns && again->host == r->host &&
                again->packs == r->packs);
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  using namespace ks;
  PruneMark m;
  m.time_ns = 1796056393123456789;
  m.host = "backup-1";
  m.packs = {Id{}, Sha256(AsBytes("pack"))};
  std::string full = EncodeMark(m);
  std::string empty = R"({"version":1,"time_ns":0,"packs":[]})";
  return {Bytes(full.begin(), full.end()), Bytes(empty.begin(), empty.end())};
}
