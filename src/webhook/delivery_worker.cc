#include "webhook/delivery_worker.h"

#include <algorithm>
#include <chrono>

#include "common/current_thread.h"

namespace tally::webhook {

DeliveryWorker::DeliveryWorker(Deliverer& deliverer, const Clock& clock, int64_t poll_us,
                               std::function<void(const Status&)> on_error)
    : deliverer_(&deliverer),
      clock_(&clock),
      poll_us_(std::max<int64_t>(poll_us, 1000)),
      on_error_(std::move(on_error)),
      thread_([this] { Run(); }) {}

DeliveryWorker::~DeliveryWorker() { Stop(); }

void DeliveryWorker::Wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

void DeliveryWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void DeliveryWorker::Run() {
  NameCurrentThread("tally-webhooks");
  while (true) {
    int64_t wait_us = poll_us_;
    Result<PassReport> pass = deliverer_->DeliverDue();
    if (pass.ok()) {
      Result<std::optional<UtcTime>> next = deliverer_->NextDueTime();
      if (next.ok() && next->has_value()) {
        wait_us = std::clamp<int64_t>((*next)->micros - clock_->Now().micros, 0, poll_us_);
      } else if (!next.ok() && on_error_) {
        on_error_(next.status());
      }
    } else if (on_error_) {
      on_error_(pass.status());
    }
    std::unique_lock lock(mu_);
    // A delivery due now but not attempted (held elsewhere) must not make this spin.
    if (wait_us == 0 && pass.ok() && pass->attempted == 0) wait_us = poll_us_;
    cv_.wait_for(lock, std::chrono::microseconds(wait_us),
                 [this] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
  }
}

}  // namespace tally::webhook
