// Fuzzes the bounds-checked Reader and LEB128 varints (format/varint.h), and
// the hex / base64 decoders. The input is a control stream and a payload: the
// control bytes choose Varint() or Take(n) calls on the payload; a simple
// model of the reader's position checks that no call reads past the end and
// that decoded varints match a reference decoding of the same bytes.
#include "format/varint.h"

#include <cstring>

#include "fuzz_common.h"

namespace {

// docs/design.md 6.4: at most 10 bytes, bits beyond 64 ignored.
bool RefVarint(ks::ByteSpan d, size_t& pos, uint64_t& v) {
  v = 0;
  for (int i = 0; i < 10; i++) {
    if (pos >= d.size()) return false;
    uint8_t b = d[pos++];
    int shift = 7 * i;
    if (shift < 64) v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ks;
  fuzz::Cursor c(data, size);
  size_t nctl = c.U8();
  ByteSpan rest = c.Rest();
  ByteSpan ctl = rest.subspan(0, std::min(nctl, rest.size()));
  ByteSpan payload = rest.subspan(ctl.size());

  Reader r(payload);
  size_t pos = 0;
  for (uint8_t op : ctl) {
    KS_FUZZ_CHECK(r.remaining() == payload.size() - pos);
    KS_FUZZ_CHECK(r.empty() == (pos == payload.size()));
    if (op & 1) {
      size_t ref_pos = pos;
      uint64_t ref = 0;
      bool ref_ok = RefVarint(payload, ref_pos, ref);
      auto v = r.Varint();
      KS_FUZZ_CHECK(v.has_value() == ref_ok);
      if (!v) {
        fuzz::Count(1, "varint failed");
        break;  // the position after a failure is unspecified
      }
      fuzz::Count(0, "varint ok");
      KS_FUZZ_CHECK(*v == ref);
      pos = ref_pos;
      // Canonical re-encoding decodes to the same value, zigzag round-trips.
      Bytes enc;
      PutVarint(enc, *v);
      KS_FUZZ_CHECK(enc.size() <= 10);
      Reader r2(enc);
      KS_FUZZ_CHECK(r2.Varint() == *v && r2.empty());
      KS_FUZZ_CHECK(ZigZag(UnZigZag(*v)) == *v);
      KS_FUZZ_CHECK(UnZigZag(ZigZag(int64_t(*v))) == int64_t(*v));
    } else {
      uint64_t n = op >> 1;
      if (op == 0xfe) n = ~uint64_t{0};
      auto s = r.Take(n);
      if (n > payload.size() - pos) {
        KS_FUZZ_CHECK(!s.has_value());
        fuzz::Count(3, "take refused");
      } else {
        KS_FUZZ_CHECK(s.has_value() && s->size() == n);
        KS_FUZZ_CHECK(n == 0 || s->data() == payload.data() + pos);
        pos += n;
        fuzz::Count(2, "take ok");
      }
    }
  }

  // Hex and base64 decoding of the payload as text.
  std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (auto h = HexDecode(text)) {
    KS_FUZZ_CHECK(h->size() * 2 == text.size());
    std::string lower(text);
    for (char& ch : lower)
      if (ch >= 'A' && ch <= 'F') ch = char(ch - 'A' + 'a');
    KS_FUZZ_CHECK(HexEncode(*h) == lower);
    fuzz::Count(4, "hex ok");
  }
  if (auto b = Base64Decode(text)) {
    auto again = Base64Decode(Base64Encode(*b));
    KS_FUZZ_CHECK(again.has_value() && *again == *b);
    fuzz::Count(5, "base64 ok");
  }
  if (auto id = Id::FromHex(text)) KS_FUZZ_CHECK(Id::FromHex(id->Hex()) == id);
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  using namespace ks;
  std::vector<Bytes> seeds;
  Bytes s = {8, 1, 1, 1, 0x10, 1, 0xfe, 1, 1};  // control
  for (uint64_t v : {uint64_t{0}, uint64_t{300}, ~uint64_t{0}}) PutVarint(s, v);
  Append(s, AsBytes("abcdefgh"));
  seeds.push_back(s);
  seeds.push_back(Bytes{0});
  Bytes hex = {0};
  Append(hex, AsBytes("00ff10AB"));
  seeds.push_back(hex);
  Bytes b64 = {0};
  Append(b64, AsBytes("aGVsbG8gd29ybGQ="));
  seeds.push_back(b64);
  Bytes overlong = {1, 1};
  overlong.insert(overlong.end(), 10, 0xff);
  overlong.push_back(0x01);
  seeds.push_back(overlong);
  return seeds;
}
