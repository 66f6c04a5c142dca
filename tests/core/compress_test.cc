#include "compress/compress.h"

#include <gtest/gtest.h>

#include <random>

#include "test_util.h"

namespace ks {
namespace {

using test::PseudoRandom;
using test::SampleText;

TEST(CompressTest, TextRoundTripIsSmaller) {
  for (size_t n : {size_t(64), size_t(1000), size_t(64 * 1024), size_t(300 * 1024)}) {
    Bytes text = SampleText(n, n);
    Bytes packed;
    ASSERT_EQ(MaybeCompress(text, 3, packed), Compression::kZstd) << n;
    EXPECT_LT(packed.size(), n >= 1000 ? text.size() / 2 : text.size()) << n;
    Bytes back = {1, 2, 3};
    ASSERT_OK(Decompress(Compression::kZstd, packed, text.size(), back));
    EXPECT_EQ(back, text);
  }
}

TEST(CompressTest, RandomDataStoredUncompressed) {
  for (size_t n : {size_t(0), size_t(10), size_t(64), size_t(5000), size_t(64 * 1024),
                   size_t(200 * 1024)}) {
    Bytes data = PseudoRandom(n, n + 1);
    Bytes out = {7};
    ASSERT_EQ(MaybeCompress(data, 3, out), Compression::kNone) << n;
    EXPECT_EQ(out, data);
    Bytes back;
    ASSERT_OK(Decompress(Compression::kNone, out, n, back));
    EXPECT_EQ(back, data);
  }
}

TEST(CompressTest, LevelZeroAndTinyInputsAreNotCompressed) {
  Bytes text = SampleText(10000);
  Bytes out;
  EXPECT_EQ(MaybeCompress(text, 0, out), Compression::kNone);
  EXPECT_EQ(out, text);
  Bytes tiny(63, 'a');  // compressible, but below the 64-byte threshold
  EXPECT_EQ(MaybeCompress(tiny, 19, out), Compression::kNone);
  EXPECT_EQ(out, tiny);
  Bytes just(64, 'a');
  EXPECT_EQ(MaybeCompress(just, 19, out), Compression::kZstd);
  Bytes back;
  ASSERT_OK(Decompress(Compression::kZstd, out, 64, back));
  EXPECT_EQ(back, just);
}

TEST(CompressTest, SampleDecidesForLargeInputs) {
  // Text whose four sample pieces (start, a third, two thirds, end) are
  // random: the sample says "not worth it", so the compressible rest is
  // not tried.
  const size_t n = 1 << 20, span = n - 4096;
  Bytes mixed = SampleText(n);
  for (size_t k = 0; k < 4; k++) {
    Bytes rnd = PseudoRandom(4096, 5 + k);
    std::copy(rnd.begin(), rnd.end(), mixed.begin() + (span * k / 3 & ~size_t(1)));
  }
  Bytes out;
  EXPECT_EQ(MaybeCompress(mixed, 3, out), Compression::kNone);
  EXPECT_EQ(out, mixed);
  // Random bytes between the pieces of text are not seen by the sample:
  // the whole is compressed, and round-trips.
  Bytes mixed2 = SampleText(n);
  Bytes rnd = PseudoRandom(200 * 1024, 6);
  std::copy(rnd.begin(), rnd.end(), mixed2.begin() + 400 * 1024);
  ASSERT_EQ(MaybeCompress(mixed2, 3, out), Compression::kZstd);
  Bytes back;
  ASSERT_OK(Decompress(Compression::kZstd, out, mixed2.size(), back));
  EXPECT_EQ(back, mixed2);
}

TEST(CompressTest, WrongRawLengthIsCorrupt) {
  Bytes text = SampleText(20000);
  Bytes packed, out;
  ASSERT_EQ(MaybeCompress(text, 3, packed), Compression::kZstd);
  for (size_t wrong : {size_t(0), size_t(1), text.size() - 1, text.size() + 1,
                       text.size() * 2}) {
    EXPECT_ERR(Decompress(Compression::kZstd, packed, wrong, out), ErrorKind::kCorrupt)
        << wrong;
  }
  Bytes raw = PseudoRandom(100, 1);
  EXPECT_ERR(Decompress(Compression::kNone, raw, 99, out), ErrorKind::kCorrupt);
  EXPECT_ERR(Decompress(Compression::kNone, raw, 101, out), ErrorKind::kCorrupt);
  EXPECT_ERR(Decompress(Compression::kNone, raw, 0, out), ErrorKind::kCorrupt);
}

TEST(CompressTest, TruncatedFrameIsCorrupt) {
  Bytes text = SampleText(5000, 3);
  Bytes packed, out;
  ASSERT_EQ(MaybeCompress(text, 3, packed), Compression::kZstd);
  for (size_t n = 0; n < packed.size(); n++)
    EXPECT_ERR(Decompress(Compression::kZstd, ByteSpan(packed).subspan(0, n), text.size(), out),
               ErrorKind::kCorrupt)
        << "truncated to " << n << " of " << packed.size();
  // Trailing garbage after the frame is not accepted either.
  Bytes longer = packed;
  longer.push_back(0);
  EXPECT_ERR(Decompress(Compression::kZstd, longer, text.size(), out), ErrorKind::kCorrupt);
}

TEST(CompressTest, GarbageAndUnknownMethod) {
  Bytes out;
  Bytes garbage = PseudoRandom(1000, 9);
  EXPECT_ERR(Decompress(Compression::kZstd, garbage, 1000, out), ErrorKind::kCorrupt);
  EXPECT_ERR(Decompress(Compression::kZstd, {}, 1, out), ErrorKind::kCorrupt);
  // An empty payload holds zero frames: zstd accepts it as zero bytes, which
  // is the right output when zero bytes are expected.
  out = {1};
  if (Decompress(Compression::kZstd, {}, 0, out)) {
    EXPECT_TRUE(out.empty());
  }
  EXPECT_ERR(Decompress(Compression::kZstdShuffle2, garbage, 1000, out), ErrorKind::kCorrupt);
  EXPECT_ERR(Decompress(Compression(3), garbage, 1000, out), ErrorKind::kCorrupt);
  EXPECT_ERR(Decompress(Compression(255), garbage, 1000, out), ErrorKind::kCorrupt);
  // Flipped bytes inside a frame: an error or (zstd frames carry no checksum
  // here; the AEAD guards integrity) some output of the right length.
  Bytes text = SampleText(3000, 4), packed;
  ASSERT_EQ(MaybeCompress(text, 3, packed), Compression::kZstd);
  for (size_t i = 0; i < packed.size(); i++) {
    Bytes bad = packed;
    bad[i] ^= 0x5a;
    auto s = Decompress(Compression::kZstd, bad, text.size(), out);
    if (s) {
      EXPECT_EQ(out.size(), text.size());
    } else {
      EXPECT_EQ(s.error().kind(), ErrorKind::kCorrupt);
    }
  }
}

// 16-bit little-endian samples: a smooth gradient with a few bits of noise,
// like raw CT or MR pixel data.
Bytes SixteenBitImage(size_t n, uint64_t seed) {
  Bytes out(n);
  uint64_t x = seed;
  for (size_t i = 0; i + 1 < n; i += 2) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    uint16_t v = uint16_t(1000 + (i / 2) % 512 * 3 + (x >> 60));
    out[i] = uint8_t(v);
    out[i + 1] = uint8_t(v >> 8);
  }
  if (n & 1) out[n - 1] = 0x5a;
  return out;
}

TEST(CompressTest, SixteenBitSamplesAreSplitIntoPlanes) {
  for (size_t n : {size_t(65537), size_t(300000), size_t(1) << 20, size_t(3'000'001)}) {
    Bytes img = SixteenBitImage(n, n), planes, plain;
    ASSERT_EQ(MaybeCompress(img, 2, planes, true), Compression::kZstdShuffle2) << n;
    ASSERT_EQ(MaybeCompress(img, 2, plain), Compression::kZstd) << n;  // not allowed: plain zstd
    EXPECT_LT(planes.size(), plain.size()) << n;
    Bytes back = {9};
    ASSERT_OK(Decompress(Compression::kZstdShuffle2, planes, n, back));
    EXPECT_EQ(back, img) << n;
  }
}

// The trial sample is four 4 KiB pieces from the start to the end of the
// input, each at an even offset (so the sample's planes are the input's).
TEST(CompressTest, TrialSampleSpansTheInput) {
  for (size_t n : {size_t(65537), size_t(65538), size_t(1) << 20, size_t(8'388'607)}) {
    Bytes in = PseudoRandom(n, n);
    Bytes sample(kTrialSampleSize);
    TrialSample(in, sample.data());
    const size_t span = n - 4096;
    for (size_t k = 0; k < 4; k++) {
      const size_t at = span * k / 3 & ~size_t(1);
      ASSERT_EQ(at % 2, 0u);
      ASSERT_LE(at + 4096, n);
      EXPECT_TRUE(std::equal(sample.begin() + k * 4096, sample.begin() + (k + 1) * 4096,
                             in.begin() + at))
          << n << " piece " << k;
    }
    // The first piece is the start; the last ends at the end, or one byte
    // before it when the length is odd.
    EXPECT_TRUE(std::equal(sample.begin(), sample.begin() + 4096, in.begin()));
    const size_t last = span & ~size_t(1);
    EXPECT_EQ(n - (last + 4096), n % 2);
  }
}

// Pixel data behind a header unlike it (a DICOM file's tags) is still
// found: the sample reaches past the header.
TEST(CompressTest, PixelDataBehindAHeaderIsSplitIntoPlanes) {
  Bytes in = SampleText(12 * 1024, 8);
  Bytes img = SixteenBitImage(1 << 20, 3);
  in.insert(in.end(), img.begin(), img.end());
  Bytes out;
  EXPECT_EQ(MaybeCompress(in, 1, out, true), Compression::kZstdShuffle2);
}

TEST(CompressTest, TextAndRandomDataAreNotSplit) {
  Bytes text = SampleText(300 * 1024, 5), random = PseudoRandom(300 * 1024, 6), out;
  EXPECT_EQ(MaybeCompress(text, 2, out, true), Compression::kZstd);
  EXPECT_EQ(MaybeCompress(random, 2, out, true), Compression::kNone);
  EXPECT_EQ(out, random);
}

// Property: for every length and content, the planes round-trip exactly,
// and a payload decoded with the wrong length or damaged is an error or
// (zstd frames carry no checksum here) output of the right length only.
TEST(CompressTest, PlanesRoundTripEveryLength) {
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 300; trial++) {
    size_t n = trial < 40 ? size_t(65536 + trial) : size_t(65536 + rng() % 600000);
    Bytes data = trial % 2 ? SixteenBitImage(n, rng()) : PseudoRandom(n, rng());
    for (size_t k = 0; k < data.size(); k += 1 + rng() % 50000) data[k] ^= uint8_t(rng());
    Bytes packed;
    Compression c = MaybeCompress(data, 1 + int(rng() % 3), packed, true);
    Bytes back;
    ASSERT_OK(Decompress(c, packed, n, back));
    ASSERT_EQ(back, data) << "trial " << trial << " n " << n;
    if (c != Compression::kZstdShuffle2) continue;
    EXPECT_ERR(Decompress(c, packed, n + 1, back), ErrorKind::kCorrupt);
    EXPECT_ERR(Decompress(c, packed, n - 1, back), ErrorKind::kCorrupt);
    EXPECT_ERR(Decompress(c, ByteSpan(packed).subspan(0, packed.size() / 2), n, back),
               ErrorKind::kCorrupt);
    Bytes bad = packed;
    bad[rng() % bad.size()] ^= uint8_t(1 + rng() % 255);
    if (auto s = Decompress(c, bad, n, back)) EXPECT_EQ(back.size(), n);
    else EXPECT_EQ(s.error().kind(), ErrorKind::kCorrupt);
  }
}

