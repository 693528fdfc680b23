#include "domain/meter_id.h"

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstdlib>

#include "common/strings.h"

namespace tally::domain {
namespace {

// Tally's namespace for custom worker tier meters: a random UUID chosen once
// (b1f3e7c2-5d84-4a6e-9c0b-7e2d41a9f536). Changing it would change every derived meter ID,
// orphaning usage already stored under the old ones, so it is fixed forever.
constexpr std::array<unsigned char, 16> kTallyWorkerTierNamespace = {
    0xb1, 0xf3, 0xe7, 0xc2, 0x5d, 0x84, 0x4a, 0x6e, 0x9c, 0x0b, 0x7e, 0x2d, 0x41, 0xa9, 0xf5, 0x36};

}  // namespace

std::string CustomWorkerTierMeterId(std::string_view sku, std::string_view tier_name) {
  std::string name;
  name.reserve(kTallyWorkerTierNamespace.size() + sku.size() + 1 + tier_name.size());
  name.append(reinterpret_cast<const char*>(kTallyWorkerTierNamespace.data()),
              kTallyWorkerTierNamespace.size());
  name.append(sku);
  name.push_back('/');
  name.append(AsciiLower(tier_name));

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  // SHA-1 is what RFC 4122 names for version 5; collision resistance is not at stake here, only
  // a stable spread of IDs. EVP_Digest fails only when OpenSSL itself is broken.
  if (EVP_Digest(name.data(), name.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1 ||
      digest_len < 16) {
    std::abort();
  }
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // RFC 4122 variant

  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id;
  id.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
    id.push_back(kHex[digest[i] >> 4]);
    id.push_back(kHex[digest[i] & 0x0f]);
  }
  return id;
}

}  // namespace tally::domain
