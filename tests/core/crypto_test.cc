#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "crypto/aead.h"
#include "crypto/key_file.h"
#include "crypto/master_key.h"
#include "test_util.h"

namespace ks {
namespace {

using json = nlohmann::json;
using test::PseudoRandom;

// Small Argon2id parameters so each key-file operation takes milliseconds.
const KdfParams kFastKdf{1, 8u << 20};

Key32 KeyFrom(uint64_t seed) {
  Bytes b = PseudoRandom(32, seed);
  Key32 k;
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

std::string Hex(ByteSpan b) { return HexEncode(b); }

// ---------------------------------------------------------------- AEAD

TEST(AeadTest, KnownAnswersAesGcm) {
  // AES-256-GCM test cases 13 and 14 of the GCM specification (zero key,
  // zero nonce = CounterNonce(0)).
  Aead zero(Key32{});
  Bytes out;
  zero.Seal(0, {}, {}, out);
  EXPECT_EQ(Hex(out), "530f8afbc74536b9a963b4f1c4cb738b");
  out.clear();
  Bytes sixteen_zeros(16, 0);
  zero.Seal(0, {}, sixteen_zeros, out);
  EXPECT_EQ(Hex(out), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");

  // A counter nonce and associated data (computed independently).
  Key32 k;
  for (int i = 0; i < 32; i++) k[i] = uint8_t(i);
  out.clear();
  Aead(k).Seal(0x0102030405060708ull, AsBytes("aad"), AsBytes("hello kintsugi"), out);
  EXPECT_EQ(Hex(out), "dfda1d09fd6609037bef985eb9fc3eff90149f67a877a8b0d7ca85f0b766");
}

TEST(AeadTest, RoundTrip) {
  Aead a(KeyFrom(1));
  for (size_t n : {0, 1, 15, 16, 17, 1000, 65537}) {
    Bytes plain = PseudoRandom(n, n);
    for (std::string aad : {"", "x", "KSP1 header"}) {
      Bytes out = {0xAA, 0xBB};  // Seal appends
      a.Seal(n * 3 + 1, AsBytes(aad), plain, out);
      ASSERT_EQ(out.size(), 2 + n + kAeadTagSize);
      EXPECT_EQ(out[0], 0xAA);
      EXPECT_EQ(out[1], 0xBB);
      if (n >= 16) {
        EXPECT_NE(Bytes(out.begin() + 2, out.begin() + 2 + n), plain);
      }
      Bytes back = {1, 2, 3};
      ASSERT_OK(a.Open(n * 3 + 1, AsBytes(aad), ByteSpan(out).subspan(2), back));
      EXPECT_EQ(back, plain);
    }
  }
}

TEST(AeadTest, AnyTamperingIsCorrupt) {
  Aead a(KeyFrom(2));
  Bytes plain = PseudoRandom(100, 3);
  std::string aad = "associated data";
  Bytes sealed;
  a.Seal(7, AsBytes(aad), plain, sealed);
  Bytes out;
  // Every byte of ciphertext and tag, two different flips each.
  for (size_t i = 0; i < sealed.size(); i++) {
    for (uint8_t x : {0x01, 0x80}) {
      Bytes bad = sealed;
      bad[i] ^= x;
      out = {9};
      EXPECT_ERR(a.Open(7, AsBytes(aad), bad, out), ErrorKind::kCorrupt);
      EXPECT_TRUE(out.empty()) << "no plaintext may be released on failure";
    }
  }
  // Every byte of the associated data.
  for (size_t i = 0; i < aad.size(); i++) {
    std::string bad = aad;
    bad[i] ^= 0x20;
    EXPECT_ERR(a.Open(7, AsBytes(bad), sealed, out), ErrorKind::kCorrupt);
  }
  EXPECT_ERR(a.Open(7, AsBytes(aad + "x"), sealed, out), ErrorKind::kCorrupt);
  EXPECT_ERR(a.Open(7, {}, sealed, out), ErrorKind::kCorrupt);
  // Wrong counter, wrong key.
  EXPECT_ERR(a.Open(8, AsBytes(aad), sealed, out), ErrorKind::kCorrupt);
  EXPECT_ERR(a.Open(kHeaderNonce, AsBytes(aad), sealed, out), ErrorKind::kCorrupt);
  EXPECT_ERR(Aead(KeyFrom(3)).Open(7, AsBytes(aad), sealed, out), ErrorKind::kCorrupt);
  // Every truncation and an extension.
  for (size_t n = 0; n < sealed.size(); n++)
    EXPECT_ERR(a.Open(7, AsBytes(aad), ByteSpan(sealed).subspan(0, n), out),
               ErrorKind::kCorrupt);
  Bytes longer = sealed;
  longer.push_back(0);
  EXPECT_ERR(a.Open(7, AsBytes(aad), longer, out), ErrorKind::kCorrupt);
  // The untouched record still opens.
  ASSERT_OK(a.Open(7, AsBytes(aad), sealed, out));
  EXPECT_EQ(out, plain);
}

TEST(AeadTest, CounterNonceLayoutAndDistinct) {
  auto n = CounterNonce(0x0102030405060708ull);
  std::array<uint8_t, 12> want = {8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0};
  EXPECT_EQ(n, want);
  std::set<std::array<uint8_t, 12>> seen;
  for (uint64_t i = 0; i < 10000; i++) EXPECT_TRUE(seen.insert(CounterNonce(i)).second);
  EXPECT_TRUE(seen.insert(CounterNonce(kHeaderNonce)).second);
  EXPECT_TRUE(seen.insert(CounterNonce(uint64_t{1} << 32)).second);
  EXPECT_TRUE(seen.insert(CounterNonce(uint64_t{1} << 63)).second);
}

TEST(HashTest, KnownAnswers) {
  EXPECT_EQ(Sha256(AsBytes("abc")).Hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(Hex(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HashTest, ObjectKeyDependsOnSaltAndKey) {
  RepoKeys keys = test::FixedKeys(1);
  Bytes salt(32);
  for (int i = 0; i < 32; i++) salt[i] = uint8_t(i);
  // HMAC-SHA-256(data key, "kintsugi object key" || salt), computed independently.
  EXPECT_EQ(Hex(ObjectKey(keys.data, salt)),
            "b8d7d7c5eca6a3144f1199fc3619afdd78cd01606137bfba1c7fd56637cf1d8b");
  Bytes salt2 = salt;
  salt2[31] ^= 1;
  EXPECT_NE(ObjectKey(keys.data, salt), ObjectKey(keys.data, salt2));
  EXPECT_NE(ObjectKey(keys.data, salt), ObjectKey(test::FixedKeys(2).data, salt));
}

TEST(RandomTest, RandomBytesDiffer) {
  std::set<Bytes> seen;
  for (int i = 0; i < 100; i++) {
    Bytes b(32);
    RandomBytes(b.data(), b.size());
    EXPECT_TRUE(seen.insert(b).second);
  }
  MasterKey a = MasterKey::Generate(), b = MasterKey::Generate();
  EXPECT_NE(a.secret, b.secret);
}

// ---------------------------------------------------------------- keys

TEST(RepoKeysTest, DeriveIsDeterministicAndKeysDistinct) {
  MasterKey mk = test::FixedMasterKey(1);
  RepoKeys a = RepoKeys::Derive(mk), b = RepoKeys::Derive(mk);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.blob_id, b.blob_id);
  EXPECT_EQ(a.chunker, b.chunker);
  EXPECT_NE(a.data, a.blob_id);
  EXPECT_NE(a.data, a.chunker);
  EXPECT_NE(a.blob_id, a.chunker);
  // HMAC-SHA-256(master, label || 0x01), computed independently.
  EXPECT_EQ(Hex(a.data), "61792973fd0e53112342e5cb443862522507be0d70b729adefcdeb4f622c8bdf");
  EXPECT_EQ(Hex(a.blob_id), "95812843d94a1128293f33917b715f22b198dfd56d40b0393fb2097f4276548a");
  EXPECT_EQ(Hex(a.chunker), "8054590b5a40b82a96c144bdfa33b8d672ec75434802e37e25c314bf365434b1");
  RepoKeys c = RepoKeys::Derive(test::FixedMasterKey(2));
  EXPECT_NE(a.data, c.data);
  EXPECT_NE(a.blob_id, c.blob_id);
  EXPECT_NE(a.chunker, c.chunker);
  // Blob ids are keyed hashes of the plaintext.
  EXPECT_EQ(a.BlobId(AsBytes("x")).b, HmacSha256(a.blob_id, AsBytes("x")));
  EXPECT_NE(a.BlobId(AsBytes("x")), c.BlobId(AsBytes("x")));
  EXPECT_NE(a.BlobId(AsBytes("x")), a.BlobId(AsBytes("y")));
}

// ---------------------------------------------------------------- key files

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mk_ = MasterKey::Generate();
    auto text = SealKeyFile(mk_, "correct horse", kFastKdf, info_);
    ASSERT_OK(text);
    text_ = *text;
  }
  // The key file with one field replaced.
  std::string Edited(const std::string& field, const json& value) const {
    json j = json::parse(text_);
    j[field] = value;
    return j.dump(2);
  }
  std::string Without(const std::string& field) const {
    json j = json::parse(text_);
    j.erase(field);
    return j.dump(2);
  }

  MasterKey mk_;
  KeyFileInfo info_{"host-a", "alice", "2026-01-02T03:04:05.000000000Z"};
  std::string text_;
};

TEST_F(KeyFileTest, SealOpenRoundTrip) {
  auto opened = OpenKeyFile(text_, "correct horse");
  ASSERT_OK(opened);
  EXPECT_EQ(opened->secret, mk_.secret);
  auto info = PeekKeyFile(text_);
  ASSERT_OK(info);
  EXPECT_EQ(info->host, "host-a");
  EXPECT_EQ(info->user, "alice");
  EXPECT_EQ(info->created, "2026-01-02T03:04:05.000000000Z");
  // The documented fields are there, and the master key is not in clear.
  json j = json::parse(text_);
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["kdf"], "argon2id13");
  EXPECT_EQ(j["aead"], "xchacha20poly1305-ietf");
  EXPECT_EQ(j["ops"], 1);
  EXPECT_EQ(j["mem"], 8u << 20);
  EXPECT_EQ(Base64Decode(j["salt"].get<std::string>())->size(), 16u);
  EXPECT_EQ(Base64Decode(j["nonce"].get<std::string>())->size(), 24u);
  EXPECT_EQ(Base64Decode(j["data"].get<std::string>())->size(), 64u + 16u);
  EXPECT_EQ(text_.find(Base64Encode(mk_.secret)), std::string::npos);
  // Sealing twice gives different files (fresh salt and nonce) that both open.
  auto again = SealKeyFile(mk_, "correct horse", kFastKdf, info_);
  ASSERT_OK(again);
  EXPECT_NE(*again, text_);
  auto opened2 = OpenKeyFile(*again, "correct horse");
  ASSERT_OK(opened2);
  EXPECT_EQ(opened2->secret, mk_.secret);
}

TEST_F(KeyFileTest, EmptyAndUnicodePassphrases) {
  for (std::string pw : {std::string(""), std::string("p\xc3\xa4ssw\xc3\xb6rd \xf0\x9f\x94\x91"),
                         std::string("a\0b", 3), std::string(1000, 'x')}) {
    auto text = SealKeyFile(mk_, pw, kFastKdf, info_);
    ASSERT_OK(text);
    auto opened = OpenKeyFile(*text, pw);
    ASSERT_OK(opened);
    EXPECT_EQ(opened->secret, mk_.secret);
    EXPECT_ERR(OpenKeyFile(*text, pw + "x"), ErrorKind::kWrongPassword);
  }
}

TEST_F(KeyFileTest, WrongPassphrase) {
  EXPECT_ERR(OpenKeyFile(text_, "correct horsE"), ErrorKind::kWrongPassword);
  EXPECT_ERR(OpenKeyFile(text_, ""), ErrorKind::kWrongPassword);
  EXPECT_ERR(OpenKeyFile(text_, "correct horse "), ErrorKind::kWrongPassword);
}

TEST_F(KeyFileTest, EditedDescriptiveFieldsFailToOpen) {
  // The fields are associated data: any edit makes the file fail to open
  // (indistinguishable from a wrong passphrase).
  EXPECT_ERR(OpenKeyFile(Edited("host", "host-b"), "correct horse"), ErrorKind::kWrongPassword);
  EXPECT_ERR(OpenKeyFile(Edited("user", "mallory"), "correct horse"), ErrorKind::kWrongPassword);
  EXPECT_ERR(OpenKeyFile(Edited("created", "2027-01-01T00:00:00Z"), "correct horse"),
             ErrorKind::kWrongPassword);
  EXPECT_ERR(OpenKeyFile(Edited("ops", 2), "correct horse"), ErrorKind::kWrongPassword);
  EXPECT_ERR(OpenKeyFile(Edited("mem", 16u << 20), "correct horse"), ErrorKind::kWrongPassword);
  // But Peek shows whatever is written.
  auto info = PeekKeyFile(Edited("host", "host-b"));
  ASSERT_OK(info);
  EXPECT_EQ(info->host, "host-b");
  // Re-serialising the same JSON differently (no indentation) still opens.
  auto compact = OpenKeyFile(json::parse(text_).dump(), "correct horse");
  ASSERT_OK(compact);
  EXPECT_EQ(compact->secret, mk_.secret);
}

TEST_F(KeyFileTest, EditedCryptoFields) {
  json j = json::parse(text_);
  Bytes salt = *Base64Decode(j["salt"].get<std::string>());
  salt[0] ^= 1;
  EXPECT_ERR(OpenKeyFile(Edited("salt", Base64Encode(salt)), "correct horse"),
             ErrorKind::kWrongPassword);
  Bytes nonce = *Base64Decode(j["nonce"].get<std::string>());
  nonce[5] ^= 1;
  EXPECT_ERR(OpenKeyFile(Edited("nonce", Base64Encode(nonce)), "correct horse"),
             ErrorKind::kWrongPassword);
  Bytes data = *Base64Decode(j["data"].get<std::string>());
  for (size_t i = 0; i < data.size(); i += 13) {
    Bytes d = data;
    d[i] ^= 0x40;
    EXPECT_ERR(OpenKeyFile(Edited("data", Base64Encode(d)), "correct horse"),
               ErrorKind::kWrongPassword);
  }
  // Wrong lengths are reported as corrupt before any key derivation.
  EXPECT_ERR(OpenKeyFile(Edited("salt", Base64Encode(Bytes(15, 1))), "correct horse"),
             ErrorKind::kCorrupt);
  EXPECT_ERR(OpenKeyFile(Edited("nonce", Base64Encode(Bytes(12, 1))), "correct horse"),
             ErrorKind::kCorrupt);
  EXPECT_ERR(OpenKeyFile(Edited("data", Base64Encode(Bytes(64, 1))), "correct horse"),
             ErrorKind::kCorrupt);
  EXPECT_ERR(OpenKeyFile(Edited("salt", "***not base64***"), "correct horse"),
             ErrorKind::kCorrupt);
  EXPECT_ERR(OpenKeyFile(Edited("data", "@@@@"), "correct horse"), ErrorKind::kCorrupt);
  // Implausible KDF parameters are rejected, not attempted.
  EXPECT_ERR(OpenKeyFile(Edited("ops", 0), "correct horse"), ErrorKind::kCorrupt);
  EXPECT_ERR(OpenKeyFile(Edited("mem", 1024), "correct horse"), ErrorKind::kCorrupt);
  EXPECT_ERR(OpenKeyFile(Edited("mem", uint64_t{1} << 50), "correct horse"), ErrorKind::kCorrupt);
}

TEST_F(KeyFileTest, MalformedKeyFilesAreCorruptNotCrashes) {
  std::vector<std::string> bad = {
      "",
      "{",
      "[]",
      "null",
      "42",
      "\"key\"",
      "{}",
      std::string("\x00\x01\x02\xff", 4),
      "{\"kdf\": 1}",
      text_.substr(0, text_.size() / 2),
      std::string(100000, '['),
      Edited("host", 17),
      Edited("user", nullptr),
      Edited("created", json::array()),
      Edited("data", json::object()),
      Edited("ops", "1"),
      Edited("ops", -1),
      Edited("ops", 1.5),
      Edited("mem", -8388608),
      Edited("version", "1"),
      Edited("version", -1),
      Without("kdf"),
      Without("salt"),
      Without("aead"),
      Without("nonce"),
      Without("host"),
      Without("user"),
      Without("created"),
      Without("data"),
      Without("ops"),
      Without("mem"),
      Without("version"),
  };
  for (size_t i = 0; i < bad.size(); i++) {
    SCOPED_TRACE("variant " + std::to_string(i));
    EXPECT_NO_THROW({
      EXPECT_ERR(OpenKeyFile(bad[i], "correct horse"), ErrorKind::kCorrupt);
      EXPECT_ERR(PeekKeyFile(bad[i]), ErrorKind::kCorrupt);
    });
  }
  // Newer or foreign formats are unsupported rather than corrupt.
  EXPECT_ERR(OpenKeyFile(Edited("version", 2), "correct horse"), ErrorKind::kUnsupported);
  EXPECT_ERR(OpenKeyFile(Edited("kdf", "scrypt"), "correct horse"), ErrorKind::kUnsupported);
  EXPECT_ERR(OpenKeyFile(Edited("aead", "aes-256-gcm"), "correct horse"),
             ErrorKind::kUnsupported);
  EXPECT_ERR(PeekKeyFile(Edited("version", 2)), ErrorKind::kUnsupported);
  // Unknown extra fields are tolerated.
  auto extra = OpenKeyFile(Edited("comment", "laptop key"), "correct horse");
  ASSERT_OK(extra);
  EXPECT_EQ(extra->secret, mk_.secret);
}

TEST(KeyFileSealTest, ImplausibleParamsRefused) {
  MasterKey mk = MasterKey::Generate();
  EXPECT_ERR(SealKeyFile(mk, "pw", KdfParams{0, 8u << 20}, {}), ErrorKind::kCorrupt);
  EXPECT_ERR(SealKeyFile(mk, "pw", KdfParams{1, 100}, {}), ErrorKind::kCorrupt);
}

}  // namespace
}  // namespace ks
