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

// Lists the names in directory `path` (without "." and ".."), sorted bytewise.
Result<std::vector<std::string>> ListDirectory(const std::string& path);

}  // namespace ks
