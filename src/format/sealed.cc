#include "format/sealed.h"

#include <cstring>

#include "compress/compress.h"

namespace ks {
namespace {

constexpr uint8_t kMagic[4] = {'K', 'S', 'O', '1'};
constexpr size_t kMaxSealedPlain = 256u << 20;

Bytes Aad(std::string_view kind) {
  Bytes aad(kMagic, kMagic + 4);
  Append(aad, AsBytes(kind));
  return aad;
}

}  // namespace

Bytes SealObject(const RepoKeys& keys, std::string_view kind, ByteSpan payload) {
  Bytes out(kMagic, kMagic + 4);
  out.resize(4 + kSaltSize);
  RandomBytes(out.data() + 4, kSaltSize);
  Aead aead(ObjectKey(keys.data, ByteSpan(out.data() + 4, kSaltSize)));
  Bytes body;
  Compression c = MaybeCompress(payload, 3, body);
  Bytes plain;
  plain.reserve(body.size() + 5);
  plain.push_back(uint8_t(c));
  AppendU32(plain, uint32_t(payload.size()));
  Append(plain, body);
  aead.Seal(0, Aad(kind), plain, out);
  return out;
}

Result<Bytes> OpenObject(const RepoKeys& keys, std::string_view kind, ByteSpan sealed) {
  if (sealed.size() < 4 + kSaltSize + kAeadTagSize + 5 || std::memcmp(sealed.data(), kMagic, 4))
    return Fail(ErrorKind::kCorrupt, std::string(kind) + " object has a bad magic or is too short");
  Aead aead(ObjectKey(keys.data, sealed.subspan(4, kSaltSize)));
  Bytes plain;
  if (auto s = aead.Open(0, Aad(kind), sealed.subspan(4 + kSaltSize), plain); !s)
    return Fail(s.error().With(std::string(kind) + " object"));
  uint32_t raw_len = GetU32(plain.data() + 1);
  if (raw_len > kMaxSealedPlain) return Fail(ErrorKind::kCorrupt, "sealed object too large");
  Bytes out;
  KS_TRY(Decompress(Compression(plain[0]), ByteSpan(plain).subspan(5), raw_len, out));
  return out;
}

}  // namespace ks
