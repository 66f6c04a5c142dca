// The boundary between the kintsugi executable and a location module
// (kintsugi-rados.so, kintsugi-s3.so; docs/design.md, "Location modules").
//
// A module exports exactly two functions, with C linkage so that their
// names are fixed:
//
//   ks_module_abi_version()  plain C and never to change: the loader calls
//                            it first and refuses a module whose number
//                            differs from kModuleAbiVersion;
//   ks_module_build_id()     the build fingerprint (module_build_id.h): a
//                            module whose fingerprint differs from the
//                            executable's is refused too;
//   ks_module_open()         opens one location ("rados:POOL", "s3:URL").
//
// C++ objects cross the boundary (the location string, the Result, the
// Error, the Backend). That is safe because a module is built in the same
// build, by the same compiler, from the same headers as the executable, and
// carries its own copy of the code it needs (ks_util, ks_core), linked
// statically and hidden (--exclude-libs), so it never binds to the
// executable's copies. The executable only calls the Backend's virtual
// functions, whose code is in the module, and frees what it gets back with
// the one C++ runtime and malloc they share. A module from another build is
// the danger: the build fingerprint changes with the version, the compiler
// and every header whose types cross here, so such a module is refused with
// a clear message instead of crashing. Bump kModuleAbiVersion only if the
// two C functions themselves change.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "util/status.h"

namespace ks {

inline constexpr int kModuleAbiVersion = 1;

using ModuleAbiVersionFn = int();
using ModuleBuildIdFn = const char*();
// Stores the opened location, or why it could not be opened, in `out`
// (an out-parameter: a C-linkage function should not return a C++ type).
using ModuleOpenFn = void(const std::string& location, Result<std::unique_ptr<Backend>>& out);

inline constexpr const char* kModuleAbiVersionSymbol = "ks_module_abi_version";
inline constexpr const char* kModuleBuildIdSymbol = "ks_module_build_id";
inline constexpr const char* kModuleOpenSymbol = "ks_module_open";

}  // namespace ks

// Modules are compiled with hidden visibility; these two are their exports.
#define KS_MODULE_EXPORT extern "C" __attribute__((visibility("default")))

KS_MODULE_EXPORT int ks_module_abi_version();
KS_MODULE_EXPORT const char* ks_module_build_id();
KS_MODULE_EXPORT void ks_module_open(const std::string& location,
                                     ks::Result<std::unique_ptr<ks::Backend>>& out);
