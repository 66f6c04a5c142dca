// Creates restored entries below a target directory without ever writing
// outside it (threat T7). Every entry is created relative to an open
// directory descriptor with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW, names from the
// snapshot are validated (IsSafeName), and multi-component paths are resolved
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so neither "..", an
// absolute name, nor a symlink planted in the target can redirect a write.
//
// Thread-safety: a RestoreTarget may be used from several threads; Dir and
// File handles are plain descriptors owned by the caller.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "format/node.h"
#include "fs/unique_fd.h"
#include "util/status.h"

namespace ks {

struct RestoreOptions {
  // Restore owners (lchown). Only meaningful as root; when false or not root,
  // owners are left as the restoring user.
  bool restore_owner = true;
  // Owners by name (getpwnam/getgrnam on the restoring machine) first, then
  // numeric id when the name is unknown, as tar and restic do.
  bool owner_by_name = true;
};

class RestoreTarget {
 public:
  // Opens (creating if needed, mode 0700) the target directory. The target
  // itself may be reached through symlinks given by the operator; nothing
  // below it is.
  static Result<std::unique_ptr<RestoreTarget>> Open(const std::string& target_dir,
                                                     RestoreOptions options);

  // True if `name` may be a single path component: non-empty, not "." or
  // "..", no '/' and no NUL.
  static bool IsSafeName(std::string_view name);

  // Descriptor of the target root directory.
  int root_fd() const { return root_.get(); }

  // Opens an existing directory `rel_path` ("a/b/c", relative to the target
  // root, "" for the root) beneath the root without following symlinks.
  Result<UniqueFd> OpenDirBeneath(const std::string& rel_path) const;

  // Creates directory node.name in parent_fd (or reuses an existing real
  // directory; an existing non-directory, including a symlink, is removed
  // first) and returns it opened. Metadata is applied later by
  // ApplyMetadata, after its children are written.
  Result<UniqueFd> MakeDir(int parent_fd, const Node& node) const;

  // Creates the regular file node.name, replacing any non-directory entry
  // there (an existing file is replaced, not truncated in place: it could be
  // a hard link to a file outside the target; a directory in the way is an
  // error of kind kAlreadyExists), sizes it to node.size with ftruncate (so
  // unwritten ranges stay holes: sparse files stay sparse), and returns it
  // opened for writing.
  Result<UniqueFd> CreateFile(int parent_fd, const Node& node) const;

  // Creates a symlink, fifo, socket or device node (devices only as root;
  // otherwise an error of kind kPermission). Replaces an existing
  // non-directory entry (a directory in the way is kAlreadyExists).
  Status MakeOther(int parent_fd, const Node& node) const;

  // Hard link: links `existing_rel_path` (relative to the root, already
  // restored in this run) as node.name in parent_fd.
  Status HardLink(const std::string& existing_rel_path, int parent_fd,
                  const std::string& name) const;

  // Applies owner, mode, xattrs (incl. ACLs) and times to node.name in
  // parent_fd, never following a symlink (a symlink gets owner, xattrs and
  // times only). Best-effort parts that the file system or privileges refuse
  // (xattrs in security.*, chown as non-root) are skipped silently; other
  // failures are returned. setuid/setgid bits of a non-directory are dropped
  // when it does not end up with the snapshot's owner (as GNU tar does).
  Status ApplyMetadata(int parent_fd, const Node& node) const;
  // The same for a regular file this process created and still has open
  // (CreateFile's descriptor), through that descriptor. Call it after the
  // last write: it sets the times.
  Status ApplyFileMetadata(int fd, const Node& node) const;

 private:
  RestoreTarget(UniqueFd root, RestoreOptions o) : root_(std::move(root)), options_(o) {}
  UniqueFd root_;
  RestoreOptions options_;
};

}  // namespace ks
