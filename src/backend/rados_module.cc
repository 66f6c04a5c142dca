// The entry points of kintsugi-rados.so (backend/module_abi.h).
#include "backend/module_abi.h"
#include "backend/module_build_id.h"
#include "backend/rados_backend.h"

namespace ks {
namespace {

Result<std::unique_ptr<Backend>> Open(const std::string& location) {
  KS_ASSIGN(RadosOptions options, RadosOptionsFromEnv());
  return OpenRadosLocation(location, options);
}

}  // namespace
}  // namespace ks

int ks_module_abi_version() { return ks::kModuleAbiVersion; }
const char* ks_module_build_id() { return ks::kModuleBuildId; }

void ks_module_open(const std::string& location, ks::Result<std::unique_ptr<ks::Backend>>& out) {
  out = ks::Open(location);
}
