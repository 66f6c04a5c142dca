// The metadata of one file system entry as stored in a tree blob.
// A tree blob is the list of Nodes of one directory, sorted by name
// (bytewise). Serialisation lives in format/tree.h; reading a Node from the
// file system lives in fs/metadata.h; applying one on restore in
// fs/restore_target.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/bytes.h"

namespace ks {

enum class NodeType : uint8_t {
  kFile = 1,
  kDir = 2,
  kSymlink = 3,
  kCharDev = 4,
  kBlockDev = 5,
  kFifo = 6,
  kSocket = 7,
};

inline const char* NodeTypeName(NodeType t) {
  switch (t) {
    case NodeType::kFile: return "file";
    case NodeType::kDir: return "dir";
    case NodeType::kSymlink: return "symlink";
    case NodeType::kCharDev: return "chardev";
    case NodeType::kBlockDev: return "blockdev";
    case NodeType::kFifo: return "fifo";
    case NodeType::kSocket: return "socket";
  }
  return "unknown";
}

// Ransomware-detection features of a file's content (computed by
// detect/features.h, stored encrypted in the tree, compared with the next
// version of the same file).
// How a file's leading bytes compare with what its extension promises.
enum class MagicMatch : uint8_t {
  kUnknown = 0,   // extension without a known signature
  kMatch = 1,     // e.g. ".pdf" starting with "%PDF-"
  kMismatch = 2,  // e.g. ".docx" that is not a ZIP
};

// What a file's leading bytes say it is, whatever its name (stored: the
// values never change meaning).
enum class ContentKind : uint8_t {
  kNone = 0,  // no known signature, not text (or not measured)
  kText = 1,  // no signature, and its first KiB is text
  kPdf = 2, kZip = 3, kPng = 4, kJpeg = 5, kGif = 6, kTiff = 7,
  kDicom = 8,            // DICOM, pixel data not compressed (or syntax unknown)
  kDicomCompressed = 9,  // DICOM whose transfer syntax is compressed (JPEG, JPEG 2000, RLE...)
  kGzip = 10, kZstd = 11, kOle = 12, kElf = 13, kMp4 = 14, kJp2 = 15,
  kLast = kJp2,
};

constexpr size_t kUnitSketch = 8;

struct FileFeatures {
  uint32_t blocks = 0;         // 64 KiB blocks sampled
  uint32_t random_blocks = 0;  // of those, the ones that look random
  MagicMatch magic = MagicMatch::kUnknown;
  // Version 2: every byte measured, in 1 KiB units (absent in trees
  // written by older versions: `units_known` false).
  bool units_known = false;
  uint64_t units = 0;         // 1 KiB units measured
  uint64_t random_units = 0;  // of those, the ones that look random
  uint64_t binary_units = 0;  // of those, the ones holding control bytes text never has
  ContentKind kind = ContentKind::kNone;
  // A bottom-k sketch of the units' contents: the smallest (up to
  // kUnitSketch) distinct 32-bit hashes of its units, ascending. Two
  // versions' sketches estimate how much of the file stayed byte for byte.
  std::vector<uint32_t> sketch;

  double random_fraction() const { return blocks ? double(random_blocks) / blocks : 0.0; }
  double unit_random_fraction() const { return units ? double(random_units) / double(units) : 0.0; }
  bool operator==(const FileFeatures&) const = default;
};

struct Xattr {
  std::string name;  // e.g. "user.comment", "system.posix_acl_access"
  Bytes value;
  bool operator==(const Xattr&) const = default;
};

struct Node {
  NodeType type = NodeType::kFile;
  std::string name;  // one path component; arbitrary bytes except '/' and NUL
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (no type bits)
  uint32_t uid = 0, gid = 0;
  std::string user, group;  // names at backup time ("" if unknown)
  int64_t mtime_ns = 0;     // modification time, ns since the Unix epoch
  int64_t ctime_ns = 0;     // status change time (change detection only)
  uint64_t inode = 0, device = 0;  // for change detection and hard links
  uint64_t links = 1;              // st_nlink
  uint64_t size = 0;               // file size in bytes
  uint64_t rdev = 0;               // device number for char/block devices
  std::string link_target;         // symlink target, raw bytes
  std::vector<Id> content;         // file: data blob ids in order
  Id subtree;                      // dir: id of its tree blob
  std::vector<Xattr> xattrs;       // sorted by name
  std::optional<FileFeatures> features;  // file: detection features

  bool operator==(const Node&) const = default;
};

}  // namespace ks
