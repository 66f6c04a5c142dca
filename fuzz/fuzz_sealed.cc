// Fuzzes OpenObject, the reader of sealed objects (config, snapshots,
// locks), with fixed repository keys. The first input byte picks a mode:
//   0: the rest is a stored object (magic, salt, sealed payload);
//   1: the rest is the *plaintext* (compression byte, u32 raw length,
//      payload), sealed by the harness as kind "snapshot", so the length
//      checks and the decompression behind the tag see the fuzzer's bytes.
// Properties: no crash; errors are kCorrupt; the output has exactly the
// recorded raw length; SealObject/OpenObject round-trip the output.
#include "format/sealed.h"

#include "compress/compress.h"
#include "fuzz_common.h"

namespace {

using namespace ks;

Bytes SealPlain(ByteSpan plain) {
  Bytes out = {'K', 'S', 'O', '1'};
  Bytes salt = fuzz::FixedSalt();
  Append(out, salt);
  Aead aead(ObjectKey(fuzz::FixedKeys().data, salt));
  Bytes aad = {'K', 'S', 'O', '1'};
  Append(aad, AsBytes("snapshot"));
  aead.Seal(0, aad, plain, out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Cursor c(data, size);
  uint8_t mode = c.U8();
  ByteSpan rest = c.Rest();
  Bytes object;
  uint32_t raw_len = 0;
  if (mode % 2 == 0) {
    object.assign(rest.begin(), rest.end());
  } else {
    Bytes plain(rest.begin(), rest.end());
    // The raw length may be up to 256 MiB and a zstd payload gets that much
    // memory up front (a documented limit); keep it below 1 MiB here so the
    // loop stays fast.
    if (plain.size() >= 5) plain[4] = 0, plain[3] &= 0x0f;
    if (plain.size() >= 5) raw_len = GetU32(plain.data() + 1);
    object = SealPlain(plain);
  }
  auto r = OpenObject(fuzz::FixedKeys(), "snapshot", object);
  if (!r) {
    KS_FUZZ_CHECK(r.error().kind() == ErrorKind::kCorrupt);
    fuzz::Count(mode % 2 ? 1 : 0, mode % 2 ? "plaintext rejected" : "object rejected");
    return 0;
  }
  fuzz::Count(2, "opened");
  if (mode % 2) KS_FUZZ_CHECK(r->size() == raw_len);
  KS_FUZZ_CHECK(!OpenObject(fuzz::FixedKeys(), "config", object).has_value());
  Bytes again = SealObject(fuzz::FixedKeys(), "lock", *r);
  auto back = OpenObject(fuzz::FixedKeys(), "lock", again);
  KS_FUZZ_CHECK(back.has_value() && *back == *r);
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  std::vector<Bytes> seeds;
  std::string json = R"({"version":1,"time":"2026-11-29T16:33:13Z","hostname":"h"})";
  Bytes s = {0};
  Append(s, SealObject(fuzz::FixedKeys(), "snapshot", AsBytes(json)));
  seeds.push_back(s);
  Bytes big(5000, 'x');
  s = {0};
  Append(s, SealObject(fuzz::FixedKeys(), "snapshot", big));  // compressed
  seeds.push_back(s);
  Bytes plain = {1, 0};  // mode 1, compression none
  AppendU32(plain, 5);
  Append(plain, AsBytes("hello"));
  seeds.push_back(plain);
  Bytes z;
  MaybeCompress(big, 3, z);
  Bytes zplain = {1, 1};
  AppendU32(zplain, uint32_t(big.size()));
  Append(zplain, z);
  seeds.push_back(zplain);
  return seeds;
}
