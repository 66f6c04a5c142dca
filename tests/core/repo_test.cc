#include "repo/repository.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "backend/local_backend.h"
#include "backend/mem_backend.h"
#include "format/index_table.h"
#include "format/pack.h"
#include "format/sealed.h"
#include "format/tree.h"
#include "repo/index.h"
#include "repo/lock.h"
#include "test_util.h"

namespace ks {
namespace {

using json = nlohmann::json;
using test::PseudoRandom;
using test::SampleText;
using test::TempDir;

const KdfParams kFastKdf{1, 8u << 20};
const KeyFileInfo kInfo{"test-host", "tester", "2026-01-01T00:00:00.000000000Z"};

// Repository::Open takes ownership of its backend; this one forwards to a
// backend the test keeps, so a test can open the same store several times.
class Borrowed : public Backend {
 public:
  explicit Borrowed(Backend& b) : b_(b) {}
  std::string Location() const override { return b_.Location(); }
  Status Put(ObjectType t, const std::string& n, ByteSpan d) override { return b_.Put(t, n, d); }
  Result<Bytes> Get(ObjectType t, const std::string& n, uint64_t o, uint64_t l) override {
    return b_.Get(t, n, o, l);
  }
  Result<ObjectInfo> Stat(ObjectType t, const std::string& n) override { return b_.Stat(t, n); }
  Result<std::vector<ObjectInfo>> List(ObjectType t) override { return b_.List(t); }
  Status Remove(ObjectType t, const std::string& n) override { return b_.Remove(t, n); }

 private:
  Backend& b_;
};

std::unique_ptr<Backend> Borrow(Backend& b) { return std::make_unique<Borrowed>(b); }

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t ns) : ns_(ns) {}
  int64_t NowNs() const override { return ns_; }
  void Set(int64_t ns) { ns_ = ns; }

 private:
  int64_t ns_;
};

std::vector<std::string> Names(Backend& b, ObjectType t) {
  auto list = b.List(t);
  EXPECT_TRUE(list.has_value());
  std::vector<std::string> out;
  if (list)
    for (const auto& o : *list) out.push_back(o.name);
  std::sort(out.begin(), out.end());
  return out;
}

// Writes one pack with the given blobs and one index table for it; returns
// the pack's entries.
struct Written {
  Id pack;
  std::string table;
  std::vector<PackEntry> entries;
};
Written WritePackAndIndex(Backend& b, const RepoKeys& keys,
                          const std::vector<std::pair<BlobType, Bytes>>& blobs) {
  PackWriter w(keys);
  for (const auto& [type, plain] : blobs) {
    Bytes payload;
    Compression c = MaybeCompress(plain, 3, payload);
    w.Add(type, keys.BlobId(plain), c, payload, uint32_t(plain.size()));
  }
  auto f = w.Finish();
  EXPECT_OK(b.Put(ObjectType::kPack, f.storage_id.Hex(), f.bytes));
  std::vector<IndexEntry> entries;
  for (const auto& e : f.entries) entries.push_back({f.storage_id, e});
  Bytes table = BuildIndexTable(keys, entries);
  std::string name = Sha256(table).Hex();
  EXPECT_OK(b.Put(ObjectType::kIndex, name, table));
  return {f.storage_id, name, f.entries};
}

// ------------------------------------------------------------ init / open

TEST(RepositoryTest, InitAndOpenMem) {
  MemBackend mem;
  ASSERT_OK(Repository::Init(mem, "secret", kFastKdf, RepoConfig{}, kInfo));
  EXPECT_NE(mem.Find(ObjectType::kConfig, "config"), nullptr);
  auto keys = Names(mem, ObjectType::kKey);
  ASSERT_EQ(keys.size(), 1u);
  // Key files are named by the SHA-256 of their text.
  Bytes* keyfile = mem.Find(ObjectType::kKey, keys[0]);
  ASSERT_NE(keyfile, nullptr);
  EXPECT_EQ(Sha256(*keyfile).Hex(), keys[0]);

  auto repo = Repository::Open(Borrow(mem), "secret");
  ASSERT_OK(repo);
  const RepoConfig& c = (*repo)->config();
  EXPECT_EQ(c.version, kRepoVersion);
  EXPECT_EQ(c.id.size(), 64u);
  EXPECT_TRUE(HexDecode(c.id).has_value());
  EXPECT_EQ(c.chunker.min_size, ChunkerParams{}.min_size);
  EXPECT_EQ(c.chunker.avg_bits, ChunkerParams{}.avg_bits);
  EXPECT_EQ(c.chunker.max_size, ChunkerParams{}.max_size);
  EXPECT_EQ(c.compression_level, 1);
  EXPECT_EQ(c.pack_size, 16u << 20);
  EXPECT_EQ((*repo)->current_key(), keys[0]);
  EXPECT_EQ((*repo)->index().table_count(), 0u);

  // The config is sealed: its JSON is not readable without the keys.
  Bytes cfg = *mem.Find(ObjectType::kConfig, "config");
  EXPECT_EQ(AsString(cfg).find("chunker"), std::string::npos);
  auto plain = OpenObject((*repo)->keys(), "config", cfg);
  ASSERT_OK(plain);
  EXPECT_EQ(json::parse(AsString(*plain))["id"], c.id);

  // A second open derives the same keys.
  auto again = Repository::Open(Borrow(mem), "secret");
  ASSERT_OK(again);
  EXPECT_EQ((*again)->keys().data, (*repo)->keys().data);
  EXPECT_EQ((*again)->config().id, c.id);
}

TEST(RepositoryTest, OpenErrors) {
  MemBackend empty;
  EXPECT_ERR(Repository::Open(Borrow(empty), "secret"), ErrorKind::kNoRepository);

  MemBackend mem;
  ASSERT_OK(Repository::Init(mem, "secret", kFastKdf, RepoConfig{}, kInfo));
  EXPECT_ERR(Repository::Open(Borrow(mem), "Secret"), ErrorKind::kWrongPassword);
  EXPECT_ERR(Repository::Open(Borrow(mem), ""), ErrorKind::kWrongPassword);

  // Init twice: refused, and the first repository is untouched.
  Bytes cfg_before = *mem.Find(ObjectType::kConfig, "config");
  EXPECT_ERR(Repository::Init(mem, "other", kFastKdf, RepoConfig{}, kInfo),
             ErrorKind::kAlreadyExists);
  EXPECT_EQ(*mem.Find(ObjectType::kConfig, "config"), cfg_before);
  EXPECT_EQ(Names(mem, ObjectType::kKey).size(), 1u);
  EXPECT_ERR(Repository::Open(Borrow(mem), "other"), ErrorKind::kWrongPassword);
  EXPECT_OK(Repository::Open(Borrow(mem), "secret"));

  // A damaged config is corrupt, not a wrong password.
  Bytes* cfg = mem.Find(ObjectType::kConfig, "config");
  (*cfg)[cfg->size() / 2] ^= 1;
  EXPECT_ERR(Repository::Open(Borrow(mem), "secret"), ErrorKind::kCorrupt);
  (*cfg)[cfg->size() / 2] ^= 1;
  EXPECT_OK(Repository::Open(Borrow(mem), "secret"));

  // A config without any key file.
  MemBackend nokeys;
  ASSERT_OK(nokeys.Put(ObjectType::kConfig, "config", cfg_before));
  EXPECT_ERR(Repository::Open(Borrow(nokeys), "secret"), ErrorKind::kCorrupt);
}

