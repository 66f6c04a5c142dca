#include "format/tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <set>

#include "format/varint.h"
#include "test_util.h"

namespace ks {
namespace {

using test::RandomId;

// ------------------------------------------------------------ generators

std::string RandomName(std::mt19937_64& rng) {
  static const std::vector<std::string> kSpecial = {
      "caf\xc3\xa9",                          // é
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",  // 日本語
      "\xf0\x9f\x98\x80 smile",                // emoji and a space
      "with space",
      " leading",
      "trailing ",
      "new\nline",
      "tab\there",
      "...",
      ".hidden",
      "..a",
      "\x01",
      "\xff\xfe invalid utf-8",
      "back\\slash",
      "-dash",
  };
  switch (rng() % 5) {
    case 0: return kSpecial[rng() % kSpecial.size()] + std::to_string(rng() % 1000);
    case 1: {  // any bytes 0x01..0xff except '/'
      std::string s(1 + rng() % 40, 'x');
      for (char& c : s) {
        do c = char(1 + rng() % 255);
        while (c == '/');
      }
      return s;
    }
    case 2: return std::string(200 + rng() % 4000, char('a' + rng() % 26));  // long
    default: return "file" + std::to_string(rng() % 100000);
  }
}

std::string RandomBytesString(std::mt19937_64& rng, size_t max) {
  std::string s(rng() % (max + 1), '\0');
  for (char& c : s) c = char(rng());  // any byte, including NUL and '/'
  return s;
}

int64_t RandomI64(std::mt19937_64& rng) {
  switch (rng() % 6) {
    case 0: return std::numeric_limits<int64_t>::min();
    case 1: return std::numeric_limits<int64_t>::max();
    case 2: return -int64_t(rng() % 1000000000000000000ull);  // before 1970
    case 3: return -1;
    default: return int64_t(rng());
  }
}

uint64_t RandomU64(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0: return std::numeric_limits<uint64_t>::max();
    case 1: return rng() % 300;
    default: return rng() >> (rng() % 64);
  }
}

Node RandomNode(std::mt19937_64& rng) {
  Node n;
  n.type = NodeType(1 + rng() % 7);
  n.name = RandomName(rng);
  n.mode = uint32_t(rng() % 07777 + 1) & 07777;
  n.uid = uint32_t(rng());
  n.gid = uint32_t(rng() % 3 ? rng() : 0);
  if (rng() % 2) n.user = RandomBytesString(rng, 20);
  if (rng() % 2) n.group = RandomBytesString(rng, 20);
  n.mtime_ns = RandomI64(rng);
  n.ctime_ns = RandomI64(rng);
  n.inode = RandomU64(rng);
  n.device = RandomU64(rng);
  n.links = RandomU64(rng);
  n.size = rng() % 3 ? RandomU64(rng) : 0;
  if (n.type == NodeType::kCharDev || n.type == NodeType::kBlockDev) n.rdev = RandomU64(rng);
  if (n.type == NodeType::kSymlink) n.link_target = RandomBytesString(rng, 300);
  if (n.type == NodeType::kFile)
    for (int i = int(rng() % 6); i > 0; i--) n.content.push_back(RandomId(rng));
  if (n.type == NodeType::kDir) n.subtree = RandomId(rng);
  for (int i = int(rng() % 4); i > 0; i--) {
    Xattr x;
    x.name = "user." + std::to_string(i) + RandomBytesString(rng, 10);
    x.value = test::PseudoRandom(rng() % 200, rng());  // binary, may hold NULs
    n.xattrs.push_back(std::move(x));
  }
  std::sort(n.xattrs.begin(), n.xattrs.end(),
            [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return n;
}

// Sorted by name bytewise, names unique.
std::vector<Node> RandomDir(std::mt19937_64& rng, size_t count) {
  std::vector<Node> nodes;
  std::set<std::string> names;
  while (nodes.size() < count) {
    Node n = RandomNode(rng);
    if (!names.insert(n.name).second) continue;
    nodes.push_back(std::move(n));
  }
  std::sort(nodes.begin(), nodes.end(), [](const Node& a, const Node& b) {
    return std::lexicographical_compare(
        a.name.begin(), a.name.end(), b.name.begin(), b.name.end(),
        [](char x, char y) { return uint8_t(x) < uint8_t(y); });
  });
  return nodes;
}

Node SimpleNode(const std::string& name, NodeType t = NodeType::kFile) {
  Node n;
  n.type = t;
  n.name = name;
  n.mode = 0644;
  return n;
}

// ------------------------------------------------------------ hand encoding

void PutField(Bytes& out, uint64_t tag, ByteSpan v) {
  PutVarint(out, tag);
  PutVarint(out, v.size());
  Append(out, v);
}
void PutFieldU(Bytes& out, uint64_t tag, uint64_t v) {
  Bytes t;
  PutVarint(t, v);
  PutField(out, tag, t);
}
Bytes TreeOf(const std::vector<Bytes>& bodies) {
  Bytes out = {'K', 'T', '1', '\n'};
  PutVarint(out, bodies.size());
  for (const Bytes& b : bodies) {
    PutVarint(out, b.size());
    Append(out, b);
  }
  return out;
}
Bytes MinimalBody(uint64_t type, const std::string& name) {
  Bytes b;
  PutFieldU(b, 1, type);
  PutField(b, 2, AsBytes(name));
  return b;
}

// ------------------------------------------------------------ tests

TEST(VarintTest, RoundTripAndBounds) {
  std::vector<uint64_t> values = {0, 1, 127, 128, 255, 300, 16383, 16384,
                                  (uint64_t{1} << 32) - 1, uint64_t{1} << 32,
                                  std::numeric_limits<uint64_t>::max()};
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; i++) values.push_back(rng() >> (rng() % 64));
  Bytes all;
  for (uint64_t v : values) PutVarint(all, v);
  Reader r(all);
  for (uint64_t v : values) EXPECT_EQ(r.Varint(), v);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.Varint(), std::nullopt);
  // Exact encodings.
  Bytes b;
  PutVarint(b, 300);
  EXPECT_EQ(b, Bytes({0xac, 0x02}));
  b.clear();
  PutVarint(b, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(b.size(), 10u);
  EXPECT_EQ(b.back(), 0x01);
  // Truncated and overlong varints fail.
  Bytes cont = {0x80, 0x80};
  EXPECT_EQ(Reader(cont).Varint(), std::nullopt);
  Bytes eleven(11, 0x80);
  eleven.back() = 0;
  EXPECT_EQ(Reader(eleven).Varint(), std::nullopt);
  // ZigZag.
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()})
    EXPECT_EQ(UnZigZag(ZigZag(v)), v);
  EXPECT_EQ(ZigZag(-1), 1u);
  EXPECT_EQ(ZigZag(1), 2u);
  // Take never reads past the end.
  Bytes five = {1, 2, 3, 4, 5};
  Reader t(five);
  EXPECT_EQ(t.Take(6), std::nullopt);
  EXPECT_EQ(t.remaining(), 5u);
  EXPECT_EQ(t.Take(2)->size(), 2u);
  EXPECT_EQ(t.Take(std::numeric_limits<uint64_t>::max()), std::nullopt);
  EXPECT_EQ(t.Take(3)->size(), 3u);
  EXPECT_TRUE(t.empty());
}

