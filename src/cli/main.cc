// kintsugi: command-line entry point. Parses options, dispatches to a
// command, and turns errors into one-line messages and exit codes.
#include <malloc.h>
#include <sodium.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"

namespace ks::cli {
int g_exit_code = 0;
}

int main(int argc, char** argv) {
  using namespace ks::cli;
  // Keep freed buffers for reuse instead of handing them back to the
  // kernel. Every pipeline bounds the memory it has in flight (chunks,
  // packs, shard files), so this does not raise the peak; it saves the
  // page faults and zeroing of taking fresh pages for every chunk and
  // shard: on the 2 GiB benchmark (a 2-core VM) that was about a tenth of
  // a first backup's CPU and a third of a restore's. 32 MiB is the largest
  // threshold glibc allows: buffers up to a pack and its parity are
  // reused from the heap. (backup lowers it again for its own reasons:
  // cmd_backup.cc.)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  if (sodium_init() < 0) {
    std::cerr << "kintsugi: cannot initialise libsodium" << std::endl;
    return kExitFatal;
  }
  CLI::App app{"Kintsugi: encrypted, deduplicated, self-checking backups", "kintsugi"};
  app.set_version_flag("--version", std::string("kintsugi ") + KS_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command, as with restic
  Globals g;
  if (const char* r = std::getenv("KINTSUGI_REPOSITORY")) g.repo = r;
  app.add_option("-r,--repo", g.repo, "repository location (env KINTSUGI_REPOSITORY)");
  app.add_option("--password-file", g.password_file,
                 "file holding the passphrase (env KINTSUGI_PASSWORD_FILE)");
  app.add_flag("-q,--quiet", g.quiet, "print nothing but errors");
  app.add_flag("-v,--verbose", g.verbose, "say more (repeat for even more)");
  app.add_flag("--json", g.json, "machine-readable output on stdout");

  RegisterInit(app, g);
  RegisterKey(app, g);
  RegisterBackup(app, g);
  RegisterRestore(app, g);
  RegisterSnapshots(app, g);
  RegisterStats(app, g);
  RegisterCheck(app, g);
  RegisterScrub(app, g);
  RegisterUnlock(app, g);
  RegisterAlerts(app, g);
  RegisterHolds(app, g);
  RegisterForget(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const ExitError& e) {
    std::cerr << "kintsugi: " << e.message << std::endl;
    return e.code;
  }
  return g_exit_code;
}
