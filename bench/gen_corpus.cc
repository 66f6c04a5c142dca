// kintsugi-gen: deterministic fake hospital file share for benchmarks and tests.
//
//   kintsugi-gen [--seed N] [--size SIZE] [--special] OUTDIR
//   kintsugi-gen --mutate PERCENT [--seed N] DIR
//   kintsugi-gen --encrypt-attack PERCENT [--seed N] DIR
//
// The same seed and size always produce a byte-identical tree (names, contents
// and file mtimes), so backup tools can be compared on exactly the same input.
// SIZE takes binary suffixes: 512K, 64M, 1G, 2GiB (all powers of 1024).
//
// What the corpus contains, and why (shares are by bytes):
//
//   ~32% incompressible binary -- JPEG photos, JPEG 2000 pathology slides, PNG
//        ECG strips, ZIP export archives and scanned PDFs with image streams.
//        Real file shares are full of already-compressed data; a backup tool
//        must not waste CPU trying to compress it. Files carry correct magic
//        bytes and container structure so format sniffers treat them right,
//        but the payload is PRNG output (not decodable as an image).
//   ~32% structured text -- HL7 v2 message batches, CSV lab results and JSON
//        encounter exports. Highly compressible and full of short repeats;
//        this is where compression ratio and chunker behaviour on text show.
//   ~20% raw 16-bit images -- DICOM files (preamble, "DICM", real tag layout)
//        whose pixels are smooth gradients plus noise, like uncompressed CT/MR.
//        Moderately compressible; big and numerous in a real PACS.
//   ~8%  small documents -- 0.5-20 KiB letters and notes (.txt) and
//        .docx-like ZIPs, about 900 per 64 MiB of corpus (15,000 per GiB).
//        Stresses per-file overhead and metadata.
//   ~8%  duplicates -- exact copies in other folders (re-sent studies,
//        "inbox" copies) and files sharing large regions with others (edited
//        revisions with shifted content, merged scans). Exercises dedup and
//        content-defined chunking.
//
// Plus special entries: an empty file, an empty directory, a symlink, a hard
// link, a file with a non-ASCII UTF-8 name and, with --special, a large sparse
// file. The one-line summary counts regular files (hard links included) and
// unique bytes (hard links and the sparse file's holes excluded). Regular
// files get fixed mtimes; directories and the symlink keep the current time.
//
// --mutate changes about PERCENT% of the existing files (append, overwrite in
// the middle, insert in the middle) and adds a few new files, to measure an
// incremental backup. --encrypt-attack simulates ransomware on PERCENT% of the
// files. Both are deterministic for a given seed and starting tree.
//
// Only the C++ standard library is used. Random bytes are produced 8 at a time
// by xoshiro256** in host byte order (all supported targets are little-endian).

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;

constexpr u64 KiB = 1024;
constexpr u64 MiB = 1024 * KiB;
constexpr u64 GiB = 1024 * MiB;

// ---------------------------------------------------------------------------
// PRNG: splitmix64 to seed, xoshiro256** to generate.

u64 splitmix64(u64& state) {
  u64 z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr u64 rotl(u64 x, int k) { return (x << k) | (x >> (64 - k)); }

class Rng {
 public:
  explicit Rng(u64 seed) {
    for (auto& word : s_) word = splitmix64(seed);
  }

  u64 next() {
    const u64 result = rotl(s_[1] * 5, 7) * 9;
    const u64 t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n) (multiply-shift; the bias is irrelevant here).
  u64 below(u64 n) { return static_cast<u64>((static_cast<unsigned __int128>(next()) * n) >> 64); }
  // Uniform in [lo, hi], inclusive.
  u64 range(u64 lo, u64 hi) { return lo + below(hi - lo + 1); }
  int irange(int lo, int hi) { return lo + static_cast<int>(below(static_cast<u64>(hi - lo) + 1)); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }

  // Log-uniform in [lo, hi]: many small values, a few large ones, like file sizes.
  u64 log_uniform(u64 lo, u64 hi) {
    if (hi <= lo) return lo;
    const double a = std::log(static_cast<double>(lo));
    const double b = std::log(static_cast<double>(hi));
    return std::clamp(static_cast<u64>(std::exp(a + unit() * (b - a))), lo, hi);
  }

  template <class Container>
  const auto& pick(const Container& c) {
    return c[below(std::size(c))];
  }
  std::string_view pick(std::initializer_list<std::string_view> choices) {
    return choices.begin()[below(choices.size())];
  }

  void fill(char* p, std::size_t n) {
    for (; n >= 8; p += 8, n -= 8) {
      const u64 v = next();
      std::memcpy(p, &v, 8);
    }
    if (n > 0) {
      const u64 v = next();
      std::memcpy(p, &v, n);
    }
  }

  void append_random(std::string& out, std::size_t n) {
    const std::size_t old = out.size();
    out.resize(old + n);
    fill(out.data() + old, n);
  }

  // An independent generator, so that one file's content does not depend on
  // how many random numbers another file consumed.
  Rng fork() { return Rng(next()); }

 private:
  std::array<u64, 4> s_{};
};

// ---------------------------------------------------------------------------
// Byte and text helpers.

void put_bytes(std::string& o, std::initializer_list<int> bytes) {
  for (int b : bytes) o.push_back(static_cast<char>(b));
}
void put_le16(std::string& o, u32 v) { put_bytes(o, {int(v & 0xff), int((v >> 8) & 0xff)}); }
void put_le32(std::string& o, u32 v) {
  put_le16(o, v & 0xffff);
  put_le16(o, v >> 16);
}
void put_be16(std::string& o, u32 v) { put_bytes(o, {int((v >> 8) & 0xff), int(v & 0xff)}); }
void put_be32(std::string& o, u32 v) {
  put_be16(o, v >> 16);
  put_be16(o, v & 0xffff);
}

// Decimal, zero-padded to `width` digits.
void add_uint(std::string& o, u64 v, int width = 0) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < width) buf[n++] = '0';
  while (n > 0) o.push_back(buf[--n]);
}

void add_fixed(std::string& o, double v, int decimals) {
  char buf[48];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  o.append(buf, res.ptr);
}

std::string padded(u64 v, int width) {
  std::string s;
  add_uint(s, v, width);
  return s;
}

void add_json_string(std::string& o, std::string_view s) {
  o.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    o.push_back(c);
  }
  o.push_back('"');
}

void add_xml_text(std::string& o, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '\'': o += "&apos;"; break;
      default: o.push_back(c);
    }
  }
}

