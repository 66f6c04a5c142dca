// A ShardedBackend over in-memory locations for the unit tests. Each
// location is a SharedLocation forwarding to a MemBackend the test keeps, so
// a test can reopen the envelope over the same bytes (fresh header cache and
// stats), list the locations in another order, swap a location for an empty
// one (a replaced disk) or make it fail every call (a dead disk).
#pragma once

#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "backend/mem_backend.h"
#include "backend/sharded_backend.h"

namespace heal {

class SharedLocation : public ks::Backend {
 public:
  explicit SharedLocation(std::shared_ptr<ks::MemBackend> t) : t_(std::move(t)) {}
  void SetFailing(bool f) { failing_ = f; }

  std::string Location() const override { return "mem"; }
  ks::Status Put(ks::ObjectType t, const std::string& n, ks::ByteSpan d) override {
    if (failing_) return Dead();
    return t_->Put(t, n, d);
  }
  ks::Result<ks::Bytes> Get(ks::ObjectType t, const std::string& n, uint64_t off, uint64_t len) override {
    if (failing_) return Dead();
    return t_->Get(t, n, off, len);
  }
  ks::Result<ks::ObjectInfo> Stat(ks::ObjectType t, const std::string& n) override {
    if (failing_) return Dead();
    return t_->Stat(t, n);
  }
  ks::Result<std::vector<ks::ObjectInfo>> List(ks::ObjectType t) override {
    if (failing_) return Dead();
    return t_->List(t);
  }
  ks::Status Remove(ks::ObjectType t, const std::string& n) override {
    if (failing_) return Dead();
    return t_->Remove(t, n);
  }
  ks::Status Replace(ks::ObjectType t, const std::string& n, ks::ByteSpan d) override {
    if (failing_) return Dead();
    return t_->Replace(t, n, d);
  }

 private:
  static std::unexpected<ks::Error> Dead() { return ks::Fail(ks::ErrorKind::kIo, "disk gone"); }
  std::shared_ptr<ks::MemBackend> t_;
  bool failing_ = false;
};

struct MemRig {
  MemRig(size_t locations, ks::Geometry g) : geo(g) {
    for (size_t i = 0; i < locations; i++) mems.push_back(std::make_shared<ks::MemBackend>());
    Reopen();
  }

  // A new envelope over the same memory; `order[j]` is the memory behind
  // location j (identity if empty).
  void Reopen(std::vector<size_t> order = {}) {
    if (order.empty()) {
      order.resize(mems.size());
      std::iota(order.begin(), order.end(), size_t{0});
    }
    std::vector<std::unique_ptr<ks::Backend>> locs;
    shared.clear();
    for (size_t i : order) {
      auto l = std::make_unique<SharedLocation>(mems[i]);
      shared.push_back(l.get());
      locs.push_back(std::move(l));
    }
    sb = std::make_unique<ks::ShardedBackend>(std::move(locs), geo);
  }

  // Replaces memory `i` by an empty one (takes effect at the next Reopen).
  void Wipe(size_t i) { mems[i] = std::make_shared<ks::MemBackend>(); }

  // Shard `index` of an object, in whichever memory holds it.
  ks::Bytes* Shard(ks::ObjectType t, const std::string& name, int index) {
    for (auto& m : mems)
      if (ks::Bytes* b = m->Find(t, name + "." + std::to_string(index))) return b;
    return nullptr;
  }
  bool RemoveShard(ks::ObjectType t, const std::string& name, int index) {
    for (auto& m : mems)
      if (m->Remove(t, name + "." + std::to_string(index))) return true;
    return false;
  }
  // How many memories hold shard `index` of an object, and which.
  std::vector<size_t> Holders(ks::ObjectType t, const std::string& name, int index) {
    std::vector<size_t> out;
    for (size_t i = 0; i < mems.size(); i++)
      if (mems[i]->Find(t, name + "." + std::to_string(index))) out.push_back(i);
    return out;
  }

  ks::Geometry geo;
  std::vector<std::shared_ptr<ks::MemBackend>> mems;
  std::vector<SharedLocation*> shared;  // owned by sb, in location order
  std::unique_ptr<ks::ShardedBackend> sb;
};

inline ks::Bytes RandomData(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  ks::Bytes b(n);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    for (int j = 0; j < 8; j++) b[i + size_t(j)] = uint8_t(v >> (8 * j));
  }
  for (; i < n; i++) b[i] = uint8_t(rng());
  return b;
}

}  // namespace heal
