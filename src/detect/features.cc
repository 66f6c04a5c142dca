#include "detect/features.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <iterator>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// Inlined: the shared library's XXH3 is several times slower on 1 KiB
// units, and this hashes every KiB a backup reads.
#define XXH_INLINE_ALL
#include <xxhash.h>


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

bool LooksRandom(ByteSpan sample) {
  if (sample.size() < 1024) return false;
  // With a share p < 1/16 of bytes at 0x80 or above, the entropy is at
  // most H(p) + 7 (each half has at most 128 values) < 7 + H(1/16) = 7.34
  // bits: counting those bytes is far cheaper than the histogram.
  if (16 * ScanUnit(sample).high < sample.size()) return false;
  return Entropy(sample) > 7.5;
}

bool UnitLooksRandom(const uint32_t (&counts)[256], size_t n) {
  if (n == 0) return false;
  // c·log2(c) for the counts of a unit: a table, since a unit has at most
  // kFeatureUnit bytes and this runs once per KiB of everything read.
  static const auto kCLogC = [] {
    std::array<double, kFeatureUnit + 1> t{};
    for (size_t c = 1; c <= kFeatureUnit; c++) t[c] = double(c) * std::log2(double(c));
    return t;
  }();
  double nn = double(n);
  // The estimate below is at most log2(K) + (K-1)/(2n ln 2) for K distinct
  // byte values: text and most structured data use too few values to pass,
  // and are told apart by this integer count alone.
  unsigned distinct = 0;
  for (uint32_t c : counts) distinct += c != 0;
  if (std::log2(double(distinct)) + double(distinct - 1) / (2 * nn * std::log(2.0)) <= 7.5)
    return false;
  double sum = 0;
  if (n <= kFeatureUnit) {
    // Counts of n bytes are at most n, so all are in the table (whose 0
    // entry is 0): no branch per value. The clamp only keeps a caller's
    // inconsistent counts inside it.
    // Eight partial sums: one running sum is a chain of 256 dependent
    // additions. They change only the order of the additions, so the
    // estimate can differ in its last bits of rounding (about 1e-15 of
    // it): a unit would have to measure that close to 7.5 bits to be
    // classified otherwise.
    double part[8] = {};
    for (size_t v = 0; v < 256; v += 8)
      for (size_t j = 0; j < 8; j++)
        part[j] += kCLogC[std::min<uint32_t>(counts[v + j], kFeatureUnit)];
    sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  } else {
    for (uint32_t c : counts)
      if (c) sum += double(c) * std::log2(double(c));
  }
  double h = std::log2(nn) - sum / nn;
  // Miller-Madow: the plug-in estimate is low by (K-1)/(2n) nats.
  h += double(distinct - 1) / (2 * nn * std::log(2.0));
  return h > 7.5;
}

namespace {
// A control byte text never has: 0x01 to 0x08, 0x0E to 0x1A, 0x1C to 0x1F
// (not NUL, tab, LF, VT, FF, CR or ESC). ScanUnit's vector ranges are the
// same three.
constexpr bool IsBinaryControl(unsigned b) {
  return (b >= 0x01 && b <= 0x08) || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f);
}
}  // namespace

bool UnitHasBinary(const uint32_t (&counts)[256]) {
  for (unsigned b = 0x01; b <= 0x1f; b++)
    if (IsBinaryControl(b) && counts[b]) return true;
  return false;
}

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
    {"mp4", 4, "ftyp", 4}, {"m4a", 4, "ftyp", 4}, {"mov", 4, "ftyp", 4},
};

struct KindSignature {
  ContentKind kind;
  size_t offset;
  const char* magic;
  size_t len;
};

constexpr KindSignature kKinds[] = {
    {ContentKind::kPdf, 0, "%PDF-", 5},
    {ContentKind::kZip, 0, "PK\x03\x04", 4},
    {ContentKind::kPng, 0, "\x89PNG\r\n\x1a\n", 8},
    {ContentKind::kJpeg, 0, "\xff\xd8\xff", 3},
    {ContentKind::kJp2, 0, "\x00\x00\x00\x0cjP  ", 8},
    {ContentKind::kGif, 0, "GIF8", 4},
    {ContentKind::kTiff, 0, "II*\x00", 4}, {ContentKind::kTiff, 0, "MM\x00*", 4},
    {ContentKind::kDicom, 128, "DICM", 4},
    {ContentKind::kGzip, 0, "\x1f\x8b", 2},
    {ContentKind::kZstd, 0, "\x28\xb5\x2f\xfd", 4},
    {ContentKind::kOle, 0, "\xd0\xcf\x11\xe0", 4},
    {ContentKind::kElf, 0, "\x7f" "ELF", 4},
    {ContentKind::kMp4, 4, "ftyp", 4},
};

