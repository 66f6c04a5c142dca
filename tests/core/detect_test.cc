// Ransomware detection: features of file content and the snapshot verdict.
#include <gtest/gtest.h>

#include <cmath>

#include <random>

#include "detect/features.h"
#include "detect/verdict.h"
#include "format/tree.h"

namespace ks {
namespace {

Bytes RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& c : b) c = uint8_t(rng());
  return b;
}

Bytes Text(size_t n) {
  std::string s;
  while (s.size() < n) s += "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240101||ORU^R01|12345|P|2.5\rPID|1||A1234\r";
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

FileFeatures Features(const std::string& name, const Bytes& data, size_t piece = 7777) {
  FeatureCollector c(name);
  for (size_t off = 0; off < data.size(); off += piece)
    c.Update(ByteSpan(data).subspan(off, std::min(piece, data.size() - off)));
  return c.Finish();
}

TEST(Entropy, TextIsLowRandomIsHigh) {
  EXPECT_LT(Entropy(Text(4096)), 5.5);
  EXPECT_GT(Entropy(RandomBytes(4096, 1)), 7.9);
  EXPECT_EQ(Entropy(Bytes(4096, 0)), 0.0);
  EXPECT_FALSE(LooksRandom(Text(4096)));
  EXPECT_TRUE(LooksRandom(RandomBytes(4096, 2)));
}

TEST(Magic, ExtensionsAgainstSignatures) {
  Bytes pdf = Text(200);
  std::memcpy(pdf.data(), "%PDF-1.7", 8);
  EXPECT_EQ(CheckMagic("a.pdf", pdf), MagicMatch::kMatch);
  EXPECT_EQ(CheckMagic("a.PDF", pdf), MagicMatch::kMatch);
  EXPECT_EQ(CheckMagic("a.docx", pdf), MagicMatch::kMismatch);
  Bytes dcm(200, 0);
  std::memcpy(dcm.data() + 128, "DICM", 4);
  EXPECT_EQ(CheckMagic("IMG-0001.dcm", dcm), MagicMatch::kMatch);
  EXPECT_EQ(CheckMagic("IMG-0001.dcm", RandomBytes(200, 3)), MagicMatch::kMismatch);
  EXPECT_EQ(CheckMagic("notes.txt", Text(200)), MagicMatch::kMatch);
  EXPECT_EQ(CheckMagic("notes.txt", RandomBytes(200, 4)), MagicMatch::kMismatch);
  EXPECT_EQ(CheckMagic("blob.bin", RandomBytes(200, 5)), MagicMatch::kUnknown);
  EXPECT_EQ(CheckMagic("noext", Text(10)), MagicMatch::kUnknown);
}

TEST(Features, WholeAndPartialEncryptionIndependentOfPieceSize) {
  Bytes text = Text(1 << 20);  // 16 blocks of 64 KiB
  FileFeatures plain = Features("x.csv", text);
  EXPECT_EQ(plain.blocks, 16u);
  EXPECT_EQ(plain.random_blocks, 0u);
  Bytes whole = RandomBytes(1 << 20, 6);
  EXPECT_EQ(Features("x.csv", whole).random_blocks, 16u);
  EXPECT_EQ(Features("x.csv", whole).magic, MagicMatch::kMismatch);
  // Intermittent: every other 64 KiB block encrypted.
  Bytes partial = text;
  for (size_t b = 0; b < 16; b += 2) {
    Bytes r = RandomBytes(kFeatureBlock, 100 + b);
    std::copy(r.begin(), r.end(), partial.begin() + b * kFeatureBlock);
  }
  for (size_t piece : {size_t(1), size_t(4096), size_t(65536), size_t(1 << 20)}) {
    FileFeatures f = Features("x.csv", partial, piece);
    EXPECT_EQ(f.blocks, 16u) << piece;
    EXPECT_EQ(f.random_blocks, 8u) << piece;
  }
}

// Features as an older version wrote them: sampled blocks only.
FileFeatures Sampled(uint32_t blocks, uint32_t random, MagicMatch magic) {
  FileFeatures f;
  f.blocks = blocks;
  f.random_blocks = random;
  f.magic = magic;
  return f;
}

Node FileNode(const std::string& name, FileFeatures f, uint8_t content_seed, uint64_t size = 100000) {
  Node n;
  n.type = NodeType::kFile;
  n.name = name;
  n.size = size;
  Id id;
  id.b[0] = content_seed;
  n.content = {id};
  n.features = f;
  return n;
}

std::vector<Node> Listing(const std::vector<std::string>& names) {
  std::vector<Node> out;
  for (const auto& n : names) {
    Node node;
    node.type = NodeType::kFile;
    node.name = n;
    out.push_back(node);
  }
  return out;
}

TEST(Verdict, OrdinaryEditsAreClean) {
  SnapshotJudge j;
  FileFeatures text = Sampled(16, 0, MagicMatch::kMatch), jpeg = Sampled(16, 16, MagicMatch::kMatch);
  for (int i = 0; i < 200; i++) {
    Node before = FileNode("f" + std::to_string(i) + ".csv", text, 1);
    Node now = before;
    if (i % 20 == 0) now.content[0].b[1] = 9;  // 5% edited, still text
    j.File("/d/" + now.name, &before, now);
    Node img = FileNode("i" + std::to_string(i) + ".jpg", jpeg, 2);
    Node img2 = img;
    if (i % 10 == 0) img2.content[0].b[1] = 7;  // re-saved image: random before and after
    j.File("/d/" + img.name, &img, img2);
  }
  Verdict v = j.Finish(0.05);
  EXPECT_FALSE(v.suspicious) << v.score;
}

TEST(Verdict, MassEncryptionRenamesAndNotesAreSuspicious) {
  FileFeatures text = Sampled(16, 0, MagicMatch::kMatch),
               enc = Sampled(16, 16, MagicMatch::kMismatch),
               half = Sampled(16, 8, MagicMatch::kMatch);
  {
    SnapshotJudge j;  // whole-file encryption of 10 of 200 files
    for (int i = 0; i < 200; i++) {
      Node before = FileNode("f" + std::to_string(i) + ".txt", text, 1);
      Node now = before;
      if (i < 10) {
        now = FileNode(before.name, enc, 3);
      }
      j.File("/d/" + now.name, &before, now);
    }
    Verdict v = j.Finish(0.01);
    EXPECT_TRUE(v.suspicious);
    bool found = false;
    for (const auto& r : v.reasons)
      if (r.kind == "became_random") found = r.count == 10;
    EXPECT_TRUE(found);
  }
  {
    SnapshotJudge j;  // intermittent encryption, magic untouched
    for (int i = 0; i < 100; i++) {
      Node before = FileNode("f" + std::to_string(i) + ".csv", text, 1);
      Node now = i < 6 ? FileNode(before.name, half, 4) : before;
      j.File("/d/" + now.name, &before, now);
    }
    EXPECT_TRUE(j.Finish(0.01).suspicious);
  }
  {
    SnapshotJudge j;  // renames to a new extension
    std::vector<std::string> before, now;
    for (int i = 0; i < 10; i++) {
      before.push_back("r" + std::to_string(i) + ".docx");
      now.push_back("r" + std::to_string(i) + ".docx.locked");
    }
    j.Directory("/d", Listing(before), now);
    for (const auto& name : now) j.File("/d/" + name, nullptr, FileNode(name, enc, 5));
    EXPECT_TRUE(j.Finish(-1).suspicious);
  }
  {
    SnapshotJudge j;  // the same small new file in 3 existing directories
    for (int d = 0; d < 3; d++) {
      std::string dir = "/d" + std::to_string(d);
      j.Directory(dir, Listing({"a.txt"}), {"a.txt", "README-RESTORE.txt"});
      j.File(dir + "/README-RESTORE.txt", nullptr, FileNode("README-RESTORE.txt", text, 42, 900));
    }
    EXPECT_TRUE(j.Finish(-1).suspicious);
    SnapshotJudge k;  // in 2 only: not enough
    for (int d = 0; d < 2; d++) {
      std::string dir = "/d" + std::to_string(d);
      k.Directory(dir, Listing({"a.txt"}), {"a.txt", "README.txt"});
      k.File(dir + "/README.txt", nullptr, FileNode("README.txt", text, 42, 900));
    }
    EXPECT_FALSE(k.Finish(-1).suspicious);
    SnapshotJudge first;  // a first backup (no parent): duplicates are normal
    for (int d = 0; d < 5; d++)
      first.File("/d" + std::to_string(d) + "/desktop.ini", nullptr,
                 FileNode("desktop.ini", text, 42, 200));
    EXPECT_FALSE(first.Finish(-1).suspicious);
  }
}

TEST(Verdict, RenameDetectionNeedsTheOldNameGone) {
  SnapshotJudge j;
  std::vector<std::string> before, now;
  for (int i = 0; i < 10; i++) {
    before.push_back("r" + std::to_string(i) + ".pdf");
    now.push_back("r" + std::to_string(i) + ".pdf");
    now.push_back("r" + std::to_string(i) + ".pdf.bak");  // a copy, the original stays
  }
  j.Directory("/d", Listing(before), now);
  FileFeatures enc = Sampled(16, 16, MagicMatch::kUnknown);
  for (const auto& name : now)
    if (name.ends_with(".bak")) j.File("/d/" + name, nullptr, FileNode(name, enc, 5));
  EXPECT_FALSE(j.Finish(-1).suspicious);
}


// --- Version 2 features: every byte in 1 KiB units, content kind ---

Bytes Dicom(const std::string& syntax, size_t pixels, uint64_t seed) {
  Bytes d(128, 0);
  for (char c : std::string("DICM")) d.push_back(uint8_t(c));
  auto el = [&](uint16_t g, uint16_t e, const char* vr, std::string v) {
    if (v.size() % 2) v += '\0';
    d.push_back(uint8_t(g)); d.push_back(uint8_t(g >> 8));
    d.push_back(uint8_t(e)); d.push_back(uint8_t(e >> 8));
    d.push_back(uint8_t(vr[0])); d.push_back(uint8_t(vr[1]));
    if (std::string(vr) == "OB") {
      d.insert(d.end(), {0, 0, uint8_t(v.size()), uint8_t(v.size() >> 8), 0, 0});
    } else {
      d.push_back(uint8_t(v.size())); d.push_back(uint8_t(v.size() >> 8));
    }
    d.insert(d.end(), v.begin(), v.end());
  };
  el(0x0002, 0x0001, "OB", std::string("\0\1", 2));
  el(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.2");
  el(0x0002, 0x0010, "UI", syntax);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < pixels; i++) {  // 12-bit CT values with noise
    uint16_t v = uint16_t(1000 + (i % 512) + rng() % 64);
    d.push_back(uint8_t(v));
    d.push_back(uint8_t(v >> 8));
  }
  return d;
}

// The distinct-value shortcut in UnitLooksRandom must never change its
// answer: compare with the estimate computed in full, on units drawn from
// alphabets of every size around the threshold (about 182 values).
TEST(UnitEntropy, ShortcutAgreesWithTheFullEstimate) {
  auto full = [](const uint32_t (&counts)[256], size_t n) {
    double h = 0;
    unsigned k = 0;
    for (uint32_t c : counts) {
      if (!c) continue;
      k++;
      double p = double(c) / double(n);
      h -= p * std::log2(p);
    }
    h += double(k - 1) / (2 * double(n) * std::log(2.0));
    return h > 7.5;
  };
  std::mt19937_64 rng(7);
  int positives = 0;
  for (unsigned alphabet = 1; alphabet <= 256; alphabet++) {
    for (size_t n : {size_t(200), size_t(512), size_t(1024)}) {
      uint32_t counts[256] = {};
      for (size_t i = 0; i < n; i++) counts[rng() % alphabet]++;
      bool fast = UnitLooksRandom(counts, n);
      EXPECT_EQ(fast, full(counts, n)) << "alphabet " << alphabet << " n " << n;
      positives += fast;
    }
  }
  EXPECT_GT(positives, 0);
}

// ScanUnit's counts equal those read off a histogram, for buffers of every
// length (vector steps and tails) and byte mix.
TEST(UnitEntropy, ScanUnitAgreesWithTheHistogram) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 3000; trial++) {
    // Units, and 4 KiB samples and beyond (past the vector counters' flush).
    size_t n = trial % 8 ? size_t(rng() % 1100) : size_t(rng() % 9000);
    const unsigned mode = unsigned(trial % 4);
    Bytes u(n);
    for (auto& b : u) {
      switch (mode) {
        case 0: b = uint8_t(rng()); break;                      // anything
        case 1: b = uint8_t(0x20 + rng() % 0x5f); break;        // printable
        case 2: b = uint8_t(rng() % 0x21); break;               // controls
        default: b = rng() % 64 ? uint8_t(0x20 + rng() % 0x5f) : uint8_t(rng()); break;
      }
    }
    uint32_t counts[256] = {};
    for (uint8_t c : u) counts[c]++;
    size_t high = 0;
    for (int v = 0x80; v < 256; v++) high += counts[v];
    UnitScan s = ScanUnit(u);
    ASSERT_EQ(s.high, high) << trial;
    ASSERT_EQ(s.binary, UnitHasBinary(counts)) << trial;
  }
}

