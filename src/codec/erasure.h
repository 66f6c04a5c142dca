// Reed-Solomon erasure coding over GF(2^8) with ISA-L, and CRC32C. Pure:
// buffers in, buffers out.
//
// The generator is ISA-L's Cauchy matrix (gf_gen_cauchy1_matrix): identity on
// top, 1/(i ^ j) below. Every square sub-matrix of a Cauchy matrix is
// invertible, so ANY k of the k+m shards rebuild the rest (a Vandermonde
// matrix does not guarantee that). Tables are expanded once per geometry
// (ec_init_tables) and reused for every encode.
#pragma once

#include <cstdint>
#include <vector>

#include "util/bytes.h"

namespace ks {

constexpr int kMaxShards = 32;

class ErasureCode {
 public:
  // REQUIRES: 1 <= k, 0 <= m, k + m <= kMaxShards.
  ErasureCode(int k, int m);

  int k() const { return k_; }
  int m() const { return m_; }

  // parity[r] = sum over j of E[k+r][j] * data[j], each `len` bytes.
  void Encode(const uint8_t* const* data, uint8_t* const* parity, size_t len) const;

  // shards: k+m buffers of `len` bytes; present[i] says which hold valid
  // data. Rebuilds every missing shard in place. False if fewer than k are
  // present (nothing is written then).
  bool Reconstruct(uint8_t* const* shards, const std::vector<bool>& present, size_t len) const;

  // Row r (0 <= r < k+m) of the (k+m) x k generator matrix.
  const uint8_t* Row(int r) const { return &matrix_[size_t(r) * size_t(k_)]; }

 private:
  int k_, m_;
  std::vector<uint8_t> matrix_;  // (k+m) x k
  std::vector<uint8_t> parity_tables_;  // ec_init_tables of the parity rows
};

// Reference twin of ErasureCode::Encode: plain GF(2^8) arithmetic with
// ISA-L's gf_mul, no tables and no SIMD. Tests compare the two.
void EncodeReference(const ErasureCode& ec, const uint8_t* const* data, uint8_t* const* parity,
                     size_t len);

// CRC32C (Castagnoli; reflected; initial value and final xor 0xFFFFFFFF), so
// Crc32c("123456789") == 0xE3069283. ISA-L's crc32_iscsi underneath.
uint32_t Crc32c(ByteSpan data, uint32_t previous = 0);

}  // namespace ks
