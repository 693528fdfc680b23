// API keys: bearer tokens for operators, tenants and reporters (resource providers). Only a
// SHA-256 hash of a token's secret is ever stored; the token itself is shown once, at
// creation. Token text: "tly_<keyId>_<secret>", keyId 12 hex digits (the lookup key), secret
// 43 base64url characters (256 random bits). Thread-safe (no shared state).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time.h"

namespace tally::domain {

enum class Role { kOperator, kTenant, kReporter };
std::string_view RoleName(Role r);  // "operator" | "tenant" | "reporter"
Result<Role> ParseRole(std::string_view s);

struct ApiKey {
  std::string key_id;
  Role role = Role::kTenant;
  // Tenant: the subscriptions it may read. Operator: empty = the Default Provider
  // Subscription, else the one delegated provider it acts for. Reporter: unused.
  std::vector<std::string> subscriptions;
  std::string label;
  std::string secret_hash;  // lower-case hex SHA-256 of the secret
  UtcTime created;
  std::optional<UtcTime> revoked;

  bool operator==(const ApiKey&) const = default;
};

struct NewToken {
  std::string token;  // show once; never store or log
  std::string key_id;
  std::string secret_hash;
};
// Makes a fresh random token (OpenSSL's CSPRNG).
Result<NewToken> MakeToken();

struct ParsedToken {
  std::string key_id;
  std::string secret;
};
// Splits a token into key ID and secret; nullopt when it is not shaped like a Tally token.
std::optional<ParsedToken> ParseToken(std::string_view token);
std::string HashSecret(std::string_view secret);
// Compares a presented secret with a stored hash in constant time.
bool SecretMatches(std::string_view secret, std::string_view secret_hash);

}  // namespace tally::domain
