#include "sim_content.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace ks::sim {
namespace {

constexpr const char* kWords[] = {
    "patient", "admitted", "with", "acute", "chest", "pain", "history", "of", "hypertension",
    "and", "type", "2", "diabetes", "the", "ECG", "showed", "sinus", "rhythm", "no", "ST",
    "elevation", "troponin", "was", "negative", "discharged", "on", "aspirin", "follow-up",
    "in", "cardiology", "clinic", "after", "two", "weeks", "blood", "pressure", "stable",
    "renal", "function", "normal", "MRI", "of", "the", "lumbar", "spine", "reveals", "mild",
    "disc", "protrusion", "at", "L4-L5", "without", "nerve", "root", "compression", "plan",
    "physiotherapy", "analgesia", "review", "ward", "nurse", "allergies", "penicillin"};
constexpr const char* kNames[] = {"MUELLER", "SCHMIDT", "GARCIA", "NGUYEN", "SMITH", "KOWALSKI",
                                  "ROSSI", "DUBOIS", "HANSEN", "OKAFOR", "TANAKA", "SILVA"};
constexpr const char* kGiven[] = {"ANNA", "JOHN", "MARIA", "PETER", "LENA", "OMAR",
                                  "CHEN", "SOFIA", "LUCAS", "AMARA", "YUKI", "IVAN"};
constexpr const char* kTests[] = {"GLU^Glucose", "HGB^Hemoglobin", "K^Potassium", "NA^Sodium",
                                  "CRP^C-reactive protein", "CREA^Creatinine", "WBC^Leukocytes"};
constexpr const char* kLevels[] = {"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"};
constexpr const char* kServices[] = {"pacs-router", "hl7-gateway", "ris-sync", "backup-agent",
                                     "lis-bridge", "auth"};

template <typename T, size_t N>
const T& Pick(Rng& rng, const T (&a)[N]) {
  return a[rng() % N];
}

int Uniform(Rng& rng, int lo, int hi) { return lo + int(rng() % uint64_t(hi - lo + 1)); }

void Put(Bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }
void Put(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }
void Le16(Bytes& out, uint32_t v) {
  out.push_back(uint8_t(v));
  out.push_back(uint8_t(v >> 8));
}
void Le32(Bytes& out, uint32_t v) {
  Le16(out, v & 0xffff);
  Le16(out, v >> 16);
}
void Be32(Bytes& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}

std::string Sentence(Rng& rng) {
  std::string s;
  int n = Uniform(rng, 6, 18);
  for (int i = 0; i < n; i++) {
    if (i) s += ' ';
    s += Pick(rng, kWords);
  }
  s[0] = char(std::toupper(static_cast<unsigned char>(s[0])));
  return s + ". ";
}

std::string Date(Rng& rng) {
  char b[32];
  std::snprintf(b, sizeof b, "2026%02d%02d%02d%02d%02d", Uniform(rng, 1, 12), Uniform(rng, 1, 28),
                Uniform(rng, 0, 23), Uniform(rng, 0, 59), Uniform(rng, 0, 59));
  return b;
}

uint32_t Crc32(ByteSpan data) {
  static const auto kTable = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320 & (0u - (c & 1)));
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffff;
  for (uint8_t b : data) c = kTable[(c ^ b) & 0xff] ^ (c >> 8);
  return ~c;
}

struct ZipEntry {
  std::string name;
  Bytes data;      // as stored (deflated data is random-looking)
  uint16_t method;  // 0 stored, 8 deflated
  uint32_t usize;   // uncompressed size
};

Bytes BuildZip(const std::vector<ZipEntry>& entries) {
  Bytes out, central;
  for (const auto& e : entries) {
    uint32_t offset = uint32_t(out.size());
    uint32_t crc = Crc32(e.data);
    auto header = [&](Bytes& b, bool central_dir) {
      Le32(b, central_dir ? 0x02014b50 : 0x04034b50);
      if (central_dir) Le16(b, 20);  // version made by
      Le16(b, 20);                   // version needed
      Le16(b, 0);                    // flags
      Le16(b, e.method);
      Le16(b, 0x6000);  // time
      Le16(b, 0x5b7c);  // date
      Le32(b, crc);
      Le32(b, uint32_t(e.data.size()));
      Le32(b, e.usize);
      Le16(b, uint16_t(e.name.size()));
      Le16(b, 0);  // extra
      if (central_dir) {
        Le16(b, 0);  // comment
        Le16(b, 0);  // disk
        Le16(b, 0);  // internal attributes
        Le32(b, 0);  // external attributes
        Le32(b, offset);
      }
      Put(b, e.name);
    };
    header(out, false);
    Put(out, e.data);
    header(central, true);
  }
  uint32_t cd_offset = uint32_t(out.size());
  Put(out, central);
  Le32(out, 0x06054b50);
  Le16(out, 0);
  Le16(out, 0);
  Le16(out, uint16_t(entries.size()));
  Le16(out, uint16_t(entries.size()));
  Le32(out, uint32_t(central.size()));
  Le32(out, cd_offset);
  Le16(out, 0);
  return out;
}

