// kintsugi-index-bench: scale benchmark of the repository index.
//
//   kintsugi-index-bench [--entries N] [--dir DIR] [--lookups L] [--mode M]
//                        [--table-entries T] [--blobs-per-pack B] [--cache-mib C]
//                        [--seed S] [--keep]
//
// Generates N synthetic blob ids (uniformly random, as keyed hashes are)
// spread over N/16 packs, writes them as index tables (BuildIndexTable) into
// a LocalBackend directory, then opens a fresh Index over that directory
// (Refresh) and looks up L present ids (a random sample) and L absent ids.
//
// Two layouts ("modes"): "split" = tables of at most T entries (default
// 1<<20), in pack order as a backup writes them; "single" = one table of all
// N entries. Every phase (build of a mode, lookups of a mode) runs in its own
// forked child of a small parent, so each phase's peak RSS (VmHWM) is its own:
// the lookup figures do not include the build's memory. Results come back
// through a shared anonymous mapping; the parent prints one table.
//
// The tables are read back from the page cache (they were just written), so
// lookups measure CPU work (read syscalls, AES-GCM, decoding), not the disk.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "backend/local_backend.h"
#include "crypto/aead.h"
#include "crypto/master_key.h"
#include "format/index_table.h"
#include "repo/index.h"

namespace ks {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---- deterministic synthetic ids ------------------------------------------
//
// Every 64-bit word of an id is Mix(input) for a distinct input, and Mix is a
// bijection on 64-bit integers (xor-shifts and odd multiplications), so ids
// are all distinct and the three domains below never collide: no duplicate
// blob ids, and an "absent" id is truly absent. Ids are regenerated from
// their number when needed, so the lookup phase keeps no id list in memory.

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr uint64_t kBlobDomain = 0;
constexpr uint64_t kPackDomain = uint64_t{1} << 61;
constexpr uint64_t kAbsentDomain = uint64_t{1} << 62;
uint64_t g_blobs_per_pack = 16;  // --blobs-per-pack

uint64_t g_seed_mask = 0;  // from --seed; xor keeps the mapping a bijection

Id MakeId(uint64_t domain, uint64_t n) {
  Id id;
  for (uint64_t k = 0; k < 4; k++)
    PutU64(id.b.data() + 8 * k, Mix((domain + 4 * n + k) ^ g_seed_mask));
  return id;
}
Id BlobIdOf(uint64_t i) { return MakeId(kBlobDomain, i); }
Id PackIdOf(uint64_t p) { return MakeId(kPackDomain, p); }
Id AbsentIdOf(uint64_t j) { return MakeId(kAbsentDomain, j); }

// Blob i is the (i % B)-th blob of pack i / B (B = --blobs-per-pack, 16: a
// 16 MiB pack of ~1 MiB chunks).
IndexEntry EntryOf(uint64_t i) {
  IndexEntry e;
  e.pack = PackIdOf(i / g_blobs_per_pack);
  e.blob.type = BlobType::kData;
  e.blob.id = BlobIdOf(i);
  uint32_t raw = uint32_t(512 * 1024 + (Mix(i) & 0x7FFFF));  // 512 KiB .. 1 MiB
  e.blob.compression = (i % 3 == 0) ? Compression::kZstd : Compression::kNone;
  e.blob.raw_length = raw;
  e.blob.length =
      (e.blob.compression == Compression::kZstd ? raw / 2 : raw) + uint32_t(kAeadTagSize);
  e.blob.offset =
      uint32_t(kPackPrefixSize + (i % g_blobs_per_pack % 2048) * ((1u << 20) + kAeadTagSize));
  return e;
}

class Rng {  // SplitMix64
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() { return Mix(s_ += 0x9E3779B97F4A7C15ull); }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t s_;
};

// ---- memory -----------------------------------------------------------------

// A "VmXXX:" field of /proc/self/status, in KiB (0 if unavailable).
long StatusKiB(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  size_t n = std::strlen(field);
  while (std::getline(f, line))
    if (line.compare(0, n, field) == 0) return std::strtol(line.c_str() + n, nullptr, 10);
  return 0;
}
long RssKiB() { return StatusKiB("VmRSS:"); }
long HwmKiB() { return StatusKiB("VmHWM:"); }

// ---- results shared with the parent ------------------------------------------

struct BuildResult {
  bool done = false;
  char error[256] = {};
  uint64_t tables = 0, bytes = 0, entries = 0, max_table_entries = 0;
  double gen_s = 0, build_s = 0, put_s = 0, total_s = 0;
  long rss_start_kib = 0, hwm_kib = 0;
};

struct LookupResult {
  bool done = false;
  char error[256] = {};
  uint64_t tables = 0, entries = 0, damaged = 0;
  double refresh_s = 0, present_s = 0, absent_s = 0;
  uint64_t present_found = 0, present_missing = 0, present_wrong = 0, errors = 0;
  uint64_t absent_found = 0;
  long rss_start_kib = 0, rss_refresh_kib = 0, rss_lookups_kib = 0, hwm_kib = 0;
};

struct Shared {
  BuildResult build[2];
  LookupResult lookup[2];
};

template <size_t N>
void SetError(char (&dst)[N], const std::string& msg) {
  std::snprintf(dst, N, "%s", msg.c_str());
}

struct Options {
  uint64_t entries = 10'000'000;
  uint64_t lookups = 1'000'000;
  uint64_t table_entries = uint64_t{1} << 20;
  uint64_t cache_mib = Index::kDefaultCacheBytes >> 20;
  uint64_t seed = 1;
  std::string dir;
  bool split = true, single = true, keep = false;
};

// ---- phases (each in its own child) --------------------------------------------

void Build(const Options& o, const RepoKeys& keys, const std::string& repo, uint64_t per_table,
           BuildResult& r) {
  r.rss_start_kib = RssKiB();
  auto t_all = Clock::now();
  LocalBackend backend(repo);
  if (auto s = backend.CreateLayout(); !s) return SetError(r.error, s.error().message());
  for (uint64_t start = 0; start < o.entries; start += per_table) {
    uint64_t end = std::min(o.entries, start + per_table);
    auto t0 = Clock::now();
    std::vector<IndexEntry> entries;
    entries.reserve(end - start);
    for (uint64_t i = start; i < end; i++) entries.push_back(EntryOf(i));
    r.gen_s += Since(t0);

    t0 = Clock::now();
    Bytes table = BuildIndexTable(keys, std::move(entries));
    r.build_s += Since(t0);

    t0 = Clock::now();
    std::string name = Sha256(table).Hex();
    if (auto s = backend.Put(ObjectType::kIndex, name, table); !s)
      return SetError(r.error, s.error().message());
    r.put_s += Since(t0);

    r.tables++;
    r.bytes += table.size();
    r.entries += end - start;
    r.max_table_entries = std::max(r.max_table_entries, end - start);
    std::fprintf(stderr, "\r  built %" PRIu64 "/%" PRIu64 " entries", r.entries, o.entries);
  }
  std::fprintf(stderr, "\n");
  r.total_s = Since(t_all);
  r.hwm_kib = HwmKiB();
  r.done = true;
}

void Lookups(const Options& o, const RepoKeys& keys, const std::string& repo, LookupResult& r) {
  r.rss_start_kib = RssKiB();
  LocalBackend backend(repo);
  Index index(backend, keys, size_t(o.cache_mib) << 20);
  auto t0 = Clock::now();
  if (auto s = index.Refresh(); !s) return SetError(r.error, s.error().message());
  r.refresh_s = Since(t0);
  r.tables = index.table_count();
  r.entries = index.entry_count();
  r.damaged = index.damaged().size();
  if (r.damaged) return SetError(r.error, "damaged table: " + index.damaged().front());
  r.rss_refresh_kib = RssKiB();

  // Present: a uniform random sample (with replacement) of the N blob ids.
  Rng rng(o.seed * 7919 + 1);
  t0 = Clock::now();
  for (uint64_t j = 0; j < o.lookups; j++) {
    uint64_t i = rng.Below(o.entries);
    auto res = index.Lookup(BlobIdOf(i));
    if (!res) {
      r.errors++;
    } else if (!*res) {
      r.present_missing++;
    } else {
      IndexEntry want = EntryOf(i);
      if ((*res)->pack == want.pack && (*res)->blob == want.blob)
        r.present_found++;
      else
        r.present_wrong++;
    }
  }
  r.present_s = Since(t0);

  t0 = Clock::now();
  for (uint64_t j = 0; j < o.lookups; j++) {
    auto res = index.Lookup(AbsentIdOf(j));
    if (!res)
      r.errors++;
    else if (*res)
      r.absent_found++;
  }
  r.absent_s = Since(t0);
  r.rss_lookups_kib = RssKiB();
  r.hwm_kib = HwmKiB();
  r.done = true;
}

// Runs fn in a forked child and waits for it. False if it did not exit 0.
template <typename Fn>
bool InChild(const char* what, Fn fn) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    return false;
  }
  if (pid == 0) {
    fn();
    std::fflush(nullptr);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      std::perror("waitpid");
      return false;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFSIGNALED(status))
    std::fprintf(stderr, "%s: child killed by signal %d\n", what, WTERMSIG(status));
  else
    std::fprintf(stderr, "%s: child exited with status %d\n", what, WEXITSTATUS(status));
  return false;
}

