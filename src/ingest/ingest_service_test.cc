#include "ingest/ingest_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/ingest_test_util.h"

namespace tally::domain {
// For readable gmock failures (found by argument-dependent lookup).
void PrintTo(const FieldError& e, std::ostream* os) {
  *os << "{" << e.index << ", \"" << e.property << "\", \"" << e.reason << "\"}";
}
}  // namespace tally::domain

namespace tally::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::Batch;
using testing::FakeUsageStore;
using testing::kOtherSub;
using testing::kSub;
using testing::RecordJson;

UtcTime T(std::string_view text) { return ParseUtcTime(text).value(); }

struct ErrorIs {
  size_t index;
  std::string property;
  std::string reason;
};
bool operator==(const domain::FieldError& e, const ErrorIs& x) {
  return e.index == x.index && e.property == x.property && e.reason == x.reason;
}
void PrintTo(const ErrorIs& e, std::ostream* os) {
  *os << "{" << e.index << ", \"" << e.property << "\", \"" << e.reason << "\"}";
}

class IngestServiceTest : public ::testing::Test {
 protected:
  IngestOutcome IngestJson(const std::string& body, Sender sender = Sender::kReporter) {
    return service_.Ingest(body, BodyFormat::kJson, sender);
  }
  // The errors of a one-record batch made of `record`; the store must not be called.
  std::vector<domain::FieldError> ErrorsOf(const RecordJson& record,
                                           Sender sender = Sender::kReporter) {
    IngestOutcome outcome = IngestJson(Batch({record}), sender);
    EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument) << outcome.status.ToString();
    EXPECT_TRUE(store_.calls.empty());
    return outcome.errors;
  }

  FakeUsageStore store_;
  FakeClockForTesting clock_{T("2026-10-02T00:00:00Z")};
  IngestService service_{store_, clock_};
};

TEST_F(IngestServiceTest, ValidBatchIsAppendedOnceWithTheClocksTime) {
  IngestOutcome outcome = IngestJson(Batch({RecordJson("a"), RecordJson("b")}));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.accepted, 2u);
  ASSERT_EQ(store_.calls.size(), 1u);
  EXPECT_EQ(store_.calls[0].now, ReportedTime(T("2026-10-02T00:00:00Z")));
  ASSERT_EQ(store_.calls[0].records.size(), 2u);
  const domain::UsageRecord& r = store_.calls[0].records[1];
  EXPECT_EQ(r.record_id, "b");
  EXPECT_EQ(r.quantity, Decimal::Parse("2.5").value());
  EXPECT_EQ(r.usage_start.utc(), T("2026-10-01T13:00:00Z"));
  EXPECT_FALSE(r.reported_time.has_value());
}

TEST_F(IngestServiceTest, DuplicatesFromTheStorePassThrough) {
  store_.next_result = store::AppendOutcome{1, 2, {}};
  IngestOutcome outcome = IngestJson(Batch({RecordJson("a"), RecordJson("b"), RecordJson("c")}));
  ASSERT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.accepted, 1u);
  EXPECT_EQ(outcome.duplicates, 2u);
}

TEST_F(IngestServiceTest, QuantityKeepsItsExactDigits) {
  ASSERT_TRUE(IngestJson(Batch({RecordJson().Set("quantity", "0.100000000000001")})).status.ok());
  EXPECT_EQ(store_.calls[0].records[0].quantity.ToString(), "0.100000000000001");
  ASSERT_TRUE(IngestJson(Batch({RecordJson().Set("quantity", "12345678901234567890.5")}))
                  .status.ok());
  EXPECT_EQ(store_.calls[1].records[0].quantity.ToString(), "12345678901234567890.5");
  ASSERT_TRUE(IngestJson(Batch({RecordJson().Set("quantity", "25E-1")})).status.ok());
  EXPECT_EQ(store_.calls[2].records[0].quantity.ToString(), "2.5");
}

// Every validation rule, through the service, with its exact error.
struct RuleCase {
  const char* name;
  RecordJson record;
  std::vector<ErrorIs> errors;
};