constexpr std::array<u32, 256> make_crc_table() {
  std::array<u32, 256> table{};
  for (u32 i = 0; i < 256; ++i) {
    u32 c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

// CRC-32 as used by ZIP and PNG; pass a previous result to continue it.
u32 crc32(std::string_view data, u32 crc = 0) {
  crc = ~crc;
  for (unsigned char b : data) crc = kCrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

// ---------------------------------------------------------------------------
// File system helpers (std::filesystem and fstreams only).

void write_file(const fs::path& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f.write(data.data(), static_cast<std::streamsize>(data.size())))
    throw std::runtime_error("cannot write " + path.string());
}

void append_file(const fs::path& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  if (!f.write(data.data(), static_cast<std::streamsize>(data.size())))
    throw std::runtime_error("cannot append to " + path.string());
}

void overwrite_at(const fs::path& path, u64 offset, std::string_view data) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  if (!f.write(data.data(), static_cast<std::streamsize>(data.size())))
    throw std::runtime_error("cannot overwrite " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::string data(fs::file_size(path), '\0');
  if (!f.read(data.data(), static_cast<std::streamsize>(data.size())))
    throw std::runtime_error("cannot read " + path.string());
  return data;
}

void set_mtime(const fs::path& path, std::time_t t) {
  using namespace std::chrono;
  fs::last_write_time(path, file_clock::from_sys(sys_seconds{seconds{t}}));
}

// All regular files under root (symlinks skipped), sorted for determinism.
std::vector<fs::path> regular_files(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_symlink() && entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// ---------------------------------------------------------------------------
// Calendar.

struct Date {
  int y = 2024, m = 1, d = 1, hh = 0, mi = 0, ss = 0;
};

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return (m == 2 && leap) ? 29 : kDays[m - 1];
}

Date random_date(Rng& r, int first_year, int last_year) {
  Date t;
  t.y = r.irange(first_year, last_year);
  t.m = r.irange(1, 12);
  t.d = r.irange(1, days_in_month(t.y, t.m));
  t.hh = r.irange(0, 23);
  t.mi = r.irange(0, 59);
  t.ss = r.irange(0, 59);
  return t;
}

std::time_t to_unix(const Date& t) {
  using namespace std::chrono;
  const sys_days day{year{t.y} / month{static_cast<unsigned>(t.m)} / static_cast<unsigned>(t.d)};
  return day.time_since_epoch().count() * 86400LL + t.hh * 3600 + t.mi * 60 + t.ss;
}

Date from_unix(std::time_t secs) {
  using namespace std::chrono;
  const sys_seconds tp{seconds{secs}};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const auto tod = hh_mm_ss{tp - day};
  return Date{int(ymd.year()), int(unsigned(ymd.month())), int(unsigned(ymd.day())),
              int(tod.hours().count()), int(tod.minutes().count()), int(tod.seconds().count())};
}

Date plus_minutes(const Date& t, u64 minutes) { return from_unix(to_unix(t) + std::time_t(minutes) * 60); }

void add_ymd(std::string& o, const Date& t, std::string_view sep) {
  add_uint(o, t.y, 4);
  o += sep;
  add_uint(o, t.m, 2);
  o += sep;
  add_uint(o, t.d, 2);
}
void add_hl7_time(std::string& o, const Date& t) {  // YYYYMMDDHHMMSS
  add_ymd(o, t, "");
  add_uint(o, t.hh, 2);
  add_uint(o, t.mi, 2);
  add_uint(o, t.ss, 2);
}
void add_iso_time(std::string& o, const Date& t) {  // YYYY-MM-DDTHH:MM:SSZ
  add_ymd(o, t, "-");
  o += 'T';
  add_uint(o, t.hh, 2);
  o += ':';
  add_uint(o, t.mi, 2);
  o += ':';
  add_uint(o, t.ss, 2);
  o += 'Z';
}
std::string ymd(const Date& t, std::string_view sep) {
  std::string s;
  add_ymd(s, t, sep);
  return s;
}

// ---------------------------------------------------------------------------
// Fake hospital vocabulary. All names and identifiers are invented.

constexpr std::string_view kHospital = "Riverside General Hospital";
constexpr std::string_view kFacility = "RGH";

constexpr std::string_view kGivenFemale[] = {
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Susan", "Jessica", "Sarah", "Karen", "Nancy",
    "Lisa", "Margaret", "Sandra", "Ashley", "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa",
    "Zoë", "Chloé", "Siobhán", "Åsa", "Ingrid", "Fatima", "Aiko", "Priya", "Olga", "Lucía"};
constexpr std::string_view kGivenMale[] = {
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Charles",
    "Daniel", "Matthew", "Anthony", "Mark", "Steven", "Paul", "Andrew", "Joshua", "Kenneth", "Kevin",
    "José", "Søren", "Björn", "François", "Ahmed", "Hiroshi", "Raj", "Dmitri", "Kwame", "Mateo"};
constexpr std::string_view kFamily[] = {
    "Smith",    "Johnson",   "Williams", "Brown",   "Jones",   "Miller",  "Davis",    "Wilson",
    "Anderson", "Taylor",    "Thomas",   "Moore",   "Martin",  "Jackson", "Thompson", "White",
    "Lopez",    "Lee",       "Harris",   "Clark",   "Lewis",   "Walker",  "Hall",     "Young",
    "Allen",    "Wright",    "King",     "Scott",   "Green",   "Baker",   "Adams",    "Nelson",
    "Hill",     "Campbell",  "Mitchell", "Roberts", "Carter",  "Evans",   "Turner",   "Parker",
    "O'Brien",  "Nguyen",    "Kowalski", "García",  "Müller",  "Núñez",   "Okafor",   "Patel",
    "Kim",      "Haddad",    "Rossi",    "Schmidt", "Dubois",  "Novak",   "Yamamoto", "Chen",
    "Singh",    "Cohen",     "Ivanova",  "Andersson"};
constexpr std::string_view kStreets[] = {"Maple St",   "Oak Ave",    "Pine Rd",     "Cedar Ln",  "Elm St",
                                         "Birch Dr",   "Lakeview Rd", "Hillcrest Ave", "Mill Rd", "River St",
                                         "Church Ln",  "Station Rd", "Park Ave",    "High St",   "Willow Way"};
struct City {
  std::string_view name, state, zip_prefix;
};
constexpr City kCities[] = {{"Springfield", "IL", "627"}, {"Riverton", "WY", "825"}, {"Fairview", "OR", "970"},
                            {"Greenville", "SC", "296"},  {"Madison", "WI", "537"},  {"Franklin", "TN", "370"},
                            {"Clinton", "MS", "390"},     {"Georgetown", "KY", "403"}, {"Salem", "MA", "019"},
                            {"Ashland", "OH", "448"}};

constexpr std::string_view kDepartments[] = {"cardiology", "oncology",  "radiology", "pediatrics",
                                             "emergency",  "orthopedics", "neurology", "nephrology",
                                             "pharmacy",   "admin",     "hr",        "quality"};

struct LabTest {
  std::string_view code, name, unit;
  double low, high;
  int decimals;
};
constexpr LabTest kLabTests[] = {
    {"2345-7", "Glucose", "mg/dL", 70, 99, 0},          {"718-7", "Hemoglobin", "g/dL", 12.0, 17.5, 1},
    {"6690-2", "Leukocytes", "10*3/uL", 4.5, 11.0, 1},  {"777-3", "Platelets", "10*3/uL", 150, 400, 0},
    {"2951-2", "Sodium", "mmol/L", 135, 145, 0},        {"2823-3", "Potassium", "mmol/L", 3.5, 5.1, 1},
    {"2075-0", "Chloride", "mmol/L", 98, 107, 0},       {"2160-0", "Creatinine", "mg/dL", 0.6, 1.3, 2},
    {"3094-0", "Urea nitrogen", "mg/dL", 7, 20, 0},     {"1742-6", "ALT", "U/L", 7, 56, 0},
    {"1920-8", "AST", "U/L", 10, 40, 0},                {"4548-4", "Hemoglobin A1c", "%", 4.0, 5.6, 1},
    {"2093-3", "Cholesterol", "mg/dL", 125, 200, 0},    {"33762-6", "NT-proBNP", "pg/mL", 0, 125, 0},
    {"10839-9", "Troponin I", "ng/mL", 0.0, 0.04, 2},   {"1988-5", "C reactive protein", "mg/L", 0, 10, 1},
    {"5902-2", "Prothrombin time", "s", 11, 13.5, 1},   {"6301-6", "INR", "{INR}", 0.8, 1.1, 1}};

struct Diagnosis {
  std::string_view code, display;
};
constexpr Diagnosis kDiagnoses[] = {{"I10", "essential hypertension"},
                                    {"E11.9", "type 2 diabetes mellitus without complications"},
                                    {"J18.9", "pneumonia, unspecified organism"},
                                    {"I48.91", "atrial fibrillation"},
                                    {"N18.3", "chronic kidney disease, stage 3"},
                                    {"J44.1", "COPD with acute exacerbation"},
                                    {"I21.4", "non-ST elevation myocardial infarction"},
                                    {"K35.80", "acute appendicitis"},
                                    {"S72.001A", "fracture of the right femoral neck"},
                                    {"F32.9", "major depressive disorder, single episode"},
                                    {"C50.911", "malignant neoplasm of the right breast"},
                                    {"M17.11", "primary osteoarthritis of the right knee"},
                                    {"E78.5", "hyperlipidaemia"},
                                    {"R07.9", "chest pain, unspecified"},
                                    {"A41.9", "sepsis, unspecified organism"}};

constexpr std::string_view kMedications[] = {
    "metformin 500 mg twice daily",  "lisinopril 10 mg once daily",     "atorvastatin 40 mg at night",
    "apixaban 5 mg twice daily",     "amoxicillin 500 mg three times daily", "paracetamol 1 g four times daily",
    "furosemide 40 mg once daily",   "bisoprolol 2.5 mg once daily",    "omeprazole 20 mg once daily",
    "sertraline 50 mg once daily"};

// Letter sentences; {keys} are expanded by expand_template().
constexpr std::string_view kLetterSentences[] = {
    "Thank you for referring {pt}, whom I saw in the {dept} clinic on {date}.",
    "{pt} presented with a two-week history of worsening shortness of breath on exertion.",
    "Past medical history includes {dx}.",
    "On examination the chest was clear and heart sounds were normal.",
    "Blood pressure was {bp} mmHg and pulse {hr} beats per minute, regular.",
    "Recent blood tests showed a creatinine of {cr} mg/dL and haemoglobin of {hb} g/dL.",
    "I have started {med} and asked the patient to report any side effects.",
    "We discussed the diagnosis of {dx} and the options for further management.",
    "An echocardiogram has been requested and should be performed within six weeks.",
    "I would be grateful if you could check renal function and electrolytes in two weeks.",
    "The patient understands the plan and is in agreement with it.",
    "We are happy to see {pt} again should the symptoms recur.",
    "A follow-up appointment has been arranged for {date}.",
    "Imaging performed on {date} showed no acute abnormality.",
    "{pt} lives independently and remains active, walking two miles most days.",
    "Current medication: {med}.",
    "Allergies: no known drug allergies.",
    "Please do not hesitate to contact me if you have any concerns."};

constexpr std::string_view kNoteSubjective[] = {
    "Patient reports feeling better today, slept well overnight.",
    "Complains of mild pain at the surgical site, 3/10, controlled with oral analgesia.",
    "Reports intermittent palpitations since yesterday evening, no syncope.",
    "Denies chest pain, shortness of breath or fever.",
    "Family at bedside, questions answered regarding discharge planning."};
constexpr std::string_view kNotePlan[] = {
    "Continue current management and review in the morning.",
    "Repeat bloods tomorrow including renal profile and full blood count.",
    "Mobilise with physiotherapy; aim for discharge within 48 hours.",
    "Refer to dietitian; diabetic education booked.",
    "Increase dose as tolerated and monitor blood pressure twice daily."};

// ---------------------------------------------------------------------------
// People.

struct Person {
  std::string given, family;
  char middle = 'A';
  char sex = 'F';
  Date dob;
  u64 mrn = 0;  // medical record number
  std::string street, city, state, zip, phone;
};

Person make_person(Rng& r) {
  Person p;
  p.sex = r.chance(0.5) ? 'F' : 'M';
  p.given = std::string(p.sex == 'F' ? r.pick(kGivenFemale) : r.pick(kGivenMale));
  p.family = std::string(r.pick(kFamily));
  p.middle = static_cast<char>('A' + r.below(26));
  p.dob = random_date(r, 1930, 2020);
  p.mrn = r.range(10000000, 99999999);
  p.street = padded(r.range(1, 9999), 0) + " " + std::string(r.pick(kStreets));
  const City& c = r.pick(kCities);
  p.city = std::string(c.name);
  p.state = std::string(c.state);
  p.zip = std::string(c.zip_prefix) + padded(r.below(100), 2);
  p.phone = "(" + padded(r.range(201, 989), 3) + ")555-" + padded(r.below(10000), 4);
  return p;
}

std::string display_name(const Person& p) {
  return std::string(p.sex == 'F' ? "Ms " : "Mr ") + p.given + " " + p.family;
}

struct Staff {
  std::vector<Person> patients;
  std::vector<Person> doctors;

  static Staff make(Rng& r, std::size_t patients, std::size_t doctors) {
    Staff s;
    for (std::size_t i = 0; i < patients; ++i) s.patients.push_back(make_person(r));
    for (std::size_t i = 0; i < doctors; ++i) s.doctors.push_back(make_person(r));
    return s;
  }
};

// ---------------------------------------------------------------------------
// Text formats.

void add_hl7_msh(std::string& o, std::string_view type, std::string_view receiver, const Date& t, u64 control) {
  o += "MSH|^~\\&|EPIC|";
  o += kFacility;
  o += '|';
  o += receiver;
  o += '|';
  o += kFacility;
  o += '|';
  add_hl7_time(o, t);
  o += "||";
  o += type;
  o += "|MSG";
  add_uint(o, control, 10);
  o += "|P|2.5.1\r";
}

void add_hl7_pid(std::string& o, const Person& p) {
  o += "PID|1||";
  add_uint(o, p.mrn, 8);
  o += "^^^";
  o += kFacility;
  o += "^MR||";
  o += p.family;
  o += '^';
  o += p.given;
  o += '^';
  o += p.middle;
  o += "||";
  add_ymd(o, p.dob, "");
  o += '|';
  o += p.sex;
  o += "|||";
  o += p.street;
  o += "^^";
  o += p.city;
  o += '^';
  o += p.state;
  o += '^';
  o += p.zip;
  o += "^USA||";
  o += p.phone;
  o += "\r";
}

void add_hl7_pv1(std::string& o, Rng& r, const Person& doctor, const Date& t) {
  static constexpr std::string_view kUnits[] = {"4W", "5E", "ICU", "ED", "CCU", "2N", "ONC"};
  o += "PV1|1|";
  o += r.pick({"I", "O", "E"});
  o += '|';
  o += r.pick(kUnits);
  o += '^';
  add_uint(o, r.range(100, 699));
  o += '^';
  o += static_cast<char>('A' + r.below(4));
  o += '^';
  o += kFacility;
  o += "||||";
  add_uint(o, doctor.mrn % 10000000, 7);
  o += '^';
  o += doctor.family;
  o += '^';
  o += doctor.given;
  o += "^^^DR|||MED||||ADM|||||V";
  add_uint(o, r.below(100000000), 8);
  o += "|||||||||||||||||||||||||";
  add_hl7_time(o, t);
  o += "\r";
}

void add_lab_value(std::string& o, Rng& r, const LabTest& test, char& flag) {
  const double span = test.high - test.low;
  const double v = std::max(0.0, test.low - 0.25 * span + r.unit() * 1.5 * span);
  add_fixed(o, v, test.decimals);
  flag = v < test.low ? 'L' : v > test.high ? 'H' : 'N';
}

void add_hl7_obx(std::string& o, Rng& r, int index, const LabTest& test, const Date& t) {
  o += "OBX|";
  add_uint(o, index);
  o += "|NM|";
  o += test.code;
  o += '^';
  o += test.name;
  o += "^LN||";
  char flag = 'N';
  add_lab_value(o, r, test, flag);
  o += '|';
  o += test.unit;
  o += '|';
  add_fixed(o, test.low, test.decimals);
  o += '-';
  add_fixed(o, test.high, test.decimals);
  o += '|';
  o += flag;
  o += "|||F|||";
  add_hl7_time(o, t);
  o += "\r";
}

// One HL7 v2 message (segments end in \r, messages in \n as in batch files).
void add_hl7_message(std::string& o, Rng& r, const Staff& staff, const Date& day, u64 control) {
  const Person& p = r.pick(staff.patients);
  const Person& doc = r.pick(staff.doctors);
  Date t = day;
  t.hh = r.irange(0, 23);
  t.mi = r.irange(0, 59);
  t.ss = r.irange(0, 59);
  const u64 kind = r.below(10);
  if (kind < 4) {  // admission / discharge / update
    static constexpr std::string_view kAdt[] = {"ADT^A01^ADT_A01", "ADT^A03^ADT_A03", "ADT^A08^ADT_A01"};
    const std::string_view type = r.pick(kAdt);
    add_hl7_msh(o, type, "ADT", t, control);
    o += "EVN|";
    o += type.substr(4, 3);
    o += '|';
    add_hl7_time(o, t);
    o += "\r";
    add_hl7_pid(o, p);
    add_hl7_pv1(o, r, doc, t);
  } else if (kind < 9) {  // lab results
    add_hl7_msh(o, "ORU^R01^ORU_R01", "LIS", t, control);
    add_hl7_pid(o, p);
    o += "OBR|1|ORD";
    add_uint(o, control, 9);
    o += "|FIL";
    add_uint(o, control, 9);
    o += "|PANEL^Laboratory panel^L|||";
    add_hl7_time(o, t);
    o += "\r";
    const int n = r.irange(3, 12);
    for (int i = 1; i <= n; ++i) add_hl7_obx(o, r, i, r.pick(kLabTests), t);
  } else {  // imaging order
    add_hl7_msh(o, "ORM^O01^ORM_O01", "RIS", t, control);
    add_hl7_pid(o, p);
    o += "ORC|NW|ORD";
    add_uint(o, control, 9);
    o += "|||||^^^";
    add_hl7_time(o, t);
    o += "^^R\rOBR|1|ORD";
    add_uint(o, control, 9);
    o += "||";
    o += r.pick({"CTCHEST^CT chest with contrast^L", "MRBRAIN^MRI brain^L", "XRCHEST^Chest X-ray 2 views^L"});
    o += "\r";
  }
  o += "\n";
}

constexpr std::string_view kCsvHeader =
    "result_id,mrn,patient_name,collected_at,loinc,test_name,value,unit,ref_low,ref_high,flag,analyzer,status\n";

// A panel of lab results for one patient, one CSV row per test.
void add_lab_rows(std::string& o, Rng& r, const Staff& staff, const Date& day, std::string_view analyzer,
                  u64& result_id) {
  const Person& p = r.pick(staff.patients);
  Date t = day;
  t.hh = r.irange(5, 22);
  t.mi = r.irange(0, 59);
  const int n = r.irange(4, 10);
  for (int i = 0; i < n; ++i) {
    const LabTest& test = r.pick(kLabTests);
    add_uint(o, ++result_id, 10);
    o += ",MRN";
    add_uint(o, p.mrn, 8);
    o += ",\"";
    o += p.family;
    o += ", ";
    o += p.given;
    o += "\",";
    add_iso_time(o, t);
    o += ',';
    o += test.code;
    o += ',';
    o += test.name;
    o += ',';
    char flag = 'N';
    add_lab_value(o, r, test, flag);
    o += ',';
    o += test.unit;
    o += ',';
    add_fixed(o, test.low, test.decimals);
    o += ',';
    add_fixed(o, test.high, test.decimals);
    o += ',';
    if (flag != 'N') o += flag;
    o += ',';
    o += analyzer;
    o += ",F\n";
  }
}

// One pretty-printed encounter record (FHIR-flavoured, not FHIR-valid).
void add_encounter_json(std::string& o, Rng& r, const Staff& staff, const Date& day, u64 id) {
  const Person& p = r.pick(staff.patients);
  const Person& doc = r.pick(staff.doctors);
  Date start = day;
  start.hh = r.irange(0, 23);
  const Date end = plus_minutes(start, r.range(30, 10 * 24 * 60));
  o += "  {\n    \"resourceType\": \"Encounter\",\n    \"id\": \"enc-";
  add_uint(o, id, 9);
  o += "\",\n    \"status\": \"finished\",\n    \"class\": ";
  add_json_string(o, r.pick({"inpatient", "outpatient", "emergency"}));
  o += ",\n    \"patient\": {\n      \"mrn\": \"MRN";
  add_uint(o, p.mrn, 8);
  o += "\",\n      \"name\": {\"family\": ";
  add_json_string(o, p.family);
  o += ", \"given\": [";
  add_json_string(o, p.given);
  o += "]},\n      \"birthDate\": \"";
  add_ymd(o, p.dob, "-");
  o += "\",\n      \"gender\": \"";
  o += p.sex == 'F' ? "female" : "male";
  o += "\"\n    },\n    \"period\": {\"start\": \"";
  add_iso_time(o, start);
  o += "\", \"end\": \"";
  add_iso_time(o, end);
  o += "\"},\n    \"department\": ";
  add_json_string(o, r.pick(kDepartments));
  o += ",\n    \"attending\": ";
  add_json_string(o, "Dr " + doc.given + " " + doc.family);
  o += ",\n    \"diagnoses\": [\n";
  const int n = r.irange(1, 3);
  for (int i = 0; i < n; ++i) {
    const Diagnosis& dx = r.pick(kDiagnoses);
    o += "      {\"system\": \"ICD-10-CM\", \"code\": ";
    add_json_string(o, dx.code);
    o += ", \"display\": ";
    add_json_string(o, dx.display);
    o += i + 1 < n ? "},\n" : "}\n";
  }
  o += "    ],\n    \"vitals\": {\"systolic\": ";
  add_uint(o, r.range(95, 185));
  o += ", \"diastolic\": ";
  add_uint(o, r.range(55, 110));
  o += ", \"heartRate\": ";
  add_uint(o, r.range(48, 130));
  o += ", \"temperatureC\": ";
  add_fixed(o, 36.0 + r.unit() * 3.0, 1);
  o += ", \"spo2\": ";
  add_uint(o, r.range(88, 100));
  o += "},\n    \"medications\": [";
  add_json_string(o, r.pick(kMedications));
  o += ", ";
  add_json_string(o, r.pick(kMedications));
  o += "],\n    \"note\": ";
  add_json_string(o, r.pick(kNoteSubjective));
  o += "\n  }";
}

// Expands {keys} in a letter template.
struct LetterContext {
  const Person& patient;
  const Person& doctor;
  std::string_view dept;
};

void add_template_value(std::string& o, std::string_view key, Rng& r, const LetterContext& c) {
  if (key == "pt") {
    o += display_name(c.patient);
  } else if (key == "dept") {
    o += c.dept;
  } else if (key == "date") {
    o += ymd(random_date(r, 2021, 2024), "-");
  } else if (key == "dx") {
    o += r.pick(kDiagnoses).display;
  } else if (key == "med") {
    o += r.pick(kMedications);
  } else if (key == "bp") {
    add_uint(o, r.range(100, 180));
    o += '/';
    add_uint(o, r.range(60, 105));
  } else if (key == "hr") {
    add_uint(o, r.range(50, 120));
  } else if (key == "cr") {
    add_fixed(o, 0.5 + r.unit() * 2.0, 2);
  } else if (key == "hb") {
    add_fixed(o, 9.0 + r.unit() * 8.0, 1);
  } else {
    throw std::logic_error("unknown template key " + std::string(key));
  }
}

void expand_template(std::string& o, std::string_view tmpl, Rng& r, const LetterContext& c) {
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const auto open = tmpl.find('{', i);
    if (open == std::string_view::npos) {
      o += tmpl.substr(i);
      return;
    }
    const auto close = tmpl.find('}', open);
    o += tmpl.substr(i, open - i);
    add_template_value(o, tmpl.substr(open + 1, close - open - 1), r, c);
    i = close + 1;
  }
}

// A clinic letter as a list of paragraphs, roughly `target` bytes long.
std::vector<std::string> letter_paragraphs(Rng& r, const Staff& staff, std::string_view dept, u64 target) {
  const Person& pt = r.pick(staff.patients);
  const Person& doc = r.pick(staff.doctors);
  const LetterContext ctx{pt, doc, dept};
  std::vector<std::string> paras;
  paras.push_back(std::string(kHospital) + "\nDepartment of " + std::string(dept) + "\n" +
                  ymd(random_date(r, 2021, 2024), "-"));
  paras.push_back("Dear Dr " + std::string(r.pick(kFamily)) + ",");
  paras.push_back("Re: " + pt.given + " " + pt.family + ", DOB " + ymd(pt.dob, "-") + ", MRN " + padded(pt.mrn, 8));
  u64 size = 0;
  for (const auto& p : paras) size += p.size() + 2;
  while (size + 120 < target) {
    std::string para;
    const int sentences = r.irange(2, 5);
    for (int i = 0; i < sentences; ++i) {
      if (i > 0) para += ' ';
      expand_template(para, r.pick(kLetterSentences), r, ctx);
    }
    size += para.size() + 2;
    paras.push_back(std::move(para));
  }
  paras.push_back("Yours sincerely,\n\nDr " + doc.given + " " + doc.family + "\nConsultant, " + std::string(dept));
  return paras;
}

std::string join_paragraphs(const std::vector<std::string>& paras) {
  std::string o;
  for (const auto& p : paras) {
    o += p;
    o += "\n\n";
  }
  return o;
}

// A ward progress-note file: dated SOAP entries until about `target` bytes.
std::string progress_notes(Rng& r, const Staff& staff, u64 target) {
  const Person& pt = r.pick(staff.patients);
  std::string o = "PROGRESS NOTES\nPatient: " + pt.family + ", " + pt.given + "   MRN: " + padded(pt.mrn, 8) +
                  "   DOB: " + ymd(pt.dob, "-") + "\n\n";
  Date t = random_date(r, 2021, 2024);
  while (o.size() < target) {
    const Person& doc = r.pick(staff.doctors);
    t = plus_minutes(t, r.range(60, 24 * 60));
    o += "---- ";
    add_iso_time(o, t);
    o += "  Dr " + doc.given + " " + doc.family + "\nS: ";
    o += r.pick(kNoteSubjective);
    o += "\nO: BP ";
    add_uint(o, r.range(100, 170));
    o += '/';
    add_uint(o, r.range(60, 100));
    o += ", HR ";
    add_uint(o, r.range(55, 115));
    o += ", T ";
    add_fixed(o, 36.0 + r.unit() * 2.5, 1);
    o += ", SpO2 ";
    add_uint(o, r.range(90, 100));
    o += "%\nA: ";
    o += r.pick(kDiagnoses).display;
    o += "\nP: ";
    o += r.pick(kNotePlan);
    o += "\n\n";
  }
  return o;
}

// ---------------------------------------------------------------------------
// Binary formats. Headers are right; payloads are random (incompressible).

// ZIP archive with "stored" entries (as tools do for already-compressed files).
class ZipWriter {
 public:
  ZipWriter(std::string& out, const Date& when)
      : out_(out),
        dos_time_(static_cast<u32>((when.hh << 11) | (when.mi << 5) | (when.ss / 2))),
        dos_date_(static_cast<u32>(((when.y - 1980) << 9) | (when.m << 5) | when.d)) {}

  void add(std::string_view name, std::string_view data) {
    const Entry e{std::string(name), crc32(data), static_cast<u32>(data.size()), static_cast<u32>(out_.size())};
    put_le32(out_, 0x04034b50);
    put_header_fields(out_, e);
    put_le16(out_, 0);  // extra field length
    out_ += name;
    out_ += data;
    entries_.push_back(e);
  }

  void finish() {
    const u32 dir_offset = static_cast<u32>(out_.size());
    for (const Entry& e : entries_) {
      put_le32(out_, 0x02014b50);
      put_le16(out_, 20);  // version made by
      put_header_fields(out_, e);
      put_le16(out_, 0);  // extra field length
      put_le16(out_, 0);  // comment length
      put_le16(out_, 0);  // disk number
      put_le16(out_, 0);  // internal attributes
      put_le32(out_, 0);  // external attributes
      put_le32(out_, e.offset);
      out_ += e.name;
    }
    const u32 dir_size = static_cast<u32>(out_.size()) - dir_offset;
    put_le32(out_, 0x06054b50);
    put_le16(out_, 0);
    put_le16(out_, 0);
    put_le16(out_, static_cast<u32>(entries_.size()));
    put_le16(out_, static_cast<u32>(entries_.size()));
    put_le32(out_, dir_size);
    put_le32(out_, dir_offset);
    put_le16(out_, 0);  // comment length
  }

 private:
  struct Entry {
    std::string name;
    u32 crc, size, offset;
  };

  // Fields shared by local and central headers, up to the name length.
  void put_header_fields(std::string& o, const Entry& e) const {
    put_le16(o, 20);      // version needed
    put_le16(o, 0x0800);  // flags: UTF-8 names
    put_le16(o, 0);       // method: stored
    put_le16(o, dos_time_);
    put_le16(o, dos_date_);
    put_le32(o, e.crc);
    put_le32(o, e.size);  // compressed size
    put_le32(o, e.size);  // uncompressed size
    put_le16(o, static_cast<u32>(e.name.size()));
  }

  std::string& out_;
  u32 dos_time_, dos_date_;
  std::vector<Entry> entries_;
};

std::string make_jpeg(Rng& r, u64 size) {
  static constexpr std::array<std::pair<int, int>, 4> kDims{{{4032, 3024}, {3264, 2448}, {1920, 1080}, {2048, 1536}}};
  const auto [w, h] = r.pick(kDims);
  std::string o;
  o.reserve(size + 256);
  put_bytes(o, {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x48, 0x00, 0x48,
                0x00, 0x00});
  put_bytes(o, {0xFF, 0xDB, 0x00, 0x43, 0x00});  // quantization table
  for (int i = 0; i < 64; ++i) o.push_back(static_cast<char>(1 + r.below(60)));
  put_bytes(o, {0xFF, 0xC0, 0x00, 0x11, 0x08});  // baseline frame, 3 components
  put_be16(o, static_cast<u32>(h));
  put_be16(o, static_cast<u32>(w));
  put_bytes(o, {0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01});
  put_bytes(o, {0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00});  // scan
  r.append_random(o, size > o.size() + 2 ? size - o.size() - 2 : 64);
  put_bytes(o, {0xFF, 0xD9});
  return o;
}

std::string make_jp2(Rng& r, u64 size) {
  const u32 w = static_cast<u32>(r.range(20000, 90000)), h = static_cast<u32>(r.range(20000, 60000));
  std::string o;
  o.reserve(size + 256);
  put_bytes(o, {0x00, 0x00, 0x00, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A});  // signature box
  put_bytes(o, {0x00, 0x00, 0x00, 0x14, 'f', 't', 'y', 'p', 'j', 'p', '2', ' ', 0, 0, 0, 0, 'j', 'p', '2', ' '});
  put_bytes(o, {0x00, 0x00, 0x00, 0x2D, 'j', 'p', '2', 'h', 0x00, 0x00, 0x00, 0x16, 'i', 'h', 'd', 'r'});
  put_be32(o, h);
  put_be32(o, w);
  put_bytes(o, {0x00, 0x03, 0x07, 0x07, 0x00, 0x00});  // 3 components, 8 bit, JPEG 2000 coding
  put_bytes(o, {0x00, 0x00, 0x00, 0x0F, 'c', 'o', 'l', 'r', 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10});  // sRGB
  const u64 codestream = size > o.size() + 8 + 45 ? size - o.size() - 8 : 64;
  put_be32(o, static_cast<u32>(codestream + 8));
  o += "jp2c";
  put_bytes(o, {0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00});  // SOC, SIZ
  put_be32(o, w);
  put_be32(o, h);
  put_be32(o, 0);
  put_be32(o, 0);
  put_be32(o, 1024);
  put_be32(o, 1024);
  put_be32(o, 0);
  put_be32(o, 0);
  put_bytes(o, {0x00, 0x01, 0x07, 0x01, 0x01});
  r.append_random(o, codestream - 45 - 2);
  put_bytes(o, {0xFF, 0xD9});  // EOC
  return o;
}

void add_png_chunk(std::string& o, std::string_view type, std::string_view data) {
  put_be32(o, static_cast<u32>(data.size()));
  o += type;
  o += data;
  put_be32(o, crc32(data, crc32(type)));
}

std::string make_png(Rng& r, u64 size) {
  std::string o;
  o.reserve(size + 256);
  put_bytes(o, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
  std::string ihdr;
  put_be32(ihdr, static_cast<u32>(r.range(800, 2400)));
  put_be32(ihdr, static_cast<u32>(r.range(300, 1200)));
  put_bytes(ihdr, {8, 2, 0, 0, 0});  // 8-bit RGB, deflate, no interlace
  add_png_chunk(o, "IHDR", ihdr);
  std::string idat;
  bool first = true;
  while (o.size() + 12 < size) {
    idat.clear();
    if (first) put_bytes(idat, {0x78, 0xDA});  // zlib header
    first = false;
    r.append_random(idat, std::min<u64>(64 * KiB, size - o.size() - 12) - idat.size());
    add_png_chunk(o, "IDAT", idat);
  }
  add_png_chunk(o, "IEND", "");
  return o;
}

// A scanned-document PDF: one JPEG (DCTDecode) image stream per page.
std::string make_pdf(Rng& r, u64 size, const Date& when) {
  const u64 pages = std::clamp<u64>(size / (180 * KiB), 1, 400);
  const u64 image_bytes = std::max<u64>(1 * KiB, size / pages - 420);
  std::string o;
  o.reserve(size + 64 * KiB);
  std::vector<u64> offsets(4 + 3 * pages, 0);
  auto begin_obj = [&](u64 id) {
    offsets[id] = o.size();
    add_uint(o, id);
    o += " 0 obj\n";
  };
  o += "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
  begin_obj(1);
  o += "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n";
  begin_obj(2);
  o += "<< /Type /Pages /Count ";
  add_uint(o, pages);
  o += " /Kids [";
  for (u64 i = 0; i < pages; ++i) {
    add_uint(o, 4 + 3 * i);
    o += " 0 R ";
  }
  o += "] >>\nendobj\n";
  begin_obj(3);
  o += "<< /Producer (kintsugi-gen scanner emulation) /CreationDate (D:";
  add_hl7_time(o, when);
  o += ") >>\nendobj\n";
  const std::string content = "q 612 0 0 792 0 0 cm /Im0 Do Q\n";
  for (u64 i = 0; i < pages; ++i) {
    const u64 page = 4 + 3 * i, image = page + 1, contents = page + 2;
    begin_obj(page);
    o += "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im0 ";
    add_uint(o, image);
    o += " 0 R >> >> /Contents ";
    add_uint(o, contents);
    o += " 0 R >>\nendobj\n";
    const std::string jpeg = make_jpeg(r, image_bytes);
    begin_obj(image);
    o += "<< /Type /XObject /Subtype /Image /Width 2550 /Height 3300 /ColorSpace /DeviceGray "
         "/BitsPerComponent 8 /Filter /DCTDecode /Length ";
    add_uint(o, jpeg.size());
    o += " >>\nstream\n";
    o += jpeg;
    o += "\nendstream\nendobj\n";
    begin_obj(contents);
    o += "<< /Length ";
    add_uint(o, content.size());
    o += " >>\nstream\n" + content + "endstream\nendobj\n";
  }
  const u64 xref = o.size();
  o += "xref\n0 ";
  add_uint(o, offsets.size());
  o += "\n0000000000 65535 f \n";
  for (std::size_t id = 1; id < offsets.size(); ++id) {
    add_uint(o, offsets[id], 10);
    o += " 00000 n \n";
  }
  o += "trailer\n<< /Size ";
  add_uint(o, offsets.size());
  o += " /Root 1 0 R /Info 3 0 R >>\nstartxref\n";
  add_uint(o, xref);
  o += "\n%%EOF\n";
  return o;
}

// An export archive: a CSV manifest plus stored photos and scans.
std::string make_zip_archive(Rng& r, u64 size, const Date& when) {
  std::string o;
  o.reserve(size + 64 * KiB);
  ZipWriter zip(o, when);
  std::string manifest = "file,bytes,sha_placeholder\n";
  std::vector<std::pair<std::string, std::string>> members;
  u64 total = 0;
  for (int i = 1; total < size || members.empty(); ++i) {
    const u64 remaining = size > total ? size - total : 4 * KiB;
    const u64 want = std::min(remaining, r.log_uniform(64 * KiB, 4 * MiB));
    const bool pdf = r.chance(0.3);
    std::string name = (pdf ? "scans/DOC-" : "photos/IMG_") + padded(static_cast<u64>(i), 5) + (pdf ? ".pdf" : ".jpg");
    std::string data = pdf ? make_pdf(r, want, when) : make_jpeg(r, want);
    manifest += name + "," + padded(data.size(), 0) + "," + padded(r.next(), 0) + "\n";
    total += data.size() + name.size() + 76;
    members.emplace_back(std::move(name), std::move(data));
  }
  zip.add("manifest.csv", manifest);
  for (const auto& [name, data] : members) zip.add(name, data);
  zip.finish();
  return o;
}

// A .docx-like ZIP (stored) with the minimal WordprocessingML parts.
std::string make_docx(const std::vector<std::string>& paragraphs, const Date& when) {
  std::string doc =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>";
  for (const auto& p : paragraphs) {
    doc += "<w:p><w:r><w:t xml:space=\"preserve\">";
    add_xml_text(doc, p);
    doc += "</w:t></w:r></w:p>";
  }
  doc += "</w:body></w:document>";
  std::string o;
  ZipWriter zip(o, when);
  zip.add("[Content_Types].xml",
          "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
          "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
          "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
          "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
          "<Override PartName=\"/word/document.xml\" "
          "ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>"
          "</Types>");
  zip.add("_rels/.rels",
          "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
          "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
          "<Relationship Id=\"rId1\" "
          "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
          "Target=\"word/document.xml\"/></Relationships>");
  zip.add("word/document.xml", doc);
  zip.finish();
  return o;
}

// ---------------------------------------------------------------------------
// DICOM (Part 10 file, explicit VR little endian, uncompressed 12-in-16-bit).

class DicomWriter {
 public:
  explicit DicomWriter(std::string& out) : o_(out) {}

  void element(u16 group, u16 elem, std::string_view vr, std::string_view value) {
    std::string v(value);
    if (v.size() % 2 != 0) v.push_back(vr == "UI" || vr == "OB" ? '\0' : ' ');
    header(group, elem, vr, v.size());
    o_ += v;
  }

  void element_us(u16 group, u16 elem, u16 value) {
    std::string v;
    put_le16(v, value);
    element(group, elem, "US", v);
  }

  // Writes a tag header whose value the caller appends itself.
  void header(u16 group, u16 elem, std::string_view vr, u64 length) {
    put_le16(o_, group);
    put_le16(o_, elem);
    o_ += vr;
    if (vr == "OB" || vr == "OW" || vr == "SQ" || vr == "UN" || vr == "UT") {
      put_le16(o_, 0);
      put_le32(o_, static_cast<u32>(length));
    } else {
      put_le16(o_, static_cast<u32>(length));
    }
  }

 private:
  std::string& o_;
};

std::string random_uid(Rng& r) { return "2.25." + padded(r.next() >> 4, 0) + padded(r.below(1000000), 6); }

struct Modality {
  std::string_view code, sop_class;
  int rows, cols;
  int min_images, max_images;
};
constexpr Modality kModalities[] = {
    {"CT", "1.2.840.10008.5.1.4.1.1.2", 512, 512, 40, 400},
    {"MR", "1.2.840.10008.5.1.4.1.1.4", 256, 256, 20, 200},
    {"MR", "1.2.840.10008.5.1.4.1.1.4", 384, 384, 20, 120},
    {"CR", "1.2.840.10008.5.1.4.1.1.1", 2048, 2048, 1, 3},
    {"MG", "1.2.840.10008.5.1.4.1.1.1.2", 3328, 2560, 2, 4},
};

// A smooth "body" for synthetic images: an ellipse with gradients and waves.
struct Phantom {
  double cx, cy, rx, ry;
  int background, base, noise_mask;
  std::vector<int> col_term, row_term;
};

Phantom make_phantom(Rng& r, int rows, int cols) {
  Phantom ph;
  ph.cx = cols * (0.45 + 0.1 * r.unit());
  ph.cy = rows * (0.45 + 0.1 * r.unit());
  ph.rx = cols * (0.3 + 0.15 * r.unit());
  ph.ry = rows * (0.3 + 0.15 * r.unit());
  ph.background = static_cast<int>(r.range(0, 60));
  ph.base = static_cast<int>(r.range(700, 1400));
  ph.noise_mask = r.chance(0.5) ? 31 : 63;
  const double gx = (r.unit() - 0.5) * 800.0 / cols, gy = (r.unit() - 0.5) * 800.0 / rows;
  const double fx = 2 + r.unit() * 6, fy = 2 + r.unit() * 6, amp = 100 + r.unit() * 300;
  for (int x = 0; x < cols; ++x)
    ph.col_term.push_back(static_cast<int>(gx * x + amp * std::sin(fx * 6.283 * x / cols)));
  for (int y = 0; y < rows; ++y)
    ph.row_term.push_back(static_cast<int>(gy * y + amp * std::cos(fy * 6.283 * y / rows)));
  return ph;
}

// Appends rows*cols little-endian 16-bit pixels; `t` in [0,1] is the slice position.
void render_slice(std::string& o, Rng& r, const Phantom& ph, int rows, int cols, double t) {
  const double scale = 0.75 + 0.25 * std::sin(3.14159 * t);
  const std::size_t start = o.size();
  o.resize(start + static_cast<std::size_t>(rows) * cols * 2);
  auto* px = reinterpret_cast<unsigned char*>(o.data() + start);
  const int half_noise = ph.noise_mask / 2;
  for (int y = 0; y < rows; ++y) {
    const double dy = (y - ph.cy) / (ph.ry * scale);
    int x0 = 0, x1 = 0;
    if (std::abs(dy) < 1.0) {
      const double half = ph.rx * scale * std::sqrt(1.0 - dy * dy);
      x0 = std::clamp(static_cast<int>(ph.cx - half), 0, cols);
      x1 = std::clamp(static_cast<int>(ph.cx + half), 0, cols);
    }
    const int row_value = ph.base + ph.row_term[y];
    u64 bits = 0;
    for (int x = 0; x < cols; ++x) {
      if ((x & 3) == 0) bits = r.next();
      const int noise = static_cast<int>(bits & static_cast<u64>(ph.noise_mask)) - half_noise;
      bits >>= 16;
      int v = (x >= x0 && x < x1) ? row_value + ph.col_term[x] + noise : ph.background + noise / 4;
      v = std::clamp(v, 0, 4095);
      *px++ = static_cast<unsigned char>(v & 0xff);
      *px++ = static_cast<unsigned char>(v >> 8);
    }
  }
}

struct StudyInfo {
  const Modality* modality;
  const Person* patient;
  Date date;
  std::string study_uid, series_uid;
};

std::string make_dicom_image(Rng& r, const StudyInfo& s, const Phantom& ph, int instance, double t) {
  const Modality& m = *s.modality;
  std::string o;
  o.reserve(static_cast<std::size_t>(m.rows) * m.cols * 2 + 1024);
  o.append(128, '\0');
  o += "DICM";
  const std::string sop_uid = random_uid(r);
  std::string meta;
  DicomWriter mw(meta);
  mw.element(0x0002, 0x0001, "OB", std::string_view("\0\1", 2));
  mw.element(0x0002, 0x0002, "UI", m.sop_class);
  mw.element(0x0002, 0x0003, "UI", sop_uid);
  mw.element(0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1");
  mw.element(0x0002, 0x0012, "UI", "2.25.40274120231109");
  mw.element(0x0002, 0x0013, "SH", "KINTSUGI_GEN");
  DicomWriter w(o);
  std::string group_length;
  put_le32(group_length, static_cast<u32>(meta.size()));
  w.element(0x0002, 0x0000, "UL", group_length);
  o += meta;
  const std::string date = ymd(s.date, "");
  w.element(0x0008, 0x0005, "CS", "ISO_IR 192");
  w.element(0x0008, 0x0016, "UI", m.sop_class);
  w.element(0x0008, 0x0018, "UI", sop_uid);
  w.element(0x0008, 0x0020, "DA", date);
  w.element(0x0008, 0x0060, "CS", m.code);
  w.element(0x0008, 0x0080, "LO", kHospital);
  w.element(0x0010, 0x0010, "PN", s.patient->family + "^" + s.patient->given);
  w.element(0x0010, 0x0020, "LO", padded(s.patient->mrn, 8));
  w.element(0x0010, 0x0030, "DA", ymd(s.patient->dob, ""));
  w.element(0x0010, 0x0040, "CS", std::string(1, s.patient->sex));
  w.element(0x0020, 0x000D, "UI", s.study_uid);
  w.element(0x0020, 0x000E, "UI", s.series_uid);
  w.element(0x0020, 0x0013, "IS", padded(static_cast<u64>(instance), 0));
  w.element_us(0x0028, 0x0002, 1);
  w.element(0x0028, 0x0004, "CS", "MONOCHROME2");
  w.element_us(0x0028, 0x0010, static_cast<u16>(m.rows));
  w.element_us(0x0028, 0x0011, static_cast<u16>(m.cols));
  w.element_us(0x0028, 0x0100, 16);
  w.element_us(0x0028, 0x0101, 12);
  w.element_us(0x0028, 0x0102, 11);
  w.element_us(0x0028, 0x0103, 0);
  w.header(0x7FE0, 0x0010, "OW", static_cast<u64>(m.rows) * m.cols * 2);
  render_slice(o, r, ph, m.rows, m.cols, t);
  return o;
}

// ---------------------------------------------------------------------------
// The output tree: writes files, remembers what was written.

enum class Kind { Jpeg, Jp2, Png, Zip, Pdf, Hl7, Csv, Json, Dicom, Doc, Copy, Variant, Special };

bool is_text_kind(Kind k) { return k == Kind::Hl7 || k == Kind::Csv || k == Kind::Json || k == Kind::Doc; }

struct Entry {
  fs::path rel;
  u64 size;
  Kind kind;
  std::time_t mtime;
};

class Tree {
 public:
  explicit Tree(fs::path root) : root_(std::move(root)) {}

  const fs::path& root() const { return root_; }
  const std::vector<Entry>& entries() const { return entries_; }
  u64 files() const { return files_; }
  u64 bytes() const { return bytes_; }

  void write(const fs::path& rel, std::string_view data, std::time_t mtime, Kind kind) {
    if (!taken_.insert(rel.generic_string()).second) throw std::logic_error("path generated twice: " + rel.string());
    const fs::path full = root_ / rel;
    ensure_dir(full.parent_path());
    write_file(full, data);
    set_mtime(full, mtime);
    entries_.push_back({rel, data.size(), kind, mtime});
    ++files_;
    bytes_ += data.size();
  }

  std::string read(const fs::path& rel) const { return read_file(root_ / rel); }
  bool taken(const fs::path& rel) const { return taken_.contains(rel.generic_string()); }

  // `rel`, or `stem-2.ext`, `stem-3.ext`... if already taken.
  fs::path unique(const fs::path& rel) const {
    if (!taken(rel)) return rel;
    for (int n = 2;; ++n) {
      fs::path candidate = rel.parent_path() / (rel.stem().string() + "-" + std::to_string(n) + rel.extension().string());
      if (!taken(candidate)) return candidate;
    }
  }

  void hard_link(const fs::path& target_rel, const fs::path& link_rel) {
    ensure_dir((root_ / link_rel).parent_path());
    fs::create_hard_link(root_ / target_rel, root_ / link_rel);
    taken_.insert(link_rel.generic_string());
    ++files_;  // a second name, but no new bytes
  }

  void symlink(const fs::path& target_rel, const fs::path& link_rel) {
    ensure_dir((root_ / link_rel).parent_path());
    fs::create_symlink(target_rel.lexically_relative(link_rel.parent_path()), root_ / link_rel);
    taken_.insert(link_rel.generic_string());
  }

  void ensure_dir(const fs::path& dir) {
    if (made_dirs_.insert(dir.string()).second) fs::create_directories(dir);
  }

 private:
  fs::path root_;
  std::vector<Entry> entries_;
  std::unordered_set<std::string> taken_;
  std::unordered_set<std::string> made_dirs_;
  u64 files_ = 0, bytes_ = 0;
};

// ---------------------------------------------------------------------------
// Corpus generation.

std::string month_dir(const Date& d) { return padded(static_cast<u64>(d.y), 4) + "/" + padded(static_cast<u64>(d.m), 2); }

struct Study {
  fs::path dir;
  std::vector<Entry> images;
  u64 bytes = 0;
};

class Corpus {
 public:
  Corpus(fs::path root, u64 seed, u64 target, bool sparse)
      : rng_(seed), tree_(std::move(root)), target_(target), sparse_(sparse) {
    Rng people = rng_.fork();
    staff_ = Staff::make(people, 4000, 120);
  }

  void generate() {
    binary_part(target_ * 32 / 100);
    text_part(target_ * 32 / 100);
    dicom_part(target_ * 20 / 100);
    documents_part(target_ * 8 / 100);
    special_entries();
    duplicates_part(target_ > tree_.bytes() ? target_ - tree_.bytes() : 0);
  }

  const Tree& tree() const { return tree_; }
  u64 sparse_bytes() const { return sparse_bytes_; }

 private:
  // Calls make(wanted_size) until `budget` bytes were produced. File sizes are
  // log-uniform in [lo, hi], with hi capped so every kind gets several files.
  template <class Make>
  void fill_budget(u64 budget, u64 lo, u64 hi, Make make) {
    hi = std::max(lo, std::min(hi, budget / 4));
    u64 spent = 0;
    while (spent < budget) {
      const u64 left = budget - spent;
      u64 want = std::min(rng_.log_uniform(lo, hi), left);
      if (left - want < lo) want = left;  // no tiny straggler at the end
      spent += std::max<u64>(1, make(want));
    }
  }

  u64 next_serial() { return ++serial_; }

  u64 emit(const fs::path& rel, std::string_view data, const Date& when, Kind kind) {
    tree_.write(rel, data, to_unix(when), kind);
    return data.size();
  }

  void binary_part(u64 budget) {
    fill_budget(budget * 28 / 100, 96 * KiB, 12 * MiB, [&](u64 want) {  // scanned documents
      Rng r = rng_.fork();
      const Date d = random_date(r, 2019, 2024);
      return emit("scans/" + month_dir(d) + "/SCAN-" + padded(next_serial(), 7) + ".pdf", make_pdf(r, want, d), d,
                  Kind::Pdf);
    });
    fill_budget(budget * 32 / 100, 1 * MiB, 96 * MiB, [&](u64 want) {  // export / instrument archives
      Rng r = rng_.fork();
      const Date d = random_date(r, 2019, 2024);
      const fs::path path = r.chance(0.6)
                                ? "ehr-exports/archives/export-" + ymd(d, "") + "-" + padded(next_serial(), 5) + ".zip"
                                : "lab/instrument-archives/analyzer-" + padded(r.range(1, 6), 2) + "-" +
                                      ymd(d, "") + "-" + padded(next_serial(), 5) + ".zip";
      return emit(path, make_zip_archive(r, want, d), d, Kind::Zip);
    });
    fill_budget(budget * 22 / 100, 48 * KiB, 6 * MiB, [&](u64 want) {  // clinical photos
      Rng r = rng_.fork();
      const Date d = random_date(r, 2020, 2024);
      return emit("scans/photos/" + month_dir(d) + "/IMG_" + padded(next_serial(), 6) + ".jpg", make_jpeg(r, want), d,
                  Kind::Jpeg);
    });
    fill_budget(budget * 12 / 100, 512 * KiB, 24 * MiB, [&](u64 want) {  // pathology slides
      Rng r = rng_.fork();
      const Date d = random_date(r, 2020, 2024);
      return emit("scans/pathology/" + month_dir(d) + "/SLIDE-" + padded(next_serial(), 6) + ".jp2",
                  make_jp2(r, want), d, Kind::Jp2);
    });
    fill_budget(budget * 6 / 100, 24 * KiB, 1 * MiB, [&](u64 want) {  // ECG strips
      Rng r = rng_.fork();
      const Date d = random_date(r, 2020, 2024);
      return emit("ehr-exports/attachments/" + month_dir(d) + "/ECG-" + padded(next_serial(), 6) + ".png",
                  make_png(r, want), d, Kind::Png);
    });
  }

  void text_part(u64 budget) {
    fill_budget(budget * 40 / 100, 32 * KiB, 16 * MiB, [&](u64 want) {  // HL7 batches
      Rng r = rng_.fork();
      const Date d = random_date(r, 2022, 2024);
      std::string o;
      o.reserve(want + 4 * KiB);
      while (o.size() < want) add_hl7_message(o, r, staff_, d, ++hl7_control_);
      return emit("ehr-exports/hl7/" + ymd(d, "-") + "/batch-" + padded(next_serial(), 6) + ".hl7", o, d, Kind::Hl7);
    });
    fill_budget(budget * 35 / 100, 16 * KiB, 24 * MiB, [&](u64 want) {  // lab results
      static constexpr std::string_view kAnalyzers[] = {"cobas-8000-01", "sysmex-xn-02", "architect-c16k-01",
                                                        "atellica-01"};
      Rng r = rng_.fork();
      const Date d = random_date(r, 2022, 2024);
      const std::string_view analyzer = r.pick(kAnalyzers);
      std::string o(kCsvHeader);
      o.reserve(want + 4 * KiB);
      while (o.size() < want) add_lab_rows(o, r, staff_, d, analyzer, lab_result_id_);
      return emit("lab/results/" + month_dir(d) + "/results-" + ymd(d, "") + "-" + std::string(analyzer) + "-" +
                      padded(next_serial(), 5) + ".csv",
                  o, d, Kind::Csv);
    });
    fill_budget(budget * 25 / 100, 8 * KiB, 16 * MiB, [&](u64 want) {  // encounter exports
      Rng r = rng_.fork();
      const Date d = random_date(r, 2022, 2024);
      std::string o = "[\n";
      o.reserve(want + 4 * KiB);
      do {
        if (o.size() > 2) o += ",\n";
        add_encounter_json(o, r, staff_, d, ++encounter_id_);
      } while (o.size() < want);
      o += "\n]\n";
      return emit("ehr-exports/json/" + padded(static_cast<u64>(d.y), 4) + "/encounters-" + ymd(d, "") + "-" +
                      padded(next_serial(), 5) + ".json",
                  o, d, Kind::Json);
    });
  }

  void dicom_part(u64 budget) {
    fill_budget(budget, 1 * MiB, 160 * MiB, [&](u64 want) { return dicom_study(want); });
  }

  u64 dicom_study(u64 want) {
    Rng r = rng_.fork();
    // The largest modality whose smallest study fits, with some randomness.
    std::vector<const Modality*> fitting;
    for (const Modality& m : kModalities)
      if (static_cast<u64>(m.rows) * m.cols * 2 * m.min_images <= want) fitting.push_back(&m);
    const Modality* m = fitting.empty() ? &kModalities[1] : r.pick(fitting);
    const u64 image_bytes = static_cast<u64>(m->rows) * m->cols * 2;
    const int images = static_cast<int>(std::clamp<u64>(want / image_bytes, 1, static_cast<u64>(m->max_images)));
    StudyInfo info{m, &r.pick(staff_.patients), random_date(r, 2021, 2024), random_uid(r), random_uid(r)};
    Study study;
    study.dir = "pacs/" + month_dir(info.date) + "/STUDY-" + padded(next_serial(), 6);
    const Phantom ph = make_phantom(r, m->rows, m->cols);
    Date when = info.date;
    for (int i = 1; i <= images; ++i) {
      const std::string img = make_dicom_image(r, info, ph, i, images > 1 ? double(i - 1) / (images - 1) : 0.5);
      const fs::path rel = study.dir / ("IMG-" + padded(static_cast<u64>(i), 4) + ".dcm");
      emit(rel, img, when, Kind::Dicom);
      study.images.push_back(tree_.entries().back());
      study.bytes += img.size();
      when = from_unix(to_unix(when) + 1);
    }
    studies_.push_back(study);
    return study.bytes;
  }

  void documents_part(u64 budget) {
    fill_budget(budget, 512, 20 * KiB, [&](u64 want) {
      Rng r = rng_.fork();
      const std::string_view dept = r.pick(kDepartments);
      const Date d = random_date(r, 2018, 2024);
      const std::string dir = "documents/" + std::string(dept) + "/" + padded(static_cast<u64>(d.y), 4) + "/";
      const u64 kind = r.below(10);
      if (kind < 5) {
        return emit(dir + "letter-" + padded(next_serial(), 6) + ".txt",
                    join_paragraphs(letter_paragraphs(r, staff_, dept, want)), d, Kind::Doc);
      }
      if (kind < 8) {
        return emit(dir + "notes-" + padded(next_serial(), 6) + ".txt", progress_notes(r, staff_, want), d,
                    Kind::Doc);
      }
      const u64 text_target = want > 1600 ? want - 1400 : 200;  // docx overhead
      return emit(dir + "discharge-" + padded(next_serial(), 6) + ".docx",
                  make_docx(letter_paragraphs(r, staff_, dept, text_target), d), d, Kind::Doc);
    });
  }

  // Exact copies (half the budget), then files sharing regions with others.
  void duplicates_part(u64 budget) {
    const std::vector<Entry> originals = tree_.entries();
    if (originals.empty()) return;
    const u64 copy_budget = budget / 2;
    u64 spent = 0;
    int misses = 0;  // candidates too big for what is left of the budget
    while (spent < copy_budget && misses < 64) {
      const u64 got = copy_one(originals, copy_budget - spent);
      spent += got;
      misses += got == 0;
    }
    misses = 0;
    while (spent < budget && misses < 64) {
      const u64 got = rng_.chance(0.6) ? make_revision(originals, budget - spent) : make_merged_scan(budget - spent);
      spent += got;
      misses += got == 0;
    }
  }

  // Copies one file (or a whole DICOM study) somewhere else; 0 if nothing fit.
  u64 copy_one(const std::vector<Entry>& originals, u64 left) {
    if (!studies_.empty() && rng_.chance(0.25)) {
      const Study& s = rng_.pick(studies_);
      if (s.bytes > left + left / 4) return 0;
      fs::path dir = "pacs/incoming" / s.dir.filename();
      for (int n = 2; tree_.taken(dir / s.images.front().rel.filename()); ++n)
        dir = fs::path("pacs/incoming") / (s.dir.filename().string() + "-" + std::to_string(n));  // sent yet again
      for (const Entry& img : s.images) tree_.write(dir / img.rel.filename(), tree_.read(img.rel), img.mtime, Kind::Copy);
      return s.bytes;
    }
    const Entry& e = rng_.pick(originals);
    if (e.kind == Kind::Dicom || e.size > left + left / 4) return 0;
    fs::path dest;
    switch (e.kind) {
      case Kind::Doc: dest = "documents" / fs::path(rng_.pick(kDepartments)) / "shared" / e.rel.filename(); break;
      case Kind::Pdf:
      case Kind::Jpeg:
      case Kind::Jp2: dest = "scans/inbox" / e.rel.filename(); break;
      default: dest = "ehr-exports/archive" / e.rel.lexically_relative(*e.rel.begin()); break;
    }
    dest = tree_.unique(dest);
    tree_.write(dest, tree_.read(e.rel), e.mtime, Kind::Copy);
    return e.size;
  }

  // "-rev2" of a file: small insertions (shifting the rest) and one overwrite.
  u64 make_revision(const std::vector<Entry>& originals, u64 left) {
    const Entry& e = rng_.pick(originals);
    if (e.size < 16 * KiB || e.size > left + left / 4) return 0;
    Rng r = rng_.fork();
    std::string data = tree_.read(e.rel);
    const int inserts = r.irange(1, 3);
    for (int i = 0; i < inserts; ++i) {
      std::string blob;
      if (is_text_kind(e.kind)) {
        blob = progress_notes(r, staff_, r.range(100, 3000));
      } else {
        r.append_random(blob, r.range(1, 4096));
      }
      data.insert(r.below(data.size() + 1), blob);
    }
    const u64 len = std::min<u64>(data.size(), r.range(1, 512));
    r.fill(data.data() + r.below(data.size() - len + 1), len);
    const fs::path dest = tree_.unique(e.rel.parent_path() / (e.rel.stem().string() + "-rev2" + e.rel.extension().string()));
    tree_.write(dest, data, e.mtime + 86400 * std::time_t(r.range(1, 30)), Kind::Variant);
    return data.size();
  }

  // Several scans glued into one PDF (odd-sized separators keep offsets unaligned).
  u64 make_merged_scan(u64 left) {
    std::vector<const Entry*> scans;
    for (const Entry& e : tree_.entries())
      if (e.kind == Kind::Pdf) scans.push_back(&e);
    if (scans.empty()) return 0;
    Rng r = rng_.fork();
    std::string data = "%PDF-1.7\n% merged by scan station\n";
    const int parts = r.irange(2, 4);
    for (int i = 0; i < parts && data.size() < left; ++i) {
      const Entry* e = r.pick(scans);
      if (e->size > left) continue;
      data += tree_.read(e->rel);
      r.append_random(data, r.range(1, 999) | 1);
    }
    if (data.size() < 4 * KiB) return 0;
    const Date d = random_date(r, 2022, 2024);
    return emit("scans/merged/MERGED-" + padded(next_serial(), 6) + ".pdf", data, d, Kind::Variant);
  }

  void special_entries() {
    Rng r = rng_.fork();
    const Date d = random_date(r, 2023, 2024);
    emit("documents/admin/empty.txt", "", d, Kind::Special);
    tree_.ensure_dir(tree_.root() / "scans/incoming-empty");
    emit("documents/hr/Résumé – Ω.txt",
         "Curriculum vitae — Zoë Müller-Søndergaard, RN\nÉducation: Université de Genève (2012–2015)\n"
         "Skills: triage, ICU, Ω-3 dosing protocols, 日本語 (basic)\n",
         d, Kind::Special);
    const Entry* csv = nullptr;
    const Entry* hl7 = nullptr;
    for (const Entry& e : tree_.entries()) {
      if (!csv && e.kind == Kind::Csv) csv = &e;
      if (!hl7 && e.kind == Kind::Hl7) hl7 = &e;
    }
    if (csv) tree_.symlink(csv->rel, "lab/latest-results.csv");
    if (hl7) tree_.hard_link(hl7->rel, "ehr-exports/hl7/latest.hl7");
    if (sparse_) make_sparse_file();
  }

  // 256 MiB apparent size, 4 KiB of data in the middle, holes elsewhere.
  void make_sparse_file() {
    const fs::path path = tree_.root() / "pacs/raw/sparse-volume.raw";
    tree_.ensure_dir(path.parent_path());
    constexpr u64 kApparent = 256 * MiB;
    write_file(path, "");
    fs::resize_file(path, kApparent);
    std::string block;
    Rng r = rng_.fork();
    r.append_random(block, 4 * KiB);
    overwrite_at(path, kApparent / 2, block);
    set_mtime(path, to_unix(Date{2024, 1, 15, 12, 0, 0}));
    sparse_bytes_ = kApparent;
  }

  Rng rng_;
  Tree tree_;
  Staff staff_;
  u64 target_;
  bool sparse_;
  u64 serial_ = 0, hl7_control_ = 0, lab_result_id_ = 0, encounter_id_ = 0, sparse_bytes_ = 0;
  std::vector<Study> studies_;
};

// ---------------------------------------------------------------------------
// --mutate and --encrypt-attack.

// FNV-1a over relative paths and sizes: the seed for changes depends on the
// tree's current state, so mutating twice does not repeat the same edits.
u64 tree_fingerprint(const fs::path& root, const std::vector<fs::path>& files) {
  u64 h = 0xcbf29ce484222325ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  };
  for (const auto& f : files) {
    mix(f.lexically_relative(root).generic_string());
    mix(std::to_string(fs::file_size(f)));
  }
  return h;
}

// round(n * percent / 100) distinct indices (at least one if percent > 0).
std::vector<std::size_t> choose_fraction(Rng& r, std::size_t n, double percent) {
  std::size_t k = static_cast<std::size_t>(std::llround(static_cast<double>(n) * percent / 100.0));
  if (percent > 0 && k == 0 && n > 0) k = 1;
  k = std::min(k, n);
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  for (std::size_t i = 0; i < k; ++i) std::swap(idx[i], idx[i + r.below(n - i)]);
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

bool is_text_file(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".txt" || ext == ".csv" || ext == ".hl7" || ext == ".json" || ext == ".xml";
}

// New content of about n bytes, in the style of the file it goes into.
std::string filler_for(const fs::path& p, Rng& r, const Staff& staff, u64 n) {
  std::string o;
  const Date d = random_date(r, 2024, 2025);
  const std::string ext = p.extension().string();
  if (ext == ".hl7") {
    for (u64 id = r.next() % 1000000000; o.size() < n;) add_hl7_message(o, r, staff, d, ++id);
  } else if (ext == ".csv") {
    u64 id = r.next() % 1000000000;
    while (o.size() < n) add_lab_rows(o, r, staff, d, "cobas-8000-01", id);
  } else if (is_text_file(p)) {
    o = progress_notes(r, staff, n);
  } else {
    r.append_random(o, n);
  }
  return o;
}

struct MutateStats {
  u64 appended = 0, overwritten = 0, inserted = 0, added = 0, bytes = 0;
};

void mutate_file(const fs::path& p, Rng& r, const Staff& staff, MutateStats& st) {
  const u64 size = fs::file_size(p);
  const u64 action = size == 0 ? 0 : r.below(10);
  if (action < 4) {
    const std::string data = filler_for(p, r, staff, r.log_uniform(256, 64 * KiB));
    append_file(p, data);
    ++st.appended;
    st.bytes += data.size();
  } else if (action < 8) {
    const u64 len = std::min(size, r.log_uniform(64, 16 * KiB));
    std::string data = filler_for(p, r, staff, len);
    data.resize(len);
    overwrite_at(p, r.below(size - len + 1), data);
    ++st.overwritten;
    st.bytes += len;
  } else {
    std::string content = read_file(p);
    const std::string data = filler_for(p, r, staff, r.log_uniform(64, 8 * KiB));
    content.insert(size / 4 + r.below(size / 2 + 1), data);
    write_file(p, content);
    ++st.inserted;
    st.bytes += data.size();
  }
}

int run_mutate(const fs::path& dir, double percent, u64 seed) {
  const auto files = regular_files(dir);
  Rng r(seed ^ tree_fingerprint(dir, files) ^ 0x6d7574617465ULL);
  Rng people = r.fork();
  const Staff staff = Staff::make(people, 300, 20);
  MutateStats st;
  const auto chosen = choose_fraction(r, files.size(), percent);
  for (std::size_t i : chosen) mutate_file(files[i], r, staff, st);
  // New files next to some existing ones: a quarter as many as were changed.
  const std::size_t new_files = files.empty() ? 0 : std::max<std::size_t>(1, chosen.size() / 4);
  for (std::size_t i = 0; i < new_files; ++i) {
    const fs::path near = files[r.below(files.size())];
    const bool text = r.chance(0.7);
    fs::path p = near.parent_path() / ("added-" + padded(r.next() % 100000000, 8) + (text ? ".txt" : ".jpg"));
    const std::string data = text ? progress_notes(r, staff, r.log_uniform(512, 32 * KiB))
                                  : make_jpeg(r, r.log_uniform(64 * KiB, 2 * MiB));
    if (fs::exists(p)) continue;
    write_file(p, data);
    ++st.added;
    st.bytes += data.size();
  }
  std::printf("kintsugi-gen: mutated %zu of %zu files (%llu appended, %llu overwritten, %llu inserted), "
              "added %llu files, %llu bytes changed/added in %s\n",
              chosen.size(), files.size(), (unsigned long long)st.appended, (unsigned long long)st.overwritten,
              (unsigned long long)st.inserted, (unsigned long long)st.added, (unsigned long long)st.bytes,
              dir.string().c_str());
  return 0;
}

constexpr std::string_view kRansomNoteName = "README-RESTORE-FILES.txt";

// Overwrites the whole file, or every other 64 KiB block, with random bytes.
u64 scramble_file(const fs::path& p, Rng& r, bool whole) {
  const u64 size = fs::file_size(p);
  constexpr u64 kBlock = 64 * KiB;
  std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
  std::string buf;
  u64 written = 0;
  for (u64 off = 0; off < size; off += whole ? kBlock : 2 * kBlock) {
    const u64 len = std::min(kBlock, size - off);
    buf.clear();
    r.append_random(buf, len);
    f.seekp(static_cast<std::streamoff>(off));
    f.write(buf.data(), static_cast<std::streamsize>(len));
    written += len;
  }
  if (!f) throw std::runtime_error("cannot scramble " + p.string());
  return written;
}

int run_encrypt_attack(const fs::path& dir, double percent, u64 seed) {
  std::vector<fs::path> files;
  for (auto& f : regular_files(dir))
    if (f.filename() != kRansomNoteName) files.push_back(f);
  Rng r(seed ^ tree_fingerprint(dir, files) ^ 0x72616e736f6dULL);
  std::set<fs::path> touched_dirs;
  u64 renamed = 0, bytes = 0;
  const auto chosen = choose_fraction(r, files.size(), percent);
  for (std::size_t i : chosen) {
    const fs::path& p = files[i];
    bytes += scramble_file(p, r, r.chance(0.5));
    touched_dirs.insert(p.parent_path());
    const fs::path locked = p.string() + ".locked";
    if (r.chance(0.5) && !fs::exists(locked)) {
      fs::rename(p, locked);
      ++renamed;
    }
  }
  const std::string victim_id = padded(r.next() % 1000000000000ULL, 12);
  const std::string note =
      "YOUR FILES HAVE BEEN ENCRYPTED\n\n"
      "This is a simulated ransomware attack generated by kintsugi-gen for backup testing.\n"
      "No real encryption took place; restore from your backup.\n\n"
      "Victim ID: " + victim_id + "\n";
  for (const auto& d : touched_dirs) write_file(d / kRansomNoteName, note);
  std::printf("kintsugi-gen: attacked %zu of %zu files (%llu renamed to .locked), %llu bytes overwritten, "
              "%zu ransom notes in %s\n",
              chosen.size(), files.size(), (unsigned long long)renamed, (unsigned long long)bytes,
              touched_dirs.size(), dir.string().c_str());
  return 0;
}

// ---------------------------------------------------------------------------
// Command line.

enum class Mode { Generate, Mutate, EncryptAttack };

struct Options {
  Mode mode = Mode::Generate;
  u64 seed = 1;
  u64 size = 64 * MiB;
  bool special = false;
  double percent = 0;
  fs::path dir;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: kintsugi-gen [--seed N] [--size SIZE] [--special] OUTDIR\n"
               "       kintsugi-gen --mutate PERCENT [--seed N] DIR\n"
               "       kintsugi-gen --encrypt-attack PERCENT [--seed N] DIR\n"
               "SIZE: bytes with optional K, M, G, T suffix (binary; KiB/MiB/GiB also accepted), default 64M.\n"
               "--special also creates a 256 MiB sparse file.\n");
  std::exit(code);
}

u64 parse_size(std::string_view s) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || value <= 0) throw std::invalid_argument("bad size: " + std::string(s));
  std::string suffix(ptr, s.data() + s.size());
  for (char& c : suffix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (suffix.ends_with("ib")) suffix.erase(suffix.size() - 2);
  else if (suffix.size() == 2 && suffix.back() == 'b') suffix.pop_back();
  u64 unit = 0;
  if (suffix.empty() || suffix == "b") unit = 1;
  else if (suffix == "k") unit = KiB;
  else if (suffix == "m") unit = MiB;
  else if (suffix == "g") unit = GiB;
  else if (suffix == "t") unit = 1024 * GiB;
  else throw std::invalid_argument("bad size suffix: " + std::string(s));
  return static_cast<u64>(value * static_cast<double>(unit));
}

double parse_percent(std::string_view s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0 || v > 100)
    throw std::invalid_argument("bad percent: " + std::string(s));
  return v;
}

