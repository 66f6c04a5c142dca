// kintsugi: command-line entry point. Parses options, dispatches to a
// command, and turns errors into one-line messages and exit codes.
#include <sodium.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"

namespace ks::cli {
int g_exit_code = 0;
}

int main(int argc, char** argv) {
  using namespace ks::cli;
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