std::vector<RuleCase> RuleCases() {
  const std::string uri_prefix = std::string("/subscriptions/") + kSub + "/";
  return {
      {"MissingRecordId", RecordJson().Remove("recordId"), {{0, "recordId", "is required"}}},
      {"EmptyRecordId", RecordJson().Set("recordId", "\"\""), {{0, "recordId", "must not be empty"}}},
      {"NullRequiredIsMissing", RecordJson().Set("location", "null"),
       {{0, "location", "is required"}}},
      {"MissingEverything", RecordJson().Remove("recordId").Remove("subscriptionId")
                                .Remove("meterId").Remove("resourceUri").Remove("location")
                                .Remove("usageStartTime").Remove("usageEndTime").Remove("quantity"),
       {{0, "recordId", "is required"}, {0, "subscriptionId", "is required"},
        {0, "meterId", "is required"}, {0, "resourceUri", "is required"},
        {0, "location", "is required"}, {0, "usageStartTime", "is required"},
        {0, "usageEndTime", "is required"}, {0, "quantity", "is required"}}},
      {"NumberForString", RecordJson().Set("recordId", "17"),
       {{0, "recordId", "must be a JSON string"}}},
      {"ObjectForString", RecordJson().Set("location", "{\"a\":1}"),
       {{0, "location", "must be a JSON string"}}},
      {"QuantityAsString", RecordJson().Set("quantity", "\"2.5\""),
       {{0, "quantity", "must be a JSON number"}}},
      {"QuantityAsBool", RecordJson().Set("quantity", "true"),
       {{0, "quantity", "must be a JSON number"}}},
      {"NegativeQuantity", RecordJson().Set("quantity", "-1"),
       {{0, "quantity", "must not be negative"}}},
      {"TooPreciseQuantity", RecordJson().Set("quantity", "0.0000000000000001"),
       {{0, "quantity",
         "'0.0000000000000001' is not a valid decimal: more than 15 fractional digits"}}},
      {"HugeQuantity", RecordJson().Set("quantity", "1e21"),
       {{0, "quantity", "'1e21' is not a valid decimal: magnitude must be below 10^21"}}},
      {"BadGuid", RecordJson().Set("subscriptionId", "\"not-a-guid\""),
       {{0, "subscriptionId", "must be a GUID such as 8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55"}}},
      {"ResourceOfAnotherSubscription",
       RecordJson().Set("resourceUri", RecordJson::Quote(std::string("/subscriptions/") +
                                                         kOtherSub + "/resourceGroups/rg")),
       {{0, "resourceUri",
         "must be a resource ID of the record's subscription, starting with '" + uri_prefix +
             "'"}}},
      {"BadMeterId", RecordJson().Set("meterId", "\"meter id!\""),
       {{0, "meterId", "must be 1 to 64 characters of letters, digits, '-', '_' or '.'"}}},
      {"ControlCharacterInLocation", RecordJson().Set("location", "\"lo\\u0001cal\""),
       {{0, "location", "contains control characters"}}},
      {"MisalignedHour",
       RecordJson().Set("usageStartTime", "\"2026-10-01T13:30:00Z\"")
           .Set("usageEndTime", "\"2026-10-01T14:30:00Z\""),
       {{0, "usageStartTime", "must be on the hour (UTC), e.g. 2026-10-01T13:00:00Z"}}},
      {"UnparsableTime", RecordJson().Set("usageStartTime", "\"yesterday\""),
       {{0, "usageStartTime", "'yesterday' is not a valid UTC date-time: expected YYYY-MM-DD"}}},
      {"EndNotOneHourLater", RecordJson().Set("usageEndTime", "\"2026-10-01T15:00:00Z\""),
       {{0, "usageEndTime", "must be exactly one hour after usageStartTime"}}},
      {"HourNotEndedYet",
       RecordJson().Set("usageStartTime", "\"2026-10-02T00:00:00Z\"")
           .Set("usageEndTime", "\"2026-10-02T01:00:00Z\""),
       {{0, "usageStartTime", "the usage hour has not ended yet"}}},
      {"TagsNotAnObject", RecordJson().Set("tags", "[\"a\"]"),
       {{0, "tags", "must be a JSON object of strings"}}},
      {"TagValueNotAString", RecordJson().Set("tags", "{\"env\":1}"),
       {{0, "tags", "the value of 'env' must be a JSON string"}}},
      {"TagKeyTwice", RecordJson().Set("tags", "{\"env\":\"a\",\"env\":\"b\"}"),
       {{0, "tags", "key 'env' appears twice"}}},
      {"EmptyTagKey", RecordJson().Set("tags", "{\"\":\"a\"}"),
       {{0, "tags", "keys must be 1 to 512 bytes long"}}},
      {"AdditionalInfoValueNotAString", RecordJson().Set("additionalInfo", "{\"a\":null}"),
       {{0, "additionalInfo", "the value of 'a' must be a JSON string"}}},
      {"ReportedTimeFromReporter", RecordJson().Set("reportedTime", "\"2026-10-01T20:00:00Z\""),
       {{0, "reportedTime", "only an operator may set reportedTime; Tally assigns it"}}},
      {"UnknownProperty", RecordJson().Remove("quantity").Set("quantty", "2.5"),
       {{0, "quantty", "is not a known property"}, {0, "quantity", "is required"}}},
  };
}