// A key file left by an interrupted init may open with the same passphrase
// but hold another master key: Open skips it and uses the key that decrypts
// the config.
TEST(RepositoryTest, StrayKeyWithSamePassphraseIsSkipped) {
  MemBackend mem;
  ASSERT_OK(Repository::Init(mem, "pw", kFastKdf, RepoConfig{}, kInfo));
  std::string real = Names(mem, ObjectType::kKey)[0];
  auto stray = SealKeyFile(MasterKey::Generate(), "pw", kFastKdf, kInfo);
  ASSERT_OK(stray);
  // Listed (and so tried) before the real key.
  ASSERT_OK(mem.Put(ObjectType::kKey, std::string(64, '0'), AsBytes(*stray)));
  auto repo = Repository::Open(Borrow(mem), "pw");
  ASSERT_OK(repo);
  EXPECT_EQ((*repo)->current_key(), real);

  // Only the stray key: it opens, but the config does not decrypt.
  MemBackend only_stray;
  ASSERT_OK(only_stray.Put(ObjectType::kConfig, "config", *mem.Find(ObjectType::kConfig, "config")));
  ASSERT_OK(only_stray.Put(ObjectType::kKey, std::string(64, '0'), AsBytes(*stray)));
  EXPECT_ERR(Repository::Open(Borrow(only_stray), "pw"), ErrorKind::kCorrupt);
  EXPECT_ERR(Repository::Open(Borrow(only_stray), "other"), ErrorKind::kWrongPassword);
}

TEST(RepositoryTest, CustomConfigRoundTrip) {
  MemBackend mem;
  RepoConfig cfg;
  cfg.chunker = ChunkerParams{2048, 12, 32 * 1024};
  cfg.compression_level = 0;
  cfg.pack_size = 1u << 20;
  cfg.created = "2026-02-03T04:05:06Z";
  ASSERT_OK(Repository::Init(mem, "pw", kFastKdf, cfg, kInfo));
  auto repo = Repository::Open(Borrow(mem), "pw");
  ASSERT_OK(repo);
  const RepoConfig& c = (*repo)->config();
  EXPECT_EQ(c.chunker.min_size, 2048u);
  EXPECT_EQ(c.chunker.avg_bits, 12u);
  EXPECT_EQ(c.chunker.max_size, 32u * 1024);
  EXPECT_EQ(c.compression_level, 0);
  EXPECT_EQ(c.pack_size, 1u << 20);
  EXPECT_EQ(c.created, "2026-02-03T04:05:06Z");
  // The repository's chunker uses the configured parameters and its key.
  EXPECT_EQ((*repo)->chunker().params().min_size, 2048u);
  EXPECT_EQ((*repo)->chunker().params().max_size, 32u * 1024);
  Bytes data = PseudoRandom(100000, 1);
  Chunker ref(cfg.chunker, MakeGearTable((*repo)->keys().chunker));
  EXPECT_EQ((*repo)->chunker().NextCut(data, true), ref.NextCut(data, true));
}

// Init accepts a config that Open then rejects as implausible, leaving a
// repository that can never be opened.
TEST(RepositoryTest, InitRejectsConfigThatOpenRejects) {
  MemBackend mem;
  RepoConfig cfg;
  cfg.chunker = ChunkerParams{4096, 12, 2048};  // min >= max
  auto st = Repository::Init(mem, "pw", kFastKdf, cfg, kInfo);
  if (st) {
    auto repo = Repository::Open(Borrow(mem), "pw");
    EXPECT_OK(repo) << "Init created a repository that Open refuses";
  } else {
    EXPECT_EQ(st.error().kind(), ErrorKind::kInvalidArgument);
  }
}

TEST(RepositoryTest, InitAndOpenLocal) {
  TempDir dir;
  std::string root = dir.path() + "/repo";
  {
    LocalBackend local(root);
    ASSERT_OK(Repository::Init(local, "pw", kFastKdf, RepoConfig{}, kInfo));
  }
  auto opened = Repository::Open(std::make_unique<LocalBackend>(root), "pw");
  ASSERT_OK(opened);
  EXPECT_EQ((*opened)->config().id.size(), 64u);
  EXPECT_ERR(Repository::Open(std::make_unique<LocalBackend>(root), "wrong"),
             ErrorKind::kWrongPassword);
  EXPECT_ERR(Repository::Open(std::make_unique<LocalBackend>(dir.path() + "/nothing-here"), "pw"),
             ErrorKind::kNoRepository);
  LocalBackend again(root);
  EXPECT_ERR(Repository::Init(again, "pw", kFastKdf, RepoConfig{}, kInfo),
             ErrorKind::kAlreadyExists);
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::is_regular_file(root + "/config"));
  for (const char* d : {"keys", "snapshots", "index", "data", "locks", "data/00", "data/7f",
                        "data/ff"})
    EXPECT_TRUE(fs::is_directory(root + "/" + d)) << d;
  EXPECT_EQ(std::distance(fs::directory_iterator(root + "/data"), fs::directory_iterator{}), 256);
  EXPECT_EQ(std::distance(fs::directory_iterator(root + "/keys"), fs::directory_iterator{}), 1);

}

TEST(RepositoryTest, OpenBackendRejectsEmptyLocation) {
  EXPECT_ERR(OpenBackend(""), ErrorKind::kInvalidArgument);
  EXPECT_ERR(OpenBackend("local:"), ErrorKind::kInvalidArgument);
}

// ------------------------------------------------------------ index + blobs

class RepoWithData : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(Repository::Init(mem_, "pw", kFastKdf, RepoConfig{}, kInfo));
    auto r = Repository::Open(Borrow(mem_), "pw");
    ASSERT_OK(r);
    repo_ = std::move(*r);
  }
  MemBackend mem_;
  std::unique_ptr<Repository> repo_;
};

// A data blob record longer than the repository's largest chunk is
// refused before anything is allocated for it (a key holder could
// otherwise make every restore allocate up to 4 GiB); trees have no such
// bound, and a blob at the maximum loads.
TEST_F(RepoWithData, DataBlobLongerThanTheLargestChunkIsCorrupt) {
  const RepoKeys& keys = repo_->keys();
  const uint32_t max = repo_->config().chunker.max_size;
  Bytes at_max = SampleText(max, 1), over = SampleText(max + 1, 2), tree = SampleText(max + 1, 3);
  WritePackAndIndex(mem_, keys, {{BlobType::kData, at_max}, {BlobType::kData, over},
                                 {BlobType::kTree, tree}});
  ASSERT_OK(repo_->index().Refresh());
  EXPECT_EQ(repo_->LoadBlob(keys.BlobId(at_max)).value(), at_max);
  EXPECT_EQ(repo_->LoadBlob(keys.BlobId(tree)).value(), tree);
  auto r = repo_->LoadBlob(keys.BlobId(over));
  ASSERT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("more than the repository's largest chunk"),
            std::string::npos)
      << r.error().message();
}

