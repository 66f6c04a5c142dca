#include "crypto/master_key.h"

#include <string>

namespace ks {

MasterKey MasterKey::Generate() {
  MasterKey mk;
  RandomBytes(mk.secret.data(), mk.secret.size());
  return mk;
}

static Key32 Expand(const MasterKey& mk, const std::string& label) {
  Bytes info(label.begin(), label.end());
  info.push_back(0x01);
  return HmacSha256(mk.secret, info);
}

RepoKeys RepoKeys::Derive(const MasterKey& mk) {
  return RepoKeys{
      .data = Expand(mk, "kintsugi data v1"),
      .blob_id = Expand(mk, "kintsugi blob id v1"),
      .chunker = Expand(mk, "kintsugi chunker v1"),
  };
}

}  // namespace ks
