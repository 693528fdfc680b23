#include "domain/api_key.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>

namespace tally::domain {
namespace {

constexpr std::string_view kPrefix = "tly_";
constexpr size_t kKeyIdLen = 12;
constexpr size_t kSecretLen = 43;

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 0xF]);
  }
  return out;
}

std::string Base64Url(const unsigned char* p, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kOperator: return "operator";
    case Role::kTenant: return "tenant";
    case Role::kReporter: return "reporter";
  }
  return "tenant";
}

Result<Role> ParseRole(std::string_view s) {
  if (s == "operator") return Role::kOperator;
  if (s == "tenant") return Role::kTenant;
  if (s == "reporter") return Role::kReporter;
  return InvalidArgument("unknown role '" + std::string(s) +
                         "' (expected operator, tenant or reporter)");
}

Result<NewToken> MakeToken() {
  std::array<unsigned char, 6> id{};
  std::array<unsigned char, 32> secret{};
  if (RAND_bytes(id.data(), id.size()) != 1 || RAND_bytes(secret.data(), secret.size()) != 1) {
    return Internal("the random number generator failed");
  }
  NewToken t;
  t.key_id = Hex(id.data(), id.size());
  std::string s = Base64Url(secret.data(), secret.size());
  t.secret_hash = HashSecret(s);
  t.token = std::string(kPrefix) + t.key_id + "_" + s;
  return t;
}

std::optional<ParsedToken> ParseToken(std::string_view token) {
  if (token.size() != kPrefix.size() + kKeyIdLen + 1 + kSecretLen) return std::nullopt;
  if (token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view id = token.substr(kPrefix.size(), kKeyIdLen);
  if (token[kPrefix.size() + kKeyIdLen] != '_') return std::nullopt;
  std::string_view secret = token.substr(kPrefix.size() + kKeyIdLen + 1);
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  for (char c : secret) {
    if (!IsBase64UrlChar(c)) return std::nullopt;
  }
  return ParsedToken{std::string(id), std::string(secret)};
}

std::string HashSecret(std::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return Hex(digest, sizeof digest);
}

bool SecretMatches(std::string_view secret, std::string_view secret_hash) {
  std::string h = HashSecret(secret);
  if (h.size() != secret_hash.size()) return false;
  return CRYPTO_memcmp(h.data(), secret_hash.data(), h.size()) == 0;
}

}  // namespace tally::domain
