// Fuzzes DecodeTree, the parser of tree blobs (the plaintext behind a pack
// record's tag). Properties: no crash; rejection is kCorrupt; whatever decodes
// satisfies the decoder's own validations and re-encodes canonically.
#include "format/tree.h"

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ks;
  auto r = DecodeTree(ByteSpan(data, size));
  if (!r) {
    KS_FUZZ_CHECK(r.error().kind() == ErrorKind::kCorrupt);
    fuzz::Count(0, "rejected");
    return 0;
  }
  fuzz::Count(1, "decoded");
  std::vector<Node>& nodes = *r;
  KS_FUZZ_CHECK(nodes.size() <= size);
  for (size_t i = 0; i < nodes.size(); i++) {
    const Node& n = nodes[i];
    KS_FUZZ_CHECK(!n.name.empty() && n.name != "." && n.name != "..");
    KS_FUZZ_CHECK(n.name.find('/') == std::string::npos);
    KS_FUZZ_CHECK(n.name.find('\0') == std::string::npos);
    KS_FUZZ_CHECK(uint8_t(n.type) >= 1 && uint8_t(n.type) <= 7);
    KS_FUZZ_CHECK(n.mode <= 07777);
    if (i) KS_FUZZ_CHECK(nodes[i - 1].name < n.name);
  }
  if (!nodes.empty()) fuzz::Count(2, "non-empty");
  // The encoder writes a subtree id for directories only.
  for (Node& n : nodes)
    if (n.type != NodeType::kDir) n.subtree = Id{};
  Bytes enc = EncodeTree(nodes);
  auto again = DecodeTree(enc);
  KS_FUZZ_CHECK(again.has_value());
  KS_FUZZ_CHECK(*again == nodes);
  KS_FUZZ_CHECK(EncodeTree(*again) == enc);
  return 0;
}

std::vector<ks::Bytes> KsFuzzSeeds() {
  using namespace ks;
  std::vector<Bytes> seeds;
  seeds.push_back(EncodeTree({}));
  Node f;
  f.type = NodeType::kFile;
  f.name = "file.txt";
  f.mode = 0644;
  f.uid = 1000;
  f.gid = 1000;
  f.user = "alice";
  f.group = "staff";
  f.mtime_ns = 1796056393123456789;
  f.ctime_ns = -5;
  f.inode = 1234;
  f.device = 66306;
  f.size = 100000;
  f.content = {Id{}, Id{}};
  f.content[1].b[0] = 7;
  f.xattrs = {{"user.a", {1, 2, 3}}, {"user.b", {}}};
  Node d;
  d.type = NodeType::kDir;
  d.name = "dir";
  d.mode = 0755;
  d.subtree.b[31] = 9;
  Node l;
  l.type = NodeType::kSymlink;
  l.name = "link";
  l.link_target = "../file.txt";
  Node c;
  c.type = NodeType::kCharDev;
  c.name = "null";
  c.rdev = 259;
  Node u;
  u.type = NodeType::kSocket;
  u.name = "\xc3\xa9 sock\n";
  seeds.push_back(EncodeTree({f}));
  seeds.push_back(EncodeTree({d, f, l, c}));
  seeds.push_back(EncodeTree({d, f, l, c, u}));
  // Detection features: the sampled form alone, and with the unit features.
  Node g = f;
  g.name = "scan.dcm";
  g.features = FileFeatures{};
  g.features->blocks = 3;
  g.features->random_blocks = 1;
  g.features->magic = MagicMatch::kMatch;
  seeds.push_back(EncodeTree({g}));
  g.features->units_known = true;
  g.features->units = 40;
  g.features->random_units = 30;
  g.features->binary_units = 31;
  g.features->kind = ContentKind::kDicomCompressed;
  g.features->sketch = {7, 9000, 4000000000u};
  seeds.push_back(EncodeTree({g}));
  return seeds;
}