// The shortcut in AddUnit: a unit with fewer than 1 in 16 bytes at 0x80
// or above never measures random. Checked at the most random such units
// (128 low values evenly, every high byte distinct) for every unit size
// AddUnit measures, and on random draws near the line.
TEST(UnitEntropy, FewHighBytesNeverMeasureRandom) {
  for (size_t n = kFeatureUnitMin; n <= kFeatureUnit; n++) {
    const size_t h = (n - 1) / 16;  // the most that 16 * h < n allows
    uint32_t counts[256] = {};
    for (size_t i = 0; i < n - h; i++) counts[i % 128]++;
    for (size_t i = 0; i < h; i++) counts[128 + i]++;
    ASSERT_FALSE(UnitLooksRandom(counts, n)) << n;
  }
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 2000; trial++) {
    size_t n = kFeatureUnitMin + size_t(rng() % (kFeatureUnit - kFeatureUnitMin + 1));
    size_t h = (n - 1) / 16 - size_t(rng() % 4);
    uint32_t counts[256] = {};
    for (size_t i = 0; i < n - h; i++) counts[rng() % 128]++;
    for (size_t i = 0; i < h; i++) counts[128 + rng() % 128]++;
    ASSERT_FALSE(UnitLooksRandom(counts, n)) << n;
  }
}

