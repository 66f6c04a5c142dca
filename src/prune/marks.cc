#include "prune/marks.h"

#include "format/sealed.h"

namespace ks {

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
