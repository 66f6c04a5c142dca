#include "crypto/key_file.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

namespace ks {
namespace {

using json = nlohmann::json;

constexpr const char* kKdfName = "argon2id13";
constexpr const char* kAeadName = "xchacha20poly1305-ietf";

// The associated data: every field except the ciphertext, in a fixed order.
std::string AssociatedData(const json& j) {
  return "kintsugi key v1\n" + j.at("kdf").get<std::string>() + "\n" +
         std::to_string(j.at("ops").get<uint64_t>()) + "\n" +
         std::to_string(j.at("mem").get<uint64_t>()) + "\n" + j.at("salt").get<std::string>() +
         "\n" + j.at("aead").get<std::string>() + "\n" + j.at("nonce").get<std::string>() +
         "\n" + j.at("host").get<std::string>() + "\n" + j.at("user").get<std::string>() + "\n" +
         j.at("created").get<std::string>();
}

Result<std::array<uint8_t, 32>> Stretch(const std::string& passphrase, ByteSpan salt,
                                        uint64_t ops, uint64_t mem) {
  std::array<uint8_t, 32> key{};
  if (salt.size() != crypto_pwhash_SALTBYTES)
    return Fail(ErrorKind::kCorrupt, "key file salt has the wrong length");
  if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
      mem < crypto_pwhash_MEMLIMIT_MIN || mem > (uint64_t{16} << 30))
    return Fail(ErrorKind::kCorrupt, "key file has implausible KDF parameters");
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt.data(),
                    ops, size_t(mem), crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Fail(ErrorKind::kIo, "not enough memory for the key derivation (Argon2id)");
  return key;
}

}  // namespace

Result<std::string> SealKeyFile(const MasterKey& mk, const std::string& passphrase,
                                const KdfParams& kdf, const KeyFileInfo& info) {
  if (sodium_init() < 0) return Fail(ErrorKind::kInternal, "libsodium failed to initialise");
  std::array<uint8_t, crypto_pwhash_SALTBYTES> salt;
  std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce;
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  json j;
  j["version"] = 1;
  j["kdf"] = kKdfName;
  j["ops"] = kdf.ops;
  j["mem"] = kdf.mem_bytes;
  j["salt"] = Base64Encode(salt);
  j["aead"] = kAeadName;
  j["nonce"] = Base64Encode(nonce);
  j["host"] = info.host;
  j["user"] = info.user;
  j["created"] = info.created;
  KS_ASSIGN(auto key, Stretch(passphrase, salt, kdf.ops, kdf.mem_bytes));
  std::string ad = AssociatedData(j);
  Bytes ct(mk.secret.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long ct_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      ct.data(), &ct_len, mk.secret.data(), mk.secret.size(),
      reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nullptr, nonce.data(), key.data());
  sodium_memzero(key.data(), key.size());
  j["data"] = Base64Encode(ct);
  return j.dump(2) + "\n";
}

static Result<json> ParseKeyJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Fail(ErrorKind::kCorrupt, "key file is not valid JSON");
  for (const char* f : {"kdf", "salt", "aead", "nonce", "host", "user", "created", "data"})
    if (!j.contains(f) || !j[f].is_string())
      return Fail(ErrorKind::kCorrupt, std::string("key file lacks field '") + f + "'");
  for (const char* f : {"ops", "mem", "version"})
    if (!j.contains(f) || !j[f].is_number_unsigned())
      return Fail(ErrorKind::kCorrupt, std::string("key file lacks field '") + f + "'");
  if (j["version"].get<uint64_t>() != 1)
    return Fail(ErrorKind::kUnsupported, "key file version is newer than this program");
  if (j["kdf"] != kKdfName || j["aead"] != kAeadName)
    return Fail(ErrorKind::kUnsupported, "key file uses an unknown KDF or cipher");
  return j;
}

Result<MasterKey> OpenKeyFile(const std::string& text, const std::string& passphrase) {
  if (sodium_init() < 0) return Fail(ErrorKind::kInternal, "libsodium failed to initialise");
  KS_ASSIGN(json j, ParseKeyJson(text));
  auto salt = Base64Decode(j["salt"].get<std::string>());
  auto nonce = Base64Decode(j["nonce"].get<std::string>());
  auto ct = Base64Decode(j["data"].get<std::string>());
  MasterKey mk;
  if (!salt || !nonce || !ct || nonce->size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ||
      ct->size() != mk.secret.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES)
    return Fail(ErrorKind::kCorrupt, "key file has malformed fields");
  KS_ASSIGN(auto key, Stretch(passphrase, *salt, j["ops"].get<uint64_t>(), j["mem"].get<uint64_t>()));
  std::string ad = AssociatedData(j);
  unsigned long long len = 0;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      mk.secret.data(), &len, nullptr, ct->data(), ct->size(),
      reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nonce->data(), key.data());
  sodium_memzero(key.data(), key.size());
  if (rc != 0) return Fail(ErrorKind::kWrongPassword, "wrong password or damaged key file");
  return mk;
}

Result<KeyFileInfo> PeekKeyFile(const std::string& text) {
  KS_ASSIGN(json j, ParseKeyJson(text));
  return KeyFileInfo{j["host"].get<std::string>(), j["user"].get<std::string>(),
                     j["created"].get<std::string>()};
}

}  // namespace ks