// LooksRandom's shortcut (few high bytes) never changes its answer from
// the entropy's, for samples whose share of high bytes crosses the line.
TEST(UnitEntropy, SampleShortcutAgreesWithTheEntropy) {
  std::mt19937_64 rng(14);
  int positives = 0;
  for (int trial = 0; trial < 600; trial++) {
    const size_t n = 1024 + size_t(rng() % 4000);
    const unsigned one_in = 2 + unsigned(trial % 40);  // high bytes: 1 in 2 .. 1 in 41
    Bytes b(n);
    for (auto& c : b) c = rng() % one_in ? uint8_t(rng() % 128) : uint8_t(128 + rng() % 128);
    bool expect = Entropy(b) > 7.5;
    ASSERT_EQ(LooksRandom(b), expect) << trial;
    positives += expect;
  }
  EXPECT_GT(positives, 0);
}

// FeatureCollector counts what the histogram of every unit says, whatever
// mix of text, random and pixel units a file holds.
TEST(Features, UnitCountsMatchTheHistogramOfEveryUnit) {
  std::mt19937_64 rng(13);
  Bytes data;
  for (int part = 0; part < 300; part++) {
    Bytes piece;
    switch (part % 3) {
      case 0: piece = Text(700 + rng() % 3000); break;
      case 1: piece = RandomBytes(300 + rng() % 3000, rng()); break;
      default: piece = Dicom("1.2.840.10008.1.2.1", 200 + rng() % 2000, rng()); break;
    }
    if (part % 7 == 0)  // text with a sprinkling of high bytes, around the line
      for (size_t i = 0; i < piece.size(); i += 12 + rng() % 8) piece[i] |= 0x80;
    data.insert(data.end(), piece.begin(), piece.end());
  }
  uint64_t random_units = 0, binary_units = 0, units = 0;
  for (size_t at = 0; at < data.size(); at += kFeatureUnit) {
    size_t n = std::min(kFeatureUnit, data.size() - at);
    if (n < kFeatureUnitMin) break;
    uint32_t counts[256] = {};
    for (size_t i = 0; i < n; i++) counts[data[at + i]]++;
    units++;
    random_units += UnitLooksRandom(counts, n);
    binary_units += UnitHasBinary(counts);
  }
  FileFeatures f = Features("mixed.bin", data);
  EXPECT_EQ(f.units, units);
  EXPECT_EQ(f.random_units, random_units);
  EXPECT_EQ(f.binary_units, binary_units);
  EXPECT_GT(random_units, 0u);
  EXPECT_LT(random_units, units);
}

