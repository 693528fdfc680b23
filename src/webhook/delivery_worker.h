// DeliveryWorker: runs a Deliverer on its own thread for a long-running process (`tally
// serve`): a pass whenever a delivery is due, and at least every poll interval, so deliveries
// enqueued by a finalize in the same process go out within one interval. A pass that fails
// (the store refused) is reported and retried at the next interval. Stop() wakes the thread
// and joins it after the attempt in flight, if any.
//
// Owner: the caller owns the Deliverer and the clock, which must outlive the worker.
// Thread-safe: Stop and Wake may be called from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "common/clock.h"
#include "webhook/deliverer.h"
#include "webhook/http_poster.h"

namespace tally::webhook {

class DeliveryWorker {
 public:
  // Starts the thread. `poll_us` > 0; `on_error` (may be empty) hears of failed passes.
  DeliveryWorker(Deliverer& deliverer, const Clock& clock, int64_t poll_us,
                 std::function<void(const Status&)> on_error);
  ~DeliveryWorker();
  DeliveryWorker(const DeliveryWorker&) = delete;
  DeliveryWorker& operator=(const DeliveryWorker&) = delete;

  // Makes the worker run a pass now.
  void Wake();
  // Stops and joins the thread; idempotent.
  void Stop();

 private:
  void Run();

  Deliverer* deliverer_;
  const Clock* clock_;
  int64_t poll_us_;
  std::function<void(const Status&)> on_error_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

// The background delivery of a server: an HttpPoster, a Deliverer over it and a DeliveryWorker
// running it, owned together. Stops (joins) when destroyed. Thread-safe as DeliveryWorker.
class BackgroundDelivery {
 public:
  BackgroundDelivery(store::WebhookStore& store, const Clock& clock, HttpPosterOptions post,
                     DelivererOptions deliver, int64_t poll_us,
                     std::function<void(const Status&)> on_error)
      : poster_(std::move(post)),
        deliverer_(store, poster_, clock, std::move(deliver)),
        worker_(deliverer_, clock, poll_us, std::move(on_error)) {}
  void Wake() { worker_.Wake(); }
  void Stop() { worker_.Stop(); }

 private:
  HttpPoster poster_;
  Deliverer deliverer_;
  DeliveryWorker worker_;
};

}  // namespace tally::webhook