class IngestRuleTest : public IngestServiceTest,
                       public ::testing::WithParamInterface<RuleCase> {};

TEST_P(IngestRuleTest, ReportsExactly) {
  const RuleCase& c = GetParam();
  std::vector<domain::FieldError> errors = ErrorsOf(c.record);
  ASSERT_EQ(errors.size(), c.errors.size());
  for (size_t i = 0; i < errors.size(); ++i) EXPECT_EQ(errors[i], c.errors[i]) << i;
}

INSTANTIATE_TEST_SUITE_P(Rules, IngestRuleTest, ::testing::ValuesIn(RuleCases()),
                         [](const auto& test) { return std::string(test.param.name); });

TEST_F(IngestServiceTest, PropertyTwiceIsRefused) {
  std::string body = Batch({RecordJson()});
  body.insert(body.size() - 3, ",\"location\":\"other\"");
  IngestOutcome outcome = IngestJson(body);
  EXPECT_THAT(outcome.errors, ElementsAre(ErrorIs{0, "location", "appears more than once"}));
}

TEST_F(IngestServiceTest, RecordThatIsNotAnObject) {
  IngestOutcome outcome = IngestJson("{\"records\":[" + RecordJson().ToJson() + ",42]}");
  EXPECT_THAT(outcome.errors, ElementsAre(ErrorIs{1, "", "must be a JSON object"}));
  EXPECT_TRUE(store_.calls.empty());
}

TEST_F(IngestServiceTest, NullTagsAreAbsent) {
  ASSERT_TRUE(IngestJson(Batch({RecordJson().Set("tags", "null")})).status.ok());
  EXPECT_FALSE(store_.calls[0].records[0].tags.has_value());
}

TEST_F(IngestServiceTest, TagsAreKeptSorted) {
  ASSERT_TRUE(
      IngestJson(Batch({RecordJson().Set("tags", "{\"b\":\"2\",\"a\":\"1\"}")})).status.ok());
  EXPECT_EQ(store_.calls[0].records[0].tags,
            (domain::Properties{{"a", "1"}, {"b", "2"}}));
}

TEST_F(IngestServiceTest, OperatorMayImportWithReportedTime) {
  IngestOutcome outcome = IngestJson(
      Batch({RecordJson().Set("reportedTime", "\"2026-10-01T20:00:00Z\"")}), Sender::kOperator);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_EQ(store_.calls.size(), 1u);
  EXPECT_EQ(store_.calls[0].records[0].reported_time,
            ReportedTime(T("2026-10-01T20:00:00Z")));
}

