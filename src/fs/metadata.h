// Reading metadata of source files for backup. The caller walks directories
// itself; this turns one entry into a Node (without content ids or subtree).
#pragma once

#include <string>
#include <vector>

#include "format/node.h"
#include "util/status.h"

namespace ks {

// Reads lstat(2) data, user/group names, symlink target and extended
// attributes (including POSIX ACLs, which Linux exposes as the xattrs
// system.posix_acl_access / system.posix_acl_default) of `path`. `name`
// becomes Node::name. Never follows a symlink. xattrs that cannot be read
// (EPERM on security.*) are skipped, not an error.
Result<Node> ReadNodeMetadata(const std::string& path, const std::string& name);

// The same in two steps, for a directory walk that can skip the second.
// StatNodeAt: the lstat(2) data of `name` in the directory open as `dirfd`
// (a lookup relative to it, not a walk of the whole path); `path` names the
// entry in errors. ReadNodeDetails: adds the symlink target and xattrs.
Result<Node> StatNodeAt(int dirfd, const std::string& name, const std::string& path);
Status ReadNodeDetails(const std::string& path, Node& node);

// True if `a` and `b` describe the same inode in the same state: type,
// inode, device, size, mtime and ctime equal. The kernel sets ctime on every
// change to an inode (contents, mode, owner, xattrs and ACLs, links), and a
// symlink's target cannot change without a new inode, so a node in the same
// state has the same target and xattrs as before.
bool SameInodeState(const Node& a, const Node& b);

// Lists the names in directory `path` (without "." and ".."), sorted bytewise.
Result<std::vector<std::string>> ListDirectory(const std::string& path);
// The same for a directory already open as `dirfd` (left open); `path`
// names it in errors.
Result<std::vector<std::string>> ListDirectoryAt(int dirfd, const std::string& path);

}  // namespace ks
