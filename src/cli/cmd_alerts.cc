// Ransomware alerts: what a suspicious backup prints and runs, and the
// `alerts` command that lists suspicious snapshots.
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"

namespace ks::cli {

using json = nlohmann::json;

json VerdictJson(const Verdict& v) {
  json reasons = json::array();
  for (const auto& r : v.reasons)
    reasons.push_back({{"kind", r.kind}, {"count", r.count}, {"examples", r.examples}});
  return {{"status", v.status()}, {"score", v.score}, {"reasons", reasons}};
}

static std::string Describe(const VerdictReason& r) {
  static const std::map<std::string, std::string> kWhat = {
      {"became_random", "files turned from structured to random-looking"},
      {"partly_encrypted", "files had some of their blocks turned random (intermittent encryption)"},
      {"magic_broken", "files no longer match what their extension promises"},
      {"renamed_extension", "files were renamed to a new extension"},
      {"ransom_note", "directories received the same new small file (a ransom note?)"},
      {"churn", "files changed, far more than this source's usual churn"},
  };
  auto it = kWhat.find(r.kind);
  std::string s = std::to_string(r.count) + " " + (it != kWhat.end() ? it->second : r.kind);
  if (!r.examples.empty()) s += ", e.g. " + r.examples.front();
  return s;
}

void RaiseAlert(const Globals& g, Repository& repo, const Id& id, const Snapshot& s,
                const std::string& command) {
  const Verdict& v = *s.verdict;
  Warn(fmt::format("ALERT: snapshot {} of {} looks like a ransomware attack (score {:.0f}/100):",
                   id.Short(), s.hostname, v.score));
  for (const auto& r : v.reasons) Warn("  - " + Describe(r));
  // Protect the last clean snapshot of the same source before anything
  // (retention, an attacker) can get at it.
  std::optional<Id> clean, held_id;
  if (auto snaps = repo.ListSnapshots()) {
    for (const auto& [sid, other] : *snaps)
      if (sid != id && other.hostname == s.hostname && other.paths == s.paths &&
          other.time_ns <= s.time_ns && (!other.verdict || !other.verdict->suspicious))
        clean = sid;
  }
  if (clean) {
    auto held = repo.AddHoldEvent(*clean, true,
                                  "automatic: last clean snapshot before suspicious snapshot " +
                                      id.Short(),
                                  Clock().NowNs(), HostName());
    if (held) held_id = clean;
    if (held)
      Warn("The last clean snapshot, " + clean->Short() + ", is now held. Restore it with: "
           "kintsugi restore " + clean->Short() + " --target DIR");
    else
      Warn("warning: could not hold the last clean snapshot " + clean->Short() + ": " +
           held.error().message());
  } else {
    Warn("There is no earlier clean snapshot of this source to hold.");
  }
  Warn("The suspicious snapshot was stored as evidence.");
  if (command.empty()) return;
  json payload = {{"snapshot_id", id.Hex()},
                  {"hostname", s.hostname},
                  {"paths", s.paths},
                  {"time", FormatTimeUtc(s.time_ns)},
                  {"repository", repo.backend().Location()},
                  {"verdict", VerdictJson(v)},
                  {"held_snapshot", held_id ? json(held_id->Hex()) : json()}};
  // The command needs no secrets, and its output must not mix with ours
  // (stdout may be a --json summary): it writes to stderr. A command that
  // exits without reading must not kill us with SIGPIPE.
  ::unsetenv("KINTSUGI_PASSWORD");
  ::signal(SIGPIPE, SIG_IGN);
  // A hung pager or mail relay must not hold the backup (and its lock)
  // forever: coreutils' timeout ends it after 5 minutes (KILL 10 s later).
  // The command text travels in the environment, so no quoting is needed.
  ::setenv("KINTSUGI_ALERT_SHELL_COMMAND", command.c_str(), 1);
  std::string wrapped =
      "timeout -k 10 300 /bin/sh -c \"$KINTSUGI_ALERT_SHELL_COMMAND\" 1>&2";
  FILE* p = ::popen(wrapped.c_str(), "w");
  if (!p) {
    Warn("warning: could not run the alert command");
    return;
  }
  std::string text = payload.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::fwrite(text.data(), 1, text.size(), p);
  int rc = ::pclose(p);
  if (WIFEXITED(rc) && (WEXITSTATUS(rc) == 124 || WEXITSTATUS(rc) == 137))
    Warn("warning: the alert command did not finish within 5 minutes and was stopped");
  else if (rc != 0)
    Warn(fmt::format("warning: the alert command failed (exit status {})",
                     WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc)));
}

void RegisterAlerts(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("alerts", "list snapshots that looked like a ransomware attack");
  c->callback([&g] {
    auto r = Open(g, 1);
    auto snaps = r.repo->ListSnapshots();
    if (!snaps) Die(snaps.error());
    json arr = json::array();
    size_t n = 0;
    for (const auto& [id, s] : *snaps) {
      if (!s.verdict || !s.verdict->suspicious) continue;
      n++;
      if (g.json) {
        arr.push_back({{"id", id.Hex()}, {"time", FormatTimeUtc(s.time_ns)},
                       {"hostname", s.hostname}, {"paths", s.paths},
                       {"verdict", VerdictJson(*s.verdict)}});
        continue;
      }
      Print(fmt::format("{}  {}  {}  score {:.0f}/100", id.Short(), FormatTimeLocal(s.time_ns),
                        s.hostname, s.verdict->score));
      for (const auto& reason : s.verdict->reasons) Print("  - " + Describe(reason));
    }
    if (g.json) Print(arr.dump(-1, ' ', false, json::error_handler_t::replace));
    else if (!g.quiet) Print(fmt::format("{} suspicious snapshots", n));
  });
}

void RegisterHolds(CLI::App& app, Globals& g) {
  static std::string snap, reason;
  auto* hold = app.add_subcommand("hold", "protect a snapshot from removal");
  hold->add_option("SNAPSHOT", snap, "snapshot id, prefix or 'latest'")->required();
  hold->add_option("--reason", reason, "why (shown in 'snapshots')")->required();
  hold->callback([&g] {
    auto r = Open(g, 1);
    auto id = r.repo->ResolveSnapshot(snap);
    if (!id) Die(id.error());
    if (auto s = r.repo->AddHoldEvent(*id, true, reason, Clock().NowNs(), HostName()); !s)
      Die(s.error());
    if (!g.quiet && !g.json) Print("snapshot " + id->Short() + " is held: " + reason);
  });
  auto* unhold = app.add_subcommand("unhold", "release a hold on a snapshot");
  unhold->add_option("SNAPSHOT", snap, "snapshot id, prefix or 'latest'")->required();
  unhold->callback([&g] {
    auto r = Open(g, 1);
    auto id = r.repo->ResolveSnapshot(snap);
    if (!id) Die(id.error());
    if (auto s = r.repo->AddHoldEvent(*id, false, "", Clock().NowNs(), HostName()); !s)
      Die(s.error());
    if (!g.quiet && !g.json) Print("snapshot " + id->Short() + " is no longer held");
  });
}

}  // namespace ks::cli