// A table listed while its writer is still storing it cannot be read yet;
// the next Refresh tries it again and finds its blobs. (prune lists the
// snapshots, then refreshes: a snapshot that landed in between needs the
// table that was half-written at the first Refresh.)
TEST_F(RepoWithData, RefreshRetriesATableThatCouldNotBeRead) {
  const RepoKeys& keys = repo_->keys();
  Bytes plain = SampleText(5000, 4);
  Written w = WritePackAndIndex(mem_, keys, {{BlobType::kData, plain}});
  const Bytes whole = *mem_.Find(ObjectType::kIndex, w.table);
  ASSERT_OK(mem_.Remove(ObjectType::kIndex, w.table));
  ASSERT_OK(mem_.Put(ObjectType::kIndex, w.table, ByteSpan(whole).subspan(0, whole.size() / 2)));
  ASSERT_OK(repo_->index().Refresh());
  EXPECT_EQ(repo_->index().damaged_tables(), std::vector<std::string>{w.table});
  EXPECT_EQ(repo_->index().damaged().size(), 1u);
  EXPECT_FALSE(repo_->index().Lookup(keys.BlobId(plain)).value().has_value());

  ASSERT_OK(mem_.Remove(ObjectType::kIndex, w.table));
  ASSERT_OK(mem_.Put(ObjectType::kIndex, w.table, whole));
  ASSERT_OK(repo_->index().Refresh());
  EXPECT_TRUE(repo_->index().damaged_tables().empty());
  EXPECT_TRUE(repo_->index().damaged().empty());
  EXPECT_EQ(repo_->LoadBlob(keys.BlobId(plain)).value(), plain);

  // A damaged table that is then removed is no longer reported.
  ASSERT_OK(mem_.Put(ObjectType::kIndex, std::string(64, 'b'), PseudoRandom(300, 5)));
  ASSERT_OK(repo_->index().Refresh());
  EXPECT_EQ(repo_->index().damaged_tables().size(), 1u);
  ASSERT_OK(mem_.Remove(ObjectType::kIndex, std::string(64, 'b')));
  ASSERT_OK(repo_->index().Refresh());
  EXPECT_TRUE(repo_->index().damaged_tables().empty());
}

TEST_F(RepoWithData, IndexFindsBlobsAndLoadBlobReturnsPlaintext) {
  const RepoKeys& keys = repo_->keys();
  Node file;
  file.type = NodeType::kFile;
  file.name = "hello.txt";
  file.size = 5;
  std::vector<std::pair<BlobType, Bytes>> blobs = {
      {BlobType::kData, PseudoRandom(5000, 1)},
      {BlobType::kData, SampleText(20000)},
      {BlobType::kData, Bytes{}},
      {BlobType::kTree, EncodeTree({file})},
  };
  Written w = WritePackAndIndex(mem_, keys, blobs);
  // Not visible before a refresh.
  EXPECT_FALSE(repo_->index().Lookup(keys.BlobId(blobs[0].second)).value().has_value());
  ASSERT_OK(repo_->index().Refresh());
  EXPECT_EQ(repo_->index().table_count(), 1u);
  EXPECT_EQ(repo_->index().entry_count(), 4u);
  EXPECT_EQ(repo_->index().table_names(), std::vector<std::string>{w.table});
  EXPECT_TRUE(repo_->index().damaged().empty());
  for (size_t i = 0; i < blobs.size(); i++) {
    Id id = keys.BlobId(blobs[i].second);
    auto e = repo_->index().Lookup(id);
    ASSERT_OK(e);
    ASSERT_TRUE(e->has_value());
    EXPECT_EQ((*e)->pack, w.pack);
    EXPECT_EQ((*e)->blob, w.entries[i]);
    auto plain = repo_->LoadBlob(id);
    ASSERT_OK(plain);
    EXPECT_EQ(*plain, blobs[i].second);
  }
  auto tree = repo_->LoadTree(keys.BlobId(blobs[3].second));
  ASSERT_OK(tree);
  ASSERT_EQ(tree->size(), 1u);
  EXPECT_EQ((*tree)[0], file);
  // A data blob is not a tree.
  EXPECT_ERR(repo_->LoadTree(keys.BlobId(blobs[0].second)), ErrorKind::kCorrupt);
  // Absent blobs.
  Id absent = keys.BlobId(AsBytes("never stored"));
  auto miss = repo_->index().Lookup(absent);
  ASSERT_OK(miss);
  EXPECT_FALSE(miss->has_value());
  EXPECT_ERR(repo_->LoadBlob(absent), ErrorKind::kNotFound);

  // A new table written later is found after another refresh, and a fresh
  // Open sees both.
  std::vector<std::pair<BlobType, Bytes>> more = {{BlobType::kData, SampleText(3000, 99)}};
  WritePackAndIndex(mem_, keys, more);
  ASSERT_OK(repo_->index().Refresh());
  EXPECT_EQ(repo_->index().table_count(), 2u);
  EXPECT_EQ(repo_->LoadBlob(keys.BlobId(more[0].second)).value(), more[0].second);
  auto reopened = Repository::Open(Borrow(mem_), "pw");
  ASSERT_OK(reopened);
  EXPECT_EQ((*reopened)->index().entry_count(), 5u);
  EXPECT_EQ((*reopened)->LoadBlob(keys.BlobId(blobs[1].second)).value(), blobs[1].second);

  // ForEach visits every entry exactly once.
  std::set<Id> seen;
  ASSERT_OK(repo_->index().ForEach([&](const IndexEntry& e) -> Status {
    EXPECT_TRUE(seen.insert(e.blob.id).second);
    return Ok();
  }));
  EXPECT_EQ(seen.size(), 5u);
}

TEST_F(RepoWithData, DamageIsReportedNotHidden) {
  const RepoKeys& keys = repo_->keys();
  std::vector<std::pair<BlobType, Bytes>> blobs = {{BlobType::kData, PseudoRandom(3000, 2)},
                                                   {BlobType::kData, PseudoRandom(3000, 3)}};
  Written w = WritePackAndIndex(mem_, keys, blobs);
  // A damaged table is skipped and named; listing still succeeds.
  Bytes junk = {'K', 'S', 'I', '1'};
  Bytes rnd = PseudoRandom(200, 4);
  junk.insert(junk.end(), rnd.begin(), rnd.end());
  ASSERT_OK(mem_.Put(ObjectType::kIndex, Sha256(junk).Hex(), junk));
  ASSERT_OK(mem_.Put(ObjectType::kIndex, "tiny", Bytes{1, 2, 3}));
  ASSERT_OK(repo_->index().Refresh());
  EXPECT_EQ(repo_->index().table_count(), 1u);
  EXPECT_EQ(repo_->index().damaged().size(), 2u);
  ASSERT_OK(repo_->index().Refresh());  // not retried, not reported twice
  EXPECT_EQ(repo_->index().damaged().size(), 2u);

  // A flipped byte in a blob record: that blob fails, the other still loads.
  Bytes* pack = mem_.Find(ObjectType::kPack, w.pack.Hex());
  ASSERT_NE(pack, nullptr);
  (*pack)[w.entries[0].offset + 10] ^= 0x04;
  EXPECT_ERR(repo_->LoadBlob(keys.BlobId(blobs[0].second)), ErrorKind::kCorrupt);
  EXPECT_EQ(repo_->LoadBlob(keys.BlobId(blobs[1].second)).value(), blobs[1].second);

  // A flipped byte in an index block: the block's entries are hidden (their
  // blobs look absent, so a backup stores them again) and the damage is
  // named in damaged(); it never yields a wrong entry.
  MemBackend other;
  ASSERT_OK(Repository::Init(other, "pw", kFastKdf, RepoConfig{}, kInfo));
  auto r2 = Repository::Open(Borrow(other), "pw");
  ASSERT_OK(r2);
  Index& idx = (*r2)->index();
  Written w2 = WritePackAndIndex(other, (*r2)->keys(), blobs);
  Bytes* table = other.Find(ObjectType::kIndex, w2.table);
  (*table)[kIndexPrefixSize + 5] ^= 1;
  ASSERT_OK(idx.Refresh());
  ASSERT_EQ(idx.table_count(), 1u);
  EXPECT_TRUE(idx.damaged().empty());
  for (const auto& [type, plain] : blobs) {
    auto e = idx.Lookup((*r2)->keys().BlobId(plain));
    ASSERT_OK(e);
    EXPECT_FALSE(e->has_value());
    EXPECT_ERR((*r2)->LoadBlob((*r2)->keys().BlobId(plain)), ErrorKind::kNotFound);
  }
  EXPECT_EQ(idx.damaged().size(), 1u);  // one damaged block, reported once
  size_t visited = 0;
  ASSERT_OK(idx.ForEach([&](const IndexEntry&) -> Status {
    visited++;
    return Ok();
  }));
  EXPECT_EQ(visited, 0u);
  EXPECT_EQ(idx.damaged().size(), 1u);
}

