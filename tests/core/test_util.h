// Helpers shared by the core tests: deterministic random data, fixed keys,
// temporary directories and assertions on Status / Result.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <random>
#include <string>

#include "crypto/master_key.h"
#include "util/bytes.h"
#include "util/status.h"

namespace ks {

inline const char* KindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::kInvalidArgument: return "kInvalidArgument";
    case ErrorKind::kNotFound: return "kNotFound";
    case ErrorKind::kAlreadyExists: return "kAlreadyExists";
    case ErrorKind::kIo: return "kIo";
    case ErrorKind::kNoSpace: return "kNoSpace";
    case ErrorKind::kPermission: return "kPermission";
    case ErrorKind::kCorrupt: return "kCorrupt";
    case ErrorKind::kWrongPassword: return "kWrongPassword";
    case ErrorKind::kLocked: return "kLocked";
    case ErrorKind::kNoRepository: return "kNoRepository";
    case ErrorKind::kUnsupported: return "kUnsupported";
    case ErrorKind::kInternal: return "kInternal";
  }
  return "?";
}

// gtest prints enum values through this.
inline void PrintTo(ErrorKind k, std::ostream* os) { *os << KindName(k); }
inline void PrintTo(const Id& id, std::ostream* os) { *os << id.Hex(); }

namespace test {

// Deterministic pseudo-random bytes (std::mt19937_64 is fully specified by
// the standard, so the same seed gives the same bytes everywhere).
inline Bytes PseudoRandom(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) PutU64(out.data() + i, rng());
  if (i < n) {
    uint64_t v = rng();
    for (; i < n; i++, v >>= 8) out[i] = uint8_t(v);
  }
  return out;
}

inline Id RandomId(std::mt19937_64& rng) {
  Id id;
  for (size_t i = 0; i < 32; i += 8) PutU64(id.b.data() + i, rng());
  return id;
}

// A master key whose bytes are a function of `seed`.
inline MasterKey FixedMasterKey(uint8_t seed) {
  MasterKey mk;
  for (size_t i = 0; i < mk.secret.size(); i++) mk.secret[i] = uint8_t(seed * 31 + i * 7 + 1);
  return mk;
}
inline RepoKeys FixedKeys(uint8_t seed = 1) { return RepoKeys::Derive(FixedMasterKey(seed)); }

// Compressible text of about `n` bytes.
inline Bytes SampleText(size_t n, uint64_t seed = 7) {
  static const char* kWords[] = {"kintsugi ", "backup ", "repository ", "snapshot ",
                                 "chunk ",    "golden ", "repair ",     "pottery ",
                                 "index\n",   "tree ",   "blob ",       "pack "};
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < n) s += kWords[rng() % 12];
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/ks-core-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};


template <typename R>
::testing::AssertionResult OkResult(const R& r, const char* expr) {
  if (r.has_value()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " failed: " << KindName(r.error().kind())
                                       << ": " << r.error().message();
}

template <typename R>
::testing::AssertionResult ErrResult(const R& r, ErrorKind want, const char* expr) {
  if (r.has_value()) return ::testing::AssertionFailure() << expr << " unexpectedly succeeded";
  if (r.error().kind() != want)
    return ::testing::AssertionFailure() << expr << " failed with " << KindName(r.error().kind())
                                         << " (" << r.error().message() << "), expected "
                                         << KindName(want);
  return ::testing::AssertionSuccess();
}

}  // namespace test
}  // namespace ks

// ASSERT_OK(expr) / EXPECT_OK(expr): expr is a Status or Result; on failure
// the error kind and message are printed. EXPECT_ERR(expr, kind): expr fails
// with exactly that ErrorKind. All accept "<< extra message".
#define ASSERT_OK(expr) ASSERT_TRUE(::ks::test::OkResult((expr), #expr))
#define EXPECT_OK(expr) EXPECT_TRUE(::ks::test::OkResult((expr), #expr))
#define EXPECT_ERR(expr, kind) EXPECT_TRUE(::ks::test::ErrResult((expr), (kind), #expr))