TEST(TreeTest, EmptyTreeExactBytes) {
  Bytes enc = EncodeTree({});
  EXPECT_EQ(enc, Bytes({'K', 'T', '1', '\n', 0}));
  auto dec = DecodeTree(enc);
  ASSERT_OK(dec);
  EXPECT_TRUE(dec->empty());
}

TEST(TreeTest, RandomNodesRoundTrip) {
  std::mt19937_64 rng(2026);
  int total = 0;
  for (int iter = 0; iter < 300; iter++) {
    std::vector<Node> nodes = RandomDir(rng, rng() % 25);
    total += int(nodes.size());
    Bytes enc = EncodeTree(nodes);
    auto dec = DecodeTree(enc);
    ASSERT_OK(dec);
    ASSERT_EQ(dec->size(), nodes.size());
    for (size_t i = 0; i < nodes.size(); i++)
      ASSERT_EQ((*dec)[i], nodes[i]) << "iteration " << iter << " node " << i;
    // Deterministic encoding.
    EXPECT_EQ(EncodeTree(*dec), enc);
  }
  EXPECT_GT(total, 3000);
}

TEST(TreeTest, ExtremeValuesRoundTrip) {
  Node n = SimpleNode(std::string("\xff\xff\xff", 3));
  n.mode = 07777;
  n.uid = n.gid = std::numeric_limits<uint32_t>::max();
  n.mtime_ns = std::numeric_limits<int64_t>::min();
  n.ctime_ns = std::numeric_limits<int64_t>::max();
  n.inode = n.device = n.links = n.size = n.rdev = std::numeric_limits<uint64_t>::max();
  n.link_target = std::string("a\0/b", 4);
  n.xattrs = {{"", {}}, {std::string("n\0x", 3), Bytes(70000, 0)}};
  Node d = SimpleNode(std::string(1, '\x01'), NodeType::kDir);  // zero subtree id
  Node long_name = SimpleNode(std::string(65536, 'z'));
  std::vector<Node> nodes = {d, long_name, n};
  auto dec = DecodeTree(EncodeTree(nodes));
  ASSERT_OK(dec);
  ASSERT_EQ(dec->size(), 3u);
  EXPECT_EQ((*dec)[0], d);
  EXPECT_EQ((*dec)[1], long_name);
  EXPECT_EQ((*dec)[2], n);
}

