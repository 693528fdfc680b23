// Small string helpers shared by every layer. Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tally {

std::string AsciiUpper(std::string_view s);
std::string AsciiLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Splits on `sep`, keeping empty fields.
std::vector<std::string_view> Split(std::string_view s, char sep);
std::string_view TrimSpace(std::string_view s);
// True for a GUID in 8-4-4-4-12 hex form (any case).
bool IsGuid(std::string_view s);
// How many bytes of `s` equal `c`.
size_t CountByte(std::string_view s, char c);
// True if `s` holds an ASCII control character (0x00-0x1f or DEL).
bool HasControlChars(std::string_view s);

}  // namespace tally
