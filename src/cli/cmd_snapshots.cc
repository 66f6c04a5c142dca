// snapshots, ls, diff: reading what the repository holds.
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "util/human.h"

namespace ks::cli {
namespace {

using json = nlohmann::json;

json SnapshotJson(const Id& id, const Snapshot& s, const std::map<Id, HoldState>& holds) {
  json j = {{"id", id.Hex()},          {"short_id", id.Short()},
            {"time", FormatTimeUtc(s.time_ns)}, {"tree", s.tree.Hex()},
            {"paths", s.paths},        {"hostname", s.hostname},
            {"username", s.username},  {"tags", s.tags}};
  if (s.parent) j["parent"] = s.parent->Hex();
  j["verdict"] = s.verdict ? VerdictJson(*s.verdict) : json();
  auto h = holds.find(id);
  j["hold"] = h != holds.end() && h->second.held
                  ? json{{"reason", h->second.reason}, {"time", FormatTimeUtc(h->second.time_ns)}}
                  : json();
  j["summary"] = {{"files_new", s.summary.files_new},
                  {"files_changed", s.summary.files_changed},
                  {"files_unmodified", s.summary.files_unmodified},
                  {"bytes_total", s.summary.bytes_total},
                  {"bytes_added", s.summary.bytes_added}};
  return j;
}

std::string ModeString(const Node& n) {
  static const char kTypes[] = "?-dlcbps";
  std::string s(1, kTypes[int(n.type)]);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; i++) s += (n.mode & (0400 >> i)) ? rwx[i] : '-';
  return s;
}

json NodeJson(const Node& n, const std::string& path) {
  json j = {{"path", path}, {"name", n.name}, {"type", NodeTypeName(n.type)},
            {"mode", n.mode}, {"uid", n.uid}, {"gid", n.gid}, {"user", n.user},
            {"group", n.group}, {"size", n.size}, {"mtime", FormatTimeUtc(n.mtime_ns)}};
  if (n.type == NodeType::kSymlink) j["link_target"] = n.link_target;
  return j;
}

// Walks a tree depth first, calling fn(path, node) for each entry below
// `prefix` (a snapshot path such as "/data/pacs"; "" for everything).
void Walk(Repository& repo, const Id& tree, const std::string& path, const std::string& prefix,
          const std::function<void(const std::string&, const Node&)>& fn) {
  auto nodes = repo.LoadTree(tree);
  if (!nodes) Die(nodes.error());
  for (const Node& n : *nodes) {
    std::string p = path + "/" + n.name;
    bool inside = prefix.empty() || p == prefix || p.rfind(prefix + "/", 0) == 0;
    bool above = !inside && prefix.rfind(p + "/", 0) == 0;
    if (!inside && !above) continue;
    if (inside) fn(p, n);
    if (n.type == NodeType::kDir) Walk(repo, n.subtree, p, prefix, fn);
  }
}

Snapshot LoadOrDie(Repository& repo, const std::string& ref, Id* id_out = nullptr) {
  auto id = repo.ResolveSnapshot(ref);
  if (!id) Die(id.error());
  auto s = repo.LoadSnapshot(*id);
  if (!s) Die(s.error());
  if (id_out) *id_out = *id;
  return *s;
}

// diff: entries of two trees side by side.
void Diff(Repository& repo, const std::optional<Id>& a, const std::optional<Id>& b,
          const std::string& path, json& out, std::map<char, uint64_t>& counts, bool as_json) {
  std::vector<Node> na, nb;
  if (a) {
    auto t = repo.LoadTree(*a);
    if (!t) Die(t.error());
    na = std::move(*t);
  }
  if (b) {
    auto t = repo.LoadTree(*b);
    if (!t) Die(t.error());
    nb = std::move(*t);
  }
  auto emit = [&](char mod, const std::string& p, const Node& n) {
    counts[mod]++;
    std::string shown = p + (n.type == NodeType::kDir ? "/" : "");
    if (as_json) out.push_back({{"path", shown}, {"modifier", std::string(1, mod)}});
    else Print(std::string(1, mod) + "    " + shown);
  };
  auto all = [&](char mod, const std::string& p, const Node& n, auto& self) -> void {
    emit(mod, p, n);
    if (n.type == NodeType::kDir) {
      auto t = repo.LoadTree(n.subtree);
      if (!t) Die(t.error());
      for (const Node& c : *t) self(mod, p + "/" + c.name, c, self);
    }
  };
  size_t i = 0, j = 0;
  while (i < na.size() || j < nb.size()) {
    if (j >= nb.size() || (i < na.size() && na[i].name < nb[j].name)) {
      all('-', path + "/" + na[i].name, na[i], all);
      i++;
    } else if (i >= na.size() || nb[j].name < na[i].name) {
      all('+', path + "/" + nb[j].name, nb[j], all);
      j++;
    } else {
      const Node &x = na[i], &y = nb[j];
      std::string p = path + "/" + x.name;
      if (x.type != y.type) {
        emit('T', p, y);
      } else if (x.type == NodeType::kDir) {
        if (x.subtree != y.subtree) Diff(repo, x.subtree, y.subtree, p, out, counts, as_json);
      } else if (x.content != y.content || x.link_target != y.link_target || x.size != y.size) {
        emit('M', p, y);
      } else if (x.mode != y.mode || x.uid != y.uid || x.gid != y.gid ||
                 x.mtime_ns != y.mtime_ns || x.xattrs != y.xattrs) {
        emit('U', p, y);
      }
      i++;
      j++;
    }
  }
}

}  // namespace

