// Ransomware detection, part 1: cheap per-file features, computed from the
// bytes the backup pipeline reads anyway (docs/design.md, "Ransomware
// detection"). Pure: buffers in, numbers out.
//
// Entropy alone does not find ransomware: JPEG 2000 inside DICOM, ZIP-based
// Office files and compressed media look random by nature, and modern
// ransomware encrypts only some blocks of each file. So the features are
// kept per file and compared with the same file's previous version
// (detect/verdict.h): every KiB's randomness and text-ness, what the file's
// first bytes say it is (and whether that format is compressed by design)
// against what its extension promises, and a small sketch of its contents
// that tells an edit in place from a rewrite.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "format/node.h"
#include "util/bytes.h"

namespace ks {

constexpr size_t kFeatureBlock = 64 * 1024;
constexpr size_t kFeatureSample = 4 * 1024;  // bytes sampled per block
// Every byte is also measured in units of 1 KiB: small enough that an
// attacker's encrypted run of 2 KiB anywhere in a file fills a whole unit,
// large enough for a stable entropy estimate. A last unit counts from 512
// bytes.
constexpr size_t kFeatureUnit = 1024;
constexpr size_t kFeatureUnitMin = 512;
constexpr size_t kFeatureHead = 1024;  // leading bytes kept for magic and kind

// Shannon entropy of `data` in bits per byte (0..8).
double Entropy(ByteSpan data);

// True if a sample looks like ciphertext or compressed data: above 7.5
// bits/byte over 4 KiB (random data measures about 7.95 there, text 4 to
// 5.5, raw 16-bit images with noise 6 to 7).
bool LooksRandom(ByteSpan sample);

// True if a unit of `n` bytes with these byte counts looks random: its
// entropy with the Miller-Madow correction for small samples (so 512 bytes
// and 1 KiB measure alike) is above 7.5 bits/byte. Random data measures
// 7.95 to 8.05 there, text 4 to 6, raw 16-bit images with noise 6 to 7.
bool UnitLooksRandom(const uint32_t (&counts)[256], size_t n);

// True if the counts hold a control byte that text never has (0x01 to 0x08,
// 0x0E to 0x1A, 0x1C to 0x1F). NUL is allowed: crashed writers leave runs
// of NULs in logs. 1 KiB of random data holds about 110 such bytes.
bool UnitHasBinary(const uint32_t (&counts)[256]);

// What a unit's bytes say without a histogram: how many are 0x80 or above,
// and whether any is a control byte UnitHasBinary counts (the same set).
struct UnitScan {
  size_t high;
  bool binary;
};
UnitScan ScanUnit(ByteSpan unit);

// Checks the first bytes of a file (up to 1 KiB) against its name's
// extension.
MagicMatch CheckMagic(std::string_view name, ByteSpan head);

// What the first bytes of a file (up to 1 KiB) say it is, by signature
// alone; for DICOM also whether its transfer syntax is a compressed one.
ContentKind SniffKind(ByteSpan head);

// Estimated fraction of units shared by two versions (Jaccard similarity
// of their unit contents, from the bottom-k sketches): 1 when both have no
// units.
double SketchSimilarity(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);

// Formats whose content is compressed by design, so random-looking bytes
// are what they should hold.
bool IsCompressedKind(ContentKind k);

// Accumulates features while a file is read in order, in pieces of any size.
class FeatureCollector {
 public:
  explicit FeatureCollector(std::string name) : name_(std::move(name)) {}
  void Update(ByteSpan piece);
  FileFeatures Finish();

 private:
  std::string name_;
  void AddUnit(ByteSpan unit);

  uint64_t offset_ = 0;
  Bytes head_;    // first bytes, for the magic
  Bytes sample_;  // the current block's sample
  Bytes unit_;  // a unit begun in an earlier piece
  FileFeatures f_;
};


}  // namespace ks
