#include "format/prune_mark.h"

#include <nlohmann/json.hpp>

namespace ks {

using json = nlohmann::json;

std::string EncodeMark(const PruneMark& m) {
  json packs = json::array();
  for (const Id& p : m.packs) packs.push_back(p.Hex());
  return json{{"version", 1}, {"time_ns", m.time_ns}, {"host", m.host}, {"packs", packs}}.dump();
}

Result<PruneMark> DecodeMark(ByteSpan text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  // Every field is type-checked before use: nothing here may throw.
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer() ||
      !j.contains("time_ns") || !j["time_ns"].is_number_integer() || !j.contains("packs") ||
      !j["packs"].is_array())
    return Fail(ErrorKind::kCorrupt, "prune mark is malformed");
  if (j["version"].get<int64_t>() != 1)
    return Fail(ErrorKind::kUnsupported, "prune mark of an unknown version: upgrade kintsugi");
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

}  // namespace ks
