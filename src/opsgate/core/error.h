// File: opsgate/core/error.h
//
// The error vocabulary of opsgate. Codes follow Abseil's canonical set
// (absl/status/status.h) so that every module means the same thing by the same
// code; only the HTTP layer maps codes to HTTP statuses.
//
// Thread-safety: value types, safe to copy between threads.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace opsgate::core {

enum class ErrorCode {
  // The caller sent something malformed (bad syntax, wrong type, out of range).
  kInvalidArgument,
  // The thing looked up does not exist.
  kNotFound,
  // The thing to be created exists already.
  kAlreadyExists,
  // The caller is known but may not do this.
  kPermissionDenied,
  // The caller could not be identified: missing, forged, stale or replayed credentials.
  kUnauthenticated,
  // A limit was hit: size, rate, connections. Retry later or send less.
  kResourceExhausted,
  // The system is not in a state where this can run; retrying will not help.
  kFailedPrecondition,
  // A deadline passed before the operation finished.
  kDeadlineExceeded,
  // Transient: the dependency is down or busy; retrying may help.
  kUnavailable,
  // Unrecoverable data loss or corruption.
  kDataLoss,
  // An invariant broke inside opsgate; a bug.
  kInternal,
  // The operation was cancelled, typically by shutdown.
  kCancelled,
};

// Stable snake_case name of a code, for logs and metrics ("permission_denied").
std::string_view ErrorCodeName(ErrorCode code);

// An error: what kind (code) and what was wrong and what to do (message).
// Messages are written for the person who has to act on them.
struct Error {
  ErrorCode code;
  std::string message;

  friend bool operator==(const Error&, const Error&) = default;
};

std::ostream& operator<<(std::ostream& os, const Error& e);

inline Error InvalidArgument(std::string msg) { return {ErrorCode::kInvalidArgument, std::move(msg)}; }
inline Error NotFound(std::string msg) { return {ErrorCode::kNotFound, std::move(msg)}; }
inline Error AlreadyExists(std::string msg) { return {ErrorCode::kAlreadyExists, std::move(msg)}; }
inline Error PermissionDenied(std::string msg) { return {ErrorCode::kPermissionDenied, std::move(msg)}; }
inline Error Unauthenticated(std::string msg) { return {ErrorCode::kUnauthenticated, std::move(msg)}; }
inline Error ResourceExhausted(std::string msg) { return {ErrorCode::kResourceExhausted, std::move(msg)}; }
inline Error FailedPrecondition(std::string msg) { return {ErrorCode::kFailedPrecondition, std::move(msg)}; }
inline Error DeadlineExceeded(std::string msg) { return {ErrorCode::kDeadlineExceeded, std::move(msg)}; }
inline Error Unavailable(std::string msg) { return {ErrorCode::kUnavailable, std::move(msg)}; }
inline Error DataLoss(std::string msg) { return {ErrorCode::kDataLoss, std::move(msg)}; }
inline Error Internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg)}; }
inline Error Cancelled(std::string msg) { return {ErrorCode::kCancelled, std::move(msg)}; }

}  // namespace opsgate::core