Bytes Xml(Rng& rng, size_t size) {
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document><w:body>";
  while (s.size() < size) s += "<w:p><w:r><w:t>" + Sentence(rng) + "</w:t></w:r></w:p>\n";
  s += "</w:body></w:document>";
  return Bytes(s.begin(), s.end());
}

// A DICOM element in explicit VR little endian.
void DicomElement(Bytes& out, uint16_t group, uint16_t element, const char* vr, ByteSpan value) {
  Le16(out, group);
  Le16(out, element);
  Put(out, std::string_view(vr, 2));
  std::string_view v(vr, 2);
  if (v == "OB" || v == "OW" || v == "SQ" || v == "UN" || v == "UT") {
    Le16(out, 0);
    Le32(out, uint32_t(value.size()));
  } else {
    Le16(out, uint16_t(value.size()));
  }
  Put(out, value);
}

void DicomString(Bytes& out, uint16_t group, uint16_t element, const char* vr, std::string s) {
  if (s.size() % 2) s += std::string_view(vr, 2) == "UI" ? '\0' : ' ';  // even lengths
  DicomElement(out, group, element, vr, AsBytes(s));
}

Bytes DicomHeader(Rng& rng, const std::string& transfer_syntax, uint32_t rows, uint32_t cols,
                  const std::string& name) {
  Bytes out(128, 0);
  Put(out, "DICM");
  Bytes meta;
  uint8_t version[2] = {0, 1};
  DicomElement(meta, 0x0002, 0x0001, "OB", version);
  DicomString(meta, 0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.2");
  DicomString(meta, 0x0002, 0x0003, "UI", "1.2.826.0.1.3680043.8.498." + std::to_string(rng() % 1000000000));
  DicomString(meta, 0x0002, 0x0010, "UI", transfer_syntax);
  DicomString(meta, 0x0002, 0x0012, "UI", "1.2.826.0.1.3680043.9.7433");
  uint8_t len[4] = {uint8_t(meta.size()), uint8_t(meta.size() >> 8), 0, 0};
  DicomElement(out, 0x0002, 0x0000, "UL", len);
  Put(out, meta);
  DicomString(out, 0x0008, 0x0060, "CS", rng() % 2 ? "CT" : "MR");
  DicomString(out, 0x0010, 0x0010, "PN", name);
  DicomString(out, 0x0010, 0x0020, "LO", "MRN" + std::to_string(rng() % 10000000));
  uint8_t r[2] = {uint8_t(rows), uint8_t(rows >> 8)}, c[2] = {uint8_t(cols), uint8_t(cols >> 8)},
          bits[2] = {16, 0};
  DicomElement(out, 0x0028, 0x0010, "US", r);
  DicomElement(out, 0x0028, 0x0011, "US", c);
  DicomElement(out, 0x0028, 0x0100, "US", bits);
  return out;
}

constexpr const char* kRawSyntax = "1.2.840.10008.1.2.1";    // explicit VR little endian
constexpr const char* kJ2kSyntax = "1.2.840.10008.1.2.4.90";  // JPEG 2000 lossless

// The header a DicomImage starts with ends just before the pixel data tag.
size_t PixelDataOffset(const Bytes& dcm) {
  for (size_t at = 132; at + 4 <= dcm.size(); at++)
    if (dcm[at] == 0xe0 && dcm[at + 1] == 0x7f && dcm[at + 2] == 0x10 && dcm[at + 3] == 0x00)
      return at;
  return dcm.size();
}

}  // namespace

size_t LogUniform(Rng& rng, size_t lo, size_t hi) {
  std::uniform_real_distribution<double> d(std::log(double(lo)), std::log(double(hi)));
  return size_t(std::exp(d(rng)));
}

