#include "opsgate/http/client/http_client.h"

namespace opsgate::http {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

HttpClient::~HttpClient() = default;

namespace {

std::optional<std::string_view> FirstHeader(
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> OutboundRequest::Header(std::string_view name) const {
  return FirstHeader(headers, name);
}

std::optional<std::string_view> OutboundResponse::Header(std::string_view name) const {
  return FirstHeader(headers, name);
}

std::string RedactUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    return "<invalid url>";
  }
  for (size_t i = 0; i < scheme_end; ++i) {
    const char c = url[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) {
      return "<invalid url>";
    }
  }
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  // Drop user info ("user:password@host").
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    rest = rest.substr(at + 1);
  }
  if (rest.empty()) {
    return "<invalid url>";
  }
  std::string out;
  out.reserve(scheme_end + 3 + rest.size());
  for (size_t i = 0; i < scheme_end; ++i) {
    out += Lower(url[i]);
  }
  out += "://";
  for (const char c : rest) {
    // Control characters and spaces would let a hostile URL forge log lines.
    out += (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) ? '?' : c;
  }
  return out;
}

}  // namespace opsgate::http
