// Each command group registers its subcommands on the application.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
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
void RegisterAlerts(CLI::App& app, Globals& g);
void RegisterHolds(CLI::App& app, Globals& g);
void RegisterForget(CLI::App& app, Globals& g);  // forget, prune

// The verdict of a snapshot as JSON (snapshots --json, backup --json, the
// alert command's stdin).
nlohmann::json VerdictJson(const Verdict& v);
// Tells the operator loudly that a backup looks like an attack: stderr,
// then the alert command (if any) with the verdict as JSON on stdin.
void RaiseAlert(const Globals& g, Repository& repo, const Id& id, const Snapshot& s,
                const std::string& command);

}  // namespace ks::cli