Bytes RandomLooking(Rng& rng, size_t n) {
  std::array<uint8_t, crypto_stream_chacha20_KEYBYTES> key;
  std::array<uint8_t, crypto_stream_chacha20_NONCEBYTES> nonce;
  for (auto& b : key) b = uint8_t(rng());
  for (auto& b : nonce) b = uint8_t(rng());
  Bytes out(n);
  if (n) crypto_stream_chacha20(out.data(), n, nonce.data(), key.data());
  return out;
}

void EncryptRange(Bytes& data, size_t offset, size_t len, const Bytes& key, uint64_t nonce) {
  len = std::min(len, data.size() - std::min(offset, data.size()));
  if (!len) return;
  uint8_t n[crypto_stream_chacha20_NONCEBYTES];
  for (size_t i = 0; i < sizeof n; i++) n[i] = uint8_t(nonce >> (8 * i));
  // Block counter from the offset, as a whole-file stream would have it.
  crypto_stream_chacha20_xor_ic(data.data() + offset, data.data() + offset, len, n, offset / 64,
                                key.data());
}

Bytes Hl7Messages(Rng& rng, size_t size) {
  std::string s;
  while (s.size() < size) {
    std::string id = std::to_string(rng() % 100000000);
    s += "MSH|^~\\&|LIS|HOSP|EHR|HOSP|" + Date(rng) + "||ORU^R01|" + id + "|P|2.5\r";
    s += "PID|1||MRN" + std::to_string(rng() % 10000000) + "^^^HOSP^MR||" + Pick(rng, kNames) +
         "^" + Pick(rng, kGiven) + "||19" + std::to_string(Uniform(rng, 30, 99)) + "0101|" +
         (rng() % 2 ? "F" : "M") + "\r";
    s += "OBR|1|" + id + "||CHEM^Chemistry panel|||" + Date(rng) + "\r";
    int n = Uniform(rng, 2, 6);
    for (int i = 1; i <= n; i++) {
      char v[32];
      std::snprintf(v, sizeof v, "%.1f", double(rng() % 2000) / 10.0);
      s += "OBX|" + std::to_string(i) + "|NM|" + Pick(rng, kTests) + "||" + v + "|mmol/L|||||F\r";
    }
    s += "\n";
  }
  return Bytes(s.begin(), s.end());
}

Bytes CsvRows(Rng& rng, size_t size) {
  std::string s;
  while (s.size() < size) {
    char line[256];
    std::snprintf(line, sizeof line, "%llu,%s,%s,%s,%d,%.2f,%s\n",
                  (unsigned long long)(rng() % 10000000), Pick(rng, kNames), Pick(rng, kGiven),
                  Date(rng).c_str(), Uniform(rng, 1, 40), double(rng() % 100000) / 100.0,
                  Pick(rng, kTests));
    s += line;
  }
  return Bytes(s.begin(), s.end());
}

Bytes CsvTable(Rng& rng, size_t size) {
  Bytes out;
  Put(out, "mrn,surname,given,admitted,ward,amount,test\n");
  Put(out, CsvRows(rng, size));
  return out;
}

Bytes JsonRecords(Rng& rng, size_t size) {
  std::string s = "[\n";
  bool first = true;
  while (s.size() < size) {
    if (!first) s += ",\n";
    first = false;
    s += "  {\"mrn\": \"MRN" + std::to_string(rng() % 10000000) + "\", \"name\": \"" +
         Pick(rng, kNames) + " " + Pick(rng, kGiven) + "\", \"admitted\": \"" + Date(rng) +
         "\", \"ward\": " + std::to_string(Uniform(rng, 1, 40)) + ", \"note\": \"" +
         Sentence(rng) + "\"}";
  }
  s += "\n]\n";
  return Bytes(s.begin(), s.end());
}

Bytes LogLines(Rng& rng, size_t size) {
  std::string s;
  while (s.size() < size) {
    char line[512];
    std::snprintf(line, sizeof line, "2026-11-%02dT%02d:%02d:%02d.%03dZ %s %s[%d]: %s\n",
                  Uniform(rng, 1, 28), Uniform(rng, 0, 23), Uniform(rng, 0, 59),
                  Uniform(rng, 0, 59), Uniform(rng, 0, 999), Pick(rng, kLevels),
                  Pick(rng, kServices), Uniform(rng, 100, 60000), Sentence(rng).c_str());
    s += line;
  }
  return Bytes(s.begin(), s.end());
}

Bytes PlainText(Rng& rng, size_t size) {
  std::string s;
  while (s.size() < size) {
    s += Sentence(rng);
    if (rng() % 6 == 0) s += "\n\n";
  }
  return Bytes(s.begin(), s.end());
}

