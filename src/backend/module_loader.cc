#include "backend/module_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "backend/module_abi.h"
#include "backend/module_build_id.h"

namespace ks {
namespace {

std::string DlError() {
  const char* e = dlerror();
  return e ? e : "unknown dynamic loader error";
}

// A dlopen()ed library: closed again when the object goes away (a module
// that turned out to be unusable), unless Keep() hands it to the process.
class SharedLibrary {
 public:
  // RTLD_NOW: a missing symbol fails here, with a message, rather than
  // later mid-backup. RTLD_LOCAL: the module's symbols (and those of
  // librados or libcurl) stay out of the global namespace.
  static Result<SharedLibrary> Open(const std::string& path) {
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) return Fail(ErrorKind::kUnsupported, DlError());
    return SharedLibrary(h);
  }
  SharedLibrary(SharedLibrary&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
  SharedLibrary& operator=(SharedLibrary&&) = delete;
  ~SharedLibrary() {
    if (handle_) dlclose(handle_);
  }

  template <typename Fn>
  Result<Fn*> Symbol(const char* name) const {
    dlerror();
    void* p = dlsym(handle_, name);
    if (!p) return Fail(ErrorKind::kUnsupported, DlError());
    return reinterpret_cast<Fn*>(p);
  }

  // Leaves the library loaded until the process exits.
  void Keep() && { handle_ = nullptr; }

 private:
  explicit SharedLibrary(void* h) : handle_(h) {}
  void* handle_;
};

Result<std::string> ExecutableDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return Fail(ErrnoError(errno, "find the running executable (readlink /proc/self/exe)"));
  std::string path(buf, size_t(n));
  return path.substr(0, path.rfind('/'));
}

std::string ParentDir(const std::string& dir) {
  size_t slash = dir.rfind('/');
  return slash == std::string::npos ? "" : dir.substr(0, slash);
}

// Loads the module at `path` and returns its open function.
Result<ModuleOpenFn*> Load(const LocationModule& m, const std::string& path) {
  const std::string feature = m.feature;
  auto unusable = [&](const std::string& why) {
    return Fail(ErrorKind::kUnsupported, "cannot load " + feature + " support from " + path +
                                             ": " + why);
  };
  auto lib = SharedLibrary::Open(path);
  // dlerror() names the file already; what is missing is often a library
  // the module needs (librados, libcurl), not the module itself.
  if (!lib)
    return Fail(ErrorKind::kUnsupported,
                "cannot load " + feature + " support: " + lib.error().message() +
                    "; check that the libraries it needs are installed, or reinstall the "
                    "kintsugi " + feature + " module");
  auto version = lib->Symbol<ModuleAbiVersionFn>(kModuleAbiVersionSymbol);
  if (!version) return unusable("not a kintsugi module (" + version.error().message() + ")");
  if (int v = (*version)(); v != kModuleAbiVersion)
    return unusable("it is from another kintsugi build (module ABI " + std::to_string(v) +
                    ", this kintsugi needs " + std::to_string(kModuleAbiVersion) +
                    "); install the " + feature + " module built with this kintsugi");
  auto build = lib->Symbol<ModuleBuildIdFn>(kModuleBuildIdSymbol);
  if (!build) return unusable("not a kintsugi module (" + build.error().message() + ")");
  if (std::string id = (*build)(); id != kModuleBuildId)
    return unusable("it is from another kintsugi build (build " + id.substr(0, 12) +
                    ", this kintsugi is " + std::string(kModuleBuildId).substr(0, 12) +
                    "); install the " + feature + " module built with this kintsugi");
  auto open = lib->Symbol<ModuleOpenFn>(kModuleOpenSymbol);
  if (!open) return unusable("not a kintsugi module (" + open.error().message() + ")");
  // Never unloaded: a Backend it opens runs the module's code, and librados
  // and libcurl keep threads and handlers that outlive any one Backend.
  // Loading the same file again (another location of a sharded repository)
  // only bumps the loader's reference count, so no cache is needed to load
  // each module once.
  std::move(*lib).Keep();
  return *open;
}

// Finds the module (ModuleSearchPath) and loads it.
Result<ModuleOpenFn*> Find(const LocationModule& m) {
  KS_ASSIGN(std::string exe_dir, ExecutableDir());
  // The first file found is the one: a broken module beside the executable
  // is reported, not silently passed over for another.
  for (const std::string& path : ModuleSearchPath(exe_dir, m))
    if (access(path.c_str(), F_OK) == 0) return Load(m, path);
  return Fail(ErrorKind::kUnsupported,
              std::string(m.feature) + " support is not installed: " + m.file +
                  " is neither beside the kintsugi executable (in " + exe_dir + ") nor in " +
                  ParentDir(exe_dir) + "/lib/kintsugi; install the kintsugi " + m.feature +
                  " module (" + m.builds + ")");
}

}  // namespace

std::vector<std::string> ModuleSearchPath(const std::string& exe_dir, const LocationModule& m) {
  return {exe_dir + "/" + m.file, ParentDir(exe_dir) + "/lib/kintsugi/" + m.file};
}

Result<std::unique_ptr<Backend>> OpenModuleLocation(const LocationModule& m,
                                                    const std::string& location) {
  auto open = Find(m);
  if (!open) return Fail(open.error().With("cannot open " + location));
  Result<std::unique_ptr<Backend>> out =
      Fail(ErrorKind::kInternal, std::string(m.file) + " opened nothing for " + location);
  (*open)(location, out);
  return out;
}

}  // namespace ks