TEST_F(IngestServiceTest, OperatorReportedTimeInTheFutureIsRefused) {
  EXPECT_THAT(ErrorsOf(RecordJson().Set("reportedTime", "\"2026-10-03T00:00:00Z\""),
                       Sender::kOperator),
              ElementsAre(ErrorIs{0, "reportedTime", "must not be in the future"}));
}

TEST_F(IngestServiceTest, EveryErrorOfEveryRecordIsReportedAndNothingStored) {
  IngestOutcome outcome = IngestJson(Batch({
      RecordJson("a").Set("quantity", "\"1\"").Set("location", "\"\""),
      RecordJson("b"),
      RecordJson("c").Set("usageEndTime", "\"2026-10-01T13:00:00Z\"").Set("bogus", "1"),
  }));
  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(outcome.status.message(), "2 records of 3 are invalid; nothing was stored");
  EXPECT_THAT(outcome.errors,
              ElementsAre(ErrorIs{0, "quantity", "must be a JSON number"},
                          ErrorIs{0, "location", "must not be empty"},
                          ErrorIs{2, "bogus", "is not a known property"},
                          ErrorIs{2, "usageEndTime",
                                  "must be exactly one hour after usageStartTime"}));
  EXPECT_TRUE(store_.calls.empty());
  EXPECT_EQ(outcome.accepted, 0u);
}

TEST_F(IngestServiceTest, OneBadRecordAmongManyStoresNothing) {
  std::vector<RecordJson> records;
  for (int i = 0; i < 1000; ++i) records.emplace_back("r" + std::to_string(i));
  records[999].Set("quantity", "-0.5");
  IngestOutcome outcome = IngestJson(Batch(records));
  EXPECT_EQ(outcome.status.message(), "1 record of 1000 is invalid; nothing was stored");
  EXPECT_THAT(outcome.errors, ElementsAre(ErrorIs{999, "quantity", "must not be negative"}));
  EXPECT_TRUE(store_.calls.empty());
}

