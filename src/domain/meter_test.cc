#include "domain/meter.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "common/strings.h"
#include "domain/meter_id.h"

namespace tally::domain {
namespace {

TEST(MeterCatalog, FindsMetersCaseInsensitivelyAndKeepsTheirSpelling) {
  const Meter* m = MeterCatalog::Builtin().Find("f271a8a388c44d93956a063e1d2fa80b");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->id, "F271A8A388C44D93956A063E1D2FA80B");
  EXPECT_EQ(MeterCatalog::Builtin().Find("no-such-meter"), nullptr);
}

TEST(MeterCatalog, RejectsMalformedLines) {
  EXPECT_FALSE(MeterCatalog::Parse("a\tb\n").ok());
  EXPECT_FALSE(MeterCatalog::Parse("a\tb\tc\td\tmaybe\tyes\tn\n").ok());
  EXPECT_FALSE(MeterCatalog::Parse("a\tb\tc\td\tno\tyes\tn\nA\tb\tc\td\tno\tyes\tn\n").ok());
}

TEST(MeterCatalog, BuiltinHasEveryMeterOfTheContract) {
  // §6: 3 network, 13 storage, 3 compute, 20 current and 22 deprecated managed-disk meters,
  // 2 SQL/MySQL, 2 Key Vault and 19 App Service meters (12 from the FAQ, 7 from the scripts).
  const auto& meters = MeterCatalog::Builtin().meters();
  EXPECT_EQ(meters.size(), 84u);
  std::map<std::string, int> per_family;
  for (const Meter& m : meters) ++per_family[m.family];
  EXPECT_EQ(per_family["Network"], 3);
  EXPECT_EQ(per_family["Storage"], 13);
  EXPECT_EQ(per_family["Compute"], 3);
  EXPECT_EQ(per_family["Managed Disks"], 42);
  EXPECT_EQ(per_family["SQL"], 1);
  EXPECT_EQ(per_family["MySQL"], 1);
  EXPECT_EQ(per_family["Key Vault"], 2);
  EXPECT_EQ(per_family["App Service"], 19);
  EXPECT_EQ(per_family.size(), 8u);
}

TEST(MeterCatalog, BuiltinIdsAreUniqueCaseInsensitively) {
  std::set<std::string> keys;
  for (const Meter& m : MeterCatalog::Builtin().meters()) {
    EXPECT_TRUE(keys.insert(AsciiUpper(m.id)).second) << m.id;
    EXPECT_FALSE(m.name.empty()) << m.id;
    EXPECT_FALSE(m.notes.empty()) << m.id;
    EXPECT_EQ(m.source, MeterSource::kBuiltin);
  }
}

TEST(MeterCatalog, NetworkIdsAreSpelledWithoutHyphens) {
  // Usagesummary.ps1 looks the network meters up by their unhyphenated form (contract §6).
  for (const char* id : {"F271A8A388C44D93956A063E1D2FA80B", "9E2739BA86744796B465F64674B822BA"}) {
    const Meter* m = MeterCatalog::Builtin().Find(id);
    ASSERT_NE(m, nullptr) << id;
    EXPECT_EQ(m->id, id);
    EXPECT_EQ(m->unit, "IP addresses");
    EXPECT_TRUE(m->hourly_level);
    EXPECT_FALSE(m->deprecated);
  }
  for (const Meter& m : MeterCatalog::Builtin().meters()) {
    if (m.family == "Network" && !m.deprecated) {
      EXPECT_EQ(m.id.find('-'), std::string::npos) << m.id;
    }
  }
  const Meter* old_ip = MeterCatalog::Builtin().Find("F114CB19-EA64-40B5-BCD7-AEE474B62853");
  ASSERT_NE(old_ip, nullptr);
  EXPECT_EQ(old_ip->id, "f114cb19-ea64-40b5-bcd7-aee474b62853");
  EXPECT_TRUE(old_ip->deprecated);
  EXPECT_EQ(old_ip->unit, "IP address");
}

TEST(MeterCatalog, SpotChecksUnitsAndFlags) {
  const auto& catalog = MeterCatalog::Builtin();
  struct Expected {
    const char* id;
    const char* name;
    const char* unit;
    const char* family;
    bool deprecated;
    bool hourly_level;
  };
  const Expected expected[] = {
      {"09F8879E-87E9-4305-A572-4B7BE209F857", "BlockBlobCapacity", "GB*hours", "Storage", false,
       true},
      {"43DAF82B-4618-444A-B994-40C23F7CD438", "BlobTransactions", "Requests count in 10,000's",
       "Storage", false, false},
      {"3023FEF4-ECA5-4D7B-87B3-CFBC061931E8", "BlobDataTransOut", "Egress in GB", "Storage", false,
       false},
      {"FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5", "Base VM Size Hours", "Virtual core hours",
       "Compute", false, true},
      {"6DAB500F-A4FD-49C4-956D-229BB9C8C793", "VM size hours", "VM hours", "Compute", false, true},
      {"380874f9-300c-48e0-95a0-d2d9a21ade8f", "S4", "Count of Disks*month", "Managed Disks", false,
       true},
      {"43626c21-849b-40fe-8c01-e19666059c38", "P50", "Count of Disks*month", "Managed Disks",
       false, true},
      {"5d76e09f-4567-452a-94cc-7d1f097761f0", "S4", "Count of Disks*hours", "Managed Disks", true,
       true},
      {"8a409390-1913-40ae-917b-08d0f16f3c38", "ActualStandardDiskSize", "Byte*hours",
       "Managed Disks", true, true},
      {"5ca1cbb9-6f14-4e76-8be8-1ca91547965e", "ActualPremiumSnapshotSize", "GB*month",
       "Managed Disks", true, true},
      {"E6D8CFCD-7734-495E-B1CC-5AB0B9C24BD3", "DatabaseSizeHourMySqlMeter", "MB*hours", "MySQL",
       false, true},
      {"2C354225-B2FE-42E5-AD89-14F0EA302C87", "Advanced keys transactions", "10K transactions",
       "Key Vault", false, false},
      {"D1D04836-075C-4F27-BF65-0A1130EC60ED", "Functions - Compute", "GB-s", "App Service", false,
       false},
      {"88039D51-A206-3A89-E9DE-C5117E2D10A6", "Small Standard App Service Hours", "1 hour",
       "App Service", false, true},
      {"a91eed6c-dbbc-4532-859c-86de776433a4", "Extra Large Premium App Service Hours", "1 hour",
       "App Service", false, true},
  };
  for (const Expected& e : expected) {
    const Meter* m = catalog.Find(e.id);
    ASSERT_NE(m, nullptr) << e.id;
    EXPECT_EQ(m->id, e.id);
    EXPECT_EQ(m->name, e.name) << e.id;
    EXPECT_EQ(m->unit, e.unit) << e.id;
    EXPECT_EQ(m->family, e.family) << e.id;
    EXPECT_EQ(m->deprecated, e.deprecated) << e.id;
    EXPECT_EQ(m->hourly_level, e.hourly_level) << e.id;
  }
  EXPECT_NE(catalog.Find("380874f9-300c-48e0-95a0-d2d9a21ade8f")->notes.find("32 GB"),
            std::string::npos);
  EXPECT_NE(catalog.Find("5d76e09f-4567-452a-94cc-7d1f097761f0")->notes.find("(Deprecated)"),
            std::string::npos);
}

TEST(MeterCatalog, EveryDeprecatedDiskMeterSaysSo) {
  int deprecated_disks = 0;
  for (const Meter& m : MeterCatalog::Builtin().meters()) {
    if (m.family != "Managed Disks") continue;
    bool says = m.notes.find("(Deprecated)") != std::string::npos;
    EXPECT_EQ(m.deprecated, says) << m.id;
    deprecated_disks += m.deprecated ? 1 : 0;
  }
  EXPECT_EQ(deprecated_disks, 22);
}

TEST(CustomWorkerTierMeterId, IsANameBasedUuidInUpperCase) {
  // Golden values: Python's uuid.uuid5(namespace, sku + "/" + tier.lower()) with Tally's
  // namespace b1f3e7c2-5d84-4a6e-9c0b-7e2d41a9f536 computes the same IDs.
  EXPECT_EQ(CustomWorkerTierMeterId("Dedicated", "Custom-Tier-1"),
            "0C7923FB-98B4-58F3-B960-387D53082EBA");
  EXPECT_EQ(CustomWorkerTierMeterId("Shared", "bigworkers"),
            "C2864C25-2FBF-5E43-8088-FDBD702EE99B");
  std::string id = CustomWorkerTierMeterId("Dedicated", "LargeWorkers");
  EXPECT_TRUE(IsGuid(id));
  EXPECT_EQ(id, AsciiUpper(id));
  EXPECT_EQ(id[14], '5');
}

TEST(CustomWorkerTierMeterId, IsStableAndDistinguishesSkuAndTier) {
  EXPECT_EQ(CustomWorkerTierMeterId("Dedicated", "Tier A"),
            CustomWorkerTierMeterId("Dedicated", "TIER a"));
  EXPECT_NE(CustomWorkerTierMeterId("Dedicated", "Tier A"),
            CustomWorkerTierMeterId("Dedicated", "Tier B"));
  EXPECT_NE(CustomWorkerTierMeterId("Dedicated", "Tier A"),
            CustomWorkerTierMeterId("Shared", "Tier A"));
  EXPECT_EQ(MeterCatalog::Builtin().Find(CustomWorkerTierMeterId("Dedicated", "Tier A")), nullptr);
}

}  // namespace
}  // namespace tally::domain
