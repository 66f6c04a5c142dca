// backup and restore.
#include <malloc.h>

#include <nlohmann/json.hpp>

#include "backup/archiver.h"
#include "cli/commands.h"
#include "restore/restorer.h"
#include "util/human.h"

namespace ks::cli {

using json = nlohmann::json;

namespace {

json StagesJson(const StageReport& r) {
  json stages = json::object();
  for (const auto& st : r.stages) {
    json o{{"cpu_seconds", st.cpu_seconds}, {"bytes", st.bytes}};
    if (st.wall_seconds > 0) o["wall_seconds"] = st.wall_seconds;
    stages[st.name] = o;
  }
  return json{{"stages", stages},
              {"cores", r.cores},
              {"stages_cpu_seconds", r.cpu_seconds},
              {"process_cpu_seconds", r.process_cpu_seconds},
              {"bound_seconds", r.bound_seconds},
              {"bound_by", r.bound_by},
              {"wall_seconds", r.wall_seconds},
              {"efficiency", r.efficiency}};
}

// One line per stage: CPU seconds, the rate per core, the share of all CPU.
void PrintStages(const StageReport& r) {
  Print("stage        CPU s    MiB/s per core   share");
  double all = std::max(r.cpu_seconds, r.process_cpu_seconds);
  for (const auto& st : r.stages) {
    double secs = st.wall_seconds > 0 ? st.wall_seconds : st.cpu_seconds;
    std::string rate = secs > 0 && st.bytes > 0
                           ? fmt::format("{:8.0f}", double(st.bytes) / 1048576.0 / secs)
                           : fmt::format("{:>8}", "-");
    Print(fmt::format("{:<10} {:7.2f}{}   {}       {:5.1f} %", st.name, st.cpu_seconds,
                      st.wall_seconds > 0 ? fmt::format(" (wall {:.2f})", st.wall_seconds) : "",
                      rate, all > 0 ? 100.0 * st.cpu_seconds / all : 0.0));
  }
  Print(fmt::format("other      {:7.2f}   (shard writes, memory, queues)",
                    std::max(0.0, r.process_cpu_seconds - r.cpu_seconds)));
  Print(fmt::format("CPU {:.2f} s on {} cores: at best {:.2f} s (bound by {}); took {:.2f} s, {:.0f} % "
                    "of the limit",
                    all, r.cores, r.bound_seconds, r.bound_by, r.wall_seconds,
                    100.0 * r.efficiency));
}

}  // namespace

void RegisterBackup(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("backup", "back up files and directories into a new snapshot");
  static std::vector<std::string> paths, tags, excludes;
  static std::string host, parent, time_text;
  static bool force = false;
  static std::string alert_command;
  c->add_option("PATH", paths, "files and directories to back up")->required();
  c->add_option("--tag", tags, "add a tag (repeatable)");
  c->add_option("--exclude,-e", excludes, "exclude a glob pattern (repeatable)");
  c->add_option("--host", host, "hostname to record (default: this host)");
  c->add_option("--time", time_text,
                "time to record for the snapshot, 'YYYY-MM-DD HH:MM:SS' local time (for display; "
                "retention uses the time the storage records)");
  c->add_option("--parent", parent, "snapshot to compare with (default: latest of host+paths)");
  c->add_flag("--force", force, "read every file, ignoring the parent snapshot");
  c->add_option("--alert-command", alert_command,
                "run this shell command when the backup looks like ransomware; it gets the "
                "verdict as JSON on stdin (env KINTSUGI_ALERT_COMMAND)");
  c->callback([&g] {
    auto r = Open(g, 1, "backup");
    BackupOptions o;
    o.paths = paths;
    o.tags = tags;
    o.excludes = excludes;
    o.hostname = host.empty() ? HostName() : host;
    if (!time_text.empty()) {
      std::tm tm{};
      const char* end = strptime(time_text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
      if (!end || *end) Usage("--time takes 'YYYY-MM-DD HH:MM:SS' (local time)");
      tm.tm_isdst = -1;
      o.time_ns = int64_t(mktime(&tm)) * 1000000000;
    }
    o.force_reread = force;
    o.program_version = KS_VERSION;
    if (!parent.empty()) {
      auto id = r.repo->ResolveSnapshot(parent);
      if (!id) Die(id.error());
      o.parent = *id;
    }
    Progress progress;
    o.progress = &progress;
    o.measure_stages = g.json || g.verbose > 0;  // the only outputs that show them
    o.on_error = [&g](const std::string& path, const Error& e) {
      Warn("warning: " + path + ": " + e.message());
    };
    // Buffers of half a MiB and more are mapped on their own and returned
    // to the system when freed. glibc's default raises this threshold after
    // the first such free, after which the pipeline's buffers are carved
    // from per-thread arenas that keep the freed memory: a backup then holds
    // a third more than the data it has in flight. The pipeline reuses its
    // hot buffers, so the extra mappings cost few page faults here; restore
    // and check allocate per blob and keep the setting main() made.
    mallopt(M_MMAP_THRESHOLD, 512 * 1024);
    // One heap for all threads. Buffers here are allocated on one thread
    // and freed on another (reader to worker, worker to uploader), and
    // glibc's per-thread arenas each kept their own freed holes resident:
    // a first backup of the 2 GiB corpus peaked anywhere from 76 to 86 MiB
    // (five runs), and 75 to 79 MiB with one arena, no slower. Allocations
    // are few and large (the buffers are pooled), so the shared lock is
    // not contended.
    mallopt(M_ARENA_MAX, 1);
    BackupResult res;
    {
      ProgressPrinter printer(g, progress, "backup");
      auto rr = RunBackup(*r.repo, Clock(), o);
      if (!rr) Die(rr.error());
      res = std::move(*rr);
    }
    const auto& m = res.snapshot.summary;
    json verdict_json = res.snapshot.verdict ? VerdictJson(*res.snapshot.verdict) : json();
    if (g.json) {
      Print(json{{"message_type", "summary"},
                 {"snapshot_id", res.snapshot_id.Hex()},
                 {"files_new", m.files_new},
                 {"files_changed", m.files_changed},
                 {"files_unmodified", m.files_unmodified},
                 {"files_failed", m.files_failed},
                 {"dirs", m.dirs},
                 {"bytes_read", m.bytes_read},
                 {"bytes_total", m.bytes_total},
                 {"bytes_added", m.bytes_added},
                 {"blobs_added", m.blobs_added},
                 {"duration_seconds", double(m.duration_ns) / 1e9},
                 {"pipeline", StagesJson(res.stages)},
                 {"verdict", verdict_json}}
                .dump(-1, ' ', false, json::error_handler_t::replace));
    } else if (!g.quiet) {
      double secs = double(m.duration_ns) / 1e9;
      Print(fmt::format("Files: {} new, {} changed, {} unmodified", m.files_new, m.files_changed,
                        m.files_unmodified));
      Print(fmt::format("Read {} in {} ({}), added {} to the repository", HumanBytes(m.bytes_read),
                        HumanDuration(secs), HumanRate(secs > 0 ? double(m.bytes_read) / secs : 0),
                        HumanBytes(m.bytes_added)));
      Print("snapshot " + res.snapshot_id.Short() + " saved");
      if (g.verbose > 0) PrintStages(res.stages);
    }
    ReportHealedReads(g, *r.repo);
    if (res.failed) {
      Warn(fmt::format("warning: {} source entries could not be read (named above); the "
                       "snapshot holds everything else",
                       res.failed));
      g_exit_code = kExitPartial;
    }
    // A suspicious snapshot is still stored (it is evidence); the exit code
    // and the alert make sure cron and monitoring notice.
    if (res.snapshot.verdict && res.snapshot.verdict->suspicious) {
      std::string cmd = alert_command;
      if (cmd.empty())
        if (const char* e = std::getenv("KINTSUGI_ALERT_COMMAND")) cmd = e;
      RaiseAlert(g, *r.repo, res.snapshot_id, res.snapshot, cmd);
      g_exit_code = kExitSuspicious;
    }
  });
}

void RegisterRestore(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("restore", "restore a snapshot into a directory");
  static std::string snap, target;
  static std::vector<std::string> includes;
  static std::string overwrite = "always";
  static bool delete_extra = false;
  c->add_option("SNAPSHOT", snap, "snapshot id, unique prefix, or 'latest'")->required();
  c->add_option("--target,-t", target, "directory to restore into")->required();
  c->add_option("--include,-i", includes, "restore only this path or glob (repeatable)");
  c->add_option("--overwrite", overwrite,
                "existing files: 'always' rewrite them, or 'changed': leave those whose content "
                "already matches (restoring over a damaged share rewrites only the damage)")
      ->check(CLI::IsMember({"always", "changed"}));
  c->add_flag("--delete", delete_extra,
              "remove files the snapshot does not have from the directories restored");
  c->callback([&g] {
    auto r = Open(g, 1);
    auto id = r.repo->ResolveSnapshot(snap);
    if (!id) Die(id.error());
    Progress progress;
    RestoreSpec o;
    o.target = target;
    o.includes = includes;
    o.skip_unchanged = overwrite == "changed";
    o.delete_extra = delete_extra;
    o.progress = &progress;
    o.on_error = [](const std::string& path, const Error& e) {
      Warn("error: " + path + ": " + e.message());
    };
    RestoreResult res;
    auto start = Clock().NowNs();
    {
      ProgressPrinter printer(g, progress, "restore");
      auto rr = RunRestore(*r.repo, *id, o);
      if (!rr) Die(rr.error());
      res = *rr;
    }
    double secs = double(Clock().NowNs() - start) / 1e9;
    if (g.json) {
      Print(json{{"message_type", "summary"}, {"snapshot_id", id->Hex()}, {"files", res.files},
                 {"files_unchanged", res.unchanged}, {"deleted", res.deleted},
                 {"dirs", res.dirs}, {"bytes", res.bytes}, {"errors", res.errors},
                 {"duration_seconds", secs}}
                .dump());
    } else if (!g.quiet) {
      Print(fmt::format("restored snapshot {} to {}: {} files ({} already right), {} dirs, {} "
                        "written in {}{}",
                        id->Short(), target, res.files, res.unchanged, res.dirs,
                        HumanBytes(res.bytes), HumanDuration(secs),
                        res.deleted ? fmt::format(", {} extra entries removed", res.deleted) : ""));
    }
    ReportHealedReads(g, *r.repo);
    if (res.errors) {
      Warn(fmt::format("error: {} entries could not be restored completely (named above)",
                       res.errors));
      g_exit_code = kExitFatal;
    }
  });
}

}  // namespace ks::cli