TEST_F(IngestServiceTest, ConflictsBecomeAlreadyExists) {
  store_.next_result = store::AppendOutcome{0, 0, {{1, "b"}}};
  IngestOutcome outcome = IngestJson(Batch({RecordJson("a"), RecordJson("b")}));
  EXPECT_EQ(outcome.status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(outcome.status.message(),
            "1 record has a recordId already stored with different content; nothing was stored");
  ASSERT_EQ(outcome.conflicts.size(), 1u);
  EXPECT_EQ(outcome.conflicts[0].index, 1u);
  EXPECT_EQ(outcome.conflicts[0].record_id, "b");
  EXPECT_EQ(outcome.accepted, 0u);
}

TEST_F(IngestServiceTest, StoreErrorsPassThrough) {
  store_.next_result = Result<store::AppendOutcome>(Unavailable("the store refuses writes"));
  IngestOutcome outcome = IngestJson(Batch({RecordJson()}));
  EXPECT_EQ(outcome.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(outcome.status.message(), "the store refuses writes");
}

TEST_F(IngestServiceTest, IngestFieldsOffsetsIndices) {
  std::vector<domain::UsageRecordFields> fields(2);
  Result<ParsedRecords> parsed = ParseBody(Batch({RecordJson("a"), RecordJson("b")}),
                                           BodyFormat::kJson);
  ASSERT_TRUE(parsed.ok());
  fields = parsed->fields;
  fields[1].quantity = "x";
  IngestOutcome outcome = service_.IngestFields(fields, Sender::kReporter, 500);
  EXPECT_THAT(outcome.errors,
              ElementsAre(ErrorIs{501, "quantity",
                                  "'x' is not a valid decimal: expected a digit"}));

  store_.next_result = store::AppendOutcome{0, 0, {{0, "a"}}};
  outcome = service_.IngestFields(parsed->fields, Sender::kReporter, 500);
  ASSERT_EQ(outcome.conflicts.size(), 1u);
  EXPECT_EQ(outcome.conflicts[0].index, 500u);
}

// Bodies refused whole, before any record is looked at.
struct MalformedCase {
  const char* name;
  std::string body;
  std::string message_start;
};

class MalformedJsonTest : public IngestServiceTest,
                          public ::testing::WithParamInterface<MalformedCase> {};

TEST_P(MalformedJsonTest, RefusesTheBody) {
  IngestOutcome outcome = IngestJson(GetParam().body);
  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(outcome.status.message(), StartsWith(GetParam().message_start));
  EXPECT_TRUE(outcome.errors.empty());
  EXPECT_TRUE(store_.calls.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, MalformedJsonTest,
    ::testing::Values(
        MalformedCase{"Empty", "", "the batch has no records"},
        MalformedCase{"Whitespace", " \n ", "the batch has no records"},
        MalformedCase{"EmptyArray", "{\"records\":[]}", "the batch has no records"},
        MalformedCase{"EmptyBareArray", "[]", "the batch has no records"},
        MalformedCase{"SyntaxError", "{\"records\":[{\"recordId\" \"a\"}]}",
                      "malformed JSON at line 1, column"},
        MalformedCase{"SyntaxErrorOnLaterLine", "{\"records\":[\n{\"recordId\":\"a\",,}]}",
                      "malformed JSON at line 2, column"},
        MalformedCase{"Truncated", "{\"records\":[{\"recordId\":\"a\"", "malformed JSON"},
        MalformedCase{"UnclosedString", "{\"records\":[{\"recordId\":\"a}]}", "malformed JSON"},
        MalformedCase{"NotAnObject", "\"hello\"", "the body must be a JSON object"},
        MalformedCase{"Number", "42", "the body must be a JSON object"},
        MalformedCase{"RecordsMissing", "{}", "the body has no \"records\" array"},
        MalformedCase{"RecordsNotArray", "{\"records\":{\"recordId\":\"a\"}}",
                      "\"records\" must be a JSON array of record objects"},
        MalformedCase{"UnknownTopLevelProperty", "{\"recrods\":[]}",
                      "the body has an unknown property 'recrods'"},
        MalformedCase{"RecordsTwice", "{\"records\":[],\"records\":[]}",
                      "the body has \"records\" twice"},
        MalformedCase{"TrailingContent", Batch({RecordJson()}) + " x", "malformed JSON"},
        MalformedCase{"TwoDocuments", Batch({RecordJson()}) + Batch({RecordJson()}),
                      "malformed JSON at"},
        MalformedCase{"InvalidUtf8", "{\"records\":[{\"recordId\":\"\xff\"}]}",
                      "malformed JSON: the text is not valid UTF-8"},
        MalformedCase{"BadEscape", "{\"records\":[{\"recordId\":\"\\q\"}]}", "malformed JSON"}),
    [](const auto& test) { return std::string(test.param.name); });

TEST_F(IngestServiceTest, TooManyRecordsRefusesTheBody) {
  IngestService small(store_, clock_, IngestOptions{2});
  IngestOutcome outcome = small.Ingest(Batch({RecordJson("a"), RecordJson("b"), RecordJson("c")}),
                                       BodyFormat::kJson, Sender::kReporter);
  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(outcome.status.message(),
            "the batch has more than 2 records; split it into smaller batches");
  EXPECT_TRUE(store_.calls.empty());
  EXPECT_TRUE(small.Ingest(Batch({RecordJson("a"), RecordJson("b")}), BodyFormat::kJson,
                           Sender::kReporter)
                  .status.ok());
}

TEST_F(IngestServiceTest, BareArrayIsAccepted) {
  IngestOutcome outcome = IngestJson("[" + RecordJson().ToJson() + "]");
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.accepted, 1u);
}

TEST_F(IngestServiceTest, NdjsonSkipsBlankLinesAndNamesTheLine) {
  std::string body = RecordJson("a").ToJson() + "\n\n   \r\n" + RecordJson("b").ToJson() +
                     "\r\n" + RecordJson("c").Set("quantity", "\"1\"").ToJson() +
                     "\n{\"recordId\": \"d\",\n" + RecordJson("e").ToJson() + "\n";
  IngestOutcome outcome = service_.Ingest(body, BodyFormat::kNdjson, Sender::kReporter);
  EXPECT_EQ(outcome.status.message(), "2 records of 5 are invalid; nothing was stored");
  ASSERT_EQ(outcome.errors.size(), 2u);
  EXPECT_EQ(outcome.errors[0], (ErrorIs{2, "quantity", "must be a JSON number (line 5)"}));
  EXPECT_EQ(outcome.errors[1].index, 3u);
  EXPECT_EQ(outcome.errors[1].property, "");
  EXPECT_THAT(outcome.errors[1].reason, StartsWith("is not valid JSON"));
  EXPECT_THAT(outcome.errors[1].reason, HasSubstr("(line 6)"));
  EXPECT_TRUE(store_.calls.empty());
}

TEST_F(IngestServiceTest, NdjsonValidBatch) {
  std::string body = RecordJson("a").ToJson() + "\n\n" + RecordJson("b").ToJson();
  IngestOutcome outcome = service_.Ingest(body, BodyFormat::kNdjson, Sender::kReporter);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.accepted, 2u);
}

TEST_F(IngestServiceTest, NdjsonLineThatIsNotAnObject) {
  IngestOutcome outcome = service_.Ingest("[1]\n", BodyFormat::kNdjson, Sender::kReporter);
  EXPECT_THAT(outcome.errors, ElementsAre(ErrorIs{0, "", "must be a JSON object (line 1)"}));
}

std::string CsvHeader() {
  return "RecordId,subscriptionid,meterId,resourceUri,location,usageStartTime,usageEndTime,"
         "QUANTITY,tags\r\n";
}
std::string CsvRow(const std::string& id, const std::string& quantity, const std::string& tags,
                   const std::string& location = "local") {
  return id + "," + kSub + ",meter-1,/subscriptions/" + kSub + "/rg/vm," + location +
         ",2026-10-01T13:00:00Z,2026-10-01T14:00:00Z," + quantity + "," + tags + "\r\n";
}

TEST_F(IngestServiceTest, CsvWithQuotesEmbeddedSeparatorsAndJsonTags) {
  std::string body = CsvHeader() + CsvRow("\"a,1\"", "1.5", "\"{\"\"env\"\":\"\"prod\"\"}\"") +
                     "\r\n" + CsvRow("\"b\nsecond line\"", "0.000000000000001", "") +
                     CsvRow("c", "2", "", "\"quoted \"\"x\"\"\"");
  IngestOutcome outcome = service_.Ingest(body, BodyFormat::kCsv, Sender::kReporter);
  ASSERT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);  // "b\nsecond" has a newline
  EXPECT_THAT(outcome.errors,
              ElementsAre(ErrorIs{1, "recordId", "contains control characters (line 4)"}));

  body = CsvHeader() + CsvRow("\"a,1\"", "1.5", "\"{\"\"env\"\":\"\"prod\"\"}\"") + "\r\n" +
         CsvRow("b", "0.000000000000001", "") + CsvRow("c", "2", "", "\"quoted \"\"x\"\"\"");
  outcome = service_.Ingest(body, BodyFormat::kCsv, Sender::kReporter);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_EQ(store_.calls.size(), 1u);
  const auto& records = store_.calls[0].records;
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].record_id, "a,1");
  EXPECT_EQ(records[0].tags, (domain::Properties{{"env", "prod"}}));
  EXPECT_EQ(records[1].quantity.ToString(), "0.000000000000001");
  EXPECT_FALSE(records[1].tags.has_value());
  EXPECT_EQ(records[2].location, "quoted \"x\"");
}

