// RADOS and S3 locations live in loadable modules (kintsugi-rados.so,
// kintsugi-s3.so) that the executable loads only when a location needs
// them: linked in, librados and libcurl/libxml2 cost every command about
// 17 MiB of memory, a local backup included (docs/design.md, "Location
// modules"). The boundary itself is backend/module_abi.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "util/status.h"

namespace ks {

struct LocationModule {
  const char* feature;  // "RADOS", for messages
  const char* file;     // the module's file name (its CMake target's output name)
  const char* builds;   // when a build makes the module, for the "not installed" message
};

inline constexpr LocationModule kRadosModule{
    "RADOS", "kintsugi-rados.so",
    "built when librados-dev and libradospp-dev are present at build time"};
inline constexpr LocationModule kS3Module{"S3", "kintsugi-s3.so",
                                          "built with every kintsugi"};

// Where a module is looked for, in order, given the directory of the
// running executable: beside it (a build directory, or an installation that
// keeps everything in one place), then ../lib/kintsugi (bin/ and lib/ of an
// installation prefix). Deliberately no variable or option names other
// places: a module is code that runs with the user's keys.
std::vector<std::string> ModuleSearchPath(const std::string& exe_dir, const LocationModule& m);

// Opens `location` through the module: finds and loads it, checks its ABI
// version and build fingerprint, and lets it open the location. A module that is missing, cannot
// be loaded or is from another build fails with kUnsupported and a message
// that names the file and what to do. A loaded module stays loaded until the
// process exits (see the definition).
Result<std::unique_ptr<Backend>> OpenModuleLocation(const LocationModule& m,
                                                    const std::string& location);

}  // namespace ks
