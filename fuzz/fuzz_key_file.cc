// Fuzzes the key file parser: PeekKeyFile on every input, and OpenKeyFile
// when the input's KDF parameters are the cheapest Argon2id allows (1 pass,
// 8 KiB), so the base64 fields, lengths and associated data are reached too
// without making each run slow. Properties: no exception escapes, no crash;
// errors have the documented kinds; the seed key file opens to its master
// key only with its passphrase.
#include <nlohmann/json.hpp>

#include "crypto/key_file.h"
#include "fuzz_common.h"

namespace {

constexpr const char* kPassphrase = "fuzz passphrase";
constexpr uint64_t kCheapMem = 8192;

ks::MasterKey SeedMasterKey() {
  ks::MasterKey mk;
  for (size_t i = 0; i < mk.secret.size(); i++) mk.secret[i] = uint8_t(255 - i);
  return mk;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ks;
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto info = PeekKeyFile(text);
    if (!info) {
      KS_FUZZ_CHECK(info.error().kind() == ErrorKind::kCorrupt ||
                    info.error().kind() == ErrorKind::kUnsupported);
      fuzz::Count(0, "peek rejected");
      return 0;
    }
    fuzz::Count(1, "peek ok");
    auto j = nlohmann::json::parse(text, nullptr, false);
    KS_FUZZ_CHECK(j.is_object());
    if (!(j["ops"].is_number_unsigned() && j["ops"].get<uint64_t>() <= 1 &&
          j["mem"].is_number_unsigned() && j["mem"].get<uint64_t>() <= kCheapMem))
      return 0;
    auto mk = OpenKeyFile(text, kPassphrase);
    if (!mk) {
      ErrorKind k = mk.error().kind();
      KS_FUZZ_CHECK(k == ErrorKind::kCorrupt || k == ErrorKind::kWrongPassword ||
                    k == ErrorKind::kUnsupported);
      fuzz::Count(2, "open failed");
      return 0;
    }
    fuzz::Count(3, "opened");
    KS_FUZZ_CHECK(mk->secret == SeedMasterKey().secret);
    KS_FUZZ_CHECK(!OpenKeyFile(text, "not the passphrase").has_value());
  } catch (...) {
    KS_FUZZ_CHECK(!"an exception escaped the key file parser");
  }
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  using namespace ks;
  auto text = SealKeyFile(SeedMasterKey(), kPassphrase, KdfParams{1, kCheapMem},
                          KeyFileInfo{"host", "user", "2026-11-29T16:33:13.000000000Z"});
  KS_FUZZ_CHECK(text.has_value());
  std::vector<Bytes> seeds;
  seeds.emplace_back(text->begin(), text->end());
  auto compact = nlohmann::json::parse(*text).dump();
  seeds.emplace_back(compact.begin(), compact.end());
  return seeds;
}
