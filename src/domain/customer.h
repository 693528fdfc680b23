// Customers: the organisations a cloud solution provider bills, each grouping tenant
// subscriptions (Partner Center's `customers/{customerId}/subscriptions/{subscriptionId}`).
// A subscription belongs to at most one customer. Values only; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "common/time.h"

namespace tally::domain {

struct Customer {
  std::string id;    // lower-case GUID (Partner Center's customer tenant ID)
  std::string name;  // the company name shown to operators; may be empty
  std::vector<std::string> subscription_ids;  // lower-case GUIDs, sorted, no repeats
  UtcTime created;

  bool operator==(const Customer&) const = default;
};

// Lower-cases the IDs, sorts and de-duplicates the subscriptions; InvalidArgument naming every
// ID that is not a GUID.
Result<Customer> NormalizeCustomer(Customer customer);

}  // namespace tally::domain
