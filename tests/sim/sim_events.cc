#include "sim_events.h"

#include <algorithm>

namespace ks::sim {
namespace {

using Range = std::pair<size_t, size_t>;  // offset, length
using Pattern = std::function<std::vector<Range>(Rng&, size_t size)>;

int Uniform(Rng& rng, int lo, int hi) { return lo + int(rng() % uint64_t(hi - lo + 1)); }

std::string Ext(const fs::path& p) {
  std::string e = p.extension().string();
  return e.empty() ? "" : e.substr(1);
}

// Encrypts the ranges of one file in place under a fresh key; with
// `trailer`, appends a few hundred bytes (the file key wrapped for the
// attacker), as many families do.
void EncryptFile(Rng& rng, const fs::path& p, const Pattern& pattern, bool trailer) {
  Bytes data = ReadAll(p);
  Bytes key = RandomLooking(rng, 32);
  uint64_t nonce = rng();
  for (auto [off, len] : pattern(rng, data.size())) EncryptRange(data, off, len, key, nonce);
  if (trailer) {
    Bytes t = RandomLooking(rng, size_t(Uniform(rng, 256, 1024)));
    data.insert(data.end(), t.begin(), t.end());
  }
  WriteAll(p, data);
}

std::vector<Range> Whole(Rng&, size_t size) { return {{0, size}}; }

Pattern EveryNth(size_t block, size_t every) {
  return [=](Rng&, size_t size) {
    std::vector<Range> r;
    for (size_t off = 0; off < size; off += block * every) r.push_back({off, block});
    return r;
  };
}

Pattern Prefix(size_t n) {
  return [=](Rng&, size_t size) { return std::vector<Range>{{0, std::min(n, size)}}; };
}

// 3 to 5 % of the bytes, in 4 KiB blocks at random (unaligned) offsets.
std::vector<Range> Spread(Rng& rng, size_t size) {
  constexpr size_t kBlock = 4096;
  double pct = double(Uniform(rng, 300, 500)) / 10000.0;
  size_t blocks = std::max<size_t>(1, size_t(pct * double(size) / kBlock + 0.5));
  std::vector<Range> r;
  for (size_t i = 0; i < blocks; i++)
    r.push_back({size > kBlock ? rng() % (size - kBlock) : 0, kBlock});
  return r;
}

// The same, leaving each file's first 4 KiB alone (where the magic bytes
// and headers are): only the per-unit signals can see it.
std::vector<Range> SpreadPastHeader(Rng& rng, size_t size) {
  constexpr size_t kHeader = 4096, kBlock = 4096;
  if (size < kHeader + 2 * kBlock) return {};  // too small to hit past the header
  std::vector<Range> r;
  for (auto [off, len] : Spread(rng, size - kHeader)) r.push_back({kHeader + off, len});
  return r;
}

Event EncryptAll(Pattern pattern) {
  return [pattern](Rng& rng, const fs::path& root) {
    bool trailer = rng() % 2;
    for (const auto& f : Files(root)) EncryptFile(rng, f, pattern, trailer);
  };
}

const char kNote[] =
    "YOUR FILES ARE ENCRYPTED.\n"
    "All documents, images and databases of this network were encrypted.\n"
    "To get the decryption tool, contact us at the address below with your ID.\n"
    "Do not rename the files and do not try third-party tools: data will be lost.\n";

void DropNotes(const fs::path& root) {
  for (const auto& d : Dirs(root)) WriteAll(d / "HOW_TO_RECOVER_FILES.txt", AsBytes(kNote));
}

// A directory that existed before (not the root), at random.
fs::path SomeDir(Rng& rng, const fs::path& root) {
  auto dirs = Dirs(root);
  return dirs[1 + rng() % (dirs.size() - 1)];
}

void AddFiles(Rng& rng, const fs::path& root, const std::vector<std::string>& exts, int count,
              const std::string& prefix) {
  auto dirs = Dirs(root);
  for (int i = 0; i < count; i++) {
    std::string ext = exts[rng() % exts.size()];
    size_t size = LogUniform(rng, 8 << 10, 512 << 10);
    Bytes data = ext == "dcm" ? DicomImage(rng, size, true) : ContentFor(rng, ext, size);
    WriteAll(dirs[rng() % dirs.size()] / (prefix + std::to_string(i) + "." + ext), data);
  }
}

}  // namespace

std::vector<Scenario> Attacks() {
  std::vector<Scenario> s;
  s.push_back({"full encryption in place", true, EncryptAll(Whole)});
  s.push_back({"encryption + rename (.locked/.enc/random)", true, [](Rng& rng, const fs::path& root) {
                 std::string ext;
                 switch (rng() % 3) {
                   case 0: ext = ".locked"; break;
                   case 1: ext = ".enc"; break;
                   default:
                     ext = ".";
                     for (int i = 0; i < 5; i++) ext += char('a' + rng() % 26);
                 }
                 bool trailer = rng() % 2;
                 for (const auto& f : Files(root)) {
                   EncryptFile(rng, f, Whole, trailer);
                   fs::rename(f, f.string() + ext);
                 }
               }});
  s.push_back({"intermittent: every 16th 4 KiB block", true, EncryptAll(EveryNth(4096, 16))});
  s.push_back({"intermittent: first 1 MiB only", true, EncryptAll(Prefix(1 << 20))});
  s.push_back({"intermittent: first 4 KiB only", true, EncryptAll(Prefix(4096))});
  s.push_back({"3-5% of each file, 4 KiB blocks", true, EncryptAll(Spread)});
  s.push_back({"3-5% of each file, first 4 KiB untouched", true, EncryptAll(SpreadPastHeader)});
  s.push_back({"a tenth of the files, whole", true, [](Rng& rng, const fs::path& root) {
                 auto files = Files(root);
                 std::shuffle(files.begin(), files.end(), rng);
                 files.resize(files.size() / 10);
                 for (const auto& f : files) EncryptFile(rng, f, Whole, false);
               }});
  s.push_back({"ransom notes only", true, [](Rng&, const fs::path& root) { DropNotes(root); }});
  s.push_back({"ransom notes + encryption", true, [](Rng& rng, const fs::path& root) {
                 EncryptAll(Whole)(rng, root);
                 DropNotes(root);
               }});
  return s;
}

std::vector<Scenario> BenignChurn() {
  std::vector<Scenario> s;
  s.push_back({"new compressed images and archives", false, [](Rng& rng, const fs::path& root) {
                 AddFiles(rng, root, {"jpg", "png", "zip", "mp4", "dcm", "gz"}, Uniform(rng, 20, 60), "new-");
               }});
  s.push_back({"logs rotated and gzipped", false, [](Rng& rng, const fs::path& root) {
                 for (const auto& f : Files(root)) {
                   if (Ext(f) != "log") continue;
                   size_t size = fs::file_size(f);
                   WriteAll(f.string() + ".gz", Gzip(rng, size / 5 + 100));
                   fs::remove(f);
                 }
                 WriteAll(root / "IT/logs/service-2026-11-29.log", LogLines(rng, 20000));
               }});
  s.push_back({"folder renamed and another moved", false, [](Rng& rng, const fs::path& root) {
                 fs::path a = SomeDir(rng, root);
                 fs::rename(a, a.string() + (rng() % 2 ? ".old" : "-2025"));
                 fs::path b = SomeDir(rng, root);
                 fs::path dest = root / "Moved";
                 fs::create_directories(dest);
                 if (b != dest && !dest.string().starts_with(b.string() + "/"))
                   fs::rename(b, dest / b.filename());
               }});
  s.push_back({"software update replacing binaries", false, [](Rng& rng, const fs::path& root) {
                 for (const auto& f : Files(root / "IT/apps")) {
                   if (rng() % 10 < 8) {
                     size_t size = fs::file_size(f) * size_t(Uniform(rng, 80, 125)) / 100;
                     WriteAll(f, ElfBinary(rng, size));
                   } else if (rng() % 2) {
                     fs::remove(f);
                   }
                 }
                 for (int i = 0; i < 4; i++)
                   WriteAll(root / "IT/apps/ris/bin" / ("librisplugin" + std::to_string(i) + ".so"),
                            ElfBinary(rng, LogUniform(rng, 16 << 10, 512 << 10)));
               }});
  s.push_back({"records appended to CSV and HL7", false, [](Rng& rng, const fs::path& root) {
                 for (const auto& f : Files(root)) {
                   std::string e = Ext(f);
                   if ((e != "csv" && e != "hl7") || rng() % 10 >= 7) continue;
                   Bytes data = ReadAll(f);
                   size_t add = LogUniform(rng, 1 << 10, 32 << 10);
                   Bytes more = e == "csv" ? CsvRows(rng, add) : Hl7Messages(rng, add);
                   data.insert(data.end(), more.begin(), more.end());
                   WriteAll(f, data);
                 }
               }});
  s.push_back({"DICOM re-encoded to JPEG 2000 (headers kept)", false, [](Rng& rng, const fs::path& root) {
                 for (const auto& f : Files(root)) {
                   if (Ext(f) != "dcm") continue;
                   Bytes data = ReadAll(f);
                   std::string head(data.begin(), data.begin() + std::min<size_t>(data.size(), 400));
                   if (head.find("1.2.840.10008.1.2.4.") != std::string::npos) continue;  // compressed
                   WriteAll(f, DicomReencoded(rng, data));
                 }
               }});
  s.push_back({"mass addition of new PDFs", false, [](Rng& rng, const fs::path& root) {
                 AddFiles(rng, root, {"pdf"}, Uniform(rng, 50, 150), "scan-2026-11-29-");
               }});
  s.push_back({"old folder deleted", false, [](Rng& rng, const fs::path& root) {
                 fs::remove_all(SomeDir(rng, root));
               }});
  s.push_back({"office work: documents re-saved and edited", false, [](Rng& rng, const fs::path& root) {
                 for (const auto& f : Files(root)) {
                   std::string e = Ext(f);
                   if ((e == "docx" || e == "xlsx") && rng() % 4 == 0) {
                     WriteAll(f, OfficeZip(rng, fs::file_size(f) * size_t(Uniform(rng, 90, 115)) / 100));
                   } else if (e == "txt" && rng() % 4 == 0) {
                     WriteAll(f, PlainText(rng, fs::file_size(f) + size_t(Uniform(rng, 0, 3000))));
                   } else if (e == "csv" && rng() % 4 == 0) {
                     // A correction typed in place: digits changed, same size.
                     Bytes data = ReadAll(f);
                     for (int i = 0; i < 20; i++) {
                       size_t at = rng() % data.size();
                       if (data[at] >= '0' && data[at] <= '9') data[at] = uint8_t('0' + rng() % 10);
                     }
                     WriteAll(f, data);
                   }
                 }
               }});
  return s;
}

}  // namespace ks::sim
