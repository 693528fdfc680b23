#include "pricing/rate_card_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tally::pricing {
namespace {

using ::testing::HasSubstr;

Decimal D(std::string_view s) { return *Decimal::Parse(s); }
UtcTime T(std::string_view s) { return *ParseUtcTime(s); }

// The contract's example (§7), with the Currency and Locale every real answer carries.
constexpr std::string_view kContractExample =
    R"({"OfferTerms":[],"Meters":[{"EffectiveDate":"2017-09-01T00:00:00Z","IncludedQuantity":0,
 "MeterCategory":"Test Category","MeterId":"1d7518e5-bc2f-4a93-9057-1b3047856645","MeterName":"Test Meter",
 "MeterRates":{"0":1.99,"100":0.99},"MeterRegion":"US West","MeterSubCategory":"Test Subcategory",
 "MeterTags":["Third Party"],"Unit":"Hours"}],"Currency":"USD","Locale":"en-US","IsTaxIncluded":false})";

Result<RateCard> Parse(std::string_view json) {
  return ParseRateCardJson(json, "MS-AZR-0003P", "US");
}

// A card with one meter whose JSON object is `meter` and the given offer terms.
std::string CardWith(std::string_view meter, std::string_view terms = "") {
  return std::string(R"({"Currency":"EUR","Meters":[)") + std::string(meter) +
         R"(],"OfferTerms":[)" + std::string(terms) + "]}";
}

constexpr std::string_view kMeter =
    R"({"MeterId":"m1","MeterRates":{"0":1},"EffectiveDate":"2026-01-01T00:00:00Z"})";

std::string ErrorOf(std::string_view json) {
  auto card = Parse(json);
  if (card.ok()) return "(parsed)";
  EXPECT_EQ(card.status().code(), StatusCode::kInvalidArgument);
  return card.status().message();
}

TEST(RateCardJson, ParsesTheContractExample) {
  auto card = Parse(kContractExample);
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  EXPECT_EQ(card->offer_durable_id, "MS-AZR-0003P");
  EXPECT_EQ(card->region, "US");
  EXPECT_EQ(card->currency.code(), "USD");
  EXPECT_EQ(card->locale, "en-US");
  EXPECT_FALSE(card->is_tax_included);
  EXPECT_TRUE(card->offer_terms.empty());
  ASSERT_EQ(card->meters.size(), 1u);
  const RateCardMeter& m = card->meters[0];
  EXPECT_EQ(m.meter_id, "1d7518e5-bc2f-4a93-9057-1b3047856645");
  EXPECT_EQ(m.meter_name, "Test Meter");
  EXPECT_EQ(m.meter_category, "Test Category");
  EXPECT_EQ(m.meter_sub_category, "Test Subcategory");
  EXPECT_EQ(m.meter_region, "US West");
  EXPECT_EQ(m.unit, "Hours");
  EXPECT_EQ(m.meter_tags, std::vector<std::string>{"Third Party"});
  EXPECT_TRUE(m.IsThirdParty());
  EXPECT_EQ(m.effective_date, T("2017-09-01T00:00:00Z"));
  EXPECT_EQ(m.included_quantity, Decimal());
  ASSERT_EQ(m.meter_rates.size(), 2u);
  EXPECT_EQ(m.meter_rates[0], (MeterRate{D("0"), D("1.99")}));
  EXPECT_EQ(m.meter_rates[1], (MeterRate{D("100"), D("0.99")}));
}

TEST(RateCardJson, KeepsEveryDigitOfPricesAndQuantities) {
  auto card = Parse(CardWith(R"({"MeterId":"m1","EffectiveDate":"2026-01-01",
      "MeterRates":{"0":0.123456789012345,"1E3":12345678901234567890.5,"0.000000000000001":0.1},
      "IncludedQuantity":0.000000000000001})"));
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  const auto& rates = card->meters[0].meter_rates;
  ASSERT_EQ(rates.size(), 3u);
  EXPECT_EQ(rates[0].unit_price.ToString(), "0.123456789012345");
  EXPECT_EQ(rates[1].threshold.ToString(), "0.000000000000001");
  EXPECT_EQ(rates[1].unit_price.ToString(), "0.1");
  EXPECT_EQ(rates[2].threshold.ToString(), "1000");
  EXPECT_EQ(rates[2].unit_price.ToString(), "12345678901234567890.5");
  EXPECT_EQ(card->meters[0].included_quantity.ToString(), "0.000000000000001");
}

