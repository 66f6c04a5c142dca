// Shared by the fuzz harnesses. Each harness defines
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
//   std::vector<ks::Bytes> KsFuzzSeeds();   // valid inputs to start from
//
// and is built either against libFuzzer (clang, -fsanitize=fuzzer) or against
// fuzz_driver.cc, a deterministic mutation loop for compilers without
// libFuzzer (see fuzz/CMakeLists.txt). Harnesses check properties with
// KS_FUZZ_CHECK, which aborts (a crash for either runner).
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "crypto/aead.h"
#include "crypto/master_key.h"
#include "util/bytes.h"

#define KS_FUZZ_CHECK(cond)                                                              \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

std::vector<ks::Bytes> KsFuzzSeeds();

namespace ks::fuzz {

// Event counters the driver prints at the end (which paths were reached).
// Unused under libFuzzer.
struct Counters {
  std::array<uint64_t, 8> n{};
  std::array<const char*, 8> name{};
};
inline Counters g_counters;
inline void Count(int slot, const char* name) {
  g_counters.n[slot]++;
  g_counters.name[slot] = name;
}

// Fixed keys and salt, so that a harness can seal the fuzzer's bytes and reach
// the parsers behind the AEAD tag.
inline RepoKeys Keys() {
  MasterKey mk;
  for (size_t i = 0; i < mk.secret.size(); i++) mk.secret[i] = uint8_t(i * 13 + 5);
  return RepoKeys::Derive(mk);
}
inline const RepoKeys& FixedKeys() {
  static const RepoKeys keys = Keys();
  return keys;
}
inline Bytes FixedSalt() { return Bytes(kSaltSize, 0x5a); }

// Reads little-endian integers from the front of the input.
class Cursor {
 public:
  Cursor(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  uint8_t U8() { return pos_ < n_ ? d_[pos_++] : 0; }
  uint16_t U16() { return uint16_t(U8() | U8() << 8); }
  ByteSpan Rest() const { return {d_ + pos_, n_ - pos_}; }

 private:
  const uint8_t* d_;
  size_t n_, pos_ = 0;
};

}  // namespace ks::fuzz
