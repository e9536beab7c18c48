#include "opsgate/identity/oidc/pending_login.h"

#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/random.h"

namespace opsgate::identity::oidc {

std::string StateHash(std::string_view state) {
  return std::string(crypto::AsStringView(crypto::Sha256(state)));
}

std::string LinkTokenHash(std::string_view token) {
  return std::string(crypto::AsStringView(crypto::Sha256(token)));
}

store::PendingLogin ToPendingLogin(const LoginState& s) {
  store::PendingLogin p;
  p.state_hash = StateHash(s.state.Reveal());
  p.state = s.state;
  p.nonce = s.nonce;
  p.code_verifier = s.code_verifier;
  p.issuer = s.issuer;
  p.redirect_uri = s.redirect_uri;
  if (s.max_age) {
    p.max_age_seconds = s.max_age->count();
  }
  p.acr_values = s.acr_values;
  p.prompt = s.prompt;
  p.context = s.context;
  p.created_at = s.created_at;
  p.expires_at = s.expires_at;
  return p;
}

LoginState FromPendingLogin(const store::PendingLogin& p) {
  LoginState s;
  s.state = p.state;
  s.nonce = p.nonce;
  s.code_verifier = p.code_verifier;
  s.issuer = p.issuer;
  s.redirect_uri = p.redirect_uri;
  if (p.max_age_seconds) {
    s.max_age = std::chrono::seconds(*p.max_age_seconds);
  }
  s.acr_values = p.acr_values;
  s.prompt = p.prompt;
  s.context = p.context;
  s.created_at = p.created_at;
  s.expires_at = p.expires_at;
  return s;
}

core::Result<core::Secret> NewLinkToken() {
  auto bytes = crypto::RandomBytes(32);
  if (!bytes) {
    return core::Fail(bytes.error());
  }
  return core::Secret(crypto::Base64UrlEncode(*bytes));
}

}  // namespace opsgate::identity::oidc