TEST(RateCardJson, RatesMayBeListedInAnyOrder) {
  auto card = Parse(CardWith(R"({"MeterId":"m1","EffectiveDate":"2026-01-01",
      "MeterRates":{"100":0.5,"0":2,"10":1}})"));
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  const auto& rates = card->meters[0].meter_rates;
  EXPECT_EQ(rates[0].threshold, D("0"));
  EXPECT_EQ(rates[1].threshold, D("10"));
  EXPECT_EQ(rates[2].threshold, D("100"));
}

TEST(RateCardJson, ReadsEachKindOfOfferTermWhateverThePropertyOrder) {
  auto card = Parse(CardWith(kMeter, R"(
      {"Credit":150.0,"EffectiveDate":"2013-12-23T00:00:00Z","ExcludedMeterIds":["x","y"],"Name":"Monetary Credit"},
      {"Name":"Monetary Commitment","TieredDiscount":{"5000":10,"0":0,"1000":5.5},"ExcludedMeterIds":[],"EffectiveDate":"2026-01-01"},
      {"EffectiveDate":"2026-02-01T00:00:00Z","RecurringCharge":25,"Name":"Recurring Charge"})"));
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  ASSERT_EQ(card->offer_terms.size(), 3u);
  const auto& credit = std::get<MonetaryCredit>(card->offer_terms[0]);
  EXPECT_EQ(credit.credit, D("150"));
  EXPECT_EQ(credit.excluded_meter_ids, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(credit.effective_date, T("2013-12-23T00:00:00Z"));
  const auto& commitment = std::get<MonetaryCommitment>(card->offer_terms[1]);
  ASSERT_EQ(commitment.tiered_discount.size(), 3u);
  EXPECT_EQ(commitment.tiered_discount[1], (DiscountTier{D("1000"), D("5.5")}));
  EXPECT_EQ(commitment.tiered_discount[2], (DiscountTier{D("5000"), D("10")}));
  const auto& charge = std::get<RecurringCharge>(card->offer_terms[2]);
  EXPECT_EQ(charge.recurring_charge, D("25"));
  EXPECT_EQ(OfferTermName(card->offer_terms[2]), "Recurring Charge");
}

TEST(RateCardJson, OptionalPropertiesDefaultAndNullIsAbsent) {
  auto card = Parse(R"({"Currency":"jpy","Meters":[{"MeterId":"m","MeterRates":{"0":3},
      "EffectiveDate":"2026-01-01","MeterName":null,"MeterTags":null,"IncludedQuantity":null}],
      "Locale":null,"IsTaxIncluded":null,"OfferTerms":null})");
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  EXPECT_EQ(card->currency.code(), "JPY");
  EXPECT_EQ(card->locale, "en-US");
  EXPECT_FALSE(card->is_tax_included);
  EXPECT_EQ(card->meters[0].meter_name, "");
  EXPECT_TRUE(card->meters[0].meter_tags.empty());
  EXPECT_TRUE(card->meters[0].included_quantity.is_zero());
}

TEST(RateCardJson, IgnoresALeadingByteOrderMark) {
  EXPECT_TRUE(Parse("\xEF\xBB\xBF" + std::string(kContractExample)).ok());
}

TEST(RateCardJson, FormatWritesTheApiShapeWithoutBom) {
  auto card = Parse(kContractExample);
  ASSERT_TRUE(card.ok());
  card->offer_terms.push_back(MonetaryCredit{D("150"), {"a"}, T("2013-12-23T00:00:00Z")});
  card->offer_terms.push_back(
      MonetaryCommitment{{{D("0"), D("0")}, {D("1000"), D("5.5")}}, {}, T("2026-01-01T00:00:00Z")});
  card->offer_terms.push_back(RecurringCharge{D("25"), T("2026-01-01T00:00:00Z")});
  card->meters[0].meter_status = "Active";
  const std::string json = FormatRateCardJson(*card);
  EXPECT_EQ(
      json,
      R"({"OfferTerms":[)"
      R"({"Credit":150,"EffectiveDate":"2013-12-23T00:00:00Z","ExcludedMeterIds":["a"],"Name":"Monetary Credit"},)"
      R"({"EffectiveDate":"2026-01-01T00:00:00Z","ExcludedMeterIds":[],"Name":"Monetary Commitment","TieredDiscount":{"0":0,"1000":5.5}},)"
      R"({"EffectiveDate":"2026-01-01T00:00:00Z","Name":"Recurring Charge","RecurringCharge":25}],)"
      R"("Meters":[{"EffectiveDate":"2017-09-01T00:00:00Z","IncludedQuantity":0,"MeterCategory":"Test Category",)"
      R"("MeterId":"1d7518e5-bc2f-4a93-9057-1b3047856645","MeterName":"Test Meter","MeterRates":{"0":1.99,"100":0.99},)"
      R"("MeterRegion":"US West","MeterStatus":"Active","MeterSubCategory":"Test Subcategory","MeterTags":["Third Party"],)"
      R"("Unit":"Hours"}],"Currency":"USD","Locale":"en-US","IsTaxIncluded":false})");
  auto again = ParseRateCardJson(json, card->offer_durable_id, card->region);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *card);
}

