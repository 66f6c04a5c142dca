// Byte buffers, ids and little-endian helpers shared by every layer.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ks {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

// An allocator whose resize() leaves new elements uninitialised instead of
// zeroing them. For buffers that are resized to the length a read(), a copy
// or a compressor is about to fill: zeroing first would write every byte
// twice, and a buffer grown to a bound (say zstd's) would touch memory, and
// keep it resident, only for it to go unused.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <typename U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// Bytes whose new elements are left unwritten by resize(): only ever read
// what was written into them. (vector::reserve on them moves byte by byte.)
using UninitBytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string AsString(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A 32-byte identifier: blob ids (keyed hash of plaintext) and storage ids
// (SHA-256 of an object's stored bytes).
struct Id {
  std::array<uint8_t, 32> b{};

  std::string Hex() const;
  std::string Short() const { return Hex().substr(0, 8); }
  static std::optional<Id> FromHex(std::string_view hex);
  static Id FromBytes(ByteSpan s) {
    Id id;
    std::memcpy(id.b.data(), s.data(), 32);
    return id;
  }
  bool IsZero() const {
    for (uint8_t c : b)
      if (c) return false;
    return true;
  }
  auto operator<=>(const Id&) const = default;
  bool operator==(const Id&) const = default;
};

struct IdHash {
  size_t operator()(const Id& id) const {
    size_t h;
    std::memcpy(&h, id.b.data(), sizeof h);  // ids are uniformly random
    return h;
  }
};

std::string HexEncode(ByteSpan b);
std::optional<Bytes> HexDecode(std::string_view hex);
std::string Base64Encode(ByteSpan b);
std::optional<Bytes> Base64Decode(std::string_view s);

inline void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}
inline void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (8 * i));
}
inline uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= uint32_t(p[i]) << (8 * i);
  return v;
}
inline uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= uint64_t(p[i]) << (8 * i);
  return v;
}
inline void AppendU32(Bytes& out, uint32_t v) {
  size_t n = out.size();
  out.resize(n + 4);
  PutU32(out.data() + n, v);
}
inline void AppendU64(Bytes& out, uint64_t v) {
  size_t n = out.size();
  out.resize(n + 8);
  PutU64(out.data() + n, v);
}
inline void Append(Bytes& out, ByteSpan s) { out.insert(out.end(), s.begin(), s.end()); }

}  // namespace ks