TEST_F(RepoWithData, AddTableAndTinyCache) {
  const RepoKeys& keys = repo_->keys();
  std::mt19937_64 rng(5);
  std::vector<IndexEntry> entries(5000);
  Id pack = test::RandomId(rng);
  for (auto& e : entries) {
    e.pack = pack;
    e.blob.id = test::RandomId(rng);
    e.blob.offset = uint32_t(rng());
    e.blob.length = 100;
    e.blob.raw_length = 84;
  }
  Bytes table = BuildIndexTable(keys, entries);
  std::string name = Sha256(table).Hex();
  ASSERT_OK(mem_.Put(ObjectType::kIndex, name, table));
  // A cache of one byte still answers correctly (evicts on every insert).
  Index idx(mem_, keys, 1);
  ASSERT_OK(idx.AddTable(name, table));
  ASSERT_OK(idx.AddTable(name, table));  // idempotent
  EXPECT_EQ(idx.table_count(), 1u);
  ASSERT_OK(idx.Refresh());  // already known
  EXPECT_EQ(idx.table_count(), 1u);
  for (size_t i = 0; i < entries.size(); i += 7) {
    auto got = idx.Lookup(entries[i].blob.id);
    ASSERT_OK(got);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->blob, entries[i].blob);
    EXPECT_EQ((*got)->pack, pack);
  }
  uint64_t n = 0;
  ASSERT_OK(idx.ForEach([&](const IndexEntry&) -> Status {
    n++;
    return Ok();
  }));
  EXPECT_EQ(n, 5000u);
}

// Index::AddTable trusts the trailer's footer length: a table whose last four
// bytes claim more than the table holds makes it build an out-of-range span
// (src/repo/index.cc, AddTable) and read 2 GiB before the buffer: this test
// crashes with SIGSEGV. It should fail with kCorrupt instead.
TEST_F(RepoWithData, AddTableRejectsBadFooterLength) {
  Bytes table = BuildIndexTable(repo_->keys(), {});
  PutU32(table.data() + table.size() - 4, 0x7ffffff0u);
  Index idx(mem_, repo_->keys());
  EXPECT_ERR(idx.AddTable("bad", table), ErrorKind::kCorrupt);
}

// ------------------------------------------------------------ snapshots

TEST_F(RepoWithData, SnapshotsSaveLoadListResolve) {
  EXPECT_ERR(repo_->ResolveSnapshot("latest"), ErrorKind::kNotFound);
  std::vector<Id> ids;
  for (int64_t t : {1000, 3000, 2000}) {
    Snapshot s;
    s.time_ns = t * 1000000000;
    s.hostname = "h" + std::to_string(t);
    s.paths = {"/data"};
    s.tree = repo_->keys().BlobId(AsBytes(std::to_string(t)));
    auto id = repo_->SaveSnapshot(s);
    ASSERT_OK(id);
    // Named by the SHA-256 of the stored bytes.
    Bytes* stored = mem_.Find(ObjectType::kSnapshot, id->Hex());
    ASSERT_NE(stored, nullptr);
    EXPECT_EQ(Sha256(*stored), *id);
    ids.push_back(*id);
  }
  auto loaded = repo_->LoadSnapshot(ids[1]);
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->hostname, "h3000");
  EXPECT_EQ(loaded->time_ns, 3000ll * 1000000000);

  auto all = repo_->ListSnapshots();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].first, ids[0]);  // oldest first
  EXPECT_EQ((*all)[1].first, ids[2]);
  EXPECT_EQ((*all)[2].first, ids[1]);

  auto latest = repo_->ResolveSnapshot("latest");
  ASSERT_OK(latest);
  EXPECT_EQ(*latest, ids[1]);
  for (const Id& id : ids) {
    EXPECT_EQ(repo_->ResolveSnapshot(id.Hex()).value(), id);
    EXPECT_EQ(repo_->ResolveSnapshot(id.Hex().substr(0, 8)).value(), id);
    EXPECT_EQ(repo_->ResolveSnapshot(id.Hex().substr(0, 9)).value(), id);
  }
  EXPECT_ERR(repo_->ResolveSnapshot(ids[0].Hex().substr(0, 7)), ErrorKind::kInvalidArgument);
  EXPECT_ERR(repo_->ResolveSnapshot(""), ErrorKind::kInvalidArgument);
  EXPECT_ERR(repo_->ResolveSnapshot("zzzzzzzz"), ErrorKind::kInvalidArgument);
  EXPECT_ERR(repo_->ResolveSnapshot("latest2"), ErrorKind::kInvalidArgument);
  std::string absent = ids[0].Hex();
  absent[0] = absent[0] == '0' ? '1' : '0';
  absent[1] = absent[1] == '0' ? '1' : '0';
  bool clash = false;
  for (const Id& id : ids) clash |= id.Hex().substr(0, 8) == absent.substr(0, 8);
  if (!clash) {
    EXPECT_ERR(repo_->ResolveSnapshot(absent.substr(0, 8)), ErrorKind::kNotFound);
  }

  // Ambiguity: another object whose name shares the first 10 hex digits.
  std::string twin = ids[0].Hex();
  twin[63] = twin[63] == 'a' ? 'b' : 'a';
  ASSERT_OK(mem_.Put(ObjectType::kSnapshot, twin, *mem_.Find(ObjectType::kSnapshot, ids[0].Hex())));
  EXPECT_ERR(repo_->ResolveSnapshot(ids[0].Hex().substr(0, 8)), ErrorKind::kInvalidArgument);
  EXPECT_ERR(repo_->ResolveSnapshot(ids[0].Hex().substr(0, 10)), ErrorKind::kInvalidArgument);
  EXPECT_EQ(repo_->ResolveSnapshot(ids[0].Hex()).value(), ids[0]);
  // The copy does not match its name: listed as damaged, not returned.
  std::vector<std::string> damaged;
  all = repo_->ListSnapshots(&damaged);
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ(damaged.size(), 1u);
  EXPECT_ERR(repo_->LoadSnapshot(*Id::FromHex(twin)), ErrorKind::kCorrupt);
  EXPECT_ERR(repo_->LoadSnapshot(*Id::FromHex(std::string(64, 'e'))), ErrorKind::kNotFound);
}

