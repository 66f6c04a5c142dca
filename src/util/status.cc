#include "util/status.h"

#include <cerrno>
#include <cstring>

namespace ks {

Error ErrnoError(int err, const std::string& what) {
  std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return Error(ErrorKind::kNotFound, msg);
    case EEXIST:
      return Error(ErrorKind::kAlreadyExists, msg);
    case ENOSPC:
    case EDQUOT:
      return Error(ErrorKind::kNoSpace, msg + " (free some space and run again)");
    case EACCES:
    case EPERM:
    case EROFS:
      return Error(ErrorKind::kPermission, msg);
    case EINTR:
    case EAGAIN:
    case ETIMEDOUT:
      return Error(ErrorKind::kIo, msg, /*transient=*/true);
    default:
      return Error(ErrorKind::kIo, msg);
  }
}

}  // namespace ks
