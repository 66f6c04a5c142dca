#include "backend/mem_backend.h"

namespace ks {

Status MemBackend::Put(ObjectType t, const std::string& name, ByteSpan data) {
  std::lock_guard l(mu_);
  auto [it, inserted] =
      objects_.try_emplace({t, name}, Stored{Bytes(data.begin(), data.end()), now_ns_});
  if (!inserted) return Fail(ErrorKind::kAlreadyExists, "object " + name + " already exists");
  return Ok();
}

Result<Bytes> MemBackend::Get(ObjectType t, const std::string& name, uint64_t offset,
                              uint64_t length) {
  std::lock_guard l(mu_);
  auto it = objects_.find({t, name});
  if (it == objects_.end()) return Fail(ErrorKind::kNotFound, "object " + name + " not found");
  const Bytes& b = it->second.bytes;
  if (length == 0) length = offset <= b.size() ? b.size() - offset : 0;
  if (offset + length > b.size())
    return Fail(ErrorKind::kCorrupt, "object " + name + " is shorter than expected");
  return Bytes(b.begin() + offset, b.begin() + offset + length);
}

Result<ObjectInfo> MemBackend::Stat(ObjectType t, const std::string& name) {
  std::lock_guard l(mu_);
  auto it = objects_.find({t, name});
  if (it == objects_.end()) return Fail(ErrorKind::kNotFound, "object " + name + " not found");
  return ObjectInfo{name, it->second.bytes.size(), it->second.mtime_ns};
}

Result<std::vector<ObjectInfo>> MemBackend::List(ObjectType t) {
  std::lock_guard l(mu_);
  std::vector<ObjectInfo> out;
  for (const auto& [k, v] : objects_)
    if (k.first == t) out.push_back({k.second, v.bytes.size(), v.mtime_ns});
  return out;
}

Status MemBackend::Remove(ObjectType t, const std::string& name) {
  std::lock_guard l(mu_);
  if (!objects_.erase({t, name})) return Fail(ErrorKind::kNotFound, "object " + name + " not found");
  return Ok();
}

Bytes* MemBackend::Find(ObjectType t, const std::string& name) {
  std::lock_guard l(mu_);
  auto it = objects_.find({t, name});
  return it == objects_.end() ? nullptr : &it->second.bytes;
}

}  // namespace ks
