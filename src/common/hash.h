// Fast non-cryptographic 64-bit hashing (xxHash3) for in-memory indexes and content digests.
// Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace tally {

uint64_t Hash64(std::string_view bytes, uint64_t seed = 0);

}  // namespace tally
