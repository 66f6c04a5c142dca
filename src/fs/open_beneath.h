// Opening a directory below a root descriptor without leaving it.
#pragma once

#include <string_view>

#include "fs/unique_fd.h"
#include "util/status.h"

namespace ks {

// Opens the existing directory `rel_path` ("a/b/c"; "" means `root_fd`
// itself) below `root_fd` for reading. Every component must be a safe name
// (see RestoreTarget::IsSafeName), so "..", absolute paths and empty
// components are rejected with kInvalidArgument. No symlink is followed.
//
// Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), which lets the kernel
// enforce both rules; when the kernel lacks openat2 (or `use_openat2` is
// false, for tests) it walks the path one component at a time with
// O_NOFOLLOW | O_DIRECTORY, which is equally safe because no component can
// be ".." or contain '/'.
Result<UniqueFd> OpenDirBeneathFd(int root_fd, std::string_view rel_path, bool use_openat2 = true);

}  // namespace ks
