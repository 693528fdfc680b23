// Meter IDs that Tally derives rather than reads from the catalog: App Service custom worker
// tiers. Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace tally::domain {

// The meter ID of an App Service custom worker tier.
//
// Azure Stack Hub says only that this ID is "created based on SKU and custom worker tier name"
// and is unique per tier; the algorithm is not published (contract §6 and §12.8). Tally's is
// therefore its own, but stable across versions and machines: a name-based UUID in the style
// of RFC 4122 version 5 (SHA-1 of a fixed Tally namespace UUID followed by the UTF-8 bytes of
// `sku` + "/" + the ASCII-lower-cased `tier_name`), printed in upper case with hyphens like the
// catalog's App Service IDs, e.g. "3F2A...-....". The tier name is matched case-insensitively
// (ASCII only), the SKU as given. The same inputs always give the same ID.
std::string CustomWorkerTierMeterId(std::string_view sku, std::string_view tier_name);

}  // namespace tally::domain