Bytes PdfDocument(Rng& rng, size_t size) {
  Bytes out;
  Put(out, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
  int obj = 1;
  // Scanned pages: about half the documents carry a compressed image.
  size_t image = rng() % 2 ? size * Uniform(rng, 10, 35) / 100 : 0;
  while (out.size() + image < size) {
    std::string text = "BT /F1 11 Tf 72 720 Td 14 TL\n";
    for (int l = 0; l < 40 && text.size() < 4000; l++) text += "(" + Sentence(rng) + ") '\n";
    text += "ET\n";
    Put(out, std::to_string(obj++) + " 0 obj\n<< /Length " + std::to_string(text.size()) +
                 " >>\nstream\n" + text + "endstream\nendobj\n");
  }
  if (image) {
    Put(out, std::to_string(obj++) + " 0 obj\n<< /Type /XObject /Subtype /Image /Filter /DCTDecode /Length " +
                 std::to_string(image) + " >>\nstream\n");
    Put(out, RandomLooking(rng, image));
    Put(out, "\nendstream\nendobj\n");
  }
  Put(out, "xref\n0 " + std::to_string(obj) + "\ntrailer\n<< /Size " + std::to_string(obj) +
               " /Root 1 0 R >>\nstartxref\n0\n%%EOF\n");
  return out;
}

Bytes OfficeZip(Rng& rng, size_t size) {
  std::vector<ZipEntry> e;
  Bytes types = Xml(rng, 600);
  e.push_back({"[Content_Types].xml", types, 0, uint32_t(types.size())});
  Bytes rels = Xml(rng, 300);
  e.push_back({"_rels/.rels", rels, 0, uint32_t(rels.size())});
  size_t body = std::max<size_t>(size / 3, 1000);
  e.push_back({"word/document.xml", RandomLooking(rng, body), 8, uint32_t(body * 4)});
  if (size > body + 4000) {
    Bytes png = Png(rng, size - body - 2000);
    e.push_back({"word/media/image1.png", png, 0, uint32_t(png.size())});
  }
  return BuildZip(e);
}

Bytes ZipArchive(Rng& rng, size_t size) {
  std::vector<ZipEntry> e;
  int n = Uniform(rng, 2, 8);
  for (int i = 0; i < n; i++) {
    size_t part = std::max<size_t>(size / size_t(n), 200);
    e.push_back({"export/part" + std::to_string(i) + ".csv", RandomLooking(rng, part), 8,
                 uint32_t(part * 5)});
  }
  return BuildZip(e);
}

Bytes DicomImage(Rng& rng, size_t size, bool compressed) {
  uint32_t side = uint32_t(std::max(32.0, std::sqrt(double(size) / 2)));
  std::string name = std::string(Pick(rng, kNames)) + "^" + Pick(rng, kGiven);
  Bytes out = DicomHeader(rng, compressed ? kJ2kSyntax : kRawSyntax, side, side, name);
  if (compressed) {
    Bytes stream = RandomLooking(rng, size / 3);
    stream[0] = 0xff;  // JPEG 2000 codestream: SOC marker
    stream[1] = 0x4f;
    DicomElement(out, 0x7fe0, 0x0010, "OB", stream);
    return out;
  }
  // CT-like: a smooth body with noise, 12 bits stored in 16.
  Bytes pixels;
  pixels.reserve(size_t(side) * side * 2);
  double gx = double(rng() % 8) / 4, gy = double(rng() % 8) / 4;
  int base = Uniform(rng, 200, 1200), noise = Uniform(rng, 8, 40);
  for (uint32_t y = 0; y < side; y++)
    for (uint32_t x = 0; x < side; x++) {
      double dx = double(x) - side / 2.0, dy = double(y) - side / 2.0;
      int body = dx * dx + dy * dy < side * side / 6.0 ? 800 : 0;
      int v = base + body + int(gx * x + gy * y) + int(rng() % uint64_t(2 * noise)) - noise;
      v = std::clamp(v, 0, 4095);
      Le16(pixels, uint32_t(v));
    }
  DicomElement(out, 0x7fe0, 0x0010, "OW", pixels);
  return out;
}

Bytes DicomReencoded(Rng& rng, const Bytes& raw) {
  // Rebuild the header with the new transfer syntax (as a re-encoder does),
  // keeping rows, columns and the patient.
  size_t pixel_at = PixelDataOffset(raw);
  Bytes out(raw.begin(), raw.begin() + std::min(pixel_at, raw.size()));
  std::string from = kRawSyntax, to = kJ2kSyntax;
  from += '\0';  // both padded to even lengths: 20 -> 20, 22 -> 22
  auto it = std::search(out.begin(), out.end(), from.begin(), from.end());
  if (it != out.end()) {
    // The UID grows by 2 bytes: rewrite that element and the group length.
    size_t at = size_t(it - out.begin());
    Bytes fixed(out.begin(), out.begin() + at - 2);
    Le16(fixed, uint32_t(to.size()));
    Put(fixed, to);
    fixed.insert(fixed.end(), out.begin() + at + from.size(), out.end());
    // (0002,0000) UL group length sits right after "DICM" at 132: value at 140.
    uint32_t len = uint32_t(fixed[140] | fixed[141] << 8) + uint32_t(to.size() - from.size());
    fixed[140] = uint8_t(len);
    fixed[141] = uint8_t(len >> 8);
    out = std::move(fixed);
  }
  Bytes stream = RandomLooking(rng, std::max<size_t>(raw.size() / 3, 64));
  stream[0] = 0xff;
  stream[1] = 0x4f;
  DicomElement(out, 0x7fe0, 0x0010, "OB", stream);
  return out;
}

Bytes Jpeg(Rng& rng, size_t size) {
  Bytes out = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 72, 0, 72, 0, 0};
  Put(out, Bytes{0xff, 0xdb, 0x00, 0x43, 0x00});
  for (int i = 0; i < 64; i++) out.push_back(uint8_t(1 + i / 4));
  Put(out, Bytes{0xff, 0xda, 0x00, 0x0c});
  Put(out, RandomLooking(rng, size > 200 ? size - 200 : 100));
  Put(out, Bytes{0xff, 0xd9});
  return out;
}

