// Status and Result<T>: the error model of every Tally layer.
//
// A Status is a code from a deliberately small set plus a human-readable message. Layers return
// Status / Result<T> instead of throwing; Azure error codes and HTTP statuses are mapped from
// these codes in one place (src/api). Values are immutable and safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tally {

enum class StatusCode {
  kOk,
  kInvalidArgument,   // the caller's input is wrong; retrying the same input fails again
  kNotFound,          // a named thing does not exist
  kAlreadyExists,     // a named thing exists with different content (e.g. a conflicting record)
  kPermissionDenied,  // authenticated but not allowed
  kUnauthenticated,   // no or unknown credentials
  kUnavailable,       // try again later (busy, shutting down, store read-only after a failure)
  kDataLoss,          // stored data is damaged or durability is in doubt
  kInternal,          // a bug
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: message", for logs and CLI output.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status Unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).ok() && "Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

namespace internal {
inline Status ToStatus(Status s) { return s; }
template <typename T>
Status ToStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace tally

#define TALLY_CONCAT_INNER(a, b) a##b
#define TALLY_CONCAT(a, b) TALLY_CONCAT_INNER(a, b)

#define TALLY_RETURN_IF_ERROR(expr)                                            \
  do {                                                                         \
    ::tally::Status tally_status_ = ::tally::internal::ToStatus((expr));       \
    if (!tally_status_.ok()) return tally_status_;                             \
  } while (0)

#define TALLY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#define TALLY_ASSIGN_OR_RETURN(lhs, expr) \
  TALLY_ASSIGN_OR_RETURN_IMPL(TALLY_CONCAT(tally_result_, __LINE__), lhs, expr)