// ---- output ---------------------------------------------------------------------

std::string Mib(double kib) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MiB", kib / 1024.0);
  return b;
}
std::string Secs(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f s", s);
  return b;
}
std::string Num(uint64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); i++) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}
std::string Rate(uint64_t n, double s) {
  char b[64];
  if (n == 0 || s <= 0) return "-";
  std::snprintf(b, sizeof b, " /s (%.2f us each)", s * 1e6 / double(n));
  return Num(uint64_t(double(n) / s)) + b;
}

bool ParseU64(const char* s, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || end == s || *end) return false;
  out = v;
  return true;
}

int Usage(const char* argv0) {
  std::fprintf(
      stderr,
      "usage: %s [--entries N] [--dir DIR] [--lookups L] [--mode split|single|both]\n"
      "          [--table-entries T] [--blobs-per-pack B] [--cache-mib C] [--seed S]\n"
      "          [--keep]\n"
      "  --entries N        blob ids in the index (default 10000000)\n"
      "  --dir DIR          parent directory for the repository (default $TMPDIR or /tmp);\n"
      "                     a fresh run-XXXXXX directory is made in it and removed after\n"
      "  --lookups L        present and absent lookups each (default 1000000)\n"
      "  --mode M           split: tables of at most T entries; single: one table;\n"
      "                     both (default)\n"
      "  --table-entries T  entries per table in split mode (default 1048576)\n"
      "  --blobs-per-pack B blobs per pack: N/B distinct pack ids (default 16)\n"
      "  --cache-mib C      Index block cache (default: the Index default, 16)\n"
      "  --seed S           id generator seed (default 1)\n"
      "  --keep             keep the repository directory\n",
      argv0);
  return 2;
}

}  // namespace
}  // namespace ks