TEST(TreeTest, HandEncodedNodeDecodes) {
  // Fields in a different order than the encoder writes them.
  Bytes b;
  PutFieldU(b, 13, 123456789);      // size
  PutField(b, 2, AsBytes("hello"));  // name
  PutFieldU(b, 8, ZigZag(-5));      // mtime
  PutFieldU(b, 1, 3);               // type symlink
  PutField(b, 15, AsBytes("../target"));
  PutFieldU(b, 3, 0755);
  PutFieldU(b, 4, 1000);
  PutField(b, 6, AsBytes("alice"));
  Bytes x;
  PutVarint(x, 4);
  Append(x, AsBytes("user"));
  Append(x, AsBytes("value"));
  PutField(b, 18, x);
  auto dec = DecodeTree(TreeOf({b}));
  ASSERT_OK(dec);
  ASSERT_EQ(dec->size(), 1u);
  const Node& n = (*dec)[0];
  EXPECT_EQ(n.type, NodeType::kSymlink);
  EXPECT_EQ(n.name, "hello");
  EXPECT_EQ(n.size, 123456789u);
  EXPECT_EQ(n.mtime_ns, -5);
  EXPECT_EQ(n.link_target, "../target");
  EXPECT_EQ(n.mode, 0755u);
  EXPECT_EQ(n.uid, 1000u);
  EXPECT_EQ(n.user, "alice");
  EXPECT_EQ(n.links, 1u);  // default when absent
  ASSERT_EQ(n.xattrs.size(), 1u);
  EXPECT_EQ(n.xattrs[0].name, "user");
  EXPECT_EQ(n.xattrs[0].value, Bytes({'v', 'a', 'l', 'u', 'e'}));
}

