#include "compress/planes.h"

#include <gtest/gtest.h>

#include <random>

#include "test_util.h"

namespace ks {
namespace {

// The planes form as design section 5 defines it, byte by byte.
Bytes ReferencePlanes(const Bytes& in) {
  const size_t n = in.size(), half = n / 2;
  Bytes out(n);
  for (size_t i = 0; i < n; i++) {
    if (i < half) out[i] = in[2 * i];
    else if (i < 2 * half) out[i] = in[2 * (i - half) + 1];
    else out[i] = in[n - 1];
  }
  return out;
}

// Property: for every length (around the 32-byte vector step and its
// tails, and large ones), SplitPlanes equals the definition and JoinPlanes
// inverts it, wherever the buffers start (unaligned).
TEST(PlanesTest, SplitMatchesTheDefinitionAndJoinInvertsIt) {
  std::mt19937_64 rng(5);
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 200; n++) sizes.push_back(n);
  for (int i = 0; i < 40; i++) sizes.push_back(size_t(rng() % (3 << 20)));
  for (size_t n : sizes) {
    const size_t skew = size_t(rng() % 16);
    Bytes in = test::PseudoRandom(n + skew, rng());
    Bytes src(in.begin() + ptrdiff_t(skew), in.end());
    Bytes planes(n + skew), back(n + 1);
    SplitPlanes(in.data() + skew, n, planes.data() + skew);
    ASSERT_EQ(Bytes(planes.begin() + ptrdiff_t(skew), planes.end()), ReferencePlanes(src)) << n;
    back[n] = 0xA5;  // a guard byte past the end
    JoinPlanes(planes.data() + skew, n, back.data());
    ASSERT_EQ(back[n], 0xA5) << n;
    back.resize(n);
    ASSERT_EQ(back, src) << n;
  }
}

// Property: any slice of the planes form, wherever it starts and ends
// (within a plane, across the boundary between them, over the last byte),
// is that slice of the whole.
TEST(PlanesTest, SlicesAreSlicesOfTheWhole) {
  std::mt19937_64 rng(6);
  for (int trial = 0; trial < 400; trial++) {
    const size_t n = trial < 100 ? size_t(trial) : size_t(rng() % 5000);
    Bytes in = test::PseudoRandom(n, rng());
    Bytes whole = ReferencePlanes(in);
    size_t at = n ? size_t(rng() % (n + 1)) : 0;
    size_t len = size_t(rng() % (n - at + 1));
    if (trial % 7 == 0) at = n / 2 - std::min(n / 2, size_t(3)), len = std::min<size_t>(n - at, 40);
    Bytes out(len + 1, 0xA5);
    PlanesSlice(in.data(), n, at, len, out.data());
    ASSERT_EQ(out[len], 0xA5) << n << " " << at << " " << len;
    out.resize(len);
    ASSERT_EQ(out, Bytes(whole.begin() + ptrdiff_t(at), whole.begin() + ptrdiff_t(at + len)))
        << n << " " << at << " " << len;
  }
}

}  // namespace
}  // namespace ks
