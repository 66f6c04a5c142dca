// Ransomware detection: features of file content and the snapshot verdict.
#include <gtest/gtest.h>

#include <random>

#include "detect/features.h"
#include "detect/verdict.h"

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

TEST(Verdict, OrdinaryEditsAreClean) {
  SnapshotJudge j;
  FileFeatures text{16, 0, MagicMatch::kMatch}, jpeg{16, 16, MagicMatch::kMatch};
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
  FileFeatures text{16, 0, MagicMatch::kMatch}, enc{16, 16, MagicMatch::kMismatch},
      half{16, 8, MagicMatch::kMatch};
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
    j.Directory("/d", before, now);
    EXPECT_TRUE(j.Finish(-1).suspicious);
  }
  {
    SnapshotJudge j;  // the same small new file in 3 existing directories
    for (int d = 0; d < 3; d++) {
      std::string dir = "/d" + std::to_string(d);
      j.Directory(dir, {"a.txt"}, {"a.txt", "README-RESTORE.txt"});
      j.File(dir + "/README-RESTORE.txt", nullptr, FileNode("README-RESTORE.txt", text, 42, 900));
    }
    EXPECT_TRUE(j.Finish(-1).suspicious);
    SnapshotJudge k;  // in 2 only: not enough
    for (int d = 0; d < 2; d++) {
      std::string dir = "/d" + std::to_string(d);
      k.Directory(dir, {"a.txt"}, {"a.txt", "README.txt"});
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
  j.Directory("/d", before, now);
  EXPECT_FALSE(j.Finish(-1).suspicious);
}

}  // namespace
}  // namespace ks
