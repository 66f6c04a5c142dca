#include "format/tree.h"

#include <cstring>

#include "format/varint.h"

namespace ks {
namespace {

constexpr uint8_t kMagic[4] = {'K', 'T', '1', '\n'};
constexpr uint64_t kMaxNodes = 1u << 24;

enum Tag : uint64_t {
  kType = 1, kName = 2, kMode = 3, kUid = 4, kGid = 5, kUser = 6, kGroup = 7,
  kMtime = 8, kCtime = 9, kInode = 10, kDevice = 11, kLinks = 12, kSize = 13,
  kRdev = 14, kLinkTarget = 15, kContent = 16, kSubtree = 17, kXattr = 18, kFeatures = 19,
};

void Field(Bytes& out, uint64_t tag, ByteSpan value) {
  PutVarint(out, tag);
  PutVarint(out, value.size());
  Append(out, value);
}
// A varint field, its value encoded on the stack: a backup encodes a tree
// for every directory, ten of these per entry.
void FieldU(Bytes& out, uint64_t tag, uint64_t v) {
  uint8_t tmp[10];
  size_t len = 0;
  while (v >= 0x80) {
    tmp[len++] = uint8_t(v) | 0x80;
    v >>= 7;
  }
  tmp[len++] = uint8_t(v);
  Field(out, tag, ByteSpan(tmp, len));
}

// Appends the encoding of `n` to `out`.
void EncodeNodeInto(const Node& n, Bytes& out) {
  FieldU(out, kType, uint64_t(n.type));
  Field(out, kName, AsBytes(n.name));
  FieldU(out, kMode, n.mode);
  FieldU(out, kUid, n.uid);
  FieldU(out, kGid, n.gid);
  if (!n.user.empty()) Field(out, kUser, AsBytes(n.user));
  if (!n.group.empty()) Field(out, kGroup, AsBytes(n.group));
  FieldU(out, kMtime, ZigZag(n.mtime_ns));
  FieldU(out, kCtime, ZigZag(n.ctime_ns));
  FieldU(out, kInode, n.inode);
  FieldU(out, kDevice, n.device);
  FieldU(out, kLinks, n.links);
  if (n.size) FieldU(out, kSize, n.size);
  if (n.rdev) FieldU(out, kRdev, n.rdev);
  if (!n.link_target.empty()) Field(out, kLinkTarget, AsBytes(n.link_target));
  if (!n.content.empty()) {
    PutVarint(out, kContent);
    PutVarint(out, n.content.size() * 32);
    for (const Id& id : n.content) Append(out, id.b);
  }
  if (n.type == NodeType::kDir) Field(out, kSubtree, n.subtree.b);
  if (n.features) {
    // version 1, varint blocks, varint random blocks, u8 magic
    Bytes f{1};
    PutVarint(f, n.features->blocks);
    PutVarint(f, n.features->random_blocks);
    f.push_back(uint8_t(n.features->magic));
    if (n.features->units_known) {
      // appended (older readers stop after magic): units, random units,
      // binary units, content kind
      PutVarint(f, n.features->units);
      PutVarint(f, n.features->random_units);
      PutVarint(f, n.features->binary_units);
      f.push_back(uint8_t(n.features->kind));
      PutVarint(f, n.features->sketch.size());
      for (uint32_t h : n.features->sketch)
        for (int i = 0; i < 4; i++) f.push_back(uint8_t(h >> (8 * i)));
    }
    Field(out, kFeatures, f);
  }
  for (const Xattr& x : n.xattrs) {
    Bytes v;
    PutVarint(v, x.name.size());
    Append(v, AsBytes(x.name));
    Append(v, x.value);
    Field(out, kXattr, v);
  }
}

bool SafeName(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

Result<Node> DecodeNode(ByteSpan data) {
  Reader r(data);
  Node n;
  bool have_type = false, have_name = false;
  auto bad = [](const char* what) {
    return Fail(ErrorKind::kCorrupt, std::string("tree node: ") + what);
  };
  while (!r.empty()) {
    auto tag = r.Varint();
    auto len = tag ? r.Varint() : std::nullopt;
    auto val = len ? r.Take(*len) : std::nullopt;
    if (!val) return bad("truncated field");
    Reader fv(*val);
    auto num = [&]() -> std::optional<uint64_t> {
      Reader v(*val);
      auto x = v.Varint();
      if (!x || !v.empty()) return std::nullopt;
      return x;
    };
    std::optional<uint64_t> u;
    switch (*tag) {
      case kType:
        if (!(u = num()) || *u < 1 || *u > 7) return bad("unknown type");
        n.type = NodeType(*u);
        have_type = true;
        break;
      case kName: n.name = AsString(*val); have_name = true; break;
      case kUser: n.user = AsString(*val); break;
      case kGroup: n.group = AsString(*val); break;
      case kLinkTarget: n.link_target = AsString(*val); break;
      case kMode: case kUid: case kGid: case kMtime: case kCtime: case kInode:
      case kDevice: case kLinks: case kSize: case kRdev:
        if (!(u = num())) return bad("bad number");
        if (*tag == kMode) { if (*u > 07777) return bad("bad mode"); n.mode = uint32_t(*u); }
        else if (*tag == kUid) n.uid = uint32_t(*u);
        else if (*tag == kGid) n.gid = uint32_t(*u);
        else if (*tag == kMtime) n.mtime_ns = UnZigZag(*u);
        else if (*tag == kCtime) n.ctime_ns = UnZigZag(*u);
        else if (*tag == kInode) n.inode = *u;
        else if (*tag == kDevice) n.device = *u;
        else if (*tag == kLinks) n.links = *u;
        else if (*tag == kSize) n.size = *u;
        else n.rdev = *u;
        break;
      case kContent:
        if (val->size() % 32) return bad("content ids misaligned");
        n.content.reserve(val->size() / 32);
        for (size_t i = 0; i < val->size(); i += 32) n.content.push_back(Id::FromBytes(val->subspan(i, 32)));
        break;
      case kSubtree:
        if (val->size() != 32) return bad("bad subtree id");
        n.subtree = Id::FromBytes(*val);
        break;
      case kXattr: {
        auto nl = fv.Varint();
        auto name = nl ? fv.Take(*nl) : std::nullopt;
        if (!name) return bad("bad xattr");
        auto rest = fv.Take(fv.remaining());
        n.xattrs.push_back(Xattr{AsString(*name), Bytes(rest->begin(), rest->end())});
        break;
      }
      case kFeatures: {
        auto ver = fv.Take(1);
        if (!ver || (*ver)[0] != 1) break;  // a newer encoding: ignore
        auto blocks = fv.Varint(), random = fv.Varint();
        auto magic = fv.Take(1);
        if (!blocks || !random || !magic || *random > *blocks || *blocks > UINT32_MAX ||
            (*magic)[0] > 2)
          return bad("bad features");
        FileFeatures ff;
        ff.blocks = uint32_t(*blocks);
        ff.random_blocks = uint32_t(*random);
        ff.magic = MagicMatch((*magic)[0]);
        if (fv.remaining() > 0) {
          auto units = fv.Varint(), runits = fv.Varint(), bunits = fv.Varint();
          auto kind = fv.Take(1);
          auto count = fv.Varint();
          if (!units || !runits || !bunits || !kind || *runits > *units || *bunits > *units ||
              (*kind)[0] > uint8_t(ContentKind::kLast) || !count || *count > kUnitSketch ||
              *count > *units)
            return bad("bad features");
          for (uint64_t i = 0; i < *count; i++) {
            auto h = fv.Take(4);
            if (!h) return bad("bad features");
            uint32_t v = uint32_t((*h)[0]) | uint32_t((*h)[1]) << 8 | uint32_t((*h)[2]) << 16 |
                         uint32_t((*h)[3]) << 24;
            if (!ff.sketch.empty() && v <= ff.sketch.back()) return bad("bad features");
            ff.sketch.push_back(v);
          }
          ff.units_known = true;
          ff.units = *units;
          ff.random_units = *runits;
          ff.binary_units = *bunits;
          ff.kind = ContentKind((*kind)[0]);
        }
        n.features = ff;
        break;
      }
      default:
        break;  // a field from a newer version: skip it
    }
  }
  if (!have_type || !have_name) return bad("missing type or name");
  if (!SafeName(n.name)) return bad("unsafe name");
  return n;
}

}  // namespace

Bytes EncodeTree(const std::vector<Node>& nodes) {
  Bytes out(kMagic, kMagic + 4);
  out.reserve(16 + nodes.size() * 192);  // a typical entry, without its content ids
  PutVarint(out, nodes.size());
  Bytes enc;  // one node at a time (its length goes first), reused
  for (const Node& n : nodes) {
    enc.clear();
    EncodeNodeInto(n, enc);
    PutVarint(out, enc.size());
    Append(out, enc);
  }
  return out;
}

Result<std::vector<Node>> DecodeTree(ByteSpan data) {
  if (data.size() < 4 || std::memcmp(data.data(), kMagic, 4) != 0)
    return Fail(ErrorKind::kCorrupt, "tree blob has a bad magic");
  Reader r(data.subspan(4));
  auto count = r.Varint();
  if (!count || *count > kMaxNodes || *count > r.remaining())
    return Fail(ErrorKind::kCorrupt, "tree blob has a bad node count");
  std::vector<Node> nodes;
  nodes.reserve(*count);
  for (uint64_t i = 0; i < *count; i++) {
    auto len = r.Varint();
    auto body = len ? r.Take(*len) : std::nullopt;
    if (!body) return Fail(ErrorKind::kCorrupt, "tree blob truncated");
    KS_ASSIGN(Node n, DecodeNode(*body));
    if (!nodes.empty() && !(nodes.back().name < n.name))
      return Fail(ErrorKind::kCorrupt, "tree blob names unsorted or duplicated");
    nodes.push_back(std::move(n));
  }
  if (!r.empty()) return Fail(ErrorKind::kCorrupt, "tree blob has trailing bytes");
  return nodes;
}

}  // namespace ks
