// File: opsgate/identity/oidc/pending_login.h
//
// Glue between the relying party and the identity store (store/identity_store.h):
// converts a LoginState to and from its stored form, and makes the hashed keys the
// store is indexed by, so neither a pending login's state nor a link token is ever
// stored or looked up in the clear.
//
//   auto start = rp.BeginLogin(params);
//   store.PutLoginState(ToPendingLogin(start->state));
//   ...
//   auto taken = store.TakeLoginState(StateHash(*callback.state), clock.Now());
//   if (*taken) rp.CompleteLogin(FromPendingLogin(**taken), callback);
//
//   // `link` in chat: a single-use token, only its hash is stored.
//   auto token = NewLinkToken();                      // Result<core::Secret>
//   store.PutLinkToken({.token_hash = LinkTokenHash(token->Reveal()), ...});
//   send "https://opsgate.example.com/auth/login?t=" + token->Reveal() to that user only
//
// Thread-safety: pure functions (NewLinkToken uses the thread-safe DRBG).
#pragma once

#include <string>
#include <string_view>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"
#include "opsgate/identity/oidc/relying_party.h"
#include "opsgate/store/identity_store.h"

namespace opsgate::identity::oidc {

// SHA-256 of the state (32 raw bytes): the pending login's key in the store.
std::string StateHash(std::string_view state);

store::PendingLogin ToPendingLogin(const LoginState& state);
LoginState FromPendingLogin(const store::PendingLogin& pending);

// A fresh link token: 32 random bytes, base64url (43 URL-safe characters).
// Errors: kUnavailable when the random generator fails.
[[nodiscard]] core::Result<core::Secret> NewLinkToken();

// SHA-256 of a link token (32 raw bytes): its key in the store.
std::string LinkTokenHash(std::string_view token);

}  // namespace opsgate::identity::oidc