TEST_F(IngestServiceTest, CsvRecordErrorsNameTheLine) {
  std::string body = CsvHeader() + CsvRow("a", "\"1,5\"", "") + CsvRow("b", "1", "{not json}") +
                     "c,too,few\n" + CsvRow("d", "1", "\"[1]\"");
  IngestOutcome outcome = service_.Ingest(body, BodyFormat::kCsv, Sender::kReporter);
  ASSERT_EQ(outcome.errors.size(), 4u);
  EXPECT_EQ(outcome.errors[0],
            (ErrorIs{0, "quantity", "'1,5' is not a valid decimal: unexpected character (line 2)"}));
  EXPECT_EQ(outcome.errors[1].property, "tags");
  EXPECT_THAT(outcome.errors[1].reason, StartsWith("is not valid JSON object text: "));
  EXPECT_THAT(outcome.errors[1].reason, HasSubstr("(line 3)"));
  EXPECT_EQ(outcome.errors[2], (ErrorIs{2, "", "has 3 cells but the header has 9 (line 4)"}));
  EXPECT_EQ(outcome.errors[3],
            (ErrorIs{3, "tags",
                     "must be JSON object text such as {\"team\":\"storage\"} (line 5)"}));
}

TEST_F(IngestServiceTest, CsvMalformedBodiesAreRefused) {
  auto refused = [&](const std::string& body) {
    IngestOutcome outcome = service_.Ingest(body, BodyFormat::kCsv, Sender::kReporter);
    EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(outcome.errors.empty());
    return outcome.status.message();
  };
  EXPECT_EQ(refused(CsvHeader()), "the batch has no records");
  EXPECT_THAT(refused("recordId,quantty,,quantity,QUANTITY\n1,2,3,4,5\n"),
              StartsWith("the CSV header row is invalid: column 2 'quantty' is not a known "
                         "property; column 3 has no name; column 5 'QUANTITY' repeats column 4 "
                         "(the properties are recordId, subscriptionId,"));
  EXPECT_EQ(refused(CsvHeader() + CsvRow("\"a", "1", "")),
            "malformed CSV in the row starting on line 2: a quoted field is not closed");
  EXPECT_EQ(refused(CsvHeader() + CsvRow("a\"b", "1", "")),
            "malformed CSV in the row starting on line 2: a quote inside an unquoted field "
            "(quote the whole field and write the quote twice)");
  EXPECT_THAT(refused(CsvHeader() + CsvRow("\"a\"b", "1", "")),
              StartsWith("malformed CSV in the row starting on line 2: unexpected character "
                         "after a closing quote"));
  EXPECT_TRUE(store_.calls.empty());
}