TEST(UnitEntropy, RandomUnitsAtAnySizeTextAndPixelsNot) {
  auto random_at = [](size_t n, uint64_t seed) {
    Bytes b = RandomBytes(n, seed);
    uint32_t counts[256] = {};
    for (uint8_t c : b) counts[c]++;
    return UnitLooksRandom(counts, n);
  };
  for (uint64_t seed = 0; seed < 200; seed++) {
    EXPECT_TRUE(random_at(1024, seed)) << seed;
    EXPECT_TRUE(random_at(512, seed + 1000)) << seed;
  }
  Bytes text = Text(1024);
  uint32_t counts[256] = {};
  for (uint8_t c : text) counts[c]++;
  EXPECT_FALSE(UnitLooksRandom(counts, 1024));
  EXPECT_FALSE(UnitHasBinary(counts));
  Bytes ct = Dicom("1.2.840.10008.1.2.1", 8192, 1);
  FileFeatures f = Features("a.dcm", ct);
  EXPECT_EQ(f.random_units, 0u);
  EXPECT_GT(f.units, 10u);
  Bytes r = RandomBytes(1024, 5);
  uint32_t rc[256] = {};
  for (uint8_t c : r) rc[c]++;
  EXPECT_TRUE(UnitHasBinary(rc));
  uint32_t nuls[256] = {};
  nuls[0] = 1024;  // a log with NULs after a crash is still text
  EXPECT_FALSE(UnitHasBinary(nuls));
}

