#include "domain/usage_record.h"

#include <gtest/gtest.h>

#include "common/hash.h"

namespace tally::domain {
namespace {

constexpr int64_t kNow = 1790000000LL * kMicrosPerSecond;  // 2026-09-21T...

UsageRecordFields ValidFields() {
  UsageRecordFields f;
  f.record_id = "rec-1";
  f.subscription_id = "8F1C9A52-3C1E-4A8B-9D2E-0B6F4C7A1E55";
  f.meter_id = "F271A8A388C44D93956A063E1D2FA80B";
  f.resource_uri =
      "/subscriptions/8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55/resourceGroups/rg/providers/"
      "Microsoft.Network/publicIPAddresses/ip1";
  f.location = "local";
  f.usage_start_time = "2026-09-01T10:00:00Z";
  f.usage_end_time = "2026-09-01T11:00:00+00:00";
  f.quantity = "1.000000000000001";
  f.tags = Properties{{"b", "2"}, {"a", "1"}};
  return f;
}

std::vector<FieldError> Errors(const UsageRecordFields& f, bool allow_reported = false) {
  std::vector<FieldError> errors;
  auto r = MakeUsageRecord(f, 7, {UtcTime{kNow}, allow_reported}, errors);
  EXPECT_EQ(r.has_value(), errors.empty());
  return errors;
}

std::string OnlyReason(const UsageRecordFields& f, const std::string& property) {
  auto errors = Errors(f);
  EXPECT_EQ(errors.size(), 1u);
  if (errors.size() != 1) return "";
  EXPECT_EQ(errors[0].property, property);
  EXPECT_EQ(errors[0].index, 7u);
  return errors[0].reason;
}

TEST(MakeUsageRecord, AcceptsAValidRecordAndNormalisesIt) {
  std::vector<FieldError> errors;
  auto r = MakeUsageRecord(ValidFields(), 0, {UtcTime{kNow}, false}, errors);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->subscription_id, "8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55");
  EXPECT_EQ(r->quantity.ToString(), "1.000000000000001");
  ASSERT_TRUE(r->tags.has_value());
  EXPECT_EQ(r->tags->front().first, "a");  // sorted
  EXPECT_FALSE(r->additional_info.has_value());
  EXPECT_EQ(FormatUtcTime(r->usage_end().utc()), "2026-09-01T11:00:00Z");
}

TEST(MakeUsageRecord, ReportsEveryMissingField) {
  auto errors = Errors(UsageRecordFields{});
  std::vector<std::string> props;
  for (auto& e : errors) props.push_back(e.property);
  EXPECT_EQ(props, (std::vector<std::string>{"recordId", "subscriptionId", "meterId", "resourceUri",
                                             "location", "usageStartTime", "usageEndTime",
                                             "quantity"}));
  for (auto& e : errors) EXPECT_EQ(e.reason, "is required");
}

TEST(MakeUsageRecord, ChecksEveryByteOfTheTextFields) {
  // The last byte, DEL and unit separator: the checks read each text to its end.
  auto f = ValidFields();
  f.resource_uri = *f.resource_uri + "\x7f";
  EXPECT_EQ(OnlyReason(f, "resourceUri"), "contains control characters");
  f = ValidFields();
  f.location = "local\x1f";
  EXPECT_EQ(OnlyReason(f, "location"), "contains control characters");
  f = ValidFields();
  f.meter_id = "CBCFEF9A-B91F-4597-A4D3-01FE334BED8/";
  EXPECT_EQ(OnlyReason(f, "meterId"),
            "must be 1 to 64 characters of letters, digits, '-', '_' or '.'");
  f = ValidFields();
  f.meter_id = "Az09-_.";
  EXPECT_TRUE(Errors(f).empty());
}

TEST(MakeUsageRecord, ExplainsEachBrokenRule) {
  auto f = ValidFields();
  f.record_id = "";
  EXPECT_EQ(OnlyReason(f, "recordId"), "must not be empty");
  f = ValidFields();
  f.record_id = std::string(257, 'x');
  EXPECT_EQ(OnlyReason(f, "recordId"), "is longer than 256 bytes");
  f = ValidFields();
  f.record_id = "a\nb";
  EXPECT_EQ(OnlyReason(f, "recordId"), "contains control characters");
  f = ValidFields();
  f.subscription_id = "sub1";
  EXPECT_EQ(OnlyReason(f, "subscriptionId"),
            "must be a GUID such as 8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55");
  f = ValidFields();
  f.meter_id = "bad meter";
  EXPECT_EQ(OnlyReason(f, "meterId"),
            "must be 1 to 64 characters of letters, digits, '-', '_' or '.'");
  f = ValidFields();
  f.resource_uri = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/x";
  EXPECT_NE(OnlyReason(f, "resourceUri").find("must be a resource ID of the record's subscription"),
            std::string::npos);
  f = ValidFields();
  f.location = std::string(129, 'l');
  EXPECT_EQ(OnlyReason(f, "location"), "is longer than 128 bytes");
  f = ValidFields();
  f.usage_start_time = "2026-09-01T10:30:00Z";
  f.usage_end_time = "2026-09-01T11:30:00Z";
  EXPECT_EQ(OnlyReason(f, "usageStartTime"), "must be on the hour (UTC), e.g. 2026-10-01T13:00:00Z");
  f = ValidFields();
  f.usage_end_time = "2026-09-01T12:00:00Z";
  EXPECT_EQ(OnlyReason(f, "usageEndTime"), "must be exactly one hour after usageStartTime");
  f = ValidFields();
  f.usage_end_time = "yesterday";
  EXPECT_NE(OnlyReason(f, "usageEndTime").find("is not a valid UTC date-time"), std::string::npos);
  f = ValidFields();
  f.usage_start_time = "2030-01-01T00:00:00Z";
  f.usage_end_time = "2030-01-01T01:00:00Z";
  EXPECT_EQ(OnlyReason(f, "usageStartTime"), "the usage hour has not ended yet");
  f = ValidFields();
  f.quantity = "-1";
  EXPECT_EQ(OnlyReason(f, "quantity"), "must not be negative");
  f = ValidFields();
  f.quantity = "0.0000000000000001";
  EXPECT_NE(OnlyReason(f, "quantity").find("more than 15 fractional digits"), std::string::npos);
  f = ValidFields();
  f.tags = Properties{{"a", "1"}, {"a", "2"}};
  EXPECT_EQ(OnlyReason(f, "tags"), "key 'a' appears twice");
  f = ValidFields();
  f.tags = Properties{{"", "1"}};
  EXPECT_EQ(OnlyReason(f, "tags"), "keys must be 1 to 512 bytes long");
  f = ValidFields();
  f.additional_info = Properties{{"k", std::string(4097, 'v')}};
  EXPECT_EQ(OnlyReason(f, "additionalInfo"), "the value of 'k' is longer than 4096 bytes");
  f = ValidFields();
  f.tags = Properties{};
  for (int i = 0; i < 51; ++i) f.tags->push_back({"k" + std::to_string(i), "v"});
  EXPECT_EQ(OnlyReason(f, "tags"), "has 51 entries; at most 50 are allowed");
  f = ValidFields();
  f.reported_time = "2026-09-02T00:00:00Z";
  EXPECT_EQ(OnlyReason(f, "reportedTime"), "only an operator may set reportedTime; Tally assigns it");
}

TEST(MakeUsageRecord, LetsOperatorsImportHistoryWithAReportedTime) {
  auto f = ValidFields();
  f.reported_time = "2026-09-02T00:00:00Z";
  EXPECT_TRUE(Errors(f, /*allow_reported=*/true).empty());
  f.reported_time = "2030-01-01T00:00:00Z";
  auto errors = Errors(f, true);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].reason, "must not be in the future");
  f.reported_time = "2026-09-01T09:00:00Z";
  errors = Errors(f, true);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].reason, "must not be before usageStartTime");
}