void RegisterSnapshots(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("snapshots", "list snapshots");
  static std::string host;
  static std::vector<std::string> tags;
  c->add_option("--host", host, "only snapshots of this host");
  c->add_option("--tag", tags, "only snapshots with this tag");
  c->callback([&g] {
    auto r = Open(g, 1);
    std::vector<std::string> damaged;
    auto snaps = r.repo->ListSnapshots(&damaged);
    if (!snaps) Die(snaps.error());
    for (const auto& d : damaged) Warn("warning: skipped damaged snapshot: " + d);
    auto holds = r.repo->Holds();
    if (!holds) Die(holds.error());
    auto keep = [&](const Snapshot& s) {
      if (!host.empty() && s.hostname != host) return false;
      for (const auto& t : tags)
        if (std::find(s.tags.begin(), s.tags.end(), t) == s.tags.end()) return false;
      return true;
    };
    if (g.json) {
      json arr = json::array();
      for (const auto& [id, s] : *snaps)
        if (keep(s)) arr.push_back(SnapshotJson(id, s, *holds));
      Print(arr.dump(-1, ' ', false, json::error_handler_t::replace));
      return;
    }
    Print(fmt::format("{:<9} {:<19} {:<16} {:<16} {:>10}  {:<10}  {}", "ID", "Time", "Host",
                      "Tags", "Size", "Verdict", "Paths"));
    size_t n = 0;
    for (const auto& [id, s] : *snaps) {
      if (!keep(s)) continue;
      n++;
      std::string tagstr;
      for (const auto& t : s.tags) tagstr += (tagstr.empty() ? "" : ",") + t;
      std::string pathstr;
      for (const auto& p : s.paths) pathstr += (pathstr.empty() ? "" : " ") + p;
      Print(fmt::format("{:<9} {:<19} {:<16} {:<16} {:>10}  {:<10}  {}", id.Short(),
                        FormatTimeLocal(s.time_ns), s.hostname, tagstr,
                        HumanBytes(s.summary.bytes_total),
                        s.verdict ? s.verdict->status() : "-", pathstr));
      if (auto h = holds->find(id); h != holds->end() && h->second.held)
        Print("          held: " + h->second.reason);
    }
    Print(fmt::format("{} snapshots", n));
  });

  auto* ls = app.add_subcommand("ls", "list files in a snapshot");
  static std::string ls_snap, ls_path;
  static bool ls_long = false;
  ls->add_option("SNAPSHOT", ls_snap, "snapshot id, prefix or 'latest'")->required();
  ls->add_option("PATH", ls_path, "only entries at or below this path");
  ls->add_flag("-l,--long", ls_long, "show mode, owner, size and time");
  ls->callback([&g] {
    auto r = Open(g, 1);
    Id id;
    Snapshot s = LoadOrDie(*r.repo, ls_snap, &id);
    std::string prefix = ls_path;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    if (prefix == "/") prefix.clear();
    if (g.json)
      Print(json{{"message_type", "snapshot"}, {"snapshot", SnapshotJson(id, s, {})}}
                .dump(-1, ' ', false, json::error_handler_t::replace));
    Walk(*r.repo, s.tree, "", prefix, [&](const std::string& p, const Node& n) {
      if (g.json) {
        json j = NodeJson(n, p);
        j["message_type"] = "node";
        Print(j.dump(-1, ' ', false, json::error_handler_t::replace));
      } else if (ls_long) {
        Print(fmt::format("{} {:>8} {:>8} {:>12} {} {}", ModeString(n),
                          n.user.empty() ? std::to_string(n.uid) : n.user,
                          n.group.empty() ? std::to_string(n.gid) : n.group, n.size,
                          FormatTimeLocal(n.mtime_ns),
                          p + (n.type == NodeType::kSymlink ? " -> " + n.link_target : "")));
      } else {
        Print(p);
      }
    });
  });

  auto* diff = app.add_subcommand("diff", "show what changed between two snapshots");
  static std::string d1, d2;
  diff->add_option("SNAPSHOT1", d1)->required();
  diff->add_option("SNAPSHOT2", d2)->required();
  diff->callback([&g] {
    auto r = Open(g, 1);
    Snapshot a = LoadOrDie(*r.repo, d1), b = LoadOrDie(*r.repo, d2);
    json out = json::array();
    std::map<char, uint64_t> counts;
    Diff(*r.repo, a.tree, b.tree, "", out, counts, g.json);
    if (g.json) {
      Print(json{{"changes", out},
                 {"added", counts['+']},
                 {"removed", counts['-']},
                 {"modified", counts['M']},
                 {"metadata_changed", counts['U']},
                 {"type_changed", counts['T']}}
                .dump(-1, ' ', false, json::error_handler_t::replace));
    } else if (!g.quiet) {
      Print(fmt::format("\n{} added, {} removed, {} modified, {} metadata only, {} changed type",
                        counts['+'], counts['-'], counts['M'], counts['U'], counts['T']));
    }
  });
}

}  // namespace ks::cli
