// A repository in memory, a source tree on disk and a settable clock, for the
// retention and prune tests. Each "process" opens its own Repository over
// the shared MemBackend, like two hosts over one storage; a process can be
// given a budget of mutating calls after which every call fails, which is
// what a SIGKILL looks like from the storage's side.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "backend/mem_backend.h"
#include "backup/archiver.h"
#include "check/checker.h"
#include "repo/lock.h"

namespace prunetest {

class FakeClock : public ks::Clock {
 public:
  explicit FakeClock(int64_t t) : t_(t) {}
  int64_t NowNs() const override { return t_.load(); }
  void Set(int64_t t) { t_ = t; }
  void Advance(int64_t d) { t_ += d; }

 private:
  std::atomic<int64_t> t_;
};

// Forwards to a shared MemBackend; after `budget` mutating calls (Put,
// Remove, Replace) every call fails, as if the process had died.
class Process : public ks::Backend {
 public:
  Process(std::shared_ptr<ks::MemBackend> m, int64_t budget) : m_(std::move(m)), budget_(budget) {}
  std::string Location() const override { return "memory"; }
  ks::Status Put(ks::ObjectType t, const std::string& n, ks::ByteSpan d) override {
    if (!Spend()) return Dead();
    return m_->Put(t, n, d);
  }
  ks::Result<ks::Bytes> Get(ks::ObjectType t, const std::string& n, uint64_t o, uint64_t l) override {
    if (dead_) return Dead();
    return m_->Get(t, n, o, l);
  }
  ks::Result<ks::ObjectInfo> Stat(ks::ObjectType t, const std::string& n) override {
    if (dead_) return Dead();
    return m_->Stat(t, n);
  }
  ks::Result<std::vector<ks::ObjectInfo>> List(ks::ObjectType t) override {
    if (dead_) return Dead();
    return m_->List(t);
  }
  ks::Status Remove(ks::ObjectType t, const std::string& n) override {
    if (!Spend()) return Dead();
    if (refuse_removes_)
      return ks::Fail(ks::ErrorKind::kPermission, "object is retained (Object Lock)");
    return m_->Remove(t, n);
  }
  // Refuses every removal, as a bucket under Object Lock does until the
  // retention date.
  void RefuseRemoves(bool r) { refuse_removes_ = r; }
  ks::Status Replace(ks::ObjectType t, const std::string& n, ks::ByteSpan d) override {
    if (!Spend()) return Dead();
    return m_->Replace(t, n, d);
  }
  bool dead() const { return dead_; }

 private:
  bool Spend() {
    if (dead_) return false;
    if (budget_ >= 0 && budget_-- == 0) dead_ = true;
    return !dead_;
  }
  static std::unexpected<ks::Error> Dead() { return ks::Fail(ks::ErrorKind::kIo, "process killed"); }
  std::shared_ptr<ks::MemBackend> m_;
  std::atomic<int64_t> budget_;
  std::atomic<bool> dead_{false};
  std::atomic<bool> refuse_removes_{false};
};

constexpr int64_t kSec = 1000000000;
constexpr int64_t kHour = 3600 * kSec;
constexpr int64_t kDay = 24 * kHour;
// 2026-03-02 00:00:00 UTC, a Monday.
constexpr int64_t kEpoch = 1772409600LL * kSec;

inline std::tm UtcCalendar(int64_t ns) {
  time_t s = time_t(ns / kSec);
  std::tm t{};
  gmtime_r(&s, &t);
  return t;
}

class Rig {
 public:
  Rig() : mem_(std::make_shared<ks::MemBackend>()), clock_(kEpoch) {
    char tmpl[] = "/tmp/ks-prune-XXXXXX";
    root_ = mkdtemp(tmpl);
    src_ = root_ + "/src";
    std::filesystem::create_directories(src_);
    mem_->SetRecordedTime(kEpoch);
    Process p(mem_, -1);
    ks::KdfParams kdf{1, 8u << 20};
    ks::RepoConfig cfg;
    cfg.pack_size = 256 << 10;  // many small packs: prune has something to do
    cfg.chunker.min_size = 16 << 10;
    cfg.chunker.avg_bits = 15;
    cfg.chunker.max_size = 128 << 10;
    EXPECT_TRUE(ks::Repository::Init(p, "pw", kdf, cfg, ks::KeyFileInfo{"h", "u", "t"}));
  }
  ~Rig() { std::filesystem::remove_all(root_); }

  std::unique_ptr<ks::Repository> Open(int64_t budget = -1, Process** proc = nullptr) {
    auto b = std::make_unique<Process>(mem_, budget);
    if (proc) *proc = b.get();
    auto r = ks::Repository::Open(std::move(b), "pw");
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : nullptr;
  }

  // A file of `size` bytes: random (incompressible), seeded by name.
  void WriteFile(const std::string& rel, size_t size, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string s(size, '\0');
    for (auto& c : s) c = char(rng());
    auto p = std::filesystem::path(src_) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << s;
  }
  void RemoveFile(const std::string& rel) { std::filesystem::remove_all(src_ + "/" + rel); }

  ks::Result<ks::BackupResult> Backup(ks::Repository& repo, const ks::Clock& client_clock,
                                      const std::string& host = "ward-a") {
    auto lock = ks::RepoLock::Acquire(repo.backend(), repo.keys(), clock_, false, "backup");
    if (!lock) return std::unexpected(lock.error());
    ks::BackupOptions o;
    o.paths = {src_};
    o.hostname = host;
    o.workers = 1;
    return ks::RunBackup(repo, client_clock, o);
  }
  ks::BackupResult MustBackup(ks::Repository& repo, const std::string& host = "ward-a") {
    auto r = Backup(repo, clock_, host);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : ks::BackupResult{};
  }

  // Every blob every snapshot needs can be read and authenticated.
  void ExpectAllRestorable(const char* where) {
    auto repo = Open();
    ASSERT_TRUE(repo);
    std::vector<std::string> damaged;
    auto snaps = repo->ListSnapshots(&damaged);
    ASSERT_TRUE(snaps);
    EXPECT_TRUE(damaged.empty()) << where << ": " << damaged.front();
    for (const auto& [id, s] : *snaps) WalkAndRead(*repo, s.tree, where);
    auto report = ks::RunCheck(*repo, ks::CheckOptions{});
    ASSERT_TRUE(report) << report.error().message();
    for (const auto& p : report->problems) ADD_FAILURE() << where << ": " << p.object << ": " << p.message;
  }

  size_t Count(ks::ObjectType t) {
    auto l = mem_->List(t);
    return l ? l->size() : 0;
  }

  std::shared_ptr<ks::MemBackend> mem_;
  FakeClock clock_;
  std::string root_, src_;

 private:
  void WalkAndRead(ks::Repository& repo, const ks::Id& tree, const char* where) {
    auto nodes = repo.LoadTree(tree);
    ASSERT_TRUE(nodes) << where << ": " << nodes.error().message();
    for (const auto& n : *nodes) {
      for (const auto& c : n.content) {
        auto b = repo.LoadBlob(c);
        EXPECT_TRUE(b) << where << ": " << n.name << ": " << b.error().message();
      }
      if (n.type == ks::NodeType::kDir) WalkAndRead(repo, n.subtree, where);
    }
  }
};

}  // namespace prunetest
