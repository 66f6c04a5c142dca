// Modules from "another build", which the loader must refuse
// (modules_test.cc). Built twice: without KS_STALE_BUILD_ID it reports an
// ABI version no kintsugi uses; with it, the right ABI version and another
// build's fingerprint.
#include "backend/module_abi.h"

#ifdef KS_STALE_BUILD_ID
int ks_module_abi_version() { return ks::kModuleAbiVersion; }
const char* ks_module_build_id() { return KS_STALE_BUILD_ID; }
#else
int ks_module_abi_version() { return -1; }
#endif
