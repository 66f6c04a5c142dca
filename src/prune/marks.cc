#include "prune/marks.h"

#include <nlohmann/json.hpp>

#include "format/sealed.h"

namespace ks {

using json = nlohmann::json;

std::string EncodeMark(const PruneMark& m) {
  json packs = json::array();
  for (const Id& p : m.packs) packs.push_back(p.Hex());
  return json{{"version", 1}, {"time_ns", m.time_ns}, {"host", m.host}, {"packs", packs}}.dump();
}

Result<PruneMark> DecodeMark(ByteSpan text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object() || !j.contains("packs") || !j["packs"].is_array() ||
      !j.value("time_ns", json()).is_number_integer() || j.value("version", 0) != 1)
    return Fail(ErrorKind::kCorrupt, "prune mark is malformed");
  PruneMark m;
  m.time_ns = j["time_ns"].get<int64_t>();
  if (j.contains("host") && j["host"].is_string()) m.host = j["host"].get<std::string>();
  for (const auto& p : j["packs"]) {
    if (!p.is_string()) return Fail(ErrorKind::kCorrupt, "prune mark has a bad pack id");
    auto id = Id::FromHex(p.get<std::string>());
    if (!id) return Fail(ErrorKind::kCorrupt, "prune mark has a bad pack id");
    m.packs.push_back(*id);
  }
  return m;
}

Result<std::string> WriteMark(Repository& repo, const PruneMark& m) {
  Bytes sealed = SealObject(repo.keys(), "prune", AsBytes(EncodeMark(m)));
  std::string name = Sha256(sealed).Hex();
  KS_TRY(repo.backend().Put(ObjectType::kPrune, name, sealed));
  return name;
}

static Result<PruneMark> ReadMark(Repository& repo, const std::string& name) {
  KS_ASSIGN(Bytes sealed, repo.backend().Get(ObjectType::kPrune, name));
  KS_ASSIGN(Bytes plain, OpenObject(repo.keys(), "prune", sealed));
  return DecodeMark(plain);
}

Result<std::vector<StoredMark>> LoadMarks(Repository& repo, std::vector<std::string>* damaged) {
  KS_ASSIGN(auto list, repo.backend().List(ObjectType::kPrune));
  std::vector<StoredMark> out;
  for (const auto& o : list) {
    auto m = ReadMark(repo, o.name);
    if (!m && m.error().kind() == ErrorKind::kNotFound) continue;  // finished meanwhile
    if (!m) {
      if (damaged) damaged->push_back("prune mark " + o.name.substr(0, 8) + ": " + m.error().message());
      continue;
    }
    out.push_back(StoredMark{o.name, std::move(*m), o.mtime_ns});
  }
  return out;
}

Status ExcludeMarkedPacks(Repository& repo) {
  KS_ASSIGN(auto marks, LoadMarks(repo, nullptr));
  auto packs = std::make_shared<PackSet>();
  for (const auto& m : marks) packs->insert(m.mark.packs.begin(), m.mark.packs.end());
  repo.index().SetDedupExclusions(std::move(packs));
  return Ok();
}

}  // namespace ks
