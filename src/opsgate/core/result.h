// File: opsgate/core/result.h
//
// Result<T> is the return type of every fallible operation that crosses a module
// boundary: either a T or an Error. No exceptions cross modules.
//
// Use only the members std::expected shares (and_then, transform, or_else,
// value_or, error(), has_value()), so moving to C++23 is a one-line change.
//
//   Result<Config> LoadConfig(std::string_view path);
//   Status Ping();   // Result<void>
#pragma once

#include <tl/expected.hpp>

#include "opsgate/core/error.h"

namespace opsgate::core {

template <class T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

using Unexpected = tl::unexpected<Error>;

inline Unexpected Fail(Error e) { return Unexpected(std::move(e)); }

inline Status Ok() { return {}; }

}  // namespace opsgate::core

// Propagates an error from an expression returning Result/Status.
//   OPSGATE_RETURN_IF_ERROR(store.Ping());
#define OPSGATE_RETURN_IF_ERROR(expr)                        \
  do {                                                       \
    auto opsgate_status_ = (expr);                           \
    if (!opsgate_status_) {                                  \
      return ::opsgate::core::Fail(opsgate_status_.error()); \
    }                                                        \
  } while (false)
