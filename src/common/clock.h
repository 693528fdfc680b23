// Clock: where Tally reads the current time. Passed in explicitly (never a global) so tests
// control time. SystemClock is thread-safe; FakeClockForTesting is thread-safe too (atomic).
#pragma once

#include <atomic>
#include <chrono>

#include "common/time.h"

namespace tally {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current UTC time.
  virtual UtcTime Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  UtcTime Now() const override {
    auto now = std::chrono::system_clock::now();
    return UtcTime{
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count()};
  }
};

class FakeClockForTesting final : public Clock {
 public:
  explicit FakeClockForTesting(UtcTime start) : micros_(start.micros) {}
  UtcTime Now() const override { return UtcTime{micros_.load()}; }
  void Set(UtcTime t) { micros_.store(t.micros); }
  void Advance(int64_t micros) { micros_.fetch_add(micros); }

 private:
  std::atomic<int64_t> micros_;
};

}  // namespace tally
