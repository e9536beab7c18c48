#include "opsgate/config/internal/diagnostics.h"

#include <algorithm>
#include <climits>

namespace opsgate::config::internal {

void Diagnostics::Add(Diagnostic::Severity severity, Position at, std::string key_path,
                      std::string message) {
  if (list_.size() >= kMaxKept) {
    ++(severity == Diagnostic::Severity::kError ? dropped_errors_ : dropped_warnings_);
    return;
  }
  list_.push_back(
      Diagnostic{severity, file_, at.line, at.column, std::move(key_path), std::move(message)});
}

std::vector<Diagnostic> Diagnostics::Take() {
  const auto key = [](const Diagnostic& d) {
    return std::pair(d.line > 0 ? d.line : INT_MAX, d.column);
  };
  std::stable_sort(list_.begin(), list_.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  if (dropped_errors_ > 0) {
    list_.push_back(Diagnostic{Diagnostic::Severity::kError, file_, 0, 0, "",
                               std::to_string(dropped_errors_) + " more errors not shown"});
  }
  if (dropped_warnings_ > 0) {
    list_.push_back(Diagnostic{Diagnostic::Severity::kWarning, file_, 0, 0, "",
                               std::to_string(dropped_warnings_) + " more warnings not shown"});
  }
  dropped_errors_ = dropped_warnings_ = 0;
  return std::move(list_);
}

std::string Printable(std::string_view text, size_t max_chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string JoinKeyPath(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) {
    out += '.';
  }
  out += key;
  return out;
}

}  // namespace opsgate::config::internal
