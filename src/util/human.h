// Human-readable sizes, rates and durations for terminals ("1.2 GiB").
#pragma once

#include <cstdint>
#include <string>

namespace ks {

std::string HumanBytes(uint64_t n);
std::string HumanRate(double bytes_per_second);
std::string HumanDuration(double seconds);

}  // namespace ks