TEST(Features, UnitsCountEveryByteIndependentOfPieceSize) {
  Bytes text = Text(100 * 1024 + 600);  // 100 units and a last one of 600 bytes
  Bytes enc = text;
  // 3 KiB of ciphertext at an odd offset covers at least 2 whole units.
  Bytes r = RandomBytes(3072, 9);
  std::copy(r.begin(), r.end(), enc.begin() + 40000);
  for (size_t piece : {size_t(1), size_t(1000), size_t(65536), size_t(1 << 20)}) {
    FileFeatures a = Features("x.hl7", text, piece), b = Features("x.hl7", enc, piece);
    EXPECT_TRUE(a.units_known);
    EXPECT_EQ(a.units, 101u) << piece;
    EXPECT_EQ(a.random_units, 0u);
    EXPECT_EQ(a.binary_units, 0u);
    EXPECT_EQ(a.kind, ContentKind::kText);
    EXPECT_GE(b.random_units, 2u) << piece;
    EXPECT_GE(b.binary_units, 3u) << piece;
  }
}

TEST(Features, KindBySignatureAndDicomTransferSyntax) {
  EXPECT_EQ(SniffKind(Dicom("1.2.840.10008.1.2.1", 10, 1)), ContentKind::kDicom);
  EXPECT_EQ(SniffKind(Dicom("1.2.840.10008.1.2.4.90", 10, 1)), ContentKind::kDicomCompressed);
  EXPECT_EQ(SniffKind(Dicom("1.2.840.10008.1.2.5", 10, 1)), ContentKind::kDicomCompressed);
  Bytes elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  EXPECT_EQ(SniffKind(elf), ContentKind::kElf);
  Bytes mp4 = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'M', '4', 'A', ' '};
  EXPECT_EQ(SniffKind(mp4), ContentKind::kMp4);
  EXPECT_EQ(CheckMagic("song.m4a", mp4), MagicMatch::kMatch);
  EXPECT_EQ(SniffKind(Text(300)), ContentKind::kText);
  EXPECT_EQ(SniffKind(RandomBytes(300, 1)), ContentKind::kNone);
  EXPECT_TRUE(IsCompressedKind(ContentKind::kDicomCompressed));
  EXPECT_FALSE(IsCompressedKind(ContentKind::kDicom));
  EXPECT_FALSE(IsCompressedKind(ContentKind::kPdf));
}

