#include "crypto/aead.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <memory>
#include <stdexcept>

namespace ks {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// One cipher context per thread: creating one per call costs more than
// sealing a small tree blob.
EVP_CIPHER_CTX* ThreadCtx() {
  thread_local CtxPtr ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

}  // namespace

std::array<uint8_t, kNonceSize> CounterNonce(uint64_t n) {
  std::array<uint8_t, kNonceSize> nonce{};
  PutU64(nonce.data(), n);
  return nonce;
}

Key32 HmacSha256(ByteSpan key, ByteSpan msg) {
  Key32 out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()), msg.data(), msg.size(), out.data(), &len);
  return out;
}

Id Sha256(ByteSpan data) {
  Id id;
  SHA256(data.data(), data.size(), id.b.data());
  return id;
}

void RandomBytes(uint8_t* out, size_t n) { randombytes_buf(out, n); }

Key32 ObjectKey(const Key32& data_key, ByteSpan salt) {
  Bytes msg(AsBytes("kintsugi object key").begin(), AsBytes("kintsugi object key").end());
  Append(msg, salt);
  return HmacSha256(data_key, msg);
}

void Aead::Seal(uint64_t counter, ByteSpan aad, ByteSpan plain, Bytes& out) const {
  size_t base = out.size();
  out.resize(base + plain.size() + kAeadTagSize);
  SealTo(counter, aad, plain, out.data() + base);
}

void Aead::SealTo(uint64_t counter, ByteSpan aad, ByteSpan plain, uint8_t* out) const {
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  auto nonce = CounterNonce(counter);
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce.data()) == 1;
  if (ok && !aad.empty())
    ok = EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), int(aad.size())) == 1;
  if (ok && !plain.empty())
    ok = EVP_EncryptUpdate(ctx, out, &len, plain.data(), int(plain.size())) == 1;
  if (ok) ok = EVP_EncryptFinal_ex(ctx, out + plain.size(), &len) == 1;
  if (ok)
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kAeadTagSize, out + plain.size()) == 1;
  // Encryption with valid parameters cannot fail; if OpenSSL says it did, the
  // process must not go on to store unencrypted or garbage bytes.
  if (!ok) std::abort();
}

Status Aead::Open(uint64_t counter, ByteSpan aad, ByteSpan sealed, Bytes& out) const {
  if (sealed.size() < kAeadTagSize)
    return Fail(ErrorKind::kCorrupt, "encrypted record shorter than its tag");
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  auto nonce = CounterNonce(counter);
  size_t n = sealed.size() - kAeadTagSize;
  out.resize(n);
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce.data()) == 1;
  if (ok && !aad.empty())
    ok = EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), int(aad.size())) == 1;
  if (ok && n) ok = EVP_DecryptUpdate(ctx, out.data(), &len, sealed.data(), int(n)) == 1;
  if (ok)
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kAeadTagSize,
                             const_cast<uint8_t*>(sealed.data() + n)) == 1;
  if (ok) ok = EVP_DecryptFinal_ex(ctx, out.data() + n, &len) == 1;
  if (!ok) {
    out.clear();
    return Fail(ErrorKind::kCorrupt, "authentication tag mismatch (data damaged or tampered with)");
  }
  return Ok();
}

}  // namespace ks
