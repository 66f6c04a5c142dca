// forget and prune: retention by policy (prune/retention.h) and the
// two-phase reclaim of space (prune/pruner.h).
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "prune/forget.h"
#include "prune/pruner.h"
#include "util/human.h"

namespace ks::cli {
namespace {

using json = nlohmann::json;

struct ForgetArgs {
  std::vector<std::string> ids;
  RetentionPolicy policy;
  std::string within, group_by = "host,paths", grace = "24h";
  std::vector<std::string> hosts;
  bool dry_run = false, prune = false;
  double repack_percent = 20;
};

GroupBy ParseGroupBy(const std::string& s) {
  GroupBy g{false, false, false};
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string part = s.substr(start, comma - start);
    if (part == "host") g.host = true;
    else if (part == "paths") g.paths = true;
    else if (part == "tags") g.tags = true;
    else if (!part.empty()) Usage("--group-by takes host, paths and tags, separated by commas");
    start = comma + 1;
  }
  return g;
}

int64_t ParseGrace(const std::string& s) {
  if (s == "0") return 0;
  auto d = ParseDuration(s);
  if (!d) Usage(d.error().message());
  return *d;
}

void RunPruneCommand(const Globals& g, const ForgetArgs& a, OpenRepo& r) {
  PruneOptions o;
  o.grace_ns = ParseGrace(a.grace);
  o.repack_unused = a.repack_percent / 100.0;
  o.dry_run = a.dry_run;
  o.own_lock = r.lock ? r.lock->name() : "";
  o.own_lock_created_ns = r.lock ? r.lock->created_ns() : 0;
  auto rep = RunPrune(*r.repo, Clock(), o);
  if (!rep) Die(rep.error());
  for (const auto& w : rep->warnings) Warn("warning: " + w);
  if (g.json) {
    std::cout << json{{"dry_run", a.dry_run},
                      {"snapshots", rep->snapshots},
                      {"blobs_referenced", rep->blobs_referenced},
                      {"blobs_missing", rep->blobs_missing},
                      {"packs", rep->packs},
                      {"bytes", rep->bytes},
                      {"bytes_used", rep->bytes_used},
                      {"marks_finished", rep->marks_finished},
                      {"marks_waiting", rep->marks_waiting},
                      {"waiting", rep->waiting},
                      {"packs_deleted", rep->packs_deleted},
                      {"bytes_deleted", rep->bytes_deleted},
                      {"packs_resurrected", rep->packs_resurrected},
                      {"tables_rewritten", rep->tables_rewritten},
                      {"new_mark", rep->new_mark},
                      {"packs_marked", rep->packs_marked},
                      {"packs_repacked", rep->packs_repacked},
                      {"blobs_repacked", rep->blobs_repacked},
                      {"unindexed_marked", rep->unindexed_marked},
                      {"bytes_marked", rep->bytes_marked}}
                     .dump()
              << "\n";
    return;
  }
  if (g.quiet) return;
  std::string would = a.dry_run ? "would be " : "";
  Print(fmt::format("{} snapshots need {} blobs; {} packs hold {}, {} of it in use", rep->snapshots,
                    rep->blobs_referenced, rep->packs, HumanBytes(rep->bytes),
                    HumanBytes(rep->bytes_used)));
  if (rep->marks_finished || rep->packs_deleted)
    Print(fmt::format("deleted{}: {} packs ({}) from {} earlier marks; {} tables rewritten; {} "
                      "packs kept because a snapshot needs them again",
                      a.dry_run ? " (dry run: nothing)" : "", rep->packs_deleted,
                      HumanBytes(rep->bytes_deleted), rep->marks_finished, rep->tables_rewritten,
                      rep->packs_resurrected));
  for (const auto& w : rep->waiting) Print("waiting: " + w);
  uint64_t marked = rep->packs_marked + rep->packs_repacked + rep->unindexed_marked;
  if (marked)
    Print(fmt::format("{}marked for deletion: {} packs ({} unused; {} packs repacked first, {} "
                      "blobs copied); they are deleted by a prune after the grace period ({})",
                      would, marked, HumanBytes(rep->bytes_marked), rep->packs_repacked,
                      rep->blobs_repacked, a.grace));
  else if (!rep->packs_deleted)
    Print("nothing to reclaim");
}

void RunForget(const Globals& g, ForgetArgs& a) {
  if (!a.within.empty()) {
    auto d = ParseDuration(a.within);
    if (!d) Usage(d.error().message());
    a.policy.within_ns = *d;
  }
  if (a.ids.empty() && a.policy.empty())
    Usage("nothing to forget: name snapshots, or give a policy such as --keep-daily 14");
  if (!a.ids.empty() && !a.policy.empty())
    Usage("give either snapshot ids or --keep-* options, not both");
  GroupBy group = ParseGroupBy(a.group_by);
  auto r = Open(g, 1, a.prune ? "prune" : "forget", a.prune);

  std::vector<Id> remove;
  json out = json::array();
  if (!a.ids.empty()) {
    for (const auto& ref : a.ids) {
      auto id = r.repo->ResolveSnapshot(ref);
      if (!id) Die(id.error());
      remove.push_back(*id);
    }
  } else {
    auto plan = PlanForget(*r.repo, a.policy, group, a.hosts, Clock().NowNs(), LocalCalendar);
    if (!plan) Die(plan.error());
    for (const auto& d : plan->damaged) Warn("warning: " + d + " (left alone)");
    if (plan->used_client_times)
      Warn("warning: this storage does not record object times; retention uses the times "
           "clients wrote into the snapshots");
    for (const auto& grp : plan->groups) {
      json jg = {{"group", grp.key}, {"keep", json::array()}, {"remove", json::array()}};
      std::vector<std::string> lines;
      size_t kept = 0;
      for (const auto& d : grp.decisions) {
        int64_t recorded = plan->facts.at(d.id).recorded_ns;
        json js = {{"id", d.id.Hex()},
                   {"short_id", d.id.Short()},
                   {"time", FormatTimeUtc(plan->snapshots.at(d.id).time_ns)},
                   {"recorded_time", FormatTimeUtc(recorded)},
                   {"reasons", d.reasons}};
        jg[d.keep ? "keep" : "remove"].push_back(js);
        std::string reasons;
        for (const auto& x : d.reasons) reasons += (reasons.empty() ? "" : ", ") + x;
        lines.push_back(fmt::format("  {} {}  {}  {}", d.keep ? "keep  " : "remove", d.id.Short(),
                                    FormatTimeLocal(recorded), reasons));
        if (d.keep) kept++;
      }
      out.push_back(jg);
      if (!g.json && !g.quiet) {
        Print(fmt::format("{}: keep {}, remove {}", grp.key, kept, grp.decisions.size() - kept));
        if (g.verbose > 0 || a.dry_run || grp.decisions.size() > kept)
          for (const auto& l : lines) Print(l);
      }
    }
    remove = plan->ToRemove();
  }
  size_t removed = 0;
  if (!a.dry_run) {
    auto n = RemoveSnapshots(*r.repo, remove);
    if (!n) Die(n.error());
    removed = *n;
  }
  if (g.json && !a.prune) {
    if (a.ids.empty())
      std::cout << out.dump() << "\n";
    else {
      json ids = json::array();
      for (const Id& id : remove) ids.push_back(id.Hex());
      std::cout << json{{"removed", ids}, {"dry_run", a.dry_run}}.dump() << "\n";
    }
  } else if (!g.quiet && !g.json) {
    Print(a.dry_run ? fmt::format("dry run: {} snapshots would be removed", remove.size())
                    : fmt::format("removed {} snapshots", removed));
  }
  if (a.prune) RunPruneCommand(g, a, r);
}

}  // namespace