// Writers emit fields in ascending tag order, optional ones only when set,
// so identical directories give identical bytes (docs/design.md 6.4).
TEST(TreeTest, EncodingIsCanonicalExactBytes) {
  Node n = SimpleNode("a");
  n.uid = 1000;
  n.mtime_ns = -1;
  n.links = 2;
  Bytes want = {'K', 'T', '1', '\n', 1};
  Bytes body;
  PutFieldU(body, 1, 1);           // type file
  PutField(body, 2, AsBytes("a"));  // name
  PutFieldU(body, 3, 0644);         // mode
  PutFieldU(body, 4, 1000);         // uid
  PutFieldU(body, 5, 0);            // gid
  PutFieldU(body, 8, 1);            // mtime: zigzag(-1)
  PutFieldU(body, 9, 0);            // ctime
  PutFieldU(body, 10, 0);           // inode
  PutFieldU(body, 11, 0);           // device
  PutFieldU(body, 12, 2);           // links
  PutVarint(want, body.size());
  Append(want, body);
  EXPECT_EQ(EncodeTree({n}), want);
  EXPECT_EQ(HexEncode(EncodeTree({n})),
            "4b54310a01200101010201610302a4030402e8070501000801010901000a"
            "01000b01000c0102");

  // A directory always carries its subtree id, even a zero one; other types
  // never do.
  Node d = SimpleNode("d", NodeType::kDir);
  Bytes enc = EncodeTree({d});
  Bytes subtree_field = {17, 32};
  EXPECT_NE(std::search(enc.begin(), enc.end(), subtree_field.begin(), subtree_field.end()),
            enc.end());
  Node f = SimpleNode("f");
  f.subtree.b[0] = 1;  // not representable for a file
  auto dec = DecodeTree(EncodeTree({f}));
  ASSERT_OK(dec);
  EXPECT_TRUE((*dec)[0].subtree.IsZero());
}

// docs/design.md 6.4: the last value wins for scalars; content and xattrs
// accumulate.
TEST(TreeTest, RepeatedFields) {
  Bytes b = MinimalBody(1, "first");
  PutField(b, 2, AsBytes("second"));
  PutFieldU(b, 13, 5);
  PutFieldU(b, 13, 7);
  PutFieldU(b, 1, 2);  // type: dir
  Bytes id1(32, 1), id2(32, 2);
  PutField(b, 16, id1);
  PutField(b, 16, id2);
  Bytes x1, x2;
  PutVarint(x1, 1);
  Append(x1, AsBytes("aV"));
  PutVarint(x2, 1);
  Append(x2, AsBytes("bW"));
  PutField(b, 18, x1);
  PutField(b, 18, x2);
  PutFieldU(b, 4, (uint64_t{1} << 32) + 5);  // uid truncated to 32 bits
  auto dec = DecodeTree(TreeOf({b}));
  ASSERT_OK(dec);
  const Node& n = (*dec)[0];
  EXPECT_EQ(n.name, "second");
  EXPECT_EQ(n.size, 7u);
  EXPECT_EQ(n.type, NodeType::kDir);
  ASSERT_EQ(n.content.size(), 2u);
  EXPECT_EQ(n.content[0], Id::FromBytes(id1));
  EXPECT_EQ(n.content[1], Id::FromBytes(id2));
  ASSERT_EQ(n.xattrs.size(), 2u);
  EXPECT_EQ(n.xattrs[0], (Xattr{"a", Bytes{'V'}}));
  EXPECT_EQ(n.xattrs[1], (Xattr{"b", Bytes{'W'}}));
  EXPECT_EQ(n.uid, 5u);
}

TEST(TreeTest, UnknownTagsAreSkipped) {
  Node want = SimpleNode("file");
  want.size = 42;
  Bytes enc = EncodeTree({want});
  auto plain = DecodeTree(enc);
  ASSERT_OK(plain);
  // The same node with fields from a "newer version" before, between and
  // after the known ones.
  Bytes b;
  PutField(b, 99, AsBytes("from the future"));
  PutFieldU(b, 1, 1);
  PutField(b, 1000000, Bytes(300, 0xee));
  PutField(b, 2, AsBytes("file"));
  PutFieldU(b, 3, 0644);
  PutFieldU(b, 13, 42);
  PutField(b, 99, {});
  PutField(b, std::numeric_limits<uint64_t>::max(), AsBytes("x"));
  auto dec = DecodeTree(TreeOf({b}));
  ASSERT_OK(dec);
  ASSERT_EQ(dec->size(), 1u);
  EXPECT_EQ((*dec)[0], (*plain)[0]);
  EXPECT_EQ((*dec)[0], want);
}

