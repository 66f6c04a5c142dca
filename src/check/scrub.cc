#include "check/scrub.h"

#include <chrono>
#include <thread>

namespace ks {

Result<ScrubReport> RunScrub(Backend& backend, const ScrubOptions& o) {
  ScrubReport rep;
  // A replaced disk arrives empty: give it the directory layout first.
  if (o.repair) KS_TRY(backend.Create());
  const ObjectType kTypes[] = {ObjectType::kConfig, ObjectType::kKey, ObjectType::kSnapshot,
                               ObjectType::kHold,   ObjectType::kPrune, ObjectType::kIndex, ObjectType::kPack};
  std::vector<std::pair<ObjectType, ObjectInfo>> all;
  for (ObjectType t : kTypes) {
    KS_ASSIGN(auto list, backend.List(t));
    for (auto& obj : list) {
      if (o.progress) o.progress->bytes_total += obj.size;
      all.emplace_back(t, std::move(obj));
    }
  }
  if (o.progress) {
    o.progress->files_total = all.size();
    o.progress->total_final = true;
  }
  auto start = std::chrono::steady_clock::now();
  double injected_sleep = 0;  // an injected sleep does not move the real clock
  for (const auto& [t, obj] : all) {
    std::string what = std::string(t == ObjectType::kConfig ? "config" : ObjectTypeDir(t)) + " " +
                       obj.name.substr(0, 8);
    KS_ASSIGN(ObjectHealth h, backend.Verify(t, obj.name));
    rep.objects++;
    rep.bytes += obj.size;
    if (o.progress) {
      o.progress->files_done++;
      o.progress->bytes_done += obj.size;
    }
    if (h.incomplete && t != ObjectType::kConfig && t != ObjectType::kKey) {
      rep.leftovers.push_back(what + ": " + h.detail);
    } else if (!h.intact) {
      rep.damaged.push_back(what + ": " + h.detail);
      if (!h.recoverable) {
        rep.unrecoverable.push_back(what + ": " + h.detail);
      } else if (o.repair) {
        auto s = backend.Repair(t, obj.name);
        auto after = s ? backend.Verify(t, obj.name) : Result<ObjectHealth>(ObjectHealth{false, false, s.error().message()});
        if (after && after->intact) rep.repaired.push_back(what);
        else rep.unrecoverable.push_back(what + ": repair failed: " + (after ? after->detail : after.error().message()));
      }
    }
    // Rate limit: stay under the configured average, so a scrub can run
    // during the working day.
    if (o.max_bytes_per_second > 0) {
      double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() +
          injected_sleep;
      double due = double(rep.bytes) / o.max_bytes_per_second;
      if (due > elapsed) {
        if (o.sleep) {
          o.sleep(due - elapsed);
          injected_sleep += due - elapsed;
        } else {
          std::this_thread::sleep_for(std::chrono::duration<double>(due - elapsed));
        }
      }
    }
  }
  return rep;
}

}  // namespace ks
