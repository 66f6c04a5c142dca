#include "format/snapshot.h"

#include <nlohmann/json.hpp>

#include "util/clock.h"

namespace ks {

using json = nlohmann::json;

std::string EncodeSnapshot(const Snapshot& s) {
  json j;
  j["version"] = 1;
  j["time"] = FormatTimeUtc(s.time_ns);
  j["tree"] = s.tree.Hex();
  j["paths"] = s.paths;
  j["hostname"] = s.hostname;
  j["username"] = s.username;
  j["uid"] = s.uid;
  j["gid"] = s.gid;
  j["tags"] = s.tags;
  j["excludes"] = s.excludes;
  if (s.parent) j["parent"] = s.parent->Hex();
  j["program_version"] = s.program_version;
  const auto& m = s.summary;
  j["summary"] = {{"files_new", m.files_new},       {"files_changed", m.files_changed},
                  {"files_unmodified", m.files_unmodified}, {"dirs", m.dirs},
                  {"files_failed", m.files_failed}, {"bytes_read", m.bytes_read},
                  {"bytes_total", m.bytes_total},   {"bytes_added", m.bytes_added},
                  {"blobs_added", m.blobs_added},   {"duration_ns", m.duration_ns}};
  // Paths, names and tags may hold bytes that are not UTF-8; replace rather
  // than fail (they are informational; the tree holds the exact names).
  if (s.verdict) {
    json reasons = json::array();
    for (const auto& r : s.verdict->reasons)
      reasons.push_back({{"kind", r.kind}, {"count", r.count}, {"examples", r.examples}});
    j["verdict"] = {{"status", s.verdict->status()}, {"score", s.verdict->score},
                    {"reasons", reasons}};
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Snapshot> DecodeSnapshot(ByteSpan text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  auto bad = [](const std::string& what) {
    return Fail(ErrorKind::kCorrupt, "snapshot is malformed: " + what);
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  Snapshot s;
  try {
    if (!j.at("version").is_number_unsigned()) return bad("version");
    if (j["version"].get<uint64_t>() != 1)
      return Fail(ErrorKind::kUnsupported, "snapshot format is newer than this program");
    if (!ParseTimeUtc(j.at("time").get<std::string>(), s.time_ns)) return bad("time");
    auto tree = Id::FromHex(j.at("tree").get<std::string>());
    if (!tree) return bad("tree id");
    s.tree = *tree;
    s.paths = j.at("paths").get<std::vector<std::string>>();
    s.hostname = j.at("hostname").get<std::string>();
    s.username = j.value("username", "");
    for (const char* f : {"uid", "gid"})
      if (j.contains(f) && (!j[f].is_number_unsigned() || j[f].get<uint64_t>() > UINT32_MAX))
        return bad(f);
    s.uid = j.value("uid", 0u);
    s.gid = j.value("gid", 0u);
    s.tags = j.value("tags", std::vector<std::string>{});
    s.excludes = j.value("excludes", std::vector<std::string>{});
    if (j.contains("parent")) {
      auto p = Id::FromHex(j["parent"].get<std::string>());
      if (!p) return bad("parent id");
      s.parent = *p;
    }
    s.program_version = j.value("program_version", "");
    if (j.contains("summary")) {
      const json& m = j["summary"];
      auto& o = s.summary;
      o.files_new = m.value("files_new", 0ull);
      o.files_changed = m.value("files_changed", 0ull);
      o.files_unmodified = m.value("files_unmodified", 0ull);
      o.dirs = m.value("dirs", 0ull);
      o.files_failed = m.value("files_failed", 0ull);
      o.bytes_read = m.value("bytes_read", 0ull);
      o.bytes_total = m.value("bytes_total", 0ull);
      o.bytes_added = m.value("bytes_added", 0ull);
      o.blobs_added = m.value("blobs_added", 0ull);
      o.duration_ns = m.value("duration_ns", int64_t{0});
    }
    if (j.contains("verdict")) {
      const json& v = j["verdict"];
      Verdict verdict;
      // A status from a newer version is not an error; only "suspicious"
      // raises the alarm here.
      verdict.suspicious = v.at("status").get<std::string>() == "suspicious";
      verdict.score = v.value("score", 0.0);
      for (const auto& r : v.value("reasons", json::array()))
        verdict.reasons.push_back(VerdictReason{r.at("kind").get<std::string>(),
                                                r.at("count").get<uint64_t>(),
                                                r.value("examples", std::vector<std::string>{})});
      s.verdict = std::move(verdict);
    }
  } catch (const json::exception& e) {
    return bad(e.what());
  }
  return s;
}

}  // namespace ks
