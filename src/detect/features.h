// Ransomware detection, part 1: cheap per-file features, computed from the
// bytes the backup pipeline reads anyway (docs/design.md, "Ransomware
// detection"). Pure: buffers in, numbers out.
//
// Entropy alone does not find ransomware: JPEG 2000 inside DICOM, ZIP-based
// Office files and compressed media look random by nature, and modern
// ransomware encrypts only some blocks of each file. So the features are
// kept per file and compared with the same file's previous version
// (detect/verdict.h), together with what the file's magic bytes say against
// what its extension promises.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "format/node.h"
#include "util/bytes.h"

namespace ks {

constexpr size_t kFeatureBlock = 64 * 1024;
constexpr size_t kFeatureSample = 4 * 1024;  // bytes sampled per block

// Shannon entropy of `data` in bits per byte (0..8).
double Entropy(ByteSpan data);

// True if a sample looks like ciphertext or compressed data: above 7.5
// bits/byte over 4 KiB (random data measures about 7.95 there, text 4 to
// 5.5, raw 16-bit images with noise 6 to 7).
bool LooksRandom(ByteSpan sample);

// Checks the first bytes of a file (up to 132) against its name's
// extension.
MagicMatch CheckMagic(std::string_view name, ByteSpan head);

// Accumulates features while a file is read in order, in pieces of any size.
class FeatureCollector {
 public:
  explicit FeatureCollector(std::string name) : name_(std::move(name)) {}
  void Update(ByteSpan piece);
  FileFeatures Finish();

 private:
  std::string name_;
  uint64_t offset_ = 0;
  Bytes head_;    // first bytes, for the magic
  Bytes sample_;  // the current block's sample
  FileFeatures f_;
};


}  // namespace ks
