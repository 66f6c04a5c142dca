#include "detect/features.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>


namespace ks {

double Entropy(ByteSpan data) {
  if (data.empty()) return 0;
  std::array<uint32_t, 256> counts{};
  for (uint8_t b : data) counts[b]++;
  double h = 0, n = double(data.size());
  for (uint32_t c : counts) {
    if (!c) continue;
    double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

bool LooksRandom(ByteSpan sample) { return sample.size() >= 1024 && Entropy(sample) > 7.5; }

namespace {

struct Signature {
  const char* ext;
  size_t offset;
  const char* magic;
  size_t len;
};

// Extensions a hospital share holds, with the bytes their files start with.
constexpr Signature kSignatures[] = {
    {"pdf", 0, "%PDF-", 5},
    {"docx", 0, "PK\x03\x04", 4}, {"xlsx", 0, "PK\x03\x04", 4}, {"pptx", 0, "PK\x03\x04", 4},
    {"odt", 0, "PK\x03\x04", 4},  {"zip", 0, "PK\x03\x04", 4},
    {"png", 0, "\x89PNG\r\n\x1a\n", 8},
    {"jpg", 0, "\xff\xd8\xff", 3}, {"jpeg", 0, "\xff\xd8\xff", 3},
    {"jp2", 0, "\x00\x00\x00\x0cjP  ", 8},
    {"gif", 0, "GIF8", 4},
    {"tif", 0, "II*\x00", 4}, {"tiff", 0, "II*\x00", 4},
    {"tif", 0, "MM\x00*", 4}, {"tiff", 0, "MM\x00*", 4},
    {"dcm", 128, "DICM", 4},
    {"gz", 0, "\x1f\x8b", 2}, {"zst", 0, "\x28\xb5\x2f\xfd", 4},
    {"doc", 0, "\xd0\xcf\x11\xe0", 4}, {"xls", 0, "\xd0\xcf\x11\xe0", 4},
    {"hl7", 0, "MSH|", 4},
};

std::string Extension(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= name.size()) return "";
  std::string ext(name.substr(dot + 1));
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Text formats have no magic; what they promise is text: mostly printable
// bytes and no NULs.
bool LooksLikeText(ByteSpan head) {
  if (head.empty()) return true;
  size_t printable = 0;
  for (uint8_t c : head) {
    if (c == 0) return false;
    if (c >= 0x20 || c == '\n' || c == '\r' || c == '\t' || c >= 0x80) printable++;
  }
  return printable * 100 >= head.size() * 95;
}

}  // namespace

MagicMatch CheckMagic(std::string_view name, ByteSpan head) {
  std::string ext = Extension(name);
  if (ext.empty()) return MagicMatch::kUnknown;
  bool known = false;
  for (const auto& s : kSignatures) {
    if (ext != s.ext) continue;
    known = true;
    if (head.size() >= s.offset + s.len && std::memcmp(head.data() + s.offset, s.magic, s.len) == 0)
      return MagicMatch::kMatch;  // one of the format's signatures
  }
  if (known) return head.empty() ? MagicMatch::kUnknown : MagicMatch::kMismatch;
  if (ext == "txt" || ext == "csv" || ext == "json" || ext == "xml" || ext == "html" ||
      ext == "log" || ext == "md")
    return LooksLikeText(head) ? MagicMatch::kMatch : MagicMatch::kMismatch;
  return MagicMatch::kUnknown;
}

void FeatureCollector::Update(ByteSpan piece) {
  while (!piece.empty()) {
    if (head_.size() < 132) {
      size_t take = std::min(piece.size(), 132 - head_.size());
      head_.insert(head_.end(), piece.begin(), piece.begin() + take);
    }
    // Sample the first kFeatureSample bytes of every kFeatureBlock block.
    uint64_t in_block = offset_ % kFeatureBlock;
    size_t step;
    if (in_block < kFeatureSample) {
      step = std::min<size_t>(piece.size(), kFeatureSample - in_block);
      sample_.insert(sample_.end(), piece.begin(), piece.begin() + step);
      if (sample_.size() == kFeatureSample) {
        f_.blocks++;
        if (LooksRandom(sample_)) f_.random_blocks++;
        sample_.clear();
      }
    } else {
      step = std::min<size_t>(piece.size(), kFeatureBlock - in_block);
    }
    offset_ += step;
    piece = piece.subspan(step);
  }
}

FileFeatures FeatureCollector::Finish() {
  if (sample_.size() >= 1024) {  // a short last block still counts
    f_.blocks++;
    if (LooksRandom(sample_)) f_.random_blocks++;
  }
  sample_.clear();
  f_.magic = CheckMagic(name_, head_);
  return f_;
}

}  // namespace ks