// Property: CompressForStorage, with one scratch buffer reused across
// inputs of every kind and size (stale bytes left in it), decides as
// MaybeCompress does, stores `in` itself when not compressing, and its
// payload decompresses to the input.
TEST(CompressTest, ForStorageReusesScratchAndAgreesWithMaybeCompress) {
  std::mt19937_64 rng(23);
  UninitBytes scratch;
  size_t largest = 0;
  for (int trial = 0; trial < 200; trial++) {
    size_t n = size_t(rng() % 3 == 0 ? rng() % 70000 : 65536 + rng() % 900000);
    Bytes data;
    switch (trial % 3) {
      case 0: data = SampleText(n); break;
      case 1: data = SixteenBitImage(n, rng()); break;
      default: data = PseudoRandom(n, rng()); break;
    }
    const int level = 1 + int(rng() % 3);
    const bool planes = rng() % 2;
    CompressedPayload p = CompressForStorage(data, level, scratch, planes);
    Bytes copy;
    ASSERT_EQ(p.method, MaybeCompress(data, level, copy, planes)) << trial;
    ASSERT_EQ(Bytes(p.bytes.begin(), p.bytes.end()), copy) << trial;
    if (p.method == Compression::kNone) {
      EXPECT_EQ(p.bytes.data(), data.data());  // no copy
    } else {
      EXPECT_EQ(p.bytes.data(), scratch.data());
    }
    EXPECT_GE(scratch.size(), largest);  // never shrunk
    largest = scratch.size();
    Bytes back;
    ASSERT_OK(Decompress(p.method, p.bytes, data.size(), back));
    ASSERT_EQ(back, data) << trial;
  }
}

TEST(CompressTest, CompressRatio) {
  EXPECT_EQ(CompressRatio({}), 1.0);
  EXPECT_LT(CompressRatio(SampleText(64 * 1024)), 0.5);
  double r = CompressRatio(PseudoRandom(64 * 1024, 2));
  EXPECT_GT(r, 0.97);
  EXPECT_LT(r, 1.01);
}

}  // namespace
}  // namespace ks
