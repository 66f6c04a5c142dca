// OpenLocation (backend/backend.h): a local directory here, a RADOS pool or
// an S3 bucket through the module that implements it, loaded only when a
// location needs it (backend/module_loader.h).
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/local_backend.h"
#include "backend/module_loader.h"
#include "backend/s3_request.h"  // IsS3Url only (inline): no S3 code is linked here

namespace ks {

Result<std::unique_ptr<Backend>> OpenLocation(const std::string& location) {
  if (IsS3Url(location)) return OpenModuleLocation(kS3Module, location);
  if (location.starts_with("rados:")) return OpenModuleLocation(kRadosModule, location);
  std::string path = location;
  if (path.starts_with("local:")) path = path.substr(6);
  if (path.empty()) return Fail(ErrorKind::kInvalidArgument, "empty repository location");
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return std::make_unique<LocalBackend>(path);
}

}  // namespace ks