Bytes Png(Rng& rng, size_t size) {
  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  Be32(out, 13);
  Put(out, "IHDR");
  Be32(out, 1024);
  Be32(out, 768);
  Put(out, Bytes{8, 2, 0, 0, 0});
  Be32(out, 0);  // crc (not checked by anyone here)
  size_t body = size > 100 ? size - 60 : 40;
  Be32(out, uint32_t(body));
  Put(out, "IDAT");
  Put(out, RandomLooking(rng, body));
  Be32(out, 0);
  Be32(out, 0);
  Put(out, "IEND");
  Be32(out, 0xae426082);
  return out;
}

Bytes Mp4(Rng& rng, size_t size, bool audio) {
  Bytes out;
  Be32(out, 24);
  Put(out, "ftyp");
  Put(out, audio ? "M4A " : "isom");
  Be32(out, 512);
  Put(out, audio ? "M4A mp42" : "isomiso2");
  size_t body = size > 64 ? size - 32 : 32;
  Be32(out, uint32_t(body + 8));
  Put(out, "mdat");
  Put(out, RandomLooking(rng, body));
  return out;
}

Bytes Gzip(Rng& rng, size_t size) {
  Bytes out = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  Put(out, RandomLooking(rng, size > 20 ? size - 18 : 8));
  Le32(out, uint32_t(rng()));
  Le32(out, uint32_t(size * 4));
  return out;
}

Bytes ElfBinary(Rng& rng, size_t size) {
  Bytes out = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  out.resize(64, 0);
  out[16] = 3;   // ET_DYN
  out[18] = 62;  // x86-64
  // Code: opcodes from a skewed alphabet (real code measures 5.5 to 6.5
  // bits/byte): common bytes often, the rest rarely.
  size_t resources = rng() % 3 == 0 ? size * Uniform(rng, 5, 25) / 100 : 0;
  size_t strings = size / 8;
  std::geometric_distribution<int> skew(0.03);
  uint8_t alphabet[256];
  for (auto& a : alphabet) a = uint8_t(skew(rng) * 37 + 0x48);
  while (out.size() + strings + resources < size) {
    uint64_t r = rng();
    for (int k = 0; k < 8; k++) out.push_back(alphabet[(r >> (8 * k)) & 0xff]);
  }
  std::string table;
  while (table.size() < strings) {
    table += std::string("_ZN") + Pick(rng, kServices) + "_" + Pick(rng, kWords) + "Ev";
    table += '\0';
  }
  Put(out, table);
  if (resources) Put(out, RandomLooking(rng, resources));
  return out;
}

}  // namespace ks::sim
