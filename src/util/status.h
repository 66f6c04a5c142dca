// Errors as values. An Error carries a kind (what went wrong, so callers can
// decide whether to retry or which exit code to use), a one-line message that
// says what happened and what to do, and whether retrying may help.
// Functions that can fail return Status (no value) or Result<T>.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace ks {

enum class ErrorKind {
  kInvalidArgument,  // bad user input (usage)
  kNotFound,         // object / file / snapshot does not exist
  kAlreadyExists,    // write-once object already present
  kIo,               // I/O failure (disk, network)
  kNoSpace,          // ENOSPC / EDQUOT
  kPermission,       // EACCES / EPERM
  kCorrupt,          // data failed verification (checksum, AEAD tag, parse)
  kWrongPassword,    // no key file opens with this passphrase
  kLocked,           // repository is locked by someone else
  kNoRepository,     // repository does not exist at that location
  kUnsupported,      // format version or feature we do not know
  kInternal,         // a bug
};

class [[nodiscard]] Error {
 public:
  Error(ErrorKind kind, std::string message, bool transient = false)
      : kind_(kind), message_(std::move(message)), transient_(transient) {}

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  bool transient() const { return transient_; }

  // Returns a copy whose message is "context: message".
  Error With(const std::string& context) const {
    return Error(kind_, context + ": " + message_, transient_);
  }

 private:
  ErrorKind kind_;
  std::string message_;
  bool transient_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> Fail(ErrorKind kind, std::string message,
                                   bool transient = false) {
  return std::unexpected<Error>(Error(kind, std::move(message), transient));
}
inline std::unexpected<Error> Fail(Error e) {
  return std::unexpected<Error>(std::move(e));
}
inline Status Ok() { return {}; }

// Maps an errno value from a system call on `what` to an Error.
Error ErrnoError(int err, const std::string& what);

}  // namespace ks

// Propagates an error from an expression returning Status or Result<T>.
#define KS_TRY(expr)                                  \
  do {                                                \
    auto ks_try_r_ = (expr);                          \
    if (!ks_try_r_) return std::unexpected(ks_try_r_.error()); \
  } while (0)

#define KS_CONCAT_INNER(a, b) a##b
#define KS_CONCAT(a, b) KS_CONCAT_INNER(a, b)
// KS_ASSIGN(auto x, expr): evaluates expr (a Result<T>), returns its error or
// binds the value to x.
#define KS_ASSIGN(decl, expr) KS_ASSIGN_IMPL(KS_CONCAT(ks_r_, __LINE__), decl, expr)
#define KS_ASSIGN_IMPL(tmp, decl, expr)                 \
  auto tmp = (expr);                                    \
  if (!tmp) return std::unexpected(tmp.error());        \
  decl = std::move(*tmp)
