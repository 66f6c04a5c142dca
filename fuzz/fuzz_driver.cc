// A deterministic mutation-fuzzing main() for the harnesses, for builds
// without libFuzzer (g++, or a clang that cannot compile the project).
//
//   fuzz_X [--iterations=N] [--seconds=S] [--seed=K] [--write-seeds=DIR] [FILE...]
//
// Without FILE arguments it runs every seed of the harness, then N mutated
// inputs (default 50000), stopping early after S seconds (default 120). Each
// input is a pool entry (seeds, plus earlier mutants) with 1..6 random edits:
// bit flips, random or boundary bytes, inserts, deletes, duplicated ranges,
// truncation, splices with another entry, boundary u32 values and varints.
// Mutants that reach a rarely seen event of the harness (ks::fuzz::Count,
// e.g. "decoded") join the pool. The PRNG is seeded, so a run with the same
// seed and iteration count replays the same inputs. With FILE arguments it
// runs each file once (to replay a crash). On a crash the input is written to
// crash-<harness>-<iteration>.bin in the current directory (or
// $KS_FUZZ_ARTIFACTS).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>

#include "fuzz_common.h"

#if defined(__SANITIZE_ADDRESS__)
#define KS_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KS_HAVE_ASAN 1
#endif
#endif
#ifdef KS_HAVE_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Under UBSan, stop at the first report with SIGABRT, so the crash handler
// saves the input (UBSAN_OPTIONS still overrides this).
extern "C" const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1:abort_on_error=1";
}

