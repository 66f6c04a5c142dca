// The entry points of kintsugi-s3.so (backend/module_abi.h).
#include "backend/module_abi.h"
#include "backend/module_build_id.h"
#include "backend/s3_backend.h"

int ks_module_abi_version() { return ks::kModuleAbiVersion; }
const char* ks_module_build_id() { return ks::kModuleBuildId; }

void ks_module_open(const std::string& location, ks::Result<std::unique_ptr<ks::Backend>>& out) {
  out = ks::OpenS3Location(location);
}