TEST(Features, SketchEstimatesTheShareOfUnitsKept) {
  std::mt19937_64 words(3);
  Bytes text;  // 512 units of text that never repeats
  while (text.size() < 512 * 1024) {
    for (int i = 0; i < 6; i++) text.push_back(uint8_t('a' + words() % 26));
    text.push_back(' ');
  }
  text.resize(512 * 1024);
  FileFeatures a = Features("a.txt", text);
  EXPECT_EQ(a.sketch.size(), kUnitSketch);
  EXPECT_TRUE(std::is_sorted(a.sketch.begin(), a.sketch.end()));
  EXPECT_DOUBLE_EQ(SketchSimilarity(a.sketch, a.sketch), 1.0);
  Bytes shifted(text.begin() + 100, text.end());  // every unit differs
  EXPECT_LE(SketchSimilarity(a.sketch, Features("a.txt", shifted).sketch), 0.25);
  // 4 % of the units changed in place: most sampled hashes survive.
  int high = 0;
  for (uint64_t seed = 0; seed < 20; seed++) {
    Bytes b = text;
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 20; i++) b[(rng() % 512) * 1024 + 5] ^= 1;
    if (SketchSimilarity(a.sketch, Features("a.txt", b).sketch) >= 0.5) high++;
  }
  EXPECT_GE(high, 19);
  EXPECT_DOUBLE_EQ(SketchSimilarity({}, {}), 1.0);
}

TEST(Features, Version2RoundTripsThroughTheTreeAndOlderFormIsKept) {
  Node v2 = FileNode("a.csv", Features("a.csv", Text(5000)), 1);
  Node v1 = FileNode("b.csv", Sampled(3, 1, MagicMatch::kMatch), 2);
  auto dec = DecodeTree(EncodeTree({v2, v1}));
  ASSERT_TRUE(dec);
  EXPECT_EQ((*dec)[0].features, v2.features);
  EXPECT_TRUE((*dec)[0].features->units_known);
  EXPECT_EQ((*dec)[1].features, v1.features);
  EXPECT_FALSE((*dec)[1].features->units_known);
}

// One changed file through the judge: its signals.
std::set<std::string> Signals(const Bytes& before, const Bytes& now, const std::string& name = "f.csv",
                              const std::string& now_name = "") {
  SnapshotJudge j;
  Node a = FileNode(name, Features(name, before), 1, before.size());
  std::string n2 = now_name.empty() ? name : now_name;
  Node b = FileNode(n2, Features(n2, now), 2, now.size());
  if (now_name.empty()) {
    j.File("/d/" + name, &a, b);
  } else {
    j.Directory("/d", {a}, {n2});
    j.File("/d/" + n2, nullptr, b);
  }
  std::set<std::string> out;
  for (const auto& r : j.Finish(-1).reasons) out.insert(r.kind);
  return out;
}

