// Helpers for the end-to-end tests of the `kintsugi` command line: running a
// program with arguments and environment (capturing stdout, stderr and the
// exit status, with a timeout), temporary directories, a seeded generator of
// nasty file trees, and a tree comparison that looks at everything a restore
// must reproduce (contents, types, modes, owners, mtimes in ns, symlink
// targets, xattrs, hard-link groups, holes of sparse files).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kstest {

// ---------------------------------------------------------------------------
// Running programs.

struct RunOptions {
  // Variables to set in the child's environment (on top of the inherited
  // one, from which every KINTSUGI_* variable is removed first, so that the
  // test runner's environment cannot change a verdict).
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;          // empty: inherit
  int timeout_seconds = 300;  // then SIGKILL; RunResult::timed_out is set
  // Run as this uid/gid (needs root). Supplementary groups are dropped.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

struct RunResult {
  int code = -1;        // exit status, or -1 if killed by a signal
  int signal = 0;       // the signal that ended it, 0 if it exited
  bool timed_out = false;
  std::string out, err;
  // "exit 3" / "signal 9", plus stdout and stderr, for failure messages.
  std::string Describe() const;
};

// A started child process. Its stdout and stderr go to anonymous memory
// files, so it never blocks on a full pipe however long it runs unattended.
class Process {
 public:
  static std::unique_ptr<Process> Start(const std::vector<std::string>& argv,
                                        const RunOptions& o = {});
  ~Process();  // kills and reaps the child if still running
  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // True while the child has not exited (does not reap it).
  bool Running() const;
  // Waits for the child (up to the timeout, then SIGKILL) and collects output.
  RunResult Wait();

 private:
  Process() = default;
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  int timeout_seconds_ = 300;
  bool reaped_ = false;
};

RunResult Run(const std::vector<std::string>& argv, const RunOptions& o = {});

// Watches directories (inotify) for new names that do not start with '.'
// (created, hard-linked or renamed in). Create it before starting the
// process whose writes it should see.
class DirWatcher {
 public:
  explicit DirWatcher(const std::vector<std::string>& dirs);
  ~DirWatcher();
  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;
  // Waits for the first such name and returns it; "" if `p` exits or
  // `timeout_ms` passes first.
  std::string WaitForNewName(const Process& p, int timeout_ms);

 private:
  int fd_ = -1;
};

// Paths of the binaries under test (compile definitions of cli_test).
std::string KsBinary();
std::string GenBinary();

// Runs `kintsugi args...` (no repository or password options added).
RunResult Ks(const std::vector<std::string>& args, const RunOptions& o = {});
// Runs `kintsugi-gen args...`.
RunResult Gen(const std::vector<std::string>& args, const RunOptions& o = {});

// A repository in a directory, with its password in a file. Run() adds
// `-r PATH --password-file FILE` in front of the arguments.
class TestRepo {
 public:
  TestRepo(std::string path, std::string password_file)
      : path_(std::move(path)), password_file_(std::move(password_file)) {}
  // `kintsugi init` with the cheap KDF settings (8 MiB, 1 pass).
  RunResult Init(const RunOptions& o = {}) const;
  RunResult Run(const std::vector<std::string>& args, const RunOptions& o = {}) const;
  std::unique_ptr<Process> Start(const std::vector<std::string>& args,
                                 const RunOptions& o = {}) const;
  std::vector<std::string> Args(const std::vector<std::string>& args) const;
  const std::string& path() const { return path_; }
  const std::string& password_file() const { return password_file_; }

 private:
  std::string path_, password_file_;
};

// ---------------------------------------------------------------------------
// Files and directories.

// A fresh directory below $TMPDIR (or /tmp), removed with everything in it
// (whatever the modes inside) when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() + "/" + rel, created (with parents) as a directory.
  std::string Mkdir(const std::string& rel) const;
  // path() + "/" + rel (not created).
  std::string Path(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Removes a tree whatever its modes (directories are made accessible first).
void RemoveTree(const std::string& path);

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644);
std::string ReadFile(const std::string& path);
// Names in a directory (without "." and ".."), sorted bytewise.
std::vector<std::string> ListDir(const std::string& path);
// Copies a tree with everything (cp -a).
void CopyTree(const std::string& from, const std::string& to);
std::vector<std::string> SplitLines(const std::string& s);
// Printable form of a path or name: non-printable bytes as \xNN, \n as \\n.
std::string Escape(const std::string& s);
// Deterministic pseudo-random bytes.
std::string RandomBytes(uint64_t seed, size_t n);
// Lower-case hex of 64 bits, for hashes in messages.
std::string Hex64(uint64_t v);

// ---------------------------------------------------------------------------
// Tree manifests and comparison.

struct EntryInfo {
  char type = '?';  // f file, d dir, l symlink, p fifo, s socket, c/b device
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky
  uint32_t uid = 0, gid = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;       // regular files
  uint64_t allocated = 0;  // st_blocks * 512
  std::string content;     // regular files: 128-bit hash of the bytes (hex)
  std::string link_target;
  uint64_t rdev = 0;
  std::map<std::string, std::string> xattrs;
  // Hard links: the smallest path (within the scanned tree) of the inode
  // shared by several names; empty if this name is the only one in the tree.
  std::string link_group;
};

// Relative path ("" for the root itself, "a/b" below it) -> entry.
using Manifest = std::map<std::string, EntryInfo>;

// Reads everything under `root` (not following symlinks). Contents are
// hashed with holes read as zeros, without reading the holes.
Manifest ScanTree(const std::string& root);

struct CompareOptions {
  bool mtimes = true;
  bool owners = true;
  bool xattrs = true;
  bool root_metadata = true;  // compare mode/mtime/xattrs of the root itself
  bool sparse = true;         // a sparse original must stay sparse
};

// Human-readable differences between an expected and an actual manifest;
// empty if they match.
std::vector<std::string> DiffManifests(const Manifest& want, const Manifest& got,
                                       const CompareOptions& o = {});
// DiffManifests(ScanTree(want_root), ScanTree(got_root)).
std::vector<std::string> CompareTrees(const std::string& want_root, const std::string& got_root,
                                      const CompareOptions& o = {});
// The first `max` lines of a diff, for a failure message.
std::string FormatDiff(const std::vector<std::string>& diff, size_t max = 30);
// Number of regular files in a manifest.
size_t CountFiles(const Manifest& m);

// ---------------------------------------------------------------------------
// A seeded generator of hostile trees for round-trip tests.

struct RandomTreeOptions {
  uint64_t seed = 1;
  int depth = 20;              // nesting of the deep chain
  int wide_entries = 500;      // entries of the wide directory
  bool large_files = true;     // two files of 20-40 MiB
  bool sparse_file = true;     // a 1 GiB sparse file
};

struct RandomTreeInfo {
  size_t files = 0;  // regular file names
  // Plain-named top-level subdirectories (usable as --include targets).
  std::vector<std::string> subdirs;
};

// Creates `root` and fills it: deep nesting, a wide directory, odd names
// (spaces, newlines, quotes, '*', '\\', leading '-', 255-byte names, bytes
// that are not UTF-8), empty files, sparse files, large random and
// compressible files, symlinks (dangling, absolute, looping), hard links
// across directories, fifos, user.* xattrs, unusual modes (setgid and sticky
// directories, a 0000 file, setuid), owners (as root), and past mtimes with
// nanoseconds, applied bottom-up so directory mtimes stick.
RandomTreeInfo MakeRandomTree(const std::string& root, const RandomTreeOptions& o);

bool IsRoot();

}  // namespace kstest
