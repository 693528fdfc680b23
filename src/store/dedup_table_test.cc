#include "store/dedup_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace tally::store {
namespace {

using Match = std::pair<uint64_t, uint64_t>;  // content hash, ordinal

// What ForEachMatch visits, by ordinal (it visits in probing order).
std::vector<Match> Find(const DedupTable& table, uint64_t id_hash) {
  std::vector<Match> found;
  table.ForEachMatch(
      id_hash, [&](uint64_t content, uint64_t ordinal) { found.emplace_back(content, ordinal); });
  std::sort(found.begin(), found.end(),
            [](const Match& a, const Match& b) { return a.second < b.second; });
  return found;
}

uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The id hash of ordinal i in these tests: distinct, spread like real hashes.
uint64_t IdHash(uint64_t i) { return Mix(i + 1); }

// Appends the entry of ordinal i (id hash IdHash(i), content hash 3i) and moves i on.
void AppendNext(DedupTable& table, uint64_t& i) {
  table.Append(IdHash(i), i * 3);
  ++i;
}

// Fails unless every ordinal below table.size() is found exactly once under its hash.
void ExpectEveryEntryFoundOnce(const DedupTable& table) {
  for (uint64_t i = 0; i < table.size(); ++i) {
    ASSERT_EQ(Find(table, IdHash(i)), std::vector<Match>{Match(i * 3, i)})
        << "ordinal " << i << " of " << table.size() << (table.growing() ? ", growing" : "");
  }
}

TEST(DedupTableTest, EveryEntryIsFoundOnceWhileTheTableGrowsAgainAndAgain) {
  DedupTable table;
  const size_t initial_slots = table.slot_count();
  bool checked_preparing = false;
  bool checked_migrating = false;
  size_t last_slots = initial_slots;
  for (uint64_t i = 0; i < 60'000; ++i) {
    table.Append(IdHash(i), i * 3);
    // The new entry at once, and the whole table in the middle of each phase of a growth.
    ASSERT_EQ(Find(table, IdHash(i)), std::vector<Match>{Match(i * 3, i)}) << i;
    if (table.growing() && table.slot_count() == last_slots && !checked_preparing && i > 10'000) {
      ExpectEveryEntryFoundOnce(table);
      checked_preparing = true;
    }
    if (table.growing() && table.slot_count() > last_slots && !checked_migrating && i > 10'000) {
      ExpectEveryEntryFoundOnce(table);
      checked_migrating = true;
    }
    if (!table.growing()) last_slots = table.slot_count();
  }
  EXPECT_TRUE(checked_preparing);
  EXPECT_TRUE(checked_migrating);
  EXPECT_GE(table.slot_count(), initial_slots * 4096);
  ExpectEveryEntryFoundOnce(table);
  EXPECT_TRUE(Find(table, IdHash(60'000)).empty());
}

TEST(DedupTableTest, AGrowthIsSpreadOverManyAppends) {
  DedupTable table;
  table.Reserve(100'000);
  const size_t slots = table.slot_count();
  uint64_t i = 0;
  while (!table.growing()) AppendNext(table, i);
  const uint64_t at_start = table.size();
  EXPECT_GT(at_start * 10, slots * 7 - 10);  // it started at 70% load
  uint64_t preparing = 0;                    // appends while the doubled table is touched
  uint64_t after = 0;                        // appends while the earlier ordinals are re-filed
  while (table.growing()) {
    ++(table.slot_count() == slots ? preparing : after);
    AppendNext(table, i);
  }
  // A bounded share of the work per append: a growth done in one call would take one append.
  EXPECT_EQ(preparing, 2 * slots / DedupTable::kTouchedSlotsPerAppend);
  EXPECT_GE(after, at_start / 4);
  EXPECT_LE(after, (at_start + preparing) / DedupTable::kMigratedPerAppend + 1);
  EXPECT_EQ(table.slot_count(), 2 * slots);
  ExpectEveryEntryFoundOnce(table);
}

TEST(DedupTableTest, RecordIdsThatShareAHashAreEachFoundOnce) {
  DedupTable table;
  std::vector<Match> expected;
  for (uint64_t i = 0; i < 5'000; ++i) {
    // Every tenth entry shares one hash; the rest are distinct.
    const bool shared = i % 10 == 0;
    table.Append(shared ? 42 : IdHash(i), i);
    if (shared) expected.emplace_back(i, i);
    if (i % 499 == 0) {
      ASSERT_EQ(Find(table, 42), expected) << i;
    }
  }
  EXPECT_EQ(Find(table, 42), expected);
}

TEST(DedupTableTest, GapsAreNeverFoundAndARecordWithZeroHashesIs) {
  DedupTable table;
  std::vector<Match> zero_hashed;
  for (uint64_t i = 0; i < 20'000; ++i) {
    if (i % 7 == 3) {
      table.AppendGap();
    } else if (i % 7 == 5) {
      table.Append(0, 0);
      zero_hashed.emplace_back(0, i);
    } else {
      table.Append(IdHash(i), i);
    }
    if (i % 997 == 0) {
      ASSERT_EQ(Find(table, 0), zero_hashed) << i;
    }
  }
  EXPECT_EQ(table.size(), 20'000u);
  EXPECT_EQ(Find(table, 0), zero_hashed);
  for (uint64_t i = 0; i < 20'000; ++i) {
    if (i % 7 == 3 || i % 7 == 5) continue;
    ASSERT_EQ(Find(table, IdHash(i)), std::vector<Match>{Match(i, i)}) << i;
  }
}

TEST(DedupTableTest, ReserveFinishesAGrowthInProgress) {
  DedupTable table;
  uint64_t i = 0;
  while (!table.growing() || table.size() < 1'000) AppendNext(table, i);
  table.Reserve(50'000);
  EXPECT_FALSE(table.growing());
  EXPECT_GE(table.slot_count() * 7 / 10, 50'000u);
  ExpectEveryEntryFoundOnce(table);
  // No growth until the reserved number of entries.
  while (table.size() < 50'000) AppendNext(table, i);
  EXPECT_FALSE(table.growing());
  ExpectEveryEntryFoundOnce(table);
}

TEST(DedupTableTest, MemoryCountsBothTablesWhileGrowing) {
  DedupTable table;
  table.Reserve(100'000);
  uint64_t i = 0;
  const uint64_t before = table.memory_bytes();
  const uint64_t old_bytes = table.slot_count() * sizeof(uint32_t);
  EXPECT_GE(before, old_bytes);
  while (!table.growing()) AppendNext(table, i);
  EXPECT_GE(table.memory_bytes(), before + 2 * old_bytes);
  uint64_t last_growing = 0;
  while (table.growing()) {
    last_growing = table.memory_bytes();
    AppendNext(table, i);
  }
  // The old table is let go (the last append may have added a 2 MiB chunk of entries).
  EXPECT_LE(table.memory_bytes() + old_bytes, last_growing + (2 << 20));
}

}  // namespace
}  // namespace tally::store