TEST(TreeTest, RejectsUnsafeNames) {
  std::vector<std::string> bad = {"", ".", "..", "a/b", "/", "/abs", "dir/", std::string("a\0b", 3),
                                  std::string("\0", 1)};
  for (const std::string& name : bad) {
    Node n = SimpleNode(name);
    EXPECT_ERR(DecodeTree(EncodeTree({n})), ErrorKind::kCorrupt) << "name '" << name << "'";
    // Also as the second of two entries.
    Node first = SimpleNode(std::string(1, '\x01'));
    if (name > first.name) {
      EXPECT_ERR(DecodeTree(EncodeTree({first, n})), ErrorKind::kCorrupt) << name;
    }
  }
  // Names close to the bad ones are fine.
  for (std::string ok : {"...", ".a", "a.", "..b", "a\\b"})
    EXPECT_OK(DecodeTree(EncodeTree({SimpleNode(ok)})));
}

TEST(TreeTest, RejectsUnsortedAndDuplicateNames) {
  EXPECT_ERR(DecodeTree(EncodeTree({SimpleNode("b"), SimpleNode("a")})), ErrorKind::kCorrupt);
  EXPECT_ERR(DecodeTree(EncodeTree({SimpleNode("a"), SimpleNode("a")})), ErrorKind::kCorrupt);
  EXPECT_ERR(DecodeTree(EncodeTree({SimpleNode("a"), SimpleNode("c"), SimpleNode("b")})),
             ErrorKind::kCorrupt);
  // Same name, different types: still a duplicate.
  EXPECT_ERR(DecodeTree(EncodeTree({SimpleNode("x"), SimpleNode("x", NodeType::kDir)})),
             ErrorKind::kCorrupt);
  // Bytewise order: 0xff sorts after ASCII, "a" before "ab", "B" before "a".
  EXPECT_OK(DecodeTree(EncodeTree({SimpleNode("B"), SimpleNode("a"), SimpleNode("ab"),
                                   SimpleNode("\xc3\xa9"), SimpleNode("\xff")})));
  EXPECT_ERR(DecodeTree(EncodeTree({SimpleNode("\xff"), SimpleNode("a")})), ErrorKind::kCorrupt);
  EXPECT_ERR(DecodeTree(EncodeTree({SimpleNode("ab"), SimpleNode("a")})), ErrorKind::kCorrupt);
}

TEST(TreeTest, RejectsUnknownTypesAndBadFields) {
  for (uint64_t t : {uint64_t{0}, uint64_t{8}, uint64_t{255}, uint64_t{1} << 40})
    EXPECT_ERR(DecodeTree(TreeOf({MinimalBody(t, "x")})), ErrorKind::kCorrupt) << t;
  for (uint64_t t = 1; t <= 7; t++) EXPECT_OK(DecodeTree(TreeOf({MinimalBody(t, "x")})));

  auto with = [](uint64_t tag, ByteSpan v) {
    Bytes b = MinimalBody(1, "x");
    PutField(b, tag, v);
    return TreeOf({b});
  };
  Bytes num2 = {0x05, 0x00};  // a number followed by a stray byte
  EXPECT_ERR(DecodeTree(with(3, num2)), ErrorKind::kCorrupt);
  EXPECT_ERR(DecodeTree(with(13, {})), ErrorKind::kCorrupt);  // empty number
  Bytes cont = {0x80};
  EXPECT_ERR(DecodeTree(with(4, cont)), ErrorKind::kCorrupt);  // truncated varint
  Bytes mode;
  PutVarint(mode, 010000);
  EXPECT_ERR(DecodeTree(with(3, mode)), ErrorKind::kCorrupt);  // mode has type bits
  EXPECT_ERR(DecodeTree(with(16, Bytes(33, 1))), ErrorKind::kCorrupt);  // content misaligned
  EXPECT_ERR(DecodeTree(with(17, Bytes(31, 1))), ErrorKind::kCorrupt);  // subtree short
  Bytes xattr;
  PutVarint(xattr, 10);  // name longer than the field
  Append(xattr, AsBytes("abc"));
  EXPECT_ERR(DecodeTree(with(18, xattr)), ErrorKind::kCorrupt);
  EXPECT_ERR(DecodeTree(with(18, {})), ErrorKind::kCorrupt);
  // Field length beyond the node body.
  Bytes b = MinimalBody(1, "x");
  PutVarint(b, 13);
  PutVarint(b, 5);
  b.push_back(1);
  EXPECT_ERR(DecodeTree(TreeOf({b})), ErrorKind::kCorrupt);
  // Missing type or name.
  Bytes no_type;
  PutField(no_type, 2, AsBytes("x"));
  EXPECT_ERR(DecodeTree(TreeOf({no_type})), ErrorKind::kCorrupt);
  Bytes no_name;
  PutFieldU(no_name, 1, 1);
  EXPECT_ERR(DecodeTree(TreeOf({no_name})), ErrorKind::kCorrupt);
  EXPECT_ERR(DecodeTree(TreeOf({Bytes{}})), ErrorKind::kCorrupt);
}

