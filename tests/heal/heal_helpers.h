// Helpers for the self-healing tests (tests/heal/): running the `kintsugi`
// and `kintsugi-gen` binaries (fork/exec, capturing stdout, stderr and the
// exit status, with a timeout), temporary directories, copying and comparing
// trees, damaging files on purpose, and reading the 64-byte header of a
// shard file (docs/design.md, "Storage envelope"). Safe to call from several
// threads at once (the exhaustive test runs cases in parallel).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace heal {

// ---------------------------------------------------------------------------
// Running programs.

struct RunResult {
  int code = -1;   // exit status, or -1 if killed by a signal
  int signal = 0;  // the signal that ended it
  bool timed_out = false;
  std::string out, err;
  // "exit 3" or "signal 9", with stdout and stderr, for failure messages.
  std::string Describe() const;
};

// Runs argv[0] (an absolute path) with the given arguments. The child gets
// /dev/null as stdin, a new session (no controlling terminal, so it can never
// prompt) and the parent's environment without any KINTSUGI_* variable.
RunResult Run(const std::vector<std::string>& argv, int timeout_seconds = 300);

std::string KsBinary();   // KS_BINARY
std::string GenBinary();  // KS_GEN_BINARY

// `kintsugi -r REPO --password-file FILE args...`
class CliRepo {
 public:
  CliRepo() = default;
  CliRepo(std::string spec, std::string password_file)
      : spec_(std::move(spec)), password_file_(std::move(password_file)) {}
  RunResult Run(const std::vector<std::string>& args, int timeout_seconds = 300) const;
  // init with the cheap KDF (8 MiB, 1 pass) plus `extra` options.
  RunResult Init(const std::vector<std::string>& extra = {}) const;
  const std::string& spec() const { return spec_; }

 private:
  std::string spec_, password_file_;
};

// The last non-empty line of stdout parsed as JSON (null if it is not JSON).
nlohmann::json LastJson(const RunResult& r);

// ---------------------------------------------------------------------------
// Files and trees.

// A fresh directory /tmp/heal-<tag>-XXXXXX, removed with everything in it
// (whatever the modes) when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Path(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

void RemoveTree(const std::string& path);  // rm -rf, making directories accessible first
void MakeDirs(const std::string& path);    // mkdir -p (mode 0700)
bool Exists(const std::string& path);
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data, mode_t mode = 0644);
// Copies directories, regular files (with their permission bits) and
// symlinks, like cp -a without owners and times.
void CopyTree(const std::string& from, const std::string& to);
// Regular files below root, as paths relative to it, sorted.
std::vector<std::string> ListFiles(const std::string& root);

// What a restore must reproduce: type, permission bits, size and contents of
// regular files (128-bit hash), symlink targets. Keys are paths relative to
// the root ("" is the root itself).
struct Entry {
  char type = '?';  // f, d, l, o(ther)
  uint32_t mode = 0;
  uint64_t size = 0;
  std::string hash;
  std::string target;
  bool operator==(const Entry&) const = default;
};
using Manifest = std::map<std::string, Entry>;
Manifest ScanTree(const std::string& root);
// Differences, one line each; empty if equal.
std::vector<std::string> DiffManifests(const Manifest& want, const Manifest& got);
std::string FormatDiff(const std::vector<std::string>& diff, size_t max = 15);

// Damage. Each makes the file writable first (shard files are 0400) and puts
// its mode back afterwards.
void DamageDelete(const std::string& path);
void DamageTruncate(const std::string& path, uint64_t size);
void DamageXor(const std::string& path, uint64_t offset, uint8_t mask);
void DamageZero(const std::string& path, uint64_t offset, uint64_t length);
// Rewrites a shard file as its 64-byte header alone, claiming an object of
// `claimed` bytes (ForgeShardHeader, with the file's own k and m).
void DamageForgeHeader(const std::string& path, uint64_t claimed);
uint64_t FileSize(const std::string& path);

// This process's peak resident set so far, in KiB (getrusage).
long PeakRssKiB();

// ---------------------------------------------------------------------------
// Shard files.

constexpr uint64_t kShardHeaderSize = 64;
constexpr uint32_t kShardCrcSize = 4;

struct ShardHeader {
  int k = 0, m = 0, index = 0;
  uint64_t length = 0;  // logical object size
  uint32_t block = 0, rows = 0;
  uint64_t stride() const { return uint64_t(block) + kShardCrcSize; }
  uint64_t file_size() const { return kShardHeaderSize + uint64_t(rows) * stride(); }
};
// Rewrites the 64-byte shard header at `header` to claim an object of
// `claimed` bytes in k data and m parity shards of 4 KiB blocks, with a
// correct CRC: what anyone with write access to the storage can forge
// without the key. Magic, version, index and name tag are kept.
void ForgeShardHeader(uint8_t* header, uint64_t claimed, int k, int m);

// Parses the header (magic "KSS1", version 1, k, m, index, length, block,
// rows). nullopt if the bytes do not start with a well-formed header (the
// CRC is not checked here).
std::optional<ShardHeader> ParseShardHeader(const std::string& file_bytes);

// "data/ab/abcd....3" -> {"data/ab/abcd...", 3}; nullopt if no ".<n>" suffix.
std::optional<std::pair<std::string, int>> SplitShardPath(const std::string& rel);

}  // namespace heal
