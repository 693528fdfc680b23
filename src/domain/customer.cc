#include "domain/customer.h"

#include <algorithm>

#include "common/strings.h"

namespace tally::domain {

Result<Customer> NormalizeCustomer(Customer customer) {
  std::string problems;
  auto note = [&](std::string problem) {
    if (!problems.empty()) problems.append("; ");
    problems.append(problem);
  };
  customer.id = AsciiLower(customer.id);
  if (!IsGuid(customer.id)) note("customer id '" + customer.id + "' is not a GUID");
  for (std::string& s : customer.subscription_ids) {
    s = AsciiLower(s);
    if (!IsGuid(s)) note("subscription id '" + s + "' is not a GUID");
  }
  if (!problems.empty()) return InvalidArgument(problems);
  auto& subs = customer.subscription_ids;
  std::sort(subs.begin(), subs.end());
  subs.erase(std::unique(subs.begin(), subs.end()), subs.end());
  return customer;
}

}  // namespace tally::domain
