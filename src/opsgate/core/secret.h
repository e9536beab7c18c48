// File: opsgate/core/secret.h
//
// Secret holds key material, tokens and passwords. It prints as "[redacted]" through
// every path that could reach a log (operator<<, fmt/spdlog via ToString), and wipes
// its bytes on destruction. The only way to the bytes is Reveal(), which makes every
// use greppable.
//
// Thread-safety: immutable after construction; safe to share for reading.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace opsgate::core {

class Secret {
 public:
  static constexpr std::string_view kRedacted = "[redacted]";

  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret& other) {
    if (this != &other) {
      Wipe();
      value_ = other.value_;
    }
    return *this;
  }
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.Wipe(); }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      Wipe();
      value_ = std::move(other.value_);
      other.Wipe();
    }
    return *this;
  }
  ~Secret() { Wipe(); }

  // The secret bytes. Never log, format or copy these into a non-Secret that outlives use.
  std::string_view Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }

  // Always "[redacted]", whatever the value.
  std::string ToString() const { return std::string(kRedacted); }

  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << kRedacted; }

 private:
  void Wipe() noexcept;

  std::string value_;
};

}  // namespace opsgate::core