namespace {

using ks::Bytes;

// The input being run, for the crash handlers.
const Bytes* g_current = nullptr;
char g_crash_path[4096] = {};

void SaveCurrent() {
  if (!g_current || !g_crash_path[0]) return;
  int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  size_t done = 0;
  while (done < g_current->size()) {
    ssize_t n = ::write(fd, g_current->data() + done, g_current->size() - done);
    if (n <= 0) break;
    done += size_t(n);
  }
  ::close(fd);
  g_current = nullptr;  // once, even if both a death callback and a signal fire
  const char msg[] = "fuzz driver: crashing input written to ";
  (void)!::write(2, msg, sizeof msg - 1);
  (void)!::write(2, g_crash_path, std::strlen(g_crash_path));
  (void)!::write(2, "\n", 1);
}

void OnSignal(int sig) {
  SaveCurrent();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Runs one input; `iteration` names the crash file (0: replaying a file,
// which is not copied).
void Run(const Bytes& in, const std::string& name, uint64_t iteration) {
  g_crash_path[0] = 0;
  if (iteration)
    std::snprintf(g_crash_path, sizeof g_crash_path, "%s/crash-%s-%llu.bin",
                  getenv("KS_FUZZ_ARTIFACTS") ? getenv("KS_FUZZ_ARTIFACTS") : ".", name.c_str(),
                  (unsigned long long)iteration);
  g_current = &in;
  // Copy into an exactly sized buffer, so ASan sees reads past the end.
  uint8_t* copy = new uint8_t[in.size() ? in.size() : 1];
  if (!in.empty()) std::memcpy(copy, in.data(), in.size());
  LLVMFuzzerTestOneInput(copy, in.size());
  delete[] copy;
  g_current = nullptr;
}

constexpr size_t kMaxInput = 1 << 20;

void PutVarint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(uint8_t(v) | 0x80);
    v >>= 7;
  }
  out.push_back(uint8_t(v));
}

void Mutate(Bytes& b, const std::vector<Bytes>& pool, std::mt19937_64& rng) {
  static const uint8_t kBytes[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, '/', '.', '"', '0'};
  static const uint64_t kValues[] = {0,          1,          2,          15,         16,
                                     17,         20,         31,         32,         36,
                                     46,         50,         56,         64,         127,
                                     128,        255,        256,        1024,       1025,
                                     4095,       65535,      65536,      0x7fffffff, 0x80000000,
                                     0xfffffff0, 0xffffffff, 1ull << 32, 1ull << 63, ~0ull};
  auto pos = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
  switch (rng() % 12) {
    case 0:
      if (!b.empty()) b[pos(b.size())] ^= uint8_t(1u << (rng() % 8));
      break;
    case 1:
      if (!b.empty()) b[pos(b.size())] = uint8_t(rng());
      break;
    case 2:
      if (!b.empty()) b[pos(b.size())] = kBytes[rng() % std::size(kBytes)];
      break;
    case 3: {
      size_t p = pos(b.size() + 1), n = 1 + rng() % 8;
      for (size_t i = 0; i < n; i++) b.insert(b.begin() + p, uint8_t(rng()));
      break;
    }
    case 4:
      if (!b.empty()) {
        size_t p = pos(b.size()), n = 1 + rng() % 16;
        b.erase(b.begin() + p, b.begin() + std::min(b.size(), p + n));
      }
      break;
    case 5:
      if (!b.empty()) {  // duplicate a range somewhere else
        size_t p = pos(b.size()), n = 1 + rng() % std::min<size_t>(64, b.size() - p);
        Bytes chunk(b.begin() + p, b.begin() + p + n);
        size_t q = pos(b.size() + 1);
        b.insert(b.begin() + q, chunk.begin(), chunk.end());
      }
      break;
    case 6:
      b.resize(pos(b.size() + 1));
      break;
    case 7: {  // splice with another pool entry
      const Bytes& o = pool[rng() % pool.size()];
      size_t p = pos(b.size() + 1), q = pos(o.size() + 1);
      b.resize(p);
      b.insert(b.end(), o.begin() + q, o.end());
      break;
    }
    case 8:
      if (b.size() >= 4) {  // a boundary u32, little-endian
        size_t p = pos(b.size() - 3);
        uint64_t v = kValues[rng() % std::size(kValues)];
        if (rng() % 3 == 0) v = b.size() + (rng() % 9) - 4;
        ks::PutU32(b.data() + p, uint32_t(v));
      }
      break;
    case 9: {  // a varint of a boundary value
      Bytes v;
      PutVarint(v, kValues[rng() % std::size(kValues)]);
      size_t p = pos(b.size() + 1);
      if (rng() % 2 && p + v.size() <= b.size()) b.erase(b.begin() + p, b.begin() + p + v.size());
      b.insert(b.begin() + p, v.begin(), v.end());
      break;
    }
    case 10:
      if (!b.empty()) b[pos(b.size())] += uint8_t(rng() % 2 ? 1 : -1);
      break;
    default:
      if (b.size() >= 2) {  // swap two bytes
        size_t p = pos(b.size()), q = pos(b.size());
        std::swap(b[p], b[q]);
      }
      break;
  }
  if (b.size() > kMaxInput) b.resize(kMaxInput);
}

bool Flag(const std::string& arg, const char* name, std::string& value) {
  std::string prefix = std::string("--") + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  value = arg.substr(prefix.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = argv[0];
  if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
  uint64_t iterations = 50000, seed = 1;
  double seconds = 120;
  std::string seeds_dir, v;
  std::vector<std::string> files;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (Flag(a, "iterations", v)) iterations = std::stoull(v);
    else if (Flag(a, "seconds", v)) seconds = std::stod(v);
    else if (Flag(a, "seed", v)) seed = std::stoull(v);
    else if (Flag(a, "write-seeds", v)) seeds_dir = v;
    else if (a.rfind("-", 0) == 0) {
      std::cerr << "usage: " << name
                << " [--iterations=N] [--seconds=S] [--seed=K] [--write-seeds=DIR] [FILE...]\n";
      return 2;
    } else files.push_back(a);
  }
#ifdef KS_HAVE_ASAN
  // ASan reports memory faults itself and then runs the death callback;
  // UBSan (a separate runtime with g++) aborts, see __ubsan_default_options.
  __sanitizer_set_death_callback(SaveCurrent);
  for (int sig : {SIGABRT, SIGILL}) ::signal(sig, OnSignal);
#else
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::signal(sig, OnSignal);
#endif

  std::vector<Bytes> seeds = KsFuzzSeeds();
  seeds.push_back({});
  if (!seeds_dir.empty()) {
    ::mkdir(seeds_dir.c_str(), 0755);
    for (size_t i = 0; i < seeds.size(); i++) {
      std::ofstream f(seeds_dir + "/seed-" + std::to_string(i), std::ios::binary);
      f.write(reinterpret_cast<const char*>(seeds[i].data()), std::streamsize(seeds[i].size()));
    }
    std::cout << name << ": wrote " << seeds.size() << " seeds to " << seeds_dir << "\n";
    return 0;
  }
  if (!files.empty()) {
    for (const auto& path : files) {
      std::ifstream f(path, std::ios::binary);
      Bytes in((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      std::cout << name << ": running " << path << " (" << in.size() << " bytes)\n";
      Run(in, name, 0);
    }
    std::cout << name << ": " << files.size() << " inputs ran without a crash\n";
    return 0;
  }

  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < seeds.size(); i++) Run(seeds[i], name, 1000000000000 + i);
  std::vector<Bytes> pool = seeds;
  const size_t n_seeds = pool.size(), kPoolMax = 512;
  std::mt19937_64 rng(seed);
  uint64_t done = 0;
  for (; done < iterations; done++) {
    if (done % 64 == 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                                  .count() > seconds)
      break;
    Bytes in = pool[rng() % pool.size()];
    int edits = 1;  // 1 edit half of the time, 2 a quarter, ... at most 6
    while (edits < 6 && rng() % 2) edits++;
    for (int m = 0; m < edits; m++) Mutate(in, pool, rng);
    auto before = ks::fuzz::g_counters.n;
    Run(in, name, done + 1);
    // Crude feedback: keep mutants that reached a rarely counted event (an
    // input that decoded, say), and a random sample of the rest.
    bool rare = false;
    for (size_t i = 0; i < before.size(); i++)
      rare |= ks::fuzz::g_counters.n[i] != before[i] &&
              ks::fuzz::g_counters.n[i] < 64 + (done + 1) / 32;
    if (rare || rng() % 16 == 0) {
      if (pool.size() < kPoolMax) pool.push_back(std::move(in));
      else pool[n_seeds + rng() % (kPoolMax - n_seeds)] = std::move(in);
    }
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << name << ": " << done << " mutated inputs + " << seeds.size() << " seeds in "
            << took << " s (seed " << seed << "), no crash";
  for (size_t i = 0; i < ks::fuzz::g_counters.n.size(); i++)
    if (ks::fuzz::g_counters.name[i])
      std::cout << "; " << ks::fuzz::g_counters.name[i] << " " << ks::fuzz::g_counters.n[i];
  std::cout << "\n";
  return 0;
}