// Found by fuzz_rate_card: a body cut off inside a string failed iterate(), and the error
// message then asked the never-started document for its position.
TEST(RateCardJson, TruncatedBodyIsRefusedWithoutAPosition) {
  EXPECT_THAT(ErrorOf("{\"OfferTerms\":[{\"Name\":\"Monetary Credit\",\"TieredDiscoun"),
              HasSubstr("malformed JSON"));
}

TEST(RateCardJson, MalformedJsonNamesLineAndColumn) {
  EXPECT_THAT(ErrorOf("{\"Currency\":\"USD\",\n \"Meters\": [}"), HasSubstr("malformed JSON"));
  EXPECT_THAT(ErrorOf("{\"Currency\":\"USD\",\n \"Meters\": x}"), HasSubstr("line 2"));
  EXPECT_THAT(ErrorOf(std::string(kContractExample) + " {}"), HasSubstr("after the JSON value"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("empty"));
  EXPECT_THAT(ErrorOf("[]"), HasSubstr("must be a JSON object"));
}

TEST(RateCardJson, RequiredPropertiesAreNamed) {
  EXPECT_THAT(ErrorOf(R"({"Meters":[]})"), HasSubstr("Currency: is required"));
  EXPECT_THAT(ErrorOf(R"({"Currency":"USD"})"), HasSubstr("Meters: is required"));
  const std::string e = ErrorOf(CardWith(R"({"MeterName":"x"})"));
  EXPECT_THAT(e, HasSubstr("Meters[0].MeterId: is required"));
  EXPECT_THAT(e, HasSubstr("Meters[0].MeterRates: is required"));
  EXPECT_THAT(e, HasSubstr("Meters[0].EffectiveDate: is required"));
  // The missing values are not complained about a second time by the card's rules.
  EXPECT_THAT(e, ::testing::Not(HasSubstr("must not be empty")));
  EXPECT_THAT(e, ::testing::Not(HasSubstr("at least one rate")));
}

TEST(RateCardJson, EveryProblemIsReportedAtOnceWithItsPath) {
  const std::string e = ErrorOf(R"({"Currency":"XYZ","Locale":5,"IsTaxIncluded":"no","Meters":[
      {"MeterId":"a","MeterRates":{"0":"1.99","abc":1,"5":-1},"EffectiveDate":"yesterday",
       "IncludedQuantity":-3,"MeterTags":[1],"Colour":"red","meterName":"x"},
      7,
      {"MeterId":"b","MeterRates":{"0":0.1234567890123456},"EffectiveDate":"2026-01-01"}]})");
  EXPECT_THAT(e, HasSubstr("Currency: 'XYZ' is not a currency"));
  EXPECT_THAT(e, HasSubstr("Locale: must be a JSON string"));
  EXPECT_THAT(e, HasSubstr("IsTaxIncluded: must be true or false"));
  EXPECT_THAT(e, HasSubstr(R"(Meters[0].MeterRates["0"]: the price must be a JSON number)"));
  EXPECT_THAT(e, HasSubstr(R"(Meters[0].MeterRates["abc"]: the quantity must be a number)"));
  EXPECT_THAT(e, HasSubstr("Meters[0].EffectiveDate: "));
  EXPECT_THAT(e, HasSubstr("Meters[0].IncludedQuantity: must not be negative"));
  EXPECT_THAT(e, HasSubstr("Meters[0].MeterTags[0]: must be a JSON string"));
  EXPECT_THAT(e, HasSubstr("Meters[0].Colour: is not a known property"));
  EXPECT_THAT(e, HasSubstr("Meters[0].meterName: is not a known property (names are "
                           "case-sensitive: MeterName)"));
  EXPECT_THAT(e, HasSubstr("Meters[1]: must be a JSON object"));
  EXPECT_THAT(e, HasSubstr(R"(Meters[2].MeterRates["0"]: the price )"));
  EXPECT_THAT(e, HasSubstr("more than 15 fractional digits"));
}

