// Internal to tally_pricing: collects every problem of an input (each with the JSON path it
// concerns) so that one InvalidArgument reports them all. Not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tally::pricing::internal {

class Problems {
 public:
  // At most this many problems are spelled out; the rest are counted.
  static constexpr size_t kMaxListed = 20;

  void Add(std::string path, std::string_view what) {
    if (IsBlocked(path)) return;
    problems_.push_back(path.empty() ? std::string(what)
                                     : std::move(path) + ": " + std::string(what));
  }
  // Later problems at `path` or below it (path.X, path[i]) are dropped: once a value could not
  // be read, rules about its default would only repeat the same complaint.
  void Block(std::string path) { blocked_.push_back(std::move(path)); }
  bool empty() const { return problems_.empty(); }

  // OK when there are none; else InvalidArgument "<context>: <p1>; <p2>; ... (and N more)".
  Status ToStatus(std::string_view context) const {
    if (problems_.empty()) return Status::Ok();
    std::string m(context);
    m += ": ";
    for (size_t i = 0; i < problems_.size() && i < kMaxListed; ++i) {
      if (i > 0) m += "; ";
      m += problems_[i];
    }
    if (problems_.size() > kMaxListed) {
      m += " (and " + std::to_string(problems_.size() - kMaxListed) + " more)";
    }
    return InvalidArgument(std::move(m));
  }

 private:
  bool IsBlocked(std::string_view path) const {
    for (const std::string& b : blocked_) {
      if (path.starts_with(b) &&
          (path.size() == b.size() || path[b.size()] == '.' || path[b.size()] == '[')) {
        return true;
      }
    }
    return false;
  }

  std::vector<std::string> problems_;
  std::vector<std::string> blocked_;
};

}  // namespace tally::pricing::internal
