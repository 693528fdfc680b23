#include "billing/billing_export.h"

#include <gtest/gtest.h>

#include <string>

#include "billing/invoice_listing.h"

namespace tally::billing {
namespace {

TEST(MakeExportRequest, PeriodIsTheMonthInItsTimeZone) {
  ExportParameters p;
  p.format = "jsonl";
  p.period = "2026-10";
  p.time_zone = "Europe/Berlin";
  auto r = MakeExportRequest(p, "--");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->format, ExportFormat::kJsonLines);
  ASSERT_TRUE(r->month.has_value());
  EXPECT_EQ(r->month->ToString(), "2026-10");
  // Berlin is UTC+2 on 1 October and UTC+1 on 1 November (summer time ends 25 October).
  EXPECT_EQ(FormatUtcTime(r->from), "2026-09-30T22:00:00Z");
  EXPECT_EQ(FormatUtcTime(r->to), "2026-10-31T23:00:00Z");
  EXPECT_EQ(r->granularity, domain::Granularity::kDaily);
  EXPECT_FALSE(r->subscription_ids.has_value());
}

TEST(MakeExportRequest, ReportsEveryProblemWithTheAdaptersNames) {
  ExportParameters p;
  p.format = "focus";
  p.from = "2026-10-02";
  p.granularity = "Weekly";
  for (std::string_view prefix : {"--", ""}) {
    auto r = MakeExportRequest(p, prefix);
    ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    const std::string f(prefix);
    for (const std::string& part :
         {f + "from and " + f + "to go together", "it needs " + f + "period",
          "needs " + f + "provider-name", "needs " + f + "billing-account-id",
          f + "granularity must be Hourly or Daily"}) {
      EXPECT_NE(r.status().message().find(part), std::string::npos)
          << part << " in " << r.status().message();
    }
  }
  p = {};
  p.format = "usage-summary";
  p.from = "2026-10-02";
  p.to = "2026-10-01";
  EXPECT_NE(MakeExportRequest(p, "").status().message().find("to must be after from"),
            std::string::npos);
  p.period = "2026-13";
  p.from.clear();
  p.to.clear();
  p.time_zone = "Mars/Olympus";
  const std::string m = MakeExportRequest(p, "").status().message();
  EXPECT_NE(m.find("period '2026-13' is not a month YYYY-MM"), std::string::npos) << m;
  EXPECT_NE(m.find("time-zone: "), std::string::npos) << m;
}

TEST(MakeInvoiceFilter, ChecksAndNormalizesEveryParameter) {
  auto f = MakeInvoiceFilter({"2026-10", "AAAAAAAA-0000-4000-8000-000000000001", "final"}, "",
                             "subscriptionId");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->period, "2026-10");
  EXPECT_EQ(f->subscription_id, "aaaaaaaa-0000-4000-8000-000000000001");
  EXPECT_EQ(f->status, store::InvoiceStatus::kFinal);
  auto bad = MakeInvoiceFilter({"Oct", "x", "open"}, "--", "--subscription");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--period 'Oct' is not a month YYYY-MM; --subscription 'x' is not a GUID; "
            "--status must be draft or final");
  auto all = MakeInvoiceFilter({}, "", "subscriptionId");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->period.empty());
  EXPECT_FALSE(all->status.has_value());
}

}  // namespace
}  // namespace tally::billing