TEST(Verdict, Version2SignalsPerFile) {
  Bytes text = Text(256 * 1024);
  // 4 % of the bytes, in 4 KiB blocks away from the header, size kept.
  Bytes spread = text;
  for (size_t off : {50000u, 120001u, 200003u}) {
    Bytes r = RandomBytes(4096, off);
    std::copy(r.begin(), r.end(), spread.begin() + off);
  }
  EXPECT_EQ(Signals(text, spread), (std::set<std::string>{"partly_encrypted", "binary_in_text"}));
  // Appending text is no signal; appending compressed data to a structured
  // file (an incremental PDF update) changes its size: none either.
  Bytes appended = text;
  Bytes more = Text(20000);
  appended.insert(appended.end(), more.begin(), more.end());
  EXPECT_TRUE(Signals(text, appended).empty());
  Bytes pdf = text;
  std::memcpy(pdf.data(), "%PDF-1.7", 8);
  Bytes pdf_update = pdf;
  Bytes image = RandomBytes(60000, 3);
  pdf_update.insert(pdf_update.end(), image.begin(), image.end());
  EXPECT_TRUE(Signals(pdf, pdf_update, "a.pdf").empty());
  // The same random bytes in place, with a trailer: encryption.
  Bytes pdf_enc = pdf;
  std::copy(image.begin(), image.end(), pdf_enc.begin() + 70000);
  pdf_enc.resize(pdf_enc.size() + 512, 7);
  EXPECT_EQ(Signals(pdf, pdf_enc, "a.pdf"), std::set<std::string>{"partly_encrypted"});
  // A raw DICOM image re-encoded to JPEG 2000 (new transfer syntax, random
  // pixel data) is no signal; the same random pixels under the old
  // transfer syntax are.
  Bytes raw = Dicom("1.2.840.10008.1.2.1", 100000, 4);
  Bytes j2k = Dicom("1.2.840.10008.1.2.4.90", 0, 4);
  Bytes stream = RandomBytes(70000, 5);
  j2k.insert(j2k.end(), stream.begin(), stream.end());
  EXPECT_TRUE(Signals(raw, j2k, "i.dcm").empty());
  Bytes fake = Dicom("1.2.840.10008.1.2.1", 0, 4);
  Bytes body = RandomBytes(raw.size() - fake.size(), 6);
  fake.insert(fake.end(), body.begin(), body.end());
  EXPECT_EQ(Signals(raw, fake, "i.dcm"), std::set<std::string>{"became_random"});
  // A new version of a small program, a little larger and now with a
  // compressed resource: changed throughout, so no partial encryption.
  Bytes prog = Text(16000), prog2 = Text(18000);
  std::memcpy(prog.data(), "\x7f" "ELF\x02\x01\x01", 7);
  std::rotate(prog2.begin(), prog2.begin() + 77, prog2.end());
  std::memcpy(prog2.data(), "\x7f" "ELF\x02\x01\x01", 7);
  Bytes res = RandomBytes(3000, 12);
  std::copy(res.begin(), res.end(), prog2.end() - 3000);
  EXPECT_TRUE(Signals(prog, prog2, "librisd.so").empty());
  // A program without an extension that lost its ELF header.
  Bytes elf = Text(20000);
  std::memcpy(elf.data(), "\x7f" "ELF\x02\x01\x01", 7);
  for (size_t i = 7; i < 64; i++) elf[i] = 0;
  Bytes elf_enc = elf;
  Bytes head = RandomBytes(4096, 8);
  std::copy(head.begin(), head.end(), elf_enc.begin());
  EXPECT_TRUE(Signals(elf, elf_enc, "rissvc").count("magic_broken"));
  // Renames: to a longer name with random content is a rename (and the
  // content compared with the old file); a log compressed to a valid .gz
  // is not.
  auto renamed = Signals(text, RandomBytes(text.size(), 9), "a.csv", "a.csv.locked");
  EXPECT_TRUE(renamed.count("renamed_extension"));
  EXPECT_TRUE(renamed.count("became_random"));
  Bytes gz = RandomBytes(40000, 10);
  gz[0] = 0x1f;
  gz[1] = 0x8b;
  EXPECT_TRUE(Signals(text, gz, "app.log", "app.log.gz").empty());
  {
    SnapshotJudge j;  // the same bytes under a longer name: a plain rename
    std::vector<Node> before;
    std::vector<std::string> now;
    for (int i = 0; i < 10; i++) {
      before.push_back(FileNode("r" + std::to_string(i) + ".pdf", Features("a.pdf", text), 1));
      now.push_back(before.back().name + ".bak");
    }
    j.Directory("/d", before, now);
    for (int i = 0; i < 10; i++) {
      Node n = before[size_t(i)];
      n.name = now[size_t(i)];
      j.File("/d/" + n.name, nullptr, n);
    }
    EXPECT_FALSE(j.Finish(-1).suspicious);
  }
}

}  // namespace
}  // namespace ks
