// A small repository built through the command line for the end-to-end
// healing tests: a generated corpus backed up twice (the second time after
// `kintsugi-gen --mutate`), with the manifests of both source states, and
// helpers to restore and compare, and to bring a working copy back to the
// pristine bytes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "heal_helpers.h"

namespace heal {

struct BuiltRepo {
  std::unique_ptr<TempDir> dir;
  std::string password_file;
  std::vector<std::string> locations;  // absolute directories, in -r order
  std::string src;                     // absolute path of the backed-up tree
  std::vector<std::string> snapshot_ids;  // oldest first
  std::vector<std::string> srcs;          // the tree backed up in each snapshot
  std::vector<Manifest> manifests;        // that tree at each snapshot
  std::string error;                      // non-empty if building failed

  // "-r" value for the same layout below another base directory.
  std::string SpecAt(const std::string& base) const;
  // Where location i lives below `base` ("<base>/d<i+1>", or "<base>/repo"
  // for a single location).
  std::string LocationAt(const std::string& base, size_t i) const;
  std::string pristine_base() const { return dir->Path("pristine"); }
};

struct BuildOptions {
  size_t locations = 1;
  std::vector<std::string> init_args;  // e.g. --data-shards 3
  std::string size = "6M";
  uint64_t seed = 7;
  // The second snapshot: the same tree after --mutate 10, or a different
  // tree (<dir>/src2, generated with seed + 100), or none.
  enum class Second { kMutate, kOtherTree, kNone } second = Second::kMutate;
};

// Builds below a new TempDir: <dir>/src, <dir>/pristine/{repo | d1..dN}.
// Locations are directories of a single repository path ("<base>/repo") or,
// for several, "<base>/d1".."<base>/dN", given to -r comma-separated.
BuiltRepo BuildRepo(const std::string& tag, const BuildOptions& o);

// Restores `snapshot` into `target` (removed first) and compares the tree
// at target + src with `want`. Returns "" if all is well, else what failed.
std::string RestoreAndCompare(const CliRepo& repo, const std::string& snapshot,
                              const std::string& target, const std::string& src,
                              const Manifest& want);

// The regular files of a tree, with contents and modes, in memory.
struct FileImage {
  std::string content;
  uint32_t mode = 0;
};
using TreeImage = std::map<std::string, FileImage>;
TreeImage LoadImage(const std::string& root);

// Makes the regular files under `root` equal to `image` (rewrites what
// differs, adds what is missing, removes what is extra; directories are left
// alone) and returns the differences found, one line each.
std::vector<std::string> SyncToImage(const std::string& root, const TreeImage& image);

// The healing cycle on a damaged working copy at `base` (same layout as the
// pristine one): restore latest (and the first snapshot if `earlier_too`),
// byte-identical to the source; check --read-data exits 5; scrub --repair
// exits 0; check --read-data exits 0; and the working copy is byte-identical
// to `image` (the pristine files), after which it IS pristine again (what
// differed has been put back). Returns what failed, one message each.
std::vector<std::string> HealCycle(const BuiltRepo& b, const TreeImage& image,
                                   const std::string& base, bool earlier_too);

// A fresh copy of the pristine repository at b.dir/<name> (replacing any).
std::string FreshCopy(const BuiltRepo& b, const std::string& name);

std::string Join(const std::vector<std::string>& v);

}  // namespace heal
