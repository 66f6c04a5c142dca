// The restore pipeline: a walker (this thread) creates directories, files and
// links below the target through RestoreTarget (which never leaves it);
// workers read, verify (AEAD tag, sizes) and decompress blobs and write them
// with positional writes, several files and several chunks of one file at
// once. All-zero chunks are not written, so sparse files stay sparse.
// Directory metadata is applied last, deepest first, so writing children
// does not disturb a directory's mtime.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backup/progress.h"
#include "repo/repository.h"

namespace ks {

struct RestoreSpec {
  std::string target;
  // Snapshot paths ("/data/pacs/a.dcm") or globs; empty: everything. A
  // directory that matches brings everything below it.
  std::vector<std::string> includes;
  int workers = 0;
  // Restoring over an existing tree (e.g. a share hit by ransomware):
  // `skip_unchanged` leaves a file whose bytes already equal the snapshot's
  // (checked by re-hashing its chunks) and only fixes its metadata;
  // `delete_extra` removes entries the snapshot does not have (ransom notes,
  // renamed copies) from every directory restored whole.
  bool skip_unchanged = false;
  bool delete_extra = false;
  Progress* progress = nullptr;
  std::function<void(const std::string& path, const Error& e)> on_error;
};

struct RestoreResult {
  uint64_t files = 0, dirs = 0, bytes = 0;
  uint64_t unchanged = 0, deleted = 0;  // with skip_unchanged / delete_extra
  uint64_t errors = 0;  // entries not restored or restored incompletely
};

Result<RestoreResult> RunRestore(Repository& repo, const Id& snapshot, const RestoreSpec& o);

}  // namespace ks