// `forget` on another host removes a snapshot between this process's
// listing and its read of the object: the snapshot is gone, not damaged
// (prune and forget would otherwise stop on a healthy repository).
TEST_F(RepoWithData, SnapshotForgottenDuringListingIsSkipped) {
  class ForgetsAfterListing : public Borrowed {
   public:
    using Borrowed::Borrowed;
    Result<std::vector<ObjectInfo>> List(ObjectType t) override {
      auto list = Borrowed::List(t);
      if (list && t == ObjectType::kSnapshot && !list->empty() && !forgot_) {
        forgot_ = true;
        EXPECT_OK(Borrowed::Remove(t, list->front().name));
      }
      return list;
    }
    bool forgot_ = false;
  };
  for (int i = 0; i < 2; i++) {
    Snapshot s;
    s.time_ns = (i + 1) * 1000000000LL;
    s.hostname = "h";
    ASSERT_OK(repo_->SaveSnapshot(s));
  }
  auto repo = Repository::Open(std::make_unique<ForgetsAfterListing>(mem_), "pw");
  ASSERT_OK(repo);
  std::vector<std::string> damaged;
  auto all = (*repo)->ListSnapshots(&damaged);
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 1u);
  EXPECT_TRUE(damaged.empty()) << damaged.front();
}

TEST_F(RepoWithData, SnapshotTamperingDetected) {
  Snapshot s;
  s.hostname = "h";
  auto id = repo_->SaveSnapshot(s);
  ASSERT_OK(id);
  Bytes* stored = mem_.Find(ObjectType::kSnapshot, id->Hex());
  (*stored)[stored->size() - 3] ^= 1;
  EXPECT_ERR(repo_->LoadSnapshot(*id), ErrorKind::kCorrupt);
  (*stored)[stored->size() - 3] ^= 1;
  EXPECT_OK(repo_->LoadSnapshot(*id));
  // The sealed config renamed as a snapshot: the kind does not match.
  Bytes cfg = *mem_.Find(ObjectType::kConfig, "config");
  Id cfg_id = Sha256(cfg);
  ASSERT_OK(mem_.Put(ObjectType::kSnapshot, cfg_id.Hex(), cfg));
  EXPECT_ERR(repo_->LoadSnapshot(cfg_id), ErrorKind::kCorrupt);
  // A snapshot of another repository with the same name scheme.
  MemBackend other;
  ASSERT_OK(Repository::Init(other, "pw", kFastKdf, RepoConfig{}, kInfo));
  auto r2 = Repository::Open(Borrow(other), "pw");
  ASSERT_OK(r2);
  auto foreign = (*r2)->SaveSnapshot(s);
  ASSERT_OK(foreign);
  ASSERT_OK(mem_.Put(ObjectType::kSnapshot, foreign->Hex(),
                     *other.Find(ObjectType::kSnapshot, foreign->Hex())));
  EXPECT_ERR(repo_->LoadSnapshot(*foreign), ErrorKind::kCorrupt);
  std::vector<std::string> damaged;
  auto all = repo_->ListSnapshots(&damaged);
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 1u);
  EXPECT_EQ(damaged.size(), 2u);
}

// ------------------------------------------------------------ keys

TEST_F(RepoWithData, KeysAddListRemove) {
  std::string first = repo_->current_key();
  KeyFileInfo info2{"host-b", "bob", "2026-03-03T00:00:00Z"};
  // Only one key: it cannot be removed, even explicitly allowed.
  EXPECT_ERR(repo_->RemoveKey(first, true), ErrorKind::kInvalidArgument);
  EXPECT_ERR(repo_->RemoveKey(first), ErrorKind::kInvalidArgument);

  auto second = repo_->AddKey("pw2", kFastKdf, info2);
  ASSERT_OK(second);
  EXPECT_NE(*second, first);
  auto keys = repo_->ListKeys();
  ASSERT_OK(keys);
  ASSERT_EQ(keys->size(), 2u);
  for (const auto& k : *keys) {
    if (k.name == first) {
      EXPECT_TRUE(k.current);
      EXPECT_EQ(k.info.host, "test-host");
      EXPECT_EQ(k.info.user, "tester");
    } else {
      EXPECT_EQ(k.name, *second);
      EXPECT_FALSE(k.current);
      EXPECT_EQ(k.info.host, "host-b");
      EXPECT_EQ(k.info.user, "bob");
      EXPECT_EQ(k.info.created, "2026-03-03T00:00:00Z");
    }
  }
  // The new passphrase opens the same repository.
  auto via2 = Repository::Open(Borrow(mem_), "pw2");
  ASSERT_OK(via2);
  EXPECT_EQ((*via2)->current_key(), *second);
  EXPECT_EQ((*via2)->keys().data, repo_->keys().data);
  EXPECT_EQ((*via2)->config().id, repo_->config().id);

  // The key in use is refused; a short prefix matches nothing.
  EXPECT_ERR(repo_->RemoveKey(first), ErrorKind::kInvalidArgument);
  EXPECT_ERR(repo_->RemoveKey(first.substr(0, 8)), ErrorKind::kInvalidArgument);
  EXPECT_ERR(repo_->RemoveKey(second->substr(0, 7)), ErrorKind::kNotFound);
  EXPECT_ERR(repo_->RemoveKey(std::string(64, 'x')), ErrorKind::kNotFound);
  EXPECT_EQ(repo_->ListKeys().value().size(), 2u);
  // The other key goes by an 8-digit prefix.
  ASSERT_OK(repo_->RemoveKey(second->substr(0, 8)));
  EXPECT_EQ(repo_->ListKeys().value().size(), 1u);
  EXPECT_ERR(Repository::Open(Borrow(mem_), "pw2"), ErrorKind::kWrongPassword);
  EXPECT_ERR(repo_->RemoveKey(first), ErrorKind::kInvalidArgument);  // last one

  // passwd: add a key, then remove the current one explicitly.
  auto third = repo_->AddKey("pw3", kFastKdf, kInfo);
  ASSERT_OK(third);
  EXPECT_ERR(repo_->RemoveKey(first), ErrorKind::kInvalidArgument);
  ASSERT_OK(repo_->RemoveKey(first, /*allow_current=*/true));
  EXPECT_ERR(Repository::Open(Borrow(mem_), "pw"), ErrorKind::kWrongPassword);
  EXPECT_OK(Repository::Open(Borrow(mem_), "pw3"));
}

// ------------------------------------------------------------ local backend

std::vector<std::string> TempFilesUnder(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) out.push_back(e.path().string());
  return out;
}