TEST(UsageRecordContent, IgnoresReportedTimeTagOrderAndMeterCase) {
  std::vector<FieldError> errors;
  ValidationContext ctx{UtcTime{kNow}, true};
  auto a = MakeUsageRecord(ValidFields(), 0, ctx, errors);
  auto f = ValidFields();
  f.tags = Properties{{"a", "1"}, {"b", "2"}};
  f.meter_id = "f271a8a388c44d93956a063e1d2fa80b";
  f.reported_time = "2026-09-03T00:00:00Z";
  auto b = MakeUsageRecord(f, 0, ctx, errors);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(SameContent(*a, *b));
  EXPECT_EQ(ContentHash(*a), ContentHash(*b));
  b->quantity = Decimal::FromInt(2);
  EXPECT_FALSE(SameContent(*a, *b));
  EXPECT_NE(ContentHash(*a), ContentHash(*b));
}

// The content hash is stored with every record (usage_records.content_hash), so its input must
// never change: this is the canonical text as first defined.
TEST(UsageRecordContent, CanonicalTextAndHashAreFrozen) {
  std::vector<FieldError> errors;
  ValidationContext ctx{UtcTime{kNow}, false};
  auto f = ValidFields();
  f.meter_id = "f271A8A388C44D93956A063E1D2FA80B";
  auto a = MakeUsageRecord(f, 0, ctx, errors);
  ASSERT_TRUE(a);
  const std::string expected =
      "5:rec-136:8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e5532:F271A8A388C44D93956A063E1D2FA80B"
      "119:/subscriptions/8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55/resourceGroups/rg/providers/"
      "Microsoft.Network/publicIPAddresses/ip15:local6:49673817:1.0000000000000012{1:a1:11:b1:2-";
  EXPECT_EQ(CanonicalContent(*a), expected);
  EXPECT_EQ(ContentHash(*a), Hash64(expected, 0x7a11));

  f = ValidFields();
  f.tags.reset();
  f.additional_info = Properties{};
  f.quantity = "123456789012345678901.5";
  errors.clear();
  auto b = MakeUsageRecord(f, 0, ctx, errors);
  if (!b) {  // beyond the quantity limit: use the largest whole quantity instead
    errors.clear();
    f.quantity = "999999999999999999999";
    b = MakeUsageRecord(f, 0, ctx, errors);
  }
  ASSERT_TRUE(b);
  const std::string text = CanonicalContent(*b);
  EXPECT_TRUE(text.ends_with(":" + b->quantity.ToString() + "-0{")) << text;
  EXPECT_EQ(ContentHash(*b), Hash64(text, 0x7a11));
  // The hash reuses a per-thread buffer: a second record must not see the first's text.
  EXPECT_EQ(ContentHash(*a), Hash64(expected, 0x7a11));
}

}  // namespace
}  // namespace tally::domain
