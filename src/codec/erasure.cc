#include "codec/erasure.h"

#include <isa-l/crc.h>
#include <isa-l/erasure_code.h>

#include <cstring>

namespace ks {

ErasureCode::ErasureCode(int k, int m) : k_(k), m_(m), matrix_(size_t(k + m) * size_t(k)) {
  gf_gen_cauchy1_matrix(matrix_.data(), k + m, k);
  if (m > 0) {
    parity_tables_.resize(32u * size_t(k) * size_t(m));
    ec_init_tables(k, m, matrix_.data() + size_t(k) * size_t(k), parity_tables_.data());
  }
}

void ErasureCode::Encode(const uint8_t* const* data, uint8_t* const* parity, size_t len) const {
  if (m_ == 0 || len == 0) return;
  ec_encode_data(int(len), k_, m_, const_cast<uint8_t*>(parity_tables_.data()),
                 const_cast<uint8_t**>(data), const_cast<uint8_t**>(parity));
}

bool ErasureCode::Reconstruct(uint8_t* const* shards, const std::vector<bool>& present,
                              size_t len) const {
  const int n = k_ + m_;
  std::vector<int> src, missing;
  for (int i = 0; i < n; i++) {
    if (present[size_t(i)]) {
      if (int(src.size()) < k_) src.push_back(i);
    } else {
      missing.push_back(i);
    }
  }
  if (int(src.size()) < k_) return false;
  if (missing.empty() || len == 0) return true;
  // B = the generator rows of the k shards we have; D = B^-1 maps them back
  // to the data shards.
  std::vector<uint8_t> b(size_t(k_) * size_t(k_)), d(size_t(k_) * size_t(k_));
  for (int i = 0; i < k_; i++) std::memcpy(&b[size_t(i * k_)], Row(src[size_t(i)]), size_t(k_));
  if (gf_invert_matrix(b.data(), d.data(), k_) != 0) return false;  // cannot happen (Cauchy)
  // Coefficients of each missing shard over the k sources: for a data shard
  // its row of D; for a parity shard its generator row times D.
  std::vector<uint8_t> coeffs(missing.size() * size_t(k_));
  for (size_t r = 0; r < missing.size(); r++) {
    int want = missing[r];
    for (int j = 0; j < k_; j++) {
      uint8_t c = 0;
      if (want < k_) {
        c = d[size_t(want * k_ + j)];
      } else {
        for (int l = 0; l < k_; l++) c ^= gf_mul(Row(want)[l], d[size_t(l * k_ + j)]);
      }
      coeffs[r * size_t(k_) + size_t(j)] = c;
    }
  }
  std::vector<uint8_t> tables(32u * size_t(k_) * missing.size());
  ec_init_tables(k_, int(missing.size()), coeffs.data(), tables.data());
  std::vector<uint8_t*> in(static_cast<size_t>(k_)), out(missing.size());
  for (int i = 0; i < k_; i++) in[size_t(i)] = shards[src[size_t(i)]];
  for (size_t r = 0; r < missing.size(); r++) out[r] = shards[missing[r]];
  ec_encode_data(int(len), k_, int(missing.size()), tables.data(), in.data(), out.data());
  return true;
}

void EncodeReference(const ErasureCode& ec, const uint8_t* const* data, uint8_t* const* parity,
                     size_t len) {
  for (int r = 0; r < ec.m(); r++) {
    const uint8_t* row = ec.Row(ec.k() + r);
    for (size_t x = 0; x < len; x++) {
      uint8_t acc = 0;
      for (int j = 0; j < ec.k(); j++) acc ^= gf_mul(row[j], data[j][x]);
      parity[r][x] = acc;
    }
  }
}

uint32_t Crc32c(ByteSpan data, uint32_t previous) {
  // crc32_iscsi keeps the register un-inverted: invert in and out to get the
  // standard CRC32C and to allow chaining.
  return ~crc32_iscsi(const_cast<uint8_t*>(data.data()), int(data.size()), ~previous);
}

}  // namespace ks