TEST(BodyFormatFromContentType, MapsTheSupportedTypes) {
  EXPECT_EQ(BodyFormatFromContentType("application/json").value(), BodyFormat::kJson);
  EXPECT_EQ(BodyFormatFromContentType("Application/JSON; charset=utf-8").value(),
            BodyFormat::kJson);
  EXPECT_EQ(BodyFormatFromContentType("application/json;charset=\"UTF-8\"").value(),
            BodyFormat::kJson);
  EXPECT_EQ(BodyFormatFromContentType("application/x-ndjson").value(), BodyFormat::kNdjson);
  EXPECT_EQ(BodyFormatFromContentType("application/jsonl").value(), BodyFormat::kNdjson);
  EXPECT_EQ(BodyFormatFromContentType(" text/csv ; header=present").value(), BodyFormat::kCsv);
}

TEST(BodyFormatFromContentType, RefusesOthers) {
  for (const char* type : {"", "text/plain", "application/x-www-form-urlencoded",
                           "application/jsonx", "multipart/form-data; boundary=x"}) {
    Result<BodyFormat> r = BodyFormatFromContentType(type);
    ASSERT_FALSE(r.ok()) << type;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(),
                HasSubstr("application/json, application/x-ndjson (or application/jsonl) and "
                          "text/csv"));
  }
  Result<BodyFormat> r = BodyFormatFromContentType("application/json; charset=utf-16");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unsupported charset 'utf-16'; send UTF-8");
}

}  // namespace
}  // namespace tally::ingest