int main(int argc, char** argv) {
  using namespace ks;
  Options o;
  std::string mode = "both";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto num = [&](uint64_t& v) {
      if (i + 1 >= argc || !ParseU64(argv[++i], v)) {
        std::fprintf(stderr, "%s needs a number\n", a.c_str());
        std::exit(Usage(argv[0]));
      }
    };
    if (a == "--entries")
      num(o.entries);
    else if (a == "--lookups")
      num(o.lookups);
    else if (a == "--table-entries")
      num(o.table_entries);
    else if (a == "--cache-mib")
      num(o.cache_mib);
    else if (a == "--seed")
      num(o.seed);
    else if (a == "--blobs-per-pack")
      num(g_blobs_per_pack);
    else if (a == "--dir" && i + 1 < argc)
      o.dir = argv[++i];
    else if (a == "--mode" && i + 1 < argc)
      mode = argv[++i];
    else if (a == "--keep")
      o.keep = true;
    else if (a == "-h" || a == "--help") {
      Usage(argv[0]);
      return 0;
    } else
      return Usage(argv[0]);
  }
  if (mode == "split")
    o.single = false;
  else if (mode == "single")
    o.split = false;
  else if (mode != "both")
    return Usage(argv[0]);
  if (o.entries == 0 || o.table_entries == 0 || g_blobs_per_pack == 0 ||
      o.entries > (uint64_t{1} << 40)) {
    std::fprintf(stderr, "--entries, --table-entries and --blobs-per-pack must be > 0\n");
    return 2;
  }
  g_seed_mask = Mix(o.seed);

  // Working directory.
  std::string parent = o.dir;
  if (parent.empty()) {
    const char* t = std::getenv("TMPDIR");
    parent = t && *t ? t : "/tmp";
  }
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  std::string tmpl = parent + "/kintsugi-index-bench-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) {
    std::perror(("mkdtemp in " + parent).c_str());
    return 1;
  }
  const std::string root = buf.data();

  const RepoKeys keys = RepoKeys::Derive(MasterKey::Generate());
  void* mem =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  Shared* sh = new (mem) Shared();

  struct ModeSpec {
    const char* name;
    bool on;
    uint64_t per_table;
  };
  const ModeSpec modes[2] = {{"split", o.split, o.table_entries}, {"single", o.single, o.entries}};
  const long parent_rss = RssKiB();
  bool ok = true;
  for (int m = 0; m < 2; m++) {
    if (!modes[m].on) continue;
    const std::string repo = root + "/" + modes[m].name;
    std::fprintf(stderr, "[%s] building tables in %s\n", modes[m].name, repo.c_str());
    ok &= InChild("build", [&] { Build(o, keys, repo, modes[m].per_table, sh->build[m]); });
    if (!sh->build[m].done) {
      std::fprintf(stderr, "[%s] build failed: %s\n", modes[m].name, sh->build[m].error);
      ok = false;
      continue;
    }
    std::fprintf(stderr, "[%s] Refresh + %s present + %s absent lookups\n", modes[m].name,
                 Num(o.lookups).c_str(), Num(o.lookups).c_str());
    ok &= InChild("lookups", [&] { Lookups(o, keys, repo, sh->lookup[m]); });
    if (!sh->lookup[m].done) {
      std::fprintf(stderr, "[%s] lookups failed: %s\n", modes[m].name, sh->lookup[m].error);
      ok = false;
    }
    if (!o.keep) std::filesystem::remove_all(repo, ec);
  }
  if (!o.keep) std::filesystem::remove(root, ec);

  // ---- the table ----
  std::printf("kintsugi-index-bench: %s entries over %s packs (%" PRIu64
              " blobs/pack); %s present + %s absent lookups; block cache %" PRIu64 " MiB\n",
              Num(o.entries).c_str(),
              Num((o.entries + g_blobs_per_pack - 1) / g_blobs_per_pack).c_str(), g_blobs_per_pack,
              Num(o.lookups).c_str(), Num(o.lookups).c_str(), o.cache_mib);
  std::printf(
      "Each phase (build, lookups) runs in its own child forked from a small parent "
      "(VmRSS %s),\nso each peak RSS (VmHWM) is that phase's own, not the build's. "
      "Lookups read the tables\nfrom the page cache (just written): CPU cost, not disk.\n",
      Mib(double(parent_rss)).c_str());
  std::printf("Repository: %s%s\n\n", root.c_str(), o.keep ? " (kept)" : " (removed)");

  std::vector<std::pair<std::string, std::vector<std::string>>> rows;
  auto row = [&](const std::string& label, auto cell) {
    std::vector<std::string> cells;
    for (int m = 0; m < 2; m++)
      if (modes[m].on) cells.push_back(cell(sh->build[m], sh->lookup[m]));
    rows.emplace_back(label, std::move(cells));
  };
  using B = const BuildResult&;
  using L = const LookupResult&;
  auto if_built = [](B b, std::string s) { return b.done ? s : std::string("failed"); };
  auto if_looked = [](L l, std::string s) { return l.done ? s : std::string("failed"); };
  row("tables (max entries each)",
      [&](B b, L) { return if_built(b, Num(b.tables) + " (" + Num(b.max_table_entries) + ")"); });
  row("table bytes (per entry)", [&](B b, L) {
    char x[64];
    std::snprintf(x, sizeof x, "%s (%.1f B)", Mib(double(b.bytes) / 1024.0).c_str(),
                  b.entries ? double(b.bytes) / double(b.entries) : 0.0);
    return if_built(b, x);
  });
  row("BUILD generate entries (bench)", [&](B b, L) { return if_built(b, Secs(b.gen_s)); });
  row("BUILD BuildIndexTable", [&](B b, L) { return if_built(b, Secs(b.build_s)); });
  row("BUILD SHA-256 name + Put (fsync)", [&](B b, L) { return if_built(b, Secs(b.put_s)); });
  row("BUILD total", [&](B b, L) { return if_built(b, Secs(b.total_s)); });
  row("BUILD VmRSS at child start",
      [&](B b, L) { return if_built(b, Mib(double(b.rss_start_kib))); });
  row("BUILD peak RSS (VmHWM)", [&](B b, L) { return if_built(b, Mib(double(b.hwm_kib))); });
  row("  of which entries vector", [&](B b, L) {
    return if_built(b, Mib(double(b.max_table_entries * sizeof(IndexEntry)) / 1024.0));
  });
  row("LOOKUP Refresh (tables, entries)", [&](B, L l) {
    return if_looked(l, Secs(l.refresh_s) + " (" + Num(l.tables) + ", " + Num(l.entries) + ")");
  });
  row("LOOKUP block cache holds / blocks", [&](B b, L) {
    // The Index evicts by decoded size: 1024 IndexEntry per full block.
    auto blocks_of = [](uint64_t n) { return (n + kIndexBlockEntries - 1) / kIndexBlockEntries; };
    uint64_t t = std::max<uint64_t>(1, b.max_table_entries);
    uint64_t blocks = b.entries / t * blocks_of(t) + blocks_of(b.entries % t);
    uint64_t fit = (o.cache_mib << 20) / (kIndexBlockEntries * sizeof(IndexEntry));
    char x[32];
    std::snprintf(x, sizeof x, " (%.0f%%)",
                  blocks ? 100.0 * double(std::min(fit, blocks)) / double(blocks) : 0.0);
    return if_built(b, Num(std::min(fit, blocks)) + " / " + Num(blocks) + x);
  });
  row("LOOKUP present ids", [&](B, L l) { return if_looked(l, Rate(o.lookups, l.present_s)); });
  row("  found / missing / wrong", [&](B, L l) {
    return if_looked(
        l, Num(l.present_found) + " / " + Num(l.present_missing) + " / " + Num(l.present_wrong));
  });
  row("LOOKUP absent ids", [&](B, L l) { return if_looked(l, Rate(o.lookups, l.absent_s)); });
  row("  wrongly found / errors",
      [&](B, L l) { return if_looked(l, Num(l.absent_found) + " / " + Num(l.errors)); });
  row("LOOKUP VmRSS at child start",
      [&](B, L l) { return if_looked(l, Mib(double(l.rss_start_kib))); });
  row("LOOKUP VmRSS after Refresh",
      [&](B, L l) { return if_looked(l, Mib(double(l.rss_refresh_kib))); });
  row("LOOKUP VmRSS after lookups",
      [&](B, L l) { return if_looked(l, Mib(double(l.rss_lookups_kib))); });
  row("LOOKUP peak RSS (VmHWM)", [&](B, L l) { return if_looked(l, Mib(double(l.hwm_kib))); });

  std::vector<std::string> header;
  for (int m = 0; m < 2; m++)
    if (modes[m].on)
      header.push_back(m == 0 ? "split (<= " + Num(o.table_entries) + "/table)" : "single table");
  size_t w0 = 0;
  std::vector<size_t> w(header.size());
  for (size_t c = 0; c < header.size(); c++) w[c] = header[c].size();
  for (const auto& [label, cells] : rows) {
    w0 = std::max(w0, label.size());
    for (size_t c = 0; c < cells.size(); c++) w[c] = std::max(w[c], cells[c].size());
  }
  auto line = [&](const std::string& label, const std::vector<std::string>& cells) {
    std::printf("%-*s", int(w0), label.c_str());
    for (size_t c = 0; c < cells.size(); c++) std::printf(" | %*s", int(w[c]), cells[c].c_str());
    std::printf("\n");
  };
  line("", header);
  std::string sep(w0, '-');
  for (size_t c = 0; c < w.size(); c++) sep += "-+-" + std::string(w[c], '-');
  std::printf("%s\n", sep.c_str());
  for (const auto& [label, cells] : rows) line(label, cells);
  return ok ? 0 : 1;
}