u64 parse_u64(std::string_view s) {
  u64 v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) throw std::invalid_argument("bad number: " + std::string(s));
  return v;
}

Options parse_args(int argc, char** argv) {
  Options opt;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    const auto eq = arg.find('=');
    const bool inline_value = arg.starts_with("--") && eq != std::string::npos;
    if (inline_value) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    auto take = [&]() -> std::string {
      if (inline_value) return value;
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") usage(0);
    else if (arg == "--seed") opt.seed = parse_u64(take());
    else if (arg == "--size") opt.size = parse_size(take());
    else if (arg == "--special") opt.special = true;
    else if (arg == "--mutate") opt.mode = Mode::Mutate, opt.percent = parse_percent(take());
    else if (arg == "--encrypt-attack") opt.mode = Mode::EncryptAttack, opt.percent = parse_percent(take());
    else if (arg.starts_with("-") && arg != "-") throw std::invalid_argument("unknown option " + arg);
    else positional.push_back(arg);
  }
  if (positional.size() != 1) usage(2);
  opt.dir = positional[0];
  return opt;
}

std::string human_bytes(u64 n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

int run_generate(const Options& opt) {
  if (fs::exists(opt.dir) && !fs::is_empty(opt.dir))
    throw std::runtime_error(opt.dir.string() + " exists and is not empty");
  fs::create_directories(opt.dir);
  const auto start = std::chrono::steady_clock::now();
  Corpus corpus(opt.dir, opt.seed, opt.size, opt.special);
  corpus.generate();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const u64 bytes = corpus.tree().bytes();
  std::printf("kintsugi-gen: %llu files, %llu bytes (%s)%s in %s, seed %llu, %.2f s (%.0f MiB/s)\n",
              (unsigned long long)corpus.tree().files(), (unsigned long long)bytes, human_bytes(bytes).c_str(),
              corpus.sparse_bytes() ? " + 1 sparse file" : "", opt.dir.string().c_str(),
              (unsigned long long)opt.seed, secs, static_cast<double>(bytes) / MiB / std::max(secs, 1e-9));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options opt = parse_args(argc, argv);
    switch (opt.mode) {
      case Mode::Generate: return run_generate(opt);
      case Mode::Mutate: return run_mutate(opt.dir, opt.percent, opt.seed);
      case Mode::EncryptAttack: return run_encrypt_attack(opt.dir, opt.percent, opt.seed);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kintsugi-gen: %s\n", e.what());
    return 1;
  }
  return 1;
}
