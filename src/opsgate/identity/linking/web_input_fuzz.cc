// Fuzzes what identity linking and the web chat read from browsers and the provider's
// redirect: the Cookie header (http/cookies.h), the OIDC callback query
// (oidc::ParseCallbackQuery) and a stored login context (DecodeLinkContext).
// Properties: never crash; a found cookie value lies inside the header; a decoded
// context encodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "opsgate/http/cookies.h"
#include "opsgate/identity/linking/link_service.h"
#include "opsgate/identity/oidc/relying_party.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  opsgate::http::Request request;
  request.headers.emplace_back("cookie", std::string(input));
  if (auto v = opsgate::http::CookieValue(request, "__Host-opsgate_session")) {
    const std::string& header = request.headers.front().second;
    if (v->data() < header.data() || v->data() + v->size() > header.data() + header.size()) {
      std::abort();
    }
  }

  (void)opsgate::identity::oidc::ParseCallbackQuery(input);

  if (auto context = opsgate::identity::DecodeLinkContext(input)) {
    if (opsgate::identity::EncodeLinkContext(*context) != input) {
      std::abort();
    }
  }
  return 0;
}
