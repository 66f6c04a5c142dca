#include "backend/backend.h"

namespace ks {

// Shared by every location's naming (directories, RADOS object names, S3
// keys), so it lives apart from any one of them: the RADOS and S3 modules
// link it without the local backend.
const char* ObjectTypeDir(ObjectType t) {
  switch (t) {
    case ObjectType::kConfig: return "";
    case ObjectType::kKey: return "keys";
    case ObjectType::kSnapshot: return "snapshots";
    case ObjectType::kIndex: return "index";
    case ObjectType::kPack: return "data";
    case ObjectType::kLock: return "locks";
    case ObjectType::kHold: return "holds";
    case ObjectType::kPrune: return "prune";
  }
  return "unknown";
}

}  // namespace ks
