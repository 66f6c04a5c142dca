// init and key: creating a repository and managing its passphrases.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "backend/backend.h"
#include "backend/sharded_backend.h"
#include "cli/commands.h"

namespace ks::cli {
namespace {

struct KdfOpts {
  uint64_t mem_mib = 64;
  uint64_t iterations = 3;
  KdfParams Params() const { return KdfParams{iterations, mem_mib << 20}; }
};

void AddKdfOptions(CLI::App* c, KdfOpts& k) {
  c->add_option("--kdf-memory-mib", k.mem_mib, "Argon2id memory in MiB (default 64)")
      ->check(CLI::Range(8, 16384));
  c->add_option("--kdf-iterations", k.iterations, "Argon2id passes (default 3)")
      ->check(CLI::Range(1, 100));
}

KeyFileInfo Info() { return KeyFileInfo{HostName(), UserName(), FormatTimeUtc(Clock().NowNs())}; }

}  // namespace

void RegisterInit(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("init", "create a new repository");
  static KdfOpts kdf;
  static int compression = RepoConfig{}.compression_level;
  static uint32_t pack_mib = 16;
  AddKdfOptions(c, kdf);
  c->add_option("--compression", compression, "zstd level, 0 = off (default 1)")
      ->check(CLI::Range(0, 19));
  c->add_option("--pack-size-mib", pack_mib, "target pack size in MiB (default 16)")
      ->check(CLI::Range(1, 128));
  static int data_shards = 0, parity_shards = -1;
  c->add_option("--data-shards", data_shards,
                "Reed-Solomon data shards per object (default 8 on one location)")
      ->check(CLI::Range(1, 31));
  c->add_option("--parity-shards", parity_shards,
                "Reed-Solomon parity shards per object (default 2 on one location)")
      ->check(CLI::Range(0, 16));
  static uint32_t object_lock_days = 0;
  c->add_option("--object-lock-days", object_lock_days,
                "S3 only: keep every object undeletable for this many days (Object Lock, "
                "compliance mode; the bucket is created with Object Lock enabled)")
      ->check(CLI::Range(1, 36500));
  c->callback([&g] {
    if (g.repo.empty()) Usage("no repository given: use -r/--repo or KINTSUGI_REPOSITORY");
    size_t locations = size_t(std::count(g.repo.begin(), g.repo.end(), ',')) + 1;
    Geometry geo = DefaultGeometry(locations);
    if (data_shards > 0) geo.k = data_shards;
    if (parity_shards >= 0) geo.m = parity_shards;
    if (geo.k + geo.m > kMaxShards) Usage("--data-shards plus --parity-shards must be at most 32");
    auto backend = OpenBackend(g.repo, geo);
    if (!backend) Die(backend.error());
    std::string pass = ReadPassphrase(g, true, "enter password for new repository");
    RepoConfig cfg;
    cfg.compression_level = compression;
    cfg.pack_size = pack_mib << 20;
    cfg.created = FormatTimeUtc(Clock().NowNs());
    cfg.object_lock_days = object_lock_days;
    if (auto s = Repository::Init(**backend, pass, kdf.Params(), cfg, Info()); !s) Die(s.error());
    if (g.json) {
      Print(nlohmann::json{{"message_type", "initialized"}, {"repository", g.repo}}.dump());
    } else if (!g.quiet) {
      Print(fmt::format("created kintsugi repository at {} ({} data + {} parity shards per object, "
                        "{:.0f}% overhead; survives {} lost or damaged shards per object)",
                        g.repo, geo.k, geo.m, 100.0 * geo.m / geo.k, geo.m));
      if (object_lock_days)
        Print(fmt::format("Object Lock: every object is retained for {} days (compliance mode); "
                          "nothing can delete it before then, not even with these credentials.",
                          object_lock_days));
      Print("Keep the password safe: without it the data cannot be read by anyone.");
    }
  });
}

void RegisterKey(CLI::App& app, Globals& g) {
  auto* key = app.add_subcommand("key", "manage the passphrases of a repository");
  key->require_subcommand(1);
  static KdfOpts kdf;
  static std::string new_password_file;

  auto* list = key->add_subcommand("list", "list key files");
  list->callback([&g] {
    auto r = Open(g, 1);
    auto keys = r.repo->ListKeys();
    if (!keys) Die(keys.error());
    if (g.json) {
      auto arr = nlohmann::json::array();
      for (const auto& k : *keys)
        arr.push_back({{"id", k.name}, {"current", k.current}, {"hostname", k.info.host},
                       {"username", k.info.user}, {"created", k.info.created}});
      Print(arr.dump());
      return;
    }
    Print(" ID        User        Host                 Created");
    for (const auto& k : *keys)
      Print(fmt::format("{}{:<9} {:<11} {:<20} {}", k.current ? "*" : " ", k.name.substr(0, 8),
                        k.info.user, k.info.host, k.info.created));
  });

  auto* add = key->add_subcommand("add", "add a passphrase");
  AddKdfOptions(add, kdf);
  add->add_option("--new-password-file", new_password_file, "file with the new passphrase");
  add->callback([&g] {
    auto r = Open(g, 1);
    std::string np = ReadNewPassphrase(new_password_file);
    auto name = r.repo->AddKey(np, kdf.Params(), Info());
    if (!name) Die(name.error());
    if (g.json) Print(nlohmann::json{{"message_type", "key_added"}, {"id", *name}}.dump());
    else if (!g.quiet) Print("saved new key as " + name->substr(0, 8));
  });

  static std::string remove_id;
  auto* rm = key->add_subcommand("remove", "remove a passphrase (never the last one)");
  rm->add_option("ID", remove_id, "key id or unique prefix (8+ hex digits)")->required();
  rm->callback([&g] {
    auto r = Open(g, 2);
    if (auto s = r.repo->RemoveKey(remove_id); !s) Die(s.error());
    if (!g.quiet && !g.json) Print("removed key " + remove_id);
  });

  auto* passwd = key->add_subcommand("passwd", "change the passphrase in use");
  AddKdfOptions(passwd, kdf);
  passwd->add_option("--new-password-file", new_password_file, "file with the new passphrase");
  passwd->callback([&g] {
    auto r = Open(g, 2);
    std::string np = ReadNewPassphrase(new_password_file);
    auto name = r.repo->AddKey(np, kdf.Params(), Info());
    if (!name) Die(name.error());
    // The new key is stored before the old one goes: a crash in between
    // leaves two working keys, never none.
    if (auto s = r.repo->RemoveKey(r.repo->current_key(), /*allow_current=*/true); !s)
      Die(s.error());
    if (!g.quiet && !g.json) Print("password changed; new key " + name->substr(0, 8));
  });
}

void RegisterUnlock(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("unlock", "remove stale locks left by killed processes");
  static bool all = false;
  c->add_flag("--remove-all", all, "remove every lock, even live ones (no other kintsugi may run)");
  c->callback([&g] {
    auto r = Open(g, 0);
    auto removed = RemoveStaleLocks(r.repo->backend(), r.repo->keys(), Clock(), all);
    if (!removed) Die(removed.error());
    if (!g.quiet && !g.json) Print("removed " + std::to_string(*removed) + " locks");
  });
}

}  // namespace ks::cli
