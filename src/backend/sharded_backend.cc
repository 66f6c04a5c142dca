#include "backend/sharded_backend.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <thread>

#include "crypto/aead.h"

namespace ks {
namespace {

constexpr uint8_t kShardMagic[4] = {'K', 'S', 'S', '1'};
constexpr size_t kHeaderSize = 64;
constexpr uint32_t kBlockSize = 4096;  // one disk sector's worth of damage per CRC
constexpr size_t kCrcSize = 4;
// No object is larger (packs are at most 128 MiB plus one chunk; index
// tables a few hundred MiB): a forged header cannot make readers allocate
// more.
constexpr uint64_t kMaxObjectSize = 4ull << 30;
// Reads go through at most this many rows of a shard at a time (8 MiB of
// 4 KiB blocks, more than any blob), and reserve at most kMaxReserve ahead:
// memory follows the bytes that are really there, not the length a header
// claims (a header is protected only by a CRC anyone can compute).
constexpr uint32_t kRowsPerRead = 2048;
constexpr uint64_t kMaxReserve = 64ull << 20;

std::string ShardName(const std::string& name, int i) { return name + "." + std::to_string(i); }

// Binds a shard to the object it belongs to: a shard file renamed or copied
// to another object's name is rejected.
std::array<uint8_t, 16> NameTag(ObjectType t, const std::string& name) {
  std::string s = std::string(ObjectTypeDir(t)) + "/" + name;
  Id h = Sha256(AsBytes(s));
  std::array<uint8_t, 16> tag;
  std::memcpy(tag.data(), h.b.data(), 16);
  return tag;
}

// The CRC of a block also covers the object's name tag and the block's
// place (shard index, row): a block copied from another object or another
// position fails, so parity never rebuilds from foreign data.
using Tag = std::array<uint8_t, 16>;
uint32_t BlockCrc(const uint8_t* block, uint32_t size, const Tag& tag, int index, uint32_t row) {
  uint8_t pos[24];
  std::memcpy(pos, tag.data(), 16);
  PutU32(pos + 16, uint32_t(index));
  PutU32(pos + 20, row);
  return Crc32c(ByteSpan(pos, 24), Crc32c(ByteSpan(block, size)));
}

// Block size and rows per shard for an object of `length` bytes in k data
// shards: 4 KiB blocks, or for small objects one block just large enough
// (multiple of 64), so a 300-byte snapshot does not cost k+m full blocks.
std::pair<uint32_t, uint32_t> ShardLayout(uint64_t length, int k) {
  uint64_t per = (length + uint64_t(k) - 1) / uint64_t(k);
  uint32_t block = per >= kBlockSize ? kBlockSize
                                     : uint32_t(std::max<uint64_t>(64, (per + 63) / 64 * 64));
  return {block, uint32_t((per + block - 1) / block)};
}

}  // namespace

Geometry DefaultGeometry(size_t locations) {
  // One location (a single disk): 8 + 2, 25% overhead, any 2 lost or damaged
  // shards per object and any 2 bad blocks per row survive. Several
  // locations: one shard per location, with 1 parity shard up to 3 locations
  // and 2 from 4 on, so losing that many locations loses nothing.
  if (locations <= 1) return {8, 2};
  if (locations <= 3) return {int(locations) - 1, 1};
  return {int(std::min<size_t>(locations, kMaxShards)) - 2, 2};
}

struct ShardedBackend::Shards {
  Header h;
  std::vector<Bytes> files;              // raw shard files
  std::vector<bool> exists;              // the file exists (perhaps empty)
  std::vector<bool> header_ok;           // per shard
  std::vector<std::vector<bool>> block_ok;  // [shard][row]
};

ShardedBackend::ShardedBackend(std::vector<std::unique_ptr<Backend>> locations, Geometry g)
    : locations_(std::move(locations)), geometry_(g) {}

std::string ShardedBackend::Location() const {
  std::string s;
  for (const auto& l : locations_) s += (s.empty() ? "" : ",") + l->Location();
  return s;
}

Status ShardedBackend::Create() {
  for (auto& l : locations_) KS_TRY(l->Create());
  return Ok();
}

size_t ShardedBackend::PlaceOf(ObjectType t, const std::string& name, int index) const {
  return (size_t(index) + NameTag(t, name)[0]) % locations_.size();
}

std::shared_ptr<const ErasureCode> ShardedBackend::Code(int k, int m) {
  std::lock_guard l(mu_);
  for (const auto& c : codes_)
    if (c->k() == k && c->m() == m) return c;
  codes_.push_back(std::make_shared<const ErasureCode>(k, m));
  return codes_.back();
}

Result<Geometry> ShardedBackend::geometry() {
  {
    std::lock_guard l(mu_);
    if (geometry_.k > 0) return geometry_;
  }
  auto h = LoadHeader(ObjectType::kConfig, "config");
  if (!h) return Fail(h.error().With("cannot learn the shard geometry from the config"));
  std::lock_guard l(mu_);
  geometry_ = Geometry{h->k, h->m};
  return geometry_;
}

Status ShardedBackend::Put(ObjectType t, const std::string& name, ByteSpan data) {
  KS_ASSIGN(Geometry g, geometry());
  auto code = Code(g.k, g.m);
  const int n = g.k + g.m;
  auto [block, rows] = ShardLayout(data.size(), g.k);
  size_t shard_bytes = size_t(rows) * block;
  // Data shards are consecutive slices of the object, zero-padded at the
  // end. Whole slices are used in place; only the tail is copied.
  size_t whole = shard_bytes ? data.size() / shard_bytes : 0;
  // Kept per thread: a backup stores every pack from the same thread, and
  // fresh multi-MiB buffers per object would leave the allocator holding
  // freed memory (or cost page faults).
  thread_local Bytes tail, parity;
  size_t tail_bytes = shard_bytes * (size_t(g.k) - std::min<size_t>(whole, size_t(g.k)));
  if (tail.capacity() < tail_bytes) tail.reserve(tail_bytes);  // exactly: no doubling
  tail.assign(tail_bytes, 0);
  if (whole < size_t(g.k) && data.size() > whole * shard_bytes)
    std::memcpy(tail.data(), data.data() + whole * shard_bytes, data.size() - whole * shard_bytes);
  if (parity.capacity() < shard_bytes * size_t(g.m)) parity.reserve(shard_bytes * size_t(g.m));
  parity.resize(shard_bytes * size_t(g.m));  // every byte is written by Encode
  std::vector<const uint8_t*> dptr(static_cast<size_t>(g.k));
  std::vector<uint8_t*> pptr(static_cast<size_t>(g.m));
  for (int j = 0; j < g.k; j++)
    dptr[size_t(j)] = size_t(j) < whole ? data.data() + size_t(j) * shard_bytes
                                        : tail.data() + (size_t(j) - whole) * shard_bytes;
  for (int r = 0; r < g.m; r++) pptr[size_t(r)] = parity.data() + size_t(r) * shard_bytes;
  code->Encode(dptr.data(), pptr.data(), shard_bytes);

  auto tag = NameTag(t, name);
  // Shards 1..n-1 are written in parallel (each write ends with an fsync,
  // and concurrent fsyncs share journal commits); shard 0 goes last, once
  // the others are durable. So an object whose write was interrupted lacks
  // shard 0, which is how readers tell such leftovers from lost files
  // (Verify's `incomplete`).
  std::vector<Status> results(static_cast<size_t>(n), Ok());
  // Each shard file is handed over as parts (header, then each block of the
  // shard in place followed by its CRC), not assembled in a new buffer:
  // with all shards written at once, copies would double the object in
  // memory.
  auto write_shard = [&](int i) {
    const uint8_t* src = i < g.k ? dptr[size_t(i)] : pptr[size_t(i - g.k)];
    Header h{g.k, g.m, i, data.size(), block, rows};
    Bytes head = ShardFileHeader(tag, h);
    Bytes crcs(size_t(rows) * kCrcSize);
    std::vector<ByteSpan> parts;
    parts.reserve(1 + size_t(rows) * 2);
    parts.emplace_back(head);
    for (uint32_t r = 0; r < rows; r++) {
      const uint8_t* b = src + size_t(r) * block;
      PutU32(crcs.data() + size_t(r) * kCrcSize, BlockCrc(b, block, tag, i, r));
      parts.emplace_back(b, block);
      parts.emplace_back(crcs.data() + size_t(r) * kCrcSize, kCrcSize);
    }
    results[size_t(i)] = locations_[PlaceOf(t, name, i)]->PutParts(t, ShardName(name, i), parts);
  };
  std::vector<std::thread> writers;
  for (int i = 1; i < n; i++) writers.emplace_back(write_shard, i);
  for (auto& w : writers) w.join();
  write_shard(0);
  int existed = 0, failed = 0;
  std::optional<Error> first_error;
  for (const auto& st : results) {
    if (st) continue;
    // A shard left by an interrupted earlier write of the same object:
    // names are content hashes (or written once), so it holds these bytes.
    if (st.error().kind() == ErrorKind::kAlreadyExists) {
      existed++;
    } else {
      failed++;
      if (!first_error) first_error = st.error();
    }
  }
  if (existed == n) return Fail(ErrorKind::kAlreadyExists, "object " + name + " already exists");
  // A location that is down must not stop the repository: with at most m
  // shards missing the object is complete (degraded) and scrub --repair
  // writes the rest once the location is back. More than m is an error.
  if (failed > g.m) return Fail(first_error->With("storing object " + name));
  if (failed > 0) stats_.objects_written_degraded++;
  return Ok();
}

Bytes ShardedBackend::ShardFileHeader(const std::array<uint8_t, 16>& tag, const Header& h) {
  Bytes file(kHeaderSize, 0);
  std::memcpy(file.data(), kShardMagic, 4);
  file[4] = 1;
  file[5] = uint8_t(h.k);
  file[6] = uint8_t(h.m);
  file[7] = uint8_t(h.index);
  PutU64(file.data() + 8, h.length);
  PutU32(file.data() + 16, h.block);
  PutU32(file.data() + 20, h.rows);
  std::memcpy(file.data() + 24, tag.data(), 16);
  PutU32(file.data() + 60, Crc32c(ByteSpan(file.data(), 60)));
  return file;
}

Bytes ShardedBackend::BuildShardFile(const std::array<uint8_t, 16>& tag, const Header& h,
                                     const uint8_t* payload) {
  Bytes file = ShardFileHeader(tag, h);
  file.reserve(kHeaderSize + size_t(h.rows) * (h.block + kCrcSize));
  for (uint32_t r = 0; r < h.rows; r++) {
    const uint8_t* b = payload + size_t(r) * h.block;
    file.insert(file.end(), b, b + h.block);
    AppendU32(file, BlockCrc(b, h.block, tag, h.index, r));
  }
  return file;
}

int ShardedBackend::KnownShards() {
  std::lock_guard l(mu_);
  return geometry_.k > 0 ? geometry_.k + geometry_.m : 0;
}

uint64_t ShardedBackend::FileSize(const Header& h) {
  return kHeaderSize + uint64_t(h.rows) * (h.block + kCrcSize);
}

Result<Bytes> ShardedBackend::GetShard(ObjectType t, const std::string& name, int index,
                                       uint64_t offset, uint64_t length,
                                       std::vector<bool>* unavailable, uint64_t limit) {
  auto get = [&](size_t l) -> Result<Bytes> {
    if (unavailable && (*unavailable)[l])
      return Fail(ErrorKind::kIo, locations_[l]->Location() + " did not answer", true);
    auto r = offset == 0 && length == 0 && limit != UINT64_MAX
                 ? locations_[l]->GetAtMost(t, ShardName(name, index), limit)
                 : locations_[l]->Get(t, ShardName(name, index), offset, length);
    if (!r && r.error().transient() && unavailable) (*unavailable)[l] = true;
    return r;
  };
  size_t home = PlaceOf(t, name, index);
  auto r = get(home);
  if (r || r.error().kind() != ErrorKind::kNotFound || locations_.size() == 1) return r;
  // Not where placement puts it (locations listed in another order, or a
  // replaced disk): look in the others.
  for (size_t l = 0; l < locations_.size(); l++) {
    if (l == home) continue;
    auto o = get(l);
    if (o || o.error().kind() != ErrorKind::kNotFound) return o;
  }
  return r;
}

Result<Bytes> ShardedBackend::GetRows(const Header& h, ObjectType t, const std::string& name,
                                      int index, uint64_t offset, uint64_t length) {
  auto r = GetShard(t, name, index, offset, length);
  if (r || r.error().kind() != ErrorKind::kCorrupt) return r;
  // A truncated shard: its rows before the cut are still good. Read what
  // is there; the caller treats missing rows as bad.
  auto whole = GetShard(t, name, index, 0, 0, nullptr, FileSize(h));
  if (!whole || whole->size() <= offset) return r;
  size_t n = size_t(std::min<uint64_t>(length, whole->size() - offset));
  return Bytes(whole->begin() + ptrdiff_t(offset), whole->begin() + ptrdiff_t(offset + n));
}

std::optional<ShardedBackend::Header> ShardedBackend::ParseHeader(ByteSpan b, const Tag& tag,
                                                                  int index) {
  if (b.size() < kHeaderSize) return std::nullopt;
  const uint8_t* p = b.data();
  if (std::memcmp(p, kShardMagic, 4) != 0 || p[4] != 1 ||
      GetU32(p + 60) != Crc32c(ByteSpan(p, 60)) || std::memcmp(p + 24, tag.data(), 16) != 0)
    return std::nullopt;
  Header h{p[5], p[6], p[7], GetU64(p + 8), GetU32(p + 16), GetU32(p + 20)};
  if (h.k < 1 || h.m < 0 || h.k + h.m > kMaxShards || h.index != index ||
      h.length > kMaxObjectSize || ShardLayout(h.length, h.k) != std::make_pair(h.block, h.rows))
    return std::nullopt;
  return h;
}

void ShardedBackend::CacheHeader(ObjectType t, const std::string& name, const Header& h) {
  std::lock_guard l(mu_);
  if (headers_.size() > 100000) headers_.clear();
  headers_[std::string(ObjectTypeDir(t)) + "/" + name] = h;
}

Result<ShardedBackend::Header> ShardedBackend::LoadHeader(ObjectType t, const std::string& name) {
  std::string key = std::string(ObjectTypeDir(t)) + "/" + name;
  {
    std::lock_guard l(mu_);
    auto it = headers_.find(key);
    if (it != headers_.end()) return it->second;
  }
  auto tag = NameTag(t, name);
  int limit = kMaxShards;
  std::optional<Error> first_error, io_error;
  bool bad_header = false;
  // A location that timed out (a cluster that is down) is not asked again
  // for this object's other shards: up to 32 tries would each wait out the
  // timeout.
  std::vector<bool> unavailable(locations_.size(), false);
  for (int i = 0; i < limit; i++) {
    auto b = GetShard(t, name, i, 0, kHeaderSize, &unavailable);
    if (!b) {
      if (!first_error) first_error = b.error();
      if (!io_error && b.error().kind() != ErrorKind::kNotFound) io_error = b.error();
      continue;
    }
    bad_header = true;
    auto h = ParseHeader(*b, tag, i);
    if (!h) continue;
    // A header is protected by a CRC anyone can compute: believe it once
    // one more shard agrees (or none is left to ask), so that one damaged
    // shard within the parity budget can never change how the object is
    // read. Shards that are missing or unreadable are skipped; one that
    // disagrees calls a vote of all of them. Asked as far as the
    // repository's geometry goes, not only the header's own k + m: a
    // forged header claiming one shard would otherwise confirm itself.
    const int known = KnownShards();
    const int bound = known > 0 ? std::max(known, h->k + h->m) : kMaxShards;
    for (int j = i + 1; j < bound; j++) {
      auto o = GetShard(t, name, j, 0, kHeaderSize, &unavailable);
      auto other = o ? ParseHeader(*o, tag, j) : std::nullopt;
      if (!other) continue;
      if (!SameObject(*other, *h)) return VoteHeader(t, name);
      break;
    }
    CacheHeader(t, name, *h);
    return *h;
  }
  if (first_error && first_error->kind() == ErrorKind::kNotFound && !io_error)
    return Fail(ErrorKind::kNotFound, "object " + name + " not found");
  // Nothing unreadable was seen, only errors: the object may be fine on a
  // location that is down, so say that rather than "lost".
  if (io_error && !bad_header)
    return Fail(io_error->With("object " + name + ": no shard could be read"));
  return Fail(ErrorKind::kCorrupt,
              "object " + name + ": no readable shard header (lost beyond repair)");
}

std::optional<ShardedBackend::Header> ShardedBackend::Elect(
    const std::vector<std::optional<Header>>& headers) {
  // Every header of an object is the same but for its index. The most
  // common one wins; a tie goes to the lowest shard (as LoadHeader would).
  std::optional<Header> best;
  int best_votes = 0;
  for (size_t i = 0; i < headers.size(); i++) {
    if (!headers[i]) continue;
    int votes = 0;
    for (const auto& o : headers)
      votes += o && SameObject(*o, *headers[i]) ? 1 : 0;
    if (votes > best_votes) {
      best = headers[i];
      best_votes = votes;
    }
  }
  return best;
}

Result<ShardedBackend::Header> ShardedBackend::VoteHeader(ObjectType t, const std::string& name) {
  auto tag = NameTag(t, name);
  std::vector<std::optional<Header>> headers;
  std::vector<bool> unavailable(locations_.size(), false);
  // Up to the repository's k + m (all 32 places while it is unknown), or
  // the largest any valid header names: a forged header can hide no shard
  // by claiming fewer.
  const int known = KnownShards();
  int limit = known > 0 ? known : kMaxShards;
  for (int i = 0; i < limit; i++) {
    auto b = GetShard(t, name, i, 0, kHeaderSize, &unavailable);
    headers.push_back(b ? ParseHeader(*b, tag, i) : std::nullopt);
    if (headers.back()) limit = std::max(limit, headers.back()->k + headers.back()->m);
  }
  auto h = Elect(headers);
  if (!h) return LoadHeader(t, name);  // no valid header: its error
  CacheHeader(t, name, *h);
  return *h;
}

Status ShardedBackend::RebuildRows(ObjectType t, const std::string& name, const Header& h,
                                   int want, uint32_t r0, uint32_t r1, uint8_t* out) {
  const int n = h.k + h.m;
  const size_t stride = h.block + kCrcSize;
  const Tag tag = NameTag(t, name);
  std::vector<Bytes> runs(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) {
    if (i == want) continue;
    auto b = GetRows(h, t, name, i, kHeaderSize + uint64_t(r0) * stride,
                     uint64_t(r1 - r0) * stride);
    if (b) runs[size_t(i)] = std::move(*b);
  }
  auto code = Code(h.k, h.m);
  std::vector<Bytes> rowbuf(static_cast<size_t>(n), Bytes(h.block));
  std::vector<uint8_t*> ptrs(static_cast<size_t>(n));
  for (uint32_t r = r0; r < r1; r++) {
    std::vector<bool> present(static_cast<size_t>(n), false);
    for (int i = 0; i < n; i++) {
      ptrs[size_t(i)] = rowbuf[size_t(i)].data();
      if (i == want || runs[size_t(i)].size() < size_t(r - r0 + 1) * stride) continue;
      const uint8_t* b = runs[size_t(i)].data() + size_t(r - r0) * stride;
      if (GetU32(b + h.block) != BlockCrc(b, h.block, tag, i, r)) continue;
      std::memcpy(rowbuf[size_t(i)].data(), b, h.block);
      present[size_t(i)] = true;
    }
    if (!code->Reconstruct(ptrs.data(), present, h.block))
      return Fail(ErrorKind::kCorrupt,
                  "object " + name + ": block " + std::to_string(r) + " has fewer than " +
                      std::to_string(h.k) + " intact shards; data lost beyond the parity budget");
    std::memcpy(out + size_t(r - r0) * h.block, rowbuf[size_t(want)].data(), h.block);
    stats_.blocks_rebuilt++;
  }
  return Ok();
}

Result<Bytes> ShardedBackend::Get(ObjectType t, const std::string& name, uint64_t offset,
                                  uint64_t length) {
  KS_ASSIGN(Header h, LoadHeader(t, name));
  auto r = GetWith(h, t, name, offset, length);
  if (r || r.error().kind() != ErrorKind::kCorrupt) return r;
  // The header read first may be the damaged part: one with a valid CRC
  // but another length (forged, or from a bad repair) makes every row look
  // missing. Ask every shard; if most say otherwise, read by theirs.
  auto voted = VoteHeader(t, name);
  if (!voted || SameObject(*voted, h)) return r;
  return GetWith(*voted, t, name, offset, length);
}

Result<Bytes> ShardedBackend::GetWith(const Header& h, ObjectType t, const std::string& name,
                                      uint64_t offset, uint64_t length) {
  if (offset > h.length) return Fail(ErrorKind::kCorrupt, "object " + name + " is shorter than expected");
  if (length == 0) length = h.length - offset;
  if (offset + length > h.length)
    return Fail(ErrorKind::kCorrupt, "object " + name + " is shorter than expected");
  const uint64_t shard_bytes = uint64_t(h.rows) * h.block;
  const size_t stride = h.block + kCrcSize;
  const Tag tag = NameTag(t, name);
  // Filled in order, by appending: never zeroed first.
  Bytes out;
  out.reserve(std::min(length, kMaxReserve));
  uint64_t pos = offset, end = offset + length;
  bool degraded = false;
  Bytes rows_buf;
  while (pos < end) {
    int j = int(pos / shard_bytes);
    uint64_t within = pos % shard_bytes;
    uint32_t r0 = uint32_t(within / h.block);
    uint64_t stop = std::min<uint64_t>({shard_bytes, within + (end - pos),
                                        (uint64_t(r0) + kRowsPerRead) * h.block});
    uint32_t r1 = uint32_t((stop + h.block - 1) / h.block);
    auto run = GetRows(h, t, name, j, kHeaderSize + uint64_t(r0) * stride,
                       uint64_t(r1 - r0) * stride);
    std::vector<bool> bad(r1 - r0, !run);
    for (uint32_t r = r0; r < r1 && run; r++) {
      const size_t at = size_t(r - r0) * stride;
      bad[r - r0] = run->size() < at + stride ||  // cut off: a truncated shard
                    GetU32(run->data() + at + h.block) != BlockCrc(run->data() + at, h.block, tag, j, r);
    }
    const uint64_t take = stop - within;
    if (std::find(bad.begin(), bad.end(), true) == bad.end()) {
      // Every block verified (the usual case): straight from the run.
      for (uint32_t r = r0; r < r1; r++) {
        uint64_t from = std::max<uint64_t>(within, uint64_t(r) * h.block);
        uint64_t to = std::min<uint64_t>(stop, uint64_t(r + 1) * h.block);
        const uint8_t* b = run->data() + size_t(r - r0) * stride + (from - uint64_t(r) * h.block);
        out.insert(out.end(), b, b + (to - from));
      }
      pos += take;
      continue;
    }
    rows_buf.assign(size_t(r1 - r0) * h.block, 0);
    for (uint32_t r = r0; r < r1; r++)
      if (!bad[r - r0])
        std::memcpy(rows_buf.data() + size_t(r - r0) * h.block, run->data() + size_t(r - r0) * stride, h.block);
    for (uint32_t r = r0; r < r1;) {
      if (!bad[r - r0]) {
        r++;
        continue;
      }
      uint32_t s = r;
      while (r < r1 && bad[r - r0]) r++;
      KS_TRY(RebuildRows(t, name, h, j, s, r, rows_buf.data() + size_t(s - r0) * h.block));
      degraded = true;
    }
    const uint8_t* from = rows_buf.data() + (within - uint64_t(r0) * h.block);
    out.insert(out.end(), from, from + take);
    pos += take;
  }
  if (degraded) stats_.objects_degraded++;
  return out;
}

// The recorded time of an object is the earliest of its shards' times: a
// repair rewrites shards later, never earlier, so the minimum is when the
// object was first stored.
static void NoteShardTime(int64_t& earliest, int64_t t) {
  if (t > 0 && (earliest == 0 || t < earliest)) earliest = t;
}

Result<ObjectInfo> ShardedBackend::Stat(ObjectType t, const std::string& name) {
  KS_ASSIGN(Header h, LoadHeader(t, name));
  ObjectInfo info{name, h.length, 0};
  int fitting = 0;  // shard files as long as the header says
  const uint64_t file_size = FileSize(h);
  for (int i = 0; i < h.k + h.m; i++) {
    auto s = locations_[PlaceOf(t, name, i)]->Stat(t, ShardName(name, i));
    if (s) NoteShardTime(info.mtime_ns, s->mtime_ns);
    fitting += s && s->size == file_size ? 1 : 0;
  }
  // Too few files fit the header to read the object by it: the header may
  // be the damage (Get). The vote's length is the object's.
  if (fitting < h.k) {
    auto voted = VoteHeader(t, name);
    if (voted) info.size = voted->length;
  }
  return info;
}

Result<std::vector<ObjectInfo>> ShardedBackend::List(ObjectType t) {
  std::map<std::string, int64_t> names;  // object name -> recorded time
  for (auto& l : locations_) {
    auto list = l->List(t);
    if (!list) {
      // A lost location is what parity is for: list what the others hold.
      if (locations_.size() > 1) continue;
      return Fail(list.error());
    }
    for (const auto& o : *list) {
      size_t dot = o.name.rfind('.');
      if (dot == std::string::npos || dot + 1 >= o.name.size()) continue;
      NoteShardTime(names[o.name.substr(0, dot)], o.mtime_ns);
    }
  }
  std::vector<ObjectInfo> out;
  for (const auto& [name, mtime] : names) {
    auto h = LoadHeader(t, name);
    out.push_back({name, h ? h->length : 0, mtime});
  }
  return out;
}

Status ShardedBackend::Remove(ObjectType t, const std::string& name) {
  int n = kMaxShards;
  if (auto h = LoadHeader(t, name)) n = h->k + h->m;
  bool any = false;
  std::optional<Error> refused;
  for (auto& l : locations_)
    for (int i = 0; i < n; i++) {
      auto st = l->Remove(t, ShardName(name, i));
      if (st) any = true;
      // A location that refuses (Object Lock, permissions) must not pass
      // for "not found": the object is still there.
      else if (st.error().kind() != ErrorKind::kNotFound && !refused) refused = st.error();
    }
  {
    std::lock_guard l(mu_);
    headers_.erase(std::string(ObjectTypeDir(t)) + "/" + name);
  }
  if (refused) return Fail(refused->With("removing object " + name));
  if (!any) return Fail(ErrorKind::kNotFound, "object " + name + " not found");
  return Ok();
}

Status ShardedBackend::SetObjectLock(uint32_t days) {
  for (auto& l : locations_) KS_TRY(l->SetObjectLock(days));
  return Ok();
}

Result<std::vector<std::string>> ShardedBackend::ListHidden(ObjectType t) {
  std::map<std::string, bool> names;
  for (auto& l : locations_) {
    KS_ASSIGN(auto hidden, l->ListHidden(t));
    for (const auto& shard : hidden) {
      size_t dot = shard.rfind('.');
      if (dot != std::string::npos && dot > 0) names[shard.substr(0, dot)] = true;
    }
  }
  std::vector<std::string> out;
  for (const auto& [name, _] : names) out.push_back(name);
  return out;
}

Result<ShardedBackend::Shards> ShardedBackend::LoadAll(ObjectType t, const std::string& name) {
  KS_ASSIGN(Header first, LoadHeader(t, name));
  auto tag = NameTag(t, name);
  Shards s;
  std::vector<std::optional<Header>> headers;
  // Every shard file is read whole anyway, so all their headers vote (see
  // Get): repair must rebuild by the header most shards carry, never by a
  // lone forged one (whose length would also size the rebuild). As many
  // shards are read as the repository has, or any valid header names.
  std::vector<bool> longer;  // read cut at the expected size
  auto read = [&](int i, uint64_t size) {
    auto b = GetShard(t, name, i, 0, 0, nullptr, size);
    bool cut = false;
    if (!b && b.error().kind() == ErrorKind::kCorrupt) {
      // Longer than any shard of the object: damaged, but the rows it
      // holds may still serve. Read only as far as they go.
      b = GetShard(t, name, i, 0, size);
      cut = bool(b);
    }
    return std::make_pair(std::move(b), cut);
  };
  int shards = std::max(first.k + first.m, KnownShards());
  for (int i = 0; i < shards; i++) {
    auto [b, cut] = read(i, FileSize(first));
    s.exists.push_back(bool(b));
    s.files.push_back(b ? std::move(*b) : Bytes{});
    longer.push_back(cut);
    headers.push_back(ParseHeader(s.files.back(), tag, i));
    if (headers.back()) shards = std::max(shards, headers.back()->k + headers.back()->m);
  }
  s.h = Elect(headers).value_or(first);
  if (!SameObject(s.h, first)) {
    CacheHeader(t, name, s.h);
    // Read again what the first header cut short, by the elected size.
    for (int i = 0; i < shards; i++) {
      if (!longer[size_t(i)] || FileSize(s.h) <= FileSize(first)) continue;
      auto [b, cut] = read(i, FileSize(s.h));
      if (b) s.files[size_t(i)] = std::move(*b);
      longer[size_t(i)] = cut;
    }
  }
  const int n = s.h.k + s.h.m;
  s.files.resize(size_t(n));
  s.exists.resize(size_t(n), false);
  s.header_ok.assign(size_t(n), false);
  s.block_ok.assign(size_t(n), std::vector<bool>(s.h.rows, false));
  longer.resize(size_t(n), false);
  for (int i = 0; i < n; i++) {
    const size_t u = size_t(i);
    if (s.exists[u])
      s.header_ok[u] = CheckShardFile(s.files[u], s.h, i, tag, s.block_ok[u]) && !longer[u];
  }
  return s;
}

bool ShardedBackend::CheckShardFile(const Bytes& f, const Header& h, int i, const Tag& tag,
                                    std::vector<bool>& block_ok) {
  const size_t stride = h.block + kCrcSize;
  bool header_ok = false;
  if (f.size() >= kHeaderSize) {
    const uint8_t* p = f.data();
    header_ok = std::memcmp(p, kShardMagic, 4) == 0 && p[4] == 1 &&
                GetU32(p + 60) == Crc32c(ByteSpan(p, 60)) && std::memcmp(p + 24, tag.data(), 16) == 0 &&
                p[5] == h.k && p[6] == h.m && p[7] == i && GetU64(p + 8) == h.length &&
                GetU32(p + 16) == h.block && GetU32(p + 20) == h.rows &&
                f.size() == kHeaderSize + size_t(h.rows) * stride;
  }
  block_ok.assign(h.rows, false);
  for (uint32_t r = 0; r < h.rows; r++) {
    size_t at = kHeaderSize + size_t(r) * stride;
    if (at + stride > f.size()) break;
    block_ok[r] = GetU32(f.data() + at + h.block) == BlockCrc(f.data() + at, h.block, tag, i, r);
  }
  return header_ok;
}

Result<ObjectHealth> ShardedBackend::VerifyRead(ObjectType t, const std::string& name, Bytes* content) {
  content->clear();
  if (auto h = LoadHeader(t, name)) {
    const int n = h->k + h->m;
    const size_t stride = h->block + kCrcSize;
    const uint64_t shard_bytes = uint64_t(h->rows) * h->block;
    const Tag tag = NameTag(t, name);
    // Appended in order (data shards are consecutive runs of the object),
    // so the buffer is never zeroed first.
    Bytes out;
    out.reserve(std::min(h->length, kMaxReserve));
    std::vector<bool> block_ok;
    bool clean = true;
    for (int i = 0; i < n && clean; i++) {
      auto f = GetShard(t, name, i, 0, 0, nullptr, FileSize(*h));
      clean = f && CheckShardFile(*f, *h, i, tag, block_ok) &&
              std::find(block_ok.begin(), block_ok.end(), false) == block_ok.end();
      if (!clean || i >= h->k) continue;
      for (uint32_t r = 0; r < h->rows; r++) {
        uint64_t at = uint64_t(i) * shard_bytes + uint64_t(r) * h->block;
        if (at >= h->length) break;
        const uint8_t* src = f->data() + kHeaderSize + size_t(r) * stride;
        out.insert(out.end(), src, src + std::min<uint64_t>(h->block, h->length - at));
      }
    }
    if (clean) {
      *content = std::move(out);
      return ObjectHealth{};
    }
  }
  // Something is missing or damaged: the full analysis, then a healed read.
  KS_ASSIGN(ObjectHealth health, Verify(t, name));
  if (health.recoverable) {
    auto b = Get(t, name, 0, 0);
    if (b) *content = std::move(*b);
  }
  return health;
}

Result<ObjectHealth> ShardedBackend::Verify(ObjectType t, const std::string& name) {
  auto s = LoadAll(t, name);
  if (!s) return ObjectHealth{false, false, s.error().message()};
  const int n = s->h.k + s->h.m;
  ObjectHealth health;
  std::string detail;
  int damaged = 0;
  for (int i = 0; i < n; i++) {
    size_t bad = size_t(std::count(s->block_ok[size_t(i)].begin(), s->block_ok[size_t(i)].end(), false));
    if (!s->exists[size_t(i)]) detail += " shard " + std::to_string(i) + " missing;";
    else if (!s->header_ok[size_t(i)] || bad)
      detail += " shard " + std::to_string(i) + ": " + (s->header_ok[size_t(i)] ? "" : "bad header or length, ") +
                std::to_string(bad) + " bad blocks;";
    else continue;
    damaged++;
  }
  for (uint32_t r = 0; r < s->h.rows; r++) {
    int ok = 0;
    for (int i = 0; i < n; i++) ok += s->block_ok[size_t(i)][r] ? 1 : 0;
    if (ok < s->h.k) health.recoverable = false;
  }
  health.intact = damaged == 0;
  int present = 0;
  bool present_intact = true;
  for (int i = 0; i < n; i++) {
    if (!s->exists[size_t(i)]) continue;
    present++;
    if (!s->header_ok[size_t(i)] ||
        std::count(s->block_ok[size_t(i)].begin(), s->block_ok[size_t(i)].end(), false) > 0)
      present_intact = false;
  }
  // Put writes shard 0 last: an unreadable object without shard 0 whose
  // other files are all intact is what an interrupted write leaves. (If
  // damage removed shard 0 and more than m others as whole files, it looks
  // the same; see docs/design.md, 9.2.) A readable one is reported as
  // repairable, whatever the cause: `scrub --repair` completes it.
  health.incomplete = !health.recoverable && present_intact && !s->exists[0];
  if (health.incomplete) {
    health.detail = "incomplete: " + std::to_string(present) + " of " + std::to_string(n) +
                    " shards exist, all intact (the leftover of an interrupted write)";
    return health;
  }
  if (damaged)
    health.detail = std::to_string(damaged) + " of " + std::to_string(n) + " shards damaged or missing (" +
                    (health.recoverable ? "repairable" : "NOT repairable") + "):" + detail;
  return health;
}

Status ShardedBackend::Repair(ObjectType t, const std::string& name) {
  KS_ASSIGN(Shards s, LoadAll(t, name));
  const Header& h = s.h;
  const int n = h.k + h.m;
  const size_t stride = h.block + kCrcSize;
  std::vector<bool> rewrite(static_cast<size_t>(n), false);
  for (int i = 0; i < n; i++) {
    rewrite[size_t(i)] = !s.header_ok[size_t(i)] ||
                         std::count(s.block_ok[size_t(i)].begin(), s.block_ok[size_t(i)].end(), false) > 0;
  }
  if (std::none_of(rewrite.begin(), rewrite.end(), [](bool b) { return b; })) return Ok();
  // Every row needs k good blocks. Checked before anything is allocated:
  // the rebuild below takes n times the rows the header claims, and rows
  // that exist in no file (a forged length) would fail here anyway.
  for (uint32_t r = 0; r < h.rows; r++) {
    int good = 0;
    for (int i = 0; i < n; i++) good += s.block_ok[size_t(i)][r] ? 1 : 0;
    if (good < h.k)
      return Fail(ErrorKind::kCorrupt, "object " + name + ": block " + std::to_string(r) +
                                           " is damaged beyond the parity budget; cannot repair");
  }
  auto code = Code(h.k, h.m);
  // Rebuild every shard's payload row by row, then rewrite the damaged ones.
  std::vector<Bytes> payload(static_cast<size_t>(n), Bytes(size_t(h.rows) * h.block));
  std::vector<uint8_t*> ptrs(static_cast<size_t>(n));
  for (uint32_t r = 0; r < h.rows; r++) {
    std::vector<bool> present(static_cast<size_t>(n));
    for (int i = 0; i < n; i++) {
      ptrs[size_t(i)] = payload[size_t(i)].data() + size_t(r) * h.block;
      present[size_t(i)] = s.block_ok[size_t(i)][r];
      if (present[size_t(i)])
        std::memcpy(ptrs[size_t(i)], s.files[size_t(i)].data() + kHeaderSize + size_t(r) * stride, h.block);
    }
    if (!code->Reconstruct(ptrs.data(), present, h.block))
      return Fail(ErrorKind::kCorrupt, "object " + name + ": block " + std::to_string(r) +
                                           " is damaged beyond the parity budget; cannot repair");
  }
  auto tag = NameTag(t, name);
  for (int i = 0; i < n; i++) {
    if (!rewrite[size_t(i)]) continue;
    Header hi = h;
    hi.index = i;
    Bytes file = BuildShardFile(tag, hi, payload[size_t(i)].data());
    KS_TRY(locations_[PlaceOf(t, name, i)]->Replace(t, ShardName(name, i), file));
  }
  return Ok();
}

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, Geometry geometry) {
  std::vector<std::unique_ptr<Backend>> locations;
  size_t start = 0;
  while (start <= location.size()) {
    size_t comma = location.find(',', start);
    if (comma == std::string::npos) comma = location.size();
    KS_ASSIGN(auto l, OpenLocation(location.substr(start, comma - start)));
    locations.push_back(std::move(l));
    start = comma + 1;
  }
  if (locations.size() > size_t(kMaxShards))
    return Fail(ErrorKind::kInvalidArgument, "at most 32 locations are supported");
  if (geometry.k > 0 && geometry.k + geometry.m > kMaxShards)
    return Fail(ErrorKind::kInvalidArgument, "data + parity shards must be at most 32");
  return std::make_unique<ShardedBackend>(std::move(locations), geometry);
}

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location) {
  return OpenBackend(location, Geometry{});
}

}  // namespace ks
