// File: opsgate/identity/linking/linker.h
//
// What chat connectors need from identity linking (docs/identity.md): who a platform
// account is (the linked principal), a single-use link to start linking, and unlinking.
// LinkService (link_service.h) implements it over the identity store and the OIDC
// relying party; tests use a fake.
//
//   auto who = linker.Resolve({"slack", team_id, user_id});
//   if (who && who->state == ResolvedIdentity::State::kLinked) principal = who->principal;
//
// Thread-safety: implementations are safe to call from any thread. Calls touch the
// store (milliseconds at most); none waits for the network.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "opsgate/core/result.h"
#include "opsgate/pipeline/message.h"
#include "opsgate/store/identity_store.h"

namespace opsgate::identity {

struct ResolvedIdentity {
  enum class State {
    kNotLinked,  // never linked, unlinked or revoked
    kLinked,     // `principal` is who is asking
    kExpired,    // was linked; the link must be renewed by signing in again
  };
  State state = State::kNotLinked;
  std::optional<pipeline::Principal> principal;  // set for kLinked
};

class Linker {
 public:
  virtual ~Linker() = default;

  // Errors: the store's (kUnavailable).
  [[nodiscard]] virtual core::Result<ResolvedIdentity> Resolve(
      const store::PlatformAccount& account) = 0;

  // A fresh single-use URL (…/auth/login?t=…) that links `account` once its owner signs
  // in; valid for link_token_ttl(). Show it only to that account's owner.
  // Errors: the store's; kUnavailable if no random bytes.
  [[nodiscard]] virtual core::Result<std::string> StartLink(
      const store::PlatformAccount& account) = 0;
  virtual std::chrono::seconds link_token_ttl() const = 0;

  // Removes the account's link. Returns whether there was one. Errors: the store's.
  [[nodiscard]] virtual core::Result<bool> Unlink(const store::PlatformAccount& account) = 0;
};

}  // namespace opsgate::identity