uint16_t Le16(ByteSpan b, size_t at) { return uint16_t(b[at] | b[at + 1] << 8); }
uint32_t Le32(ByteSpan b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 |
         uint32_t(b[at + 3]) << 24;
}

// The transfer syntax UID (0002,0010) of a DICOM file's meta header, which
// is always explicit VR little endian and follows "DICM" at 132. Empty if
// it is not within `head`.
std::string DicomTransferSyntax(ByteSpan head) {
  size_t at = 132;
  while (at + 8 <= head.size()) {
    uint16_t group = Le16(head, at), element = Le16(head, at + 2);
    if (group != 0x0002) break;
    std::string vr(reinterpret_cast<const char*>(head.data() + at + 4), 2);
    size_t value, len;
    if (vr == "OB" || vr == "OW" || vr == "OF" || vr == "SQ" || vr == "UT" || vr == "UN") {
      if (at + 12 > head.size()) break;
      len = Le32(head, at + 8);
      value = at + 12;
    } else {
      len = Le16(head, at + 6);
      value = at + 8;
    }
    if (element == 0x0010) {
      if (value + len > head.size()) break;
      std::string uid(reinterpret_cast<const char*>(head.data() + value), len);
      while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.pop_back();
      return uid;
    }
    if (len > head.size()) break;
    at = value + len;
  }
  return "";
}

// Transfer syntaxes whose pixel data is compressed: the JPEG family, JPEG-LS,
// JPEG 2000, MPEG and HTJ2K (1.2.840.10008.1.2.4.*), RLE (…1.2.5) and
// deflated explicit VR (…1.2.1.99).
bool CompressedTransferSyntax(const std::string& uid) {
  return uid.starts_with("1.2.840.10008.1.2.4.") || uid == "1.2.840.10008.1.2.5" ||
         uid == "1.2.840.10008.1.2.1.99";
}

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

ContentKind SniffKind(ByteSpan head) {
  if (head.empty()) return ContentKind::kNone;
  for (const auto& k : kKinds) {
    if (head.size() < k.offset + k.len || std::memcmp(head.data() + k.offset, k.magic, k.len) != 0)
      continue;
    if (k.kind == ContentKind::kDicom && CompressedTransferSyntax(DicomTransferSyntax(head)))
      return ContentKind::kDicomCompressed;
    return k.kind;
  }
  uint32_t counts[256] = {};
  for (uint8_t b : head) counts[b]++;
  return !counts[0] && !UnitHasBinary(counts) && LooksLikeText(head) ? ContentKind::kText
                                                                     : ContentKind::kNone;
}

bool IsCompressedKind(ContentKind k) {
  switch (k) {
    case ContentKind::kZip: case ContentKind::kPng: case ContentKind::kJpeg:
    case ContentKind::kGif: case ContentKind::kDicomCompressed: case ContentKind::kGzip:
    case ContentKind::kZstd: case ContentKind::kMp4: case ContentKind::kJp2:
      return true;
    default:
      return false;
  }
}

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

UnitScan ScanUnit(ByteSpan unit) {
  UnitScan r{0, false};
  size_t i = 0;
#if defined(__SSE2__)
  // Signed byte compares: bytes of 0x80 and above are negative, so they
  // fall outside every control range below by themselves.
  const __m128i zero = _mm_setzero_si128();
  __m128i bad = zero;
  // Per-lane counts of high bytes (a lane's compare is 0 or -1, so
  // subtracting it counts), summed into r.high before a lane can pass 255.
  __m128i lanes = zero;
  size_t steps = 0;
  for (; i + 16 <= unit.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(unit.data() + i));
    lanes = _mm_sub_epi8(lanes, _mm_cmplt_epi8(v, zero));
    if (++steps == 255) {
      __m128i sums = _mm_sad_epu8(lanes, zero);
      r.high += size_t(_mm_cvtsi128_si64(sums)) + size_t(_mm_extract_epi16(sums, 4));
      lanes = zero;
      steps = 0;
    }
    __m128i a = _mm_and_si128(_mm_cmpgt_epi8(v, zero), _mm_cmplt_epi8(v, _mm_set1_epi8(0x09)));
    __m128i b = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x0d)),
                              _mm_cmplt_epi8(v, _mm_set1_epi8(0x1b)));
    __m128i c = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1b)),
                              _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    bad = _mm_or_si128(bad, _mm_or_si128(a, _mm_or_si128(b, c)));
  }
  __m128i sums = _mm_sad_epu8(lanes, zero);
  r.high += size_t(_mm_cvtsi128_si64(sums)) + size_t(_mm_extract_epi16(sums, 4));
  r.binary = _mm_movemask_epi8(bad) != 0;