TEST(LocalBackendTest, PutIsWriteOnceAndGetRanges) {
  TempDir dir;
  LocalBackend b(dir.path() + "/r");
  ASSERT_OK(b.CreateLayout());
  ASSERT_OK(b.CreateLayout());  // idempotent
  Bytes data = PseudoRandom(10000, 1);
  ASSERT_OK(b.Put(ObjectType::kSnapshot, "abc", data));
  EXPECT_ERR(b.Put(ObjectType::kSnapshot, "abc", Bytes{1, 2, 3}), ErrorKind::kAlreadyExists);
  auto all = b.Get(ObjectType::kSnapshot, "abc", 0, 0);
  ASSERT_OK(all);
  EXPECT_EQ(*all, data);  // the original bytes, unchanged
  // The same name under another type is another object.
  ASSERT_OK(b.Put(ObjectType::kIndex, "abc", Bytes{7}));
  EXPECT_EQ(b.Get(ObjectType::kIndex, "abc", 0, 0).value(), Bytes{7});

  auto mid = b.Get(ObjectType::kSnapshot, "abc", 100, 50);
  ASSERT_OK(mid);
  EXPECT_EQ(*mid, Bytes(data.begin() + 100, data.begin() + 150));
  auto tail = b.Get(ObjectType::kSnapshot, "abc", 9990, 0);
  ASSERT_OK(tail);
  EXPECT_EQ(*tail, Bytes(data.end() - 10, data.end()));
  auto at_end = b.Get(ObjectType::kSnapshot, "abc", 10000, 0);
  ASSERT_OK(at_end);
  EXPECT_TRUE(at_end->empty());
  EXPECT_ERR(b.Get(ObjectType::kSnapshot, "abc", 10001, 0), ErrorKind::kCorrupt);
  EXPECT_ERR(b.Get(ObjectType::kSnapshot, "abc", 9990, 11), ErrorKind::kCorrupt);
  EXPECT_ERR(b.Get(ObjectType::kSnapshot, "nope", 0, 0), ErrorKind::kNotFound);
  auto st = b.Stat(ObjectType::kSnapshot, "abc");
  ASSERT_OK(st);
  EXPECT_EQ(st->size, 10000u);
  EXPECT_EQ(st->name, "abc");
  EXPECT_ERR(b.Stat(ObjectType::kSnapshot, "nope"), ErrorKind::kNotFound);

  // Empty objects.
  ASSERT_OK(b.Put(ObjectType::kLock, "empty", {}));
  EXPECT_TRUE(b.Get(ObjectType::kLock, "empty", 0, 0).value().empty());

  // Names that could escape or hide are refused.
  for (std::string bad : {"", ".hidden", "..", "a/b", "/abs"})
    EXPECT_ERR(b.Put(ObjectType::kSnapshot, bad, Bytes{1}), ErrorKind::kInvalidArgument) << bad;

  // Remove.
  ASSERT_OK(b.Remove(ObjectType::kSnapshot, "abc"));
  EXPECT_ERR(b.Get(ObjectType::kSnapshot, "abc", 0, 0), ErrorKind::kNotFound);
  EXPECT_ERR(b.Remove(ObjectType::kSnapshot, "abc"), ErrorKind::kNotFound);
  ASSERT_OK(b.Put(ObjectType::kSnapshot, "abc", Bytes{9}));  // a new object after removal
  EXPECT_EQ(b.Get(ObjectType::kSnapshot, "abc", 0, 0).value(), Bytes{9});

  EXPECT_TRUE(TempFilesUnder(dir.path()).empty());
}

// Replace (used only by repair) swaps in new bytes atomically; reads after
// it see the new bytes, also for a reader that read the object before.
TEST(LocalBackendTest, ReplaceSwapsContent) {
  TempDir dir;
  LocalBackend b(dir.path() + "/r");
  ASSERT_OK(b.Create());
  for (ObjectType t : {ObjectType::kPack, ObjectType::kIndex}) {
    std::string name = std::string(64, 'c');
    ASSERT_OK(b.Put(t, name, Bytes(1000, 1)));
    EXPECT_EQ(b.Get(t, name, 10, 5).value(), Bytes(5, 1));
    ASSERT_OK(b.Replace(t, name, Bytes(700, 2)));
    EXPECT_EQ(b.Get(t, name, 10, 5).value(), Bytes(5, 2));
    EXPECT_EQ(b.Get(t, name, 0, 0).value(), Bytes(700, 2));
    EXPECT_EQ(b.Stat(t, name).value().size, 700u);
    // Put still refuses to overwrite.
    EXPECT_ERR(b.Put(t, name, Bytes{3}), ErrorKind::kAlreadyExists);
    EXPECT_EQ(b.Get(t, name, 0, 0).value(), Bytes(700, 2));
  }
  // Replacing an absent object creates it; bad names are refused.
  ASSERT_OK(b.Replace(ObjectType::kSnapshot, "fresh", Bytes{4, 5}));
  EXPECT_EQ(b.Get(ObjectType::kSnapshot, "fresh", 0, 0).value(), Bytes({4, 5}));
  EXPECT_ERR(b.Replace(ObjectType::kSnapshot, "a/b", Bytes{1}), ErrorKind::kInvalidArgument);
  EXPECT_ERR(b.Replace(ObjectType::kSnapshot, ".x", Bytes{1}), ErrorKind::kInvalidArgument);
  // Remove, then Put under the same name: the new bytes, not cached old ones.
  ASSERT_OK(b.Remove(ObjectType::kSnapshot, "fresh"));
  ASSERT_OK(b.Put(ObjectType::kSnapshot, "fresh", Bytes{6}));
  EXPECT_EQ(b.Get(ObjectType::kSnapshot, "fresh", 0, 0).value(), Bytes{6});
  EXPECT_TRUE(TempFilesUnder(dir.path()).empty());
}

TEST(LocalBackendTest, PacksInSubdirectoriesAndListing) {
  TempDir dir;
  std::string root = dir.path() + "/r";
  LocalBackend b(root);
  ASSERT_OK(b.CreateLayout());
  std::map<std::string, size_t> packs;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20; i++) {
    Bytes d = PseudoRandom(100 + i, i);
    std::string name = Sha256(d).Hex();
    ASSERT_OK(b.Put(ObjectType::kPack, name, d));
    packs[name] = d.size();
    EXPECT_EQ(b.PathOf(ObjectType::kPack, name), root + "/data/" + name.substr(0, 2) + "/" + name);
    EXPECT_TRUE(std::filesystem::is_regular_file(root + "/data/" + name.substr(0, 2) + "/" + name));
  }
  auto list = b.List(ObjectType::kPack);
  ASSERT_OK(list);
  std::map<std::string, size_t> listed;
  for (const auto& o : *list) listed[o.name] = o.size;
  EXPECT_EQ(listed, packs);
  // Other types are flat and listed separately; stray files are ignored.
  ASSERT_OK(b.Put(ObjectType::kKey, "k1", Bytes{1}));
  ASSERT_OK(b.Put(ObjectType::kConfig, "config", Bytes{2, 2}));
  EXPECT_EQ(b.PathOf(ObjectType::kConfig, "config"), root + "/config");
  EXPECT_EQ(b.PathOf(ObjectType::kKey, "k1"), root + "/keys/k1");
  EXPECT_EQ(Names(b, ObjectType::kKey), std::vector<std::string>{"k1"});
  EXPECT_EQ(Names(b, ObjectType::kConfig), std::vector<std::string>{"config"});
  EXPECT_TRUE(Names(b, ObjectType::kIndex).empty());
  { FILE* f = fopen((root + "/keys/.tmp-leftover").c_str(), "w"); fclose(f); }
  std::filesystem::create_directory(root + "/keys/subdir");
  EXPECT_EQ(Names(b, ObjectType::kKey), std::vector<std::string>{"k1"});
  std::filesystem::remove(root + "/keys/.tmp-leftover");
  EXPECT_TRUE(TempFilesUnder(root).empty());

  // A pack directory missing (layout from an older run) is created on Put.
  std::string prefix;
  for (int i = 0; i < 256 && prefix.empty(); i++) {
    std::string h = HexEncode(Bytes{uint8_t(i)});
    bool used = false;
    for (const auto& [n, size] : packs) used |= n.rfind(h, 0) == 0;
    if (!used) prefix = h;
  }
  std::filesystem::remove_all(root + "/data/" + prefix);
  std::string name = prefix + std::string(62, '0');
  ASSERT_OK(b.Put(ObjectType::kPack, name, Bytes{5}));
  EXPECT_EQ(b.Get(ObjectType::kPack, name, 0, 0).value(), Bytes{5});
  EXPECT_EQ(b.List(ObjectType::kPack).value().size(), packs.size() + 1);
}