TEST(RateCardJson, NegativePriceIsRefused) {
  EXPECT_THAT(ErrorOf(CardWith(
                  R"({"MeterId":"a","MeterRates":{"0":1,"5":-1},"EffectiveDate":"2026-01-01"})")),
              HasSubstr(R"(Meters[0].MeterRates["5"]: the price must not be negative)"));
}

TEST(RateCardJson, TiersMustStartAtZeroWithoutRepeats) {
  EXPECT_THAT(
      ErrorOf(CardWith(R"({"MeterId":"a","MeterRates":{"10":1},"EffectiveDate":"2026-01-01"})")),
      HasSubstr("Meters[0].MeterRates: must start at quantity \"0\""));
  EXPECT_THAT(ErrorOf(CardWith(
                  R"({"MeterId":"a","MeterRates":{"0":1,"0.0":2},"EffectiveDate":"2026-01-01"})")),
              HasSubstr("must be distinct"));
  EXPECT_THAT(ErrorOf(CardWith(R"({"MeterId":"a","MeterRates":{},"EffectiveDate":"2026-01-01"})")),
              HasSubstr("at least one rate"));
  EXPECT_THAT(
      ErrorOf(CardWith(
          R"({"MeterId":"a","MeterRates":{"0":1},"MeterRates":{"0":2},"EffectiveDate":"2026-01-01"})")),
      HasSubstr("Meters[0].MeterRates: appears more than once"));
}

TEST(RateCardJson, OneEntryPerMeterAndEffectiveDate) {
  const std::string meters =
      std::string(kMeter) + "," +
      R"({"MeterId":"M1","MeterRates":{"0":2},"EffectiveDate":"2026-01-01T00:00:00Z"})" + "," +
      R"({"MeterId":"m1","MeterRates":{"0":3},"EffectiveDate":"2026-02-01"})";
  EXPECT_THAT(ErrorOf(CardWith(meters)),
              HasSubstr("Meters[1].EffectiveDate: repeats the date of Meters[0]"));
  EXPECT_THAT(ErrorOf(CardWith(meters)), ::testing::Not(HasSubstr("Meters[2]")));
}

TEST(RateCardJson, OfferTermProblemsAreNamed) {
  EXPECT_THAT(ErrorOf(CardWith(kMeter, R"({"Name":"Free Lunch","EffectiveDate":"2026-01-01"})")),
              HasSubstr("OfferTerms[0].Name: must be \"Monetary Credit\""));
  EXPECT_THAT(
      ErrorOf(CardWith(kMeter, R"({"Name":"Recurring Charge","EffectiveDate":"2026-01-01"})")),
      HasSubstr("OfferTerms[0].RecurringCharge: is required for a Recurring Charge term"));
  EXPECT_THAT(
      ErrorOf(CardWith(
          kMeter,
          R"({"Name":"Recurring Charge","RecurringCharge":1,"Credit":5,"EffectiveDate":"2026-01-01"})")),
      HasSubstr("OfferTerms[0].Credit: is not a property of a Recurring Charge term"));
  EXPECT_THAT(ErrorOf(CardWith(kMeter, R"({"Name":"Monetary Credit","Credit":5})")),
              HasSubstr("OfferTerms[0].EffectiveDate: is required"));
  EXPECT_THAT(
      ErrorOf(CardWith(kMeter,
                       R"({"Name":"Monetary Credit","Credit":-5,"EffectiveDate":"2026-01-01"})")),
      HasSubstr("OfferTerms[0].Credit: must not be negative"));
  EXPECT_THAT(
      ErrorOf(CardWith(
          kMeter,
          R"({"Name":"Monetary Commitment","TieredDiscount":{"0":101},"EffectiveDate":"2026-01-01"})")),
      HasSubstr(
          R"(OfferTerms[0].TieredDiscount["0"]: the discount must be a percentage from 0 to 100)"));
  EXPECT_THAT(ErrorOf(CardWith(
                  kMeter, R"({"Name":"Monetary Credit","Credit":5,"EffectiveDate":"2026-01-01"},
                                          {"Name":"Monetary Credit","Credit":6,"EffectiveDate":"2026-01-01"})")),
              HasSubstr("OfferTerms[1].EffectiveDate: repeats the Monetary Credit term"));
  EXPECT_THAT(ErrorOf(CardWith(kMeter, "3")), HasSubstr("OfferTerms[0]: must be a JSON object"));
}

TEST(RateCardJson, EmptyOfferIdIsRefused) {
  auto card = ParseRateCardJson(kContractExample, "", "US");
  ASSERT_FALSE(card.ok());
  EXPECT_THAT(card.status().message(), HasSubstr("OfferDurableId: must not be empty"));
}

}  // namespace
}  // namespace tally::pricing