#endif
  for (; i < unit.size(); i++) {
    const uint8_t v = unit[i];
    r.high += v >> 7;
    r.binary |= IsBinaryControl(v);
  }
  return r;
}

void FeatureCollector::AddUnit(ByteSpan unit) {
  if (unit.size() < kFeatureUnitMin) return;
  f_.units++;
  const UnitScan scan = ScanUnit(unit);
  if (scan.binary) f_.binary_units++;
  // A unit with fewer than 1 in 16 bytes at 0x80 or above cannot measure
  // above 7.5 bits/byte: its estimate is at most that of 128 low values
  // spread evenly plus every high byte distinct, which for every unit size
  // from kFeatureUnitMin to kFeatureUnit peaks at 7.43 (n = 545, 34 high
  // bytes). ASCII text never gets this far, so it skips the histogram,
  // which is most of detection's cost.
  static_assert(kFeatureUnitMin >= 512 && kFeatureUnit <= 1024);
  if (16 * scan.high >= unit.size()) {
    // Four histograms, summed: consecutive equal bytes would otherwise wait
    // on each other's increment. 16-bit counters (a unit is at most
    // kFeatureUnit bytes) halve what is cleared and summed per unit.
    static_assert(kFeatureUnit <= 65535);
    uint16_t c4[4][256] = {};
    size_t i = 0;
    for (; i + 4 <= unit.size(); i += 4) {
      c4[0][unit[i]]++;
      c4[1][unit[i + 1]]++;
      c4[2][unit[i + 2]]++;
      c4[3][unit[i + 3]]++;
    }
    for (; i < unit.size(); i++) c4[0][unit[i]]++;
    uint32_t counts[256];
    for (int v = 0; v < 256; v++) counts[v] = uint32_t(c4[0][v]) + c4[1][v] + c4[2][v] + c4[3][v];
    if (UnitLooksRandom(counts, unit.size())) f_.random_units++;
  }
  // Keep the kUnitSketch smallest distinct hashes.
  uint32_t h = uint32_t(XXH3_64bits(unit.data(), unit.size()) >> 32);
  auto& s = f_.sketch;
  auto it = std::lower_bound(s.begin(), s.end(), h);
  if ((it == s.end() || *it != h) && (s.size() < kUnitSketch || h < s.back())) {
    s.insert(it, h);
    if (s.size() > kUnitSketch) s.pop_back();
  }
}

double SketchSimilarity(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  if (a.empty() && b.empty()) return 1;
  // The k smallest hashes of the union are a uniform sample of it; the
  // share of them in both sketches estimates |A ∩ B| / |A ∪ B|.
  std::vector<uint32_t> all;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(all));
  size_t k = std::min(all.size(), kUnitSketch);
  size_t both = 0;
  for (size_t i = 0; i < k; i++)
    if (std::binary_search(a.begin(), a.end(), all[i]) &&
        std::binary_search(b.begin(), b.end(), all[i]))
      both++;
  return double(both) / double(k);
}

void FeatureCollector::Update(ByteSpan piece) {
  if (head_.size() < kFeatureHead) {
    size_t take = std::min(piece.size(), kFeatureHead - head_.size());
    head_.insert(head_.end(), piece.begin(), piece.begin() + take);
  }
  // Whole units straight from the piece; only a unit cut between two
  // pieces is copied.
  size_t i = 0;
  if (!unit_.empty()) {
    size_t take = std::min(piece.size(), kFeatureUnit - unit_.size());
    unit_.insert(unit_.end(), piece.begin(), piece.begin() + take);
    i = take;
    if (unit_.size() == kFeatureUnit) {
      AddUnit(unit_);
      unit_.clear();
    }
  }
  for (; i + kFeatureUnit <= piece.size(); i += kFeatureUnit) AddUnit(piece.subspan(i, kFeatureUnit));
  if (i < piece.size()) unit_.insert(unit_.end(), piece.begin() + i, piece.end());
  while (!piece.empty()) {
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
  AddUnit(unit_);  // the last, short unit (counted from kFeatureUnitMin bytes)
  unit_.clear();
  f_.magic = CheckMagic(name_, head_);
  f_.units_known = true;
  f_.kind = SniffKind(head_);
  return f_;
}

}  // namespace ks
