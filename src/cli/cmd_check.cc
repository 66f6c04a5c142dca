// check and stats.
#include <nlohmann/json.hpp>

#include <unordered_set>

#include "check/checker.h"
#include "check/scrub.h"
#include "cli/commands.h"
#include "util/human.h"

namespace ks::cli {

using json = nlohmann::json;

void RegisterCheck(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("check", "verify the repository's structure (and data)");
  static bool read_data = false;
  static std::string subset;
  static bool verify_ids = false;
  c->add_flag("--read-data", read_data, "read and verify every stored byte");
  c->add_flag("--verify-ids", verify_ids,
              "with --read-data: also re-hash every blob's plaintext against its id (catches a "
              "faulty writer, not only damage; half as much CPU again)");
  c->add_option("--read-data-subset", subset, "read only a subset: N/T or P%");
  c->callback([&g] {
    g.damaged_exit = kExitDamaged;
    auto r = Open(g, 1);
    CheckOptions o;
    o.read_data = read_data || !subset.empty();
    o.verify_ids = verify_ids;
    if (verify_ids && !o.read_data) Usage("--verify-ids needs --read-data or --read-data-subset");
    if (!subset.empty()) {
      unsigned n = 0, t = 0;
      double pct = 0;
      if (std::sscanf(subset.c_str(), "%u/%u", &n, &t) == 2 && t > 0 && n >= 1 && n <= t) {
        o.subset_n = n;
        o.subset_t = t;
      } else if (subset.back() == '%' && std::sscanf(subset.c_str(), "%lf", &pct) == 1 &&
                 pct > 0 && pct <= 100) {
        o.subset_fraction = pct / 100;
      } else {
        Usage("--read-data-subset takes N/T (e.g. 1/10) or a percentage (e.g. 10%)");
      }
    }
    Progress progress;
    o.progress = &progress;
    CheckReport rep;
    {
      ProgressPrinter printer(g, progress, "check");
      auto rr = RunCheck(*r.repo, o);
      if (!rr) Die(rr.error());
      rep = std::move(*rr);
    }
    if (g.json) {
      json probs = json::array(), files = json::array();
      for (const auto& p : rep.problems) probs.push_back({{"object", p.object}, {"message", p.message}});
      json rep_arr = json::array();
      for (const auto& p : rep.repairable) rep_arr.push_back({{"object", p.object}, {"message", p.message}});
      json left = json::array();
      for (const auto& p : rep.leftovers) left.push_back({{"object", p.object}, {"message", p.message}});
      for (const auto& f : rep.affected_files) files.push_back(f);
      json hidden = json::array();
      for (const auto& p : rep.hidden) hidden.push_back({{"object", p.object}, {"message", p.message}});
      Print(json{{"message_type", "check_summary"}, {"ok", rep.ok()}, {"snapshots", rep.snapshots},
                 {"trees", rep.trees}, {"packs", rep.packs}, {"packs_read", rep.packs_read},
                 {"bytes_read", rep.bytes_read}, {"problems", probs}, {"repairable", rep_arr}, {"leftovers", left},
                 {"hidden", hidden}, {"affected_files", files}}
                .dump(-1, ' ', false, json::error_handler_t::replace));
    } else {
      for (const auto& p : rep.leftovers)
        Warn("note: unreferenced leftover of an interrupted write (harmless): " + p.object + ": " + p.message);
      for (const auto& p : rep.hidden) Warn("hidden: " + p.object + ": " + p.message);
      for (const auto& p : rep.repairable) Warn("repairable: " + p.object + ": " + p.message);
      for (const auto& p : rep.problems) Warn("damaged: " + p.object + ": " + p.message);
      for (const auto& f : rep.affected_files) Warn("affected: " + f);
      if (!g.quiet)
        Print(fmt::format("checked {} snapshots, {} trees, {} packs{}", rep.snapshots, rep.trees,
                          rep.packs,
                          o.read_data ? fmt::format(" ({} read, {})", rep.packs_read,
                                                    HumanBytes(rep.bytes_read))
                                      : ""));
      if (rep.ok() && !g.quiet) Print("no errors were found");
    }
    if (!rep.problems.empty()) {
      Warn(fmt::format("{} problems beyond repair; {} files in snapshots are affected. Restore "
                       "what is affected from another copy, or back it up again.",
                       rep.problems.size(), rep.affected_files.size()));
      g_exit_code = kExitDamaged;
    } else if (!rep.repairable.empty()) {
      Warn(fmt::format("{} objects are damaged within the parity budget: reads still return "
                       "correct data. Run 'kintsugi scrub --repair' to restore full redundancy.",
                       rep.repairable.size()));
      g_exit_code = kExitRepairable;
    }
    if (!rep.hidden.empty())
      Warn(fmt::format("{} objects were deleted by someone but are kept by Object Lock and still "
                       "read: find out who holds the storage credentials.",
                       rep.hidden.size()));
    ReportHealedReads(g, *r.repo);
  });
}

void RegisterScrub(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("scrub", "read and verify every shard; with --repair, rebuild damage");
  static bool repair = false;
  static double rate_mib = 0;
  c->add_flag("--repair", repair, "rewrite damaged or missing shards from parity");
  c->add_option("--rate-limit", rate_mib, "read at most this many MiB/s (default: no limit)")
      ->check(CLI::PositiveNumber);
  c->callback([&g] {
    g.damaged_exit = kExitDamaged;
    auto r = Open(g, 1);
    Progress progress;
    ScrubOptions o;
    o.repair = repair;
    o.max_bytes_per_second = rate_mib * 1024 * 1024;
    o.progress = &progress;
    ScrubReport rep;
    {
      ProgressPrinter printer(g, progress, repair ? "scrub --repair" : "scrub");
      auto rr = RunScrub(r.repo->backend(), o);
      if (!rr) Die(rr.error());
      rep = std::move(*rr);
    }
    if (g.json) {
      Print(json{{"message_type", "scrub_summary"}, {"objects", rep.objects}, {"bytes", rep.bytes},
                 {"damaged", rep.damaged}, {"repaired", rep.repaired},
                 {"unrecoverable", rep.unrecoverable}, {"leftovers", rep.leftovers}}
                .dump(-1, ' ', false, json::error_handler_t::replace));
    } else {
      for (const auto& d : rep.leftovers) Warn("note: leftover of an interrupted write (harmless): " + d);
      for (const auto& d : rep.damaged) Warn("damaged: " + d);
      for (const auto& d : rep.repaired) Warn("repaired: " + d);
      for (const auto& d : rep.unrecoverable) Warn("NOT recoverable: " + d);
      if (!g.quiet)
        Print(fmt::format("scrubbed {} objects ({}): {} damaged, {} repaired, {} unrecoverable",
                          rep.objects, HumanBytes(rep.bytes), rep.damaged.size(),
                          rep.repaired.size(), rep.unrecoverable.size()));
    }
    if (!rep.unrecoverable.empty()) {
      Warn("some data cannot be recovered; run 'kintsugi check --read-data' to list the files affected");
      g_exit_code = kExitDamaged;
    } else if (!repair && !rep.damaged.empty()) {
      g_exit_code = kExitRepairable;
    }
  });
}

void RegisterStats(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("stats", "show how much is stored and how much dedup saved");
  c->callback([&g] {
    auto r = Open(g, 1);
    auto snaps = r.repo->ListSnapshots();
    if (!snaps) Die(snaps.error());
    uint64_t restore_size = 0, files = 0;
    for (const auto& [id, s] : *snaps) {
      restore_size += s.summary.bytes_total;
      files += s.summary.files_new + s.summary.files_changed + s.summary.files_unmodified;
    }
    uint64_t blobs = 0, raw = 0, stored = 0, trees = 0;
    auto st = r.repo->index().ForEach([&](const IndexEntry& e) -> Status {
      blobs++;
      raw += e.blob.raw_length;
      stored += e.blob.length;
      if (e.blob.type == BlobType::kTree) trees++;
      return Ok();
    });
    if (!st) Die(st.error());
    auto packs = r.repo->backend().List(ObjectType::kPack);
    if (!packs) Die(packs.error());
    uint64_t pack_bytes = 0;
    for (const auto& p : *packs) pack_bytes += p.size;
    double dedup = raw ? double(restore_size) / double(raw) : 0;
    double comp = stored ? double(raw) / double(stored) : 0;
    if (g.json) {
      Print(json{{"snapshots", snaps->size()}, {"files_total", files},
                 {"restore_size", restore_size}, {"blobs", blobs}, {"tree_blobs", trees},
                 {"raw_data_size", raw}, {"stored_data_size", stored},
                 {"pack_files", packs->size()}, {"pack_bytes", pack_bytes},
                 {"dedup_ratio", dedup}, {"compression_ratio", comp},
                 {"index_tables", r.repo->index().table_count()}}
                .dump());
      return;
    }
    Print(fmt::format("Snapshots:            {}", snaps->size()));
    Print(fmt::format("Files in snapshots:   {}", files));
    Print(fmt::format("Size of all snapshots: {}", HumanBytes(restore_size)));
    Print(fmt::format("Unique blobs:         {} ({} trees)", blobs, trees));
    Print(fmt::format("Unique data:          {}", HumanBytes(raw)));
    Print(fmt::format("Stored (compressed):  {} in {} packs", HumanBytes(pack_bytes), packs->size()));
    Print(fmt::format("Dedup ratio:          {:.2f}x", dedup));
    Print(fmt::format("Compression ratio:    {:.2f}x", comp));
  });
}

}  // namespace ks::cli