TEST(LocalBackendTest, FailedPutsLeaveNoTempFiles) {
  TempDir dir;
  std::string root = dir.path() + "/r";
  LocalBackend b(root);
  ASSERT_OK(b.CreateLayout());
  ASSERT_OK(b.Put(ObjectType::kIndex, "x", Bytes(5000, 1)));
  for (int i = 0; i < 5; i++)
    EXPECT_ERR(b.Put(ObjectType::kIndex, "x", Bytes(100, 2)), ErrorKind::kAlreadyExists);
  EXPECT_EQ(b.Get(ObjectType::kIndex, "x", 0, 0).value(), Bytes(5000, 1));
  EXPECT_TRUE(TempFilesUnder(root).empty());
  // Stored objects are read-only files.
  struct stat st;
  ASSERT_EQ(::stat(b.PathOf(ObjectType::kIndex, "x").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0222, 0u);
}

TEST(MemBackendTest, BasicContract) {
  MemBackend m;
  ASSERT_OK(m.Put(ObjectType::kPack, "p", Bytes{1, 2, 3, 4}));
  EXPECT_ERR(m.Put(ObjectType::kPack, "p", Bytes{9}), ErrorKind::kAlreadyExists);
  EXPECT_EQ(m.Get(ObjectType::kPack, "p", 0, 0).value(), Bytes({1, 2, 3, 4}));
  EXPECT_EQ(m.Get(ObjectType::kPack, "p", 1, 2).value(), Bytes({2, 3}));
  EXPECT_TRUE(m.Get(ObjectType::kPack, "p", 4, 0).value().empty());
  EXPECT_ERR(m.Get(ObjectType::kPack, "p", 3, 2), ErrorKind::kCorrupt);
  EXPECT_ERR(m.Get(ObjectType::kPack, "p", 5, 0), ErrorKind::kCorrupt);
  EXPECT_ERR(m.Get(ObjectType::kIndex, "p", 0, 0), ErrorKind::kNotFound);
  EXPECT_EQ(m.Stat(ObjectType::kPack, "p").value().size, 4u);
  EXPECT_EQ(Names(m, ObjectType::kPack), std::vector<std::string>{"p"});
  EXPECT_TRUE(Names(m, ObjectType::kIndex).empty());
  ASSERT_OK(m.Remove(ObjectType::kPack, "p"));
  EXPECT_ERR(m.Remove(ObjectType::kPack, "p"), ErrorKind::kNotFound);
}

// ------------------------------------------------------------ locks

class LockTest : public ::testing::Test {
 protected:
  static constexpr int64_t kMinute = 60ll * 1000000000;
  static constexpr int64_t kT0 = 1800000000ll * 1000000000;

  // A lock object as another process would write it.
  void PutLock(const json& j, const RepoKeys& keys) {
    Bytes sealed = SealObject(keys, "lock", AsBytes(j.dump()));
    ASSERT_OK(mem_.Put(ObjectType::kLock, Sha256(sealed).Hex(), sealed));
  }
  static std::string Host() {
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    return buf;
  }
  // The pid of a process that has exited and been reaped.
  static pid_t DeadPid() {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    int status = 0;
    waitpid(pid, &status, 0);
    return pid;
  }

  MemBackend mem_;
  RepoKeys keys_ = test::FixedKeys();
  FakeClock clock_{kT0};
};

TEST_F(LockTest, SharedLocksCoexist) {
  auto a = RepoLock::Acquire(mem_, keys_, clock_, false);
  ASSERT_OK(a);
  auto b = RepoLock::Acquire(mem_, keys_, clock_, false);
  ASSERT_OK(b);
  EXPECT_EQ(Names(mem_, ObjectType::kLock).size(), 2u);
  // The lock object is sealed JSON naming this host and process.
  std::string name = Names(mem_, ObjectType::kLock)[0];
  auto plain = OpenObject(keys_, "lock", *mem_.Find(ObjectType::kLock, name));
  ASSERT_OK(plain);
  json j = json::parse(AsString(*plain));
  EXPECT_EQ(j["pid"], int64_t(getpid()));
  EXPECT_EQ(j["host"], Host());
  EXPECT_EQ(j["time_ns"], kT0);
  EXPECT_EQ(j["exclusive"], false);
  a->reset();
  EXPECT_EQ(Names(mem_, ObjectType::kLock).size(), 1u);
  b->reset();
  EXPECT_TRUE(Names(mem_, ObjectType::kLock).empty());
}

TEST_F(LockTest, ExclusiveConflicts) {
  {
    auto shared = RepoLock::Acquire(mem_, keys_, clock_, false);
    ASSERT_OK(shared);
    EXPECT_ERR(RepoLock::Acquire(mem_, keys_, clock_, true), ErrorKind::kLocked);
    // The failed attempt leaves no lock object behind.
    EXPECT_EQ(Names(mem_, ObjectType::kLock).size(), 1u);
  }
  {
    auto ex = RepoLock::Acquire(mem_, keys_, clock_, true);
    ASSERT_OK(ex);
    EXPECT_ERR(RepoLock::Acquire(mem_, keys_, clock_, false), ErrorKind::kLocked);
    EXPECT_ERR(RepoLock::Acquire(mem_, keys_, clock_, true), ErrorKind::kLocked);
    EXPECT_EQ(Names(mem_, ObjectType::kLock).size(), 1u);
  }
  EXPECT_TRUE(Names(mem_, ObjectType::kLock).empty());
  EXPECT_OK(RepoLock::Acquire(mem_, keys_, clock_, true));
}

TEST_F(LockTest, StaleByTimeIsIgnored) {
  auto ex = RepoLock::Acquire(mem_, keys_, clock_, true);  // written at kT0
  ASSERT_OK(ex);
  FakeClock later(kT0 + 29 * kMinute);
  EXPECT_ERR(RepoLock::Acquire(mem_, keys_, later, false), ErrorKind::kLocked);
  later.Set(kT0 + 30 * kMinute);
  EXPECT_ERR(RepoLock::Acquire(mem_, keys_, later, false), ErrorKind::kLocked);
  later.Set(kT0 + 30 * kMinute + 1);
  auto ok = RepoLock::Acquire(mem_, keys_, later, true);
  EXPECT_OK(ok);
}

TEST_F(LockTest, DeadProcessOnThisHostIsIgnored) {
  pid_t dead = DeadPid();
  ASSERT_GT(dead, 0);
  ASSERT_NE(kill(dead, 0), 0);
  PutLock({{"time_ns", kT0}, {"host", Host()}, {"pid", int64_t(dead)}, {"exclusive", true}},
          keys_);
  EXPECT_OK(RepoLock::Acquire(mem_, keys_, clock_, true));
  EXPECT_OK(RepoLock::Acquire(mem_, keys_, clock_, false));
}

// Pids are reused (every thread takes one, and pid_max is often 32768): a
// lock whose pid now belongs to a process or thread that started at
// another time is stale. With the right start time, or none (older
// locks), the holder counts as alive.
TEST_F(LockTest, PidReusedByAnotherProcessIsIgnored) {
  const uint64_t start = ProcessStartTicks(getpid());
  ASSERT_GT(start, 0u);
  json lock = {{"time_ns", kT0}, {"host", Host()}, {"pid", int64_t(getpid())},
               {"exclusive", true}, {"pid_start", start + 1}};
  PutLock(lock, keys_);
  EXPECT_OK(RepoLock::Acquire(mem_, keys_, clock_, true));
  MemBackend same;
  lock["pid_start"] = start;
  Bytes sealed = SealObject(keys_, "lock", AsBytes(lock.dump()));
  ASSERT_OK(same.Put(ObjectType::kLock, Sha256(sealed).Hex(), sealed));
  EXPECT_ERR(RepoLock::Acquire(same, keys_, clock_, false), ErrorKind::kLocked);
}

// A lock records its holder's start time; a pid that does not exist has
// none.
TEST_F(LockTest, LockRecordsTheHoldersStartTime) {
  auto held = RepoLock::Acquire(mem_, keys_, clock_, false);
  ASSERT_OK(held);
  auto names = Names(mem_, ObjectType::kLock);
  ASSERT_EQ(names.size(), 1u);
  auto plain = OpenObject(keys_, "lock", *mem_.Find(ObjectType::kLock, names[0]));
  ASSERT_OK(plain);
  json j = json::parse(plain->begin(), plain->end());
  EXPECT_EQ(j["pid_start"].get<uint64_t>(), ProcessStartTicks(getpid()));
  EXPECT_EQ(ProcessStartTicks(DeadPid()), 0u);
  EXPECT_EQ(ProcessStartTicks(0), 0u);
}

TEST_F(LockTest, LiveOrForeignLocksBlock) {
  // This very process, as another lock holder.
  PutLock({{"time_ns", kT0}, {"host", Host()}, {"pid", int64_t(getpid())}, {"exclusive", true}},
          keys_);
  EXPECT_ERR(RepoLock::Acquire(mem_, keys_, clock_, false), ErrorKind::kLocked);
  MemBackend other;
  // A dead pid on another host cannot be judged: it blocks.
  pid_t dead = DeadPid();
  Bytes sealed = SealObject(keys_, "lock",
                            AsBytes(json({{"time_ns", kT0},
                                          {"host", Host() + "-elsewhere"},
                                          {"pid", int64_t(dead)},
                                          {"exclusive", false}})
                                        .dump()));
  ASSERT_OK(other.Put(ObjectType::kLock, Sha256(sealed).Hex(), sealed));
  EXPECT_ERR(RepoLock::Acquire(other, keys_, clock_, true), ErrorKind::kLocked);
  EXPECT_OK(RepoLock::Acquire(other, keys_, clock_, false));  // shared + shared
}

TEST_F(LockTest, UnreadableLockObjectsAreIgnored) {
  // Another repository's lock, garbage, and a non-object payload.
  PutLock({{"time_ns", kT0}, {"host", Host()}, {"pid", int64_t(getpid())}, {"exclusive", true}},
          test::FixedKeys(9));
  ASSERT_OK(mem_.Put(ObjectType::kLock, "garbage", PseudoRandom(100, 1)));
  Bytes sealed = SealObject(keys_, "lock", AsBytes("[1,2,3]"));
  ASSERT_OK(mem_.Put(ObjectType::kLock, Sha256(sealed).Hex(), sealed));
  EXPECT_OK(RepoLock::Acquire(mem_, keys_, clock_, true));
}

// A sealed lock whose fields have unexpected types is unreadable: it
// neither throws nor blocks.
TEST_F(LockTest, MalformedLockFieldsDoNotThrow) {
  PutLock({{"time_ns", "yesterday"}, {"host", 7}, {"pid", "x"}, {"exclusive", "yes"}}, keys_);
  PutLock({{"time_ns", kT0}, {"host", Host()}, {"pid", int64_t(getpid())}, {"exclusive", 1}},
          keys_);
  EXPECT_NO_THROW({
    auto r = RepoLock::Acquire(mem_, keys_, clock_, true);
    EXPECT_OK(r);
  });
}

TEST_F(LockTest, RemoveStaleLocks) {
  PutLock({{"time_ns", kT0 - 31 * kMinute}, {"host", Host()}, {"pid", int64_t(getpid())},
           {"exclusive", true}},
          keys_);                                                        // stale by time
  PutLock({{"time_ns", kT0}, {"host", Host()}, {"pid", int64_t(DeadPid())}, {"exclusive", false}},
          keys_);                                                        // dead process
  PutLock({{"time_ns", kT0}, {"host", Host() + "-other"}, {"pid", int64_t(1)},
           {"exclusive", false}},
          keys_);                                                        // live, elsewhere
  ASSERT_OK(mem_.Put(ObjectType::kLock, "damaged", PseudoRandom(80, 3)));  // unreadable
  auto held = RepoLock::Acquire(mem_, keys_, clock_, false);            // live, here
  ASSERT_OK(held);
  ASSERT_EQ(Names(mem_, ObjectType::kLock).size(), 5u);
  auto removed = RemoveStaleLocks(mem_, keys_, clock_, false);
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 3u);
  EXPECT_EQ(Names(mem_, ObjectType::kLock).size(), 2u);
  EXPECT_EQ(RemoveStaleLocks(mem_, keys_, clock_, false).value(), 0u);
  // An hour later, by the clock, the live ones are stale too.
  FakeClock later(kT0 + 60 * kMinute);
  EXPECT_EQ(RemoveStaleLocks(mem_, keys_, later, false).value(), 2u);
  EXPECT_TRUE(Names(mem_, ObjectType::kLock).empty());
  PutLock({{"time_ns", kT0}, {"host", Host()}, {"pid", int64_t(getpid())}, {"exclusive", true}},
          keys_);
  EXPECT_EQ(RemoveStaleLocks(mem_, keys_, clock_, true).value(), 1u);
  EXPECT_TRUE(Names(mem_, ObjectType::kLock).empty());
}

}  // namespace
}  // namespace ks