void RegisterForget(CLI::App& app, Globals& g) {
  static ForgetArgs a;
  auto* c = app.add_subcommand(
      "forget",
      "remove snapshots by id or by a retention policy (times the storage recorded decide; "
      "held snapshots stay; suspicious ones never count as keepers)");
  c->add_option("SNAPSHOT", a.ids, "snapshot ids or prefixes to remove");
  c->add_option("--keep-last", a.policy.last, "keep the N newest snapshots");
  c->add_option("--keep-hourly", a.policy.hourly, "keep the newest snapshot of each of N hours");
  c->add_option("--keep-daily", a.policy.daily, "keep the newest snapshot of each of N days");
  c->add_option("--keep-weekly", a.policy.weekly, "keep the newest snapshot of each of N weeks");
  c->add_option("--keep-monthly", a.policy.monthly, "keep the newest snapshot of each of N months");
  c->add_option("--keep-yearly", a.policy.yearly, "keep the newest snapshot of each of N years");
  c->add_option("--keep-within", a.within, "keep snapshots recorded within this span (e.g. 1y6m, 14d, 36h)");
  c->add_option("--keep-tag", a.policy.keep_tags, "keep snapshots with this tag (repeatable)");
  c->add_option("--group-by", a.group_by, "group snapshots by host, paths, tags (default host,paths)");
  c->add_option("--host", a.hosts, "only snapshots of this host (repeatable)");
  c->add_flag("-n,--dry-run", a.dry_run, "show what would be removed, remove nothing");
  c->add_flag("--prune", a.prune, "run prune afterwards");
  c->add_option("--grace", a.grace, "with --prune: see 'prune --grace'");
  c->callback([&g] { RunForget(g, a); });

  auto* p = app.add_subcommand(
      "prune",
      "reclaim space no snapshot needs, without blocking backups: marks unneeded packs now, "
      "deletes packs marked by an earlier prune once the grace period has passed");
  p->add_option("--grace", a.grace,
                "how long marked packs wait before deletion (default 24h; 0 deletes at the next "
                "prune once no older backup runs)");
  p->add_option("--repack-threshold", a.repack_percent,
                "repack packs with at least this percentage of unused bytes (default 20)")
      ->check(CLI::Range(1.0, 100.0));
  p->add_flag("-n,--dry-run", a.dry_run, "show what would be reclaimed, change nothing");
  p->callback([&g] {
    auto r = Open(g, 1, "prune", /*sole=*/true);
    RunPruneCommand(g, a, r);
  });
}

}  // namespace ks::cli