TEST(TreeTest, RejectsBadFraming) {
  Bytes good = EncodeTree({SimpleNode("a"), SimpleNode("b")});
  ASSERT_OK(DecodeTree(good));
  Bytes bad_magic = good;
  bad_magic[2] = '2';
  EXPECT_ERR(DecodeTree(bad_magic), ErrorKind::kCorrupt);
  // Count larger / smaller than the nodes present.
  Bytes more = good;
  more[4] = 3;
  EXPECT_ERR(DecodeTree(more), ErrorKind::kCorrupt);
  Bytes fewer = good;
  fewer[4] = 1;
  EXPECT_ERR(DecodeTree(fewer), ErrorKind::kCorrupt);  // trailing bytes
  Bytes huge = {'K', 'T', '1', '\n'};
  PutVarint(huge, std::numeric_limits<uint64_t>::max());
  EXPECT_ERR(DecodeTree(huge), ErrorKind::kCorrupt);
  Bytes overlong = {'K', 'T', '1', '\n'};
  overlong.insert(overlong.end(), 12, 0x80);
  EXPECT_ERR(DecodeTree(overlong), ErrorKind::kCorrupt);
  // Every truncation fails; so does any extension.
  std::mt19937_64 rng(5);
  Bytes big = EncodeTree(RandomDir(rng, 12));
  for (size_t n = 0; n < big.size(); n++)
    ASSERT_FALSE(DecodeTree(ByteSpan(big).subspan(0, n)).has_value()) << n << " of " << big.size();
  Bytes longer = big;
  longer.push_back(0);
  EXPECT_ERR(DecodeTree(longer), ErrorKind::kCorrupt);
}

// Random mutations of valid trees never crash, and whatever decodes
// re-encodes to something that decodes to the same nodes (for nodes the
// encoder can represent).
TEST(TreeTest, MutatedInputsDoNotCrash) {
  std::mt19937_64 rng(77);
  int decoded = 0;
  for (int iter = 0; iter < 3000; iter++) {
    Bytes enc = EncodeTree(RandomDir(rng, 1 + rng() % 4));
    for (int m = int(1 + rng() % 4); m > 0; m--) {
      size_t pos = rng() % enc.size();
      switch (rng() % 4) {
        case 0: enc[pos] ^= uint8_t(1 << (rng() % 8)); break;
        case 1: enc[pos] = uint8_t(rng()); break;
        case 2: enc.insert(enc.begin() + pos, uint8_t(rng())); break;
        default: enc.erase(enc.begin() + pos); break;
      }
      if (enc.empty()) break;
    }
    auto dec = DecodeTree(enc);
    if (!dec) {
      EXPECT_EQ(dec.error().kind(), ErrorKind::kCorrupt);
      continue;
    }
    decoded++;
    for (Node& n : *dec) {
      EXPECT_FALSE(n.name.empty());
      EXPECT_EQ(n.name.find('/'), std::string::npos);
      EXPECT_LE(n.mode, 07777u);
      if (n.type != NodeType::kDir) n.subtree = Id{};  // the encoder writes it for dirs only
    }
    auto again = DecodeTree(EncodeTree(*dec));
    ASSERT_OK(again);
    EXPECT_EQ(*again, *dec);
  }
  std::printf("[ tree     ] %d of 3000 mutated trees still decoded\n", decoded);
}

}  // namespace
}  // namespace ks
