// Each command group registers its subcommands on the application.
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <functional>
#include <map>

#include "cli/common.h"

namespace ks::cli {

// Every command's callback stores its exit code here.
extern int g_exit_code;

void RegisterInit(CLI::App& app, Globals& g);
void RegisterKey(CLI::App& app, Globals& g);
void RegisterBackup(CLI::App& app, Globals& g);
void RegisterRestore(CLI::App& app, Globals& g);
void RegisterSnapshots(CLI::App& app, Globals& g);  // snapshots, ls, diff
void RegisterStats(CLI::App& app, Globals& g);
void RegisterCheck(CLI::App& app, Globals& g);
void RegisterScrub(CLI::App& app, Globals& g);
void RegisterUnlock(CLI::App& app, Globals& g);

}  // namespace ks::cli
