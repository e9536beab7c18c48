// File: opsgate/store/sqlite/sqlite_local_auth_store.h
//
// LocalAuthStore (local_auth_store.h) on the SqliteStore's database, schema migration 6:
//   local_accounts          username -> password PHC string, sealed TOTP secret, flags
//   local_enrolment_tokens  token_hash -> purpose, is_admin, expiry
//   local_sessions          token_hash -> username | OIDC principal, csrf token, times
//                           (ON DELETE CASCADE from local_accounts)
//   local_totp_used         (account, step) -> used_at: the TOTP replay guard
//   local_login_failures    (key, at): one row per failed login, for sliding windows
//   local_step_ups          challenge_hash -> principal, request_hash, expiry, satisfied_at
// Times are Unix milliseconds. Multi-statement operations (EnrolAccount, MarkTotpStepUsed,
// ConsumeStepUp) run under BEGIN IMMEDIATE inside one SqliteStore::WithDatabase call, so
// they are atomic against other threads and other processes sharing the file.
//
// Ownership: borrows the store, which must outlive this object.
// Thread-safety: safe from any thread.
#pragma once

#include "opsgate/store/local_auth_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace opsgate::store {

class SqliteLocalAuthStore final : public LocalAuthStore {
 public:
  // Longest username, password hash, sealed secret, OIDC issuer/subject, throttle key.
  static constexpr size_t kMaxUsernameBytes = 64;
  static constexpr size_t kMaxFieldBytes = 1024;
  static constexpr size_t kMaxSealedBytes = 4096;

  explicit SqliteLocalAuthStore(SqliteStore& store) : store_(store) {}
  SqliteLocalAuthStore(const SqliteLocalAuthStore&) = delete;
  SqliteLocalAuthStore& operator=(const SqliteLocalAuthStore&) = delete;

  [[nodiscard]] core::Status CreateAccount(const LocalAccount& account) override;
  [[nodiscard]] core::Result<std::optional<LocalAccount>> GetAccount(
      std::string_view username) override;
  [[nodiscard]] core::Status SetTotpConfirmed(std::string_view username) override;
  [[nodiscard]] core::Status SetPasswordHash(std::string_view username,
                                             std::string_view password_hash,
                                             core::Clock::WallTime now) override;
  [[nodiscard]] core::Status SetTotpSecret(std::string_view username,
                                           std::string_view sealed) override;
  [[nodiscard]] core::Status SetDisabled(std::string_view username, bool disabled) override;
  [[nodiscard]] core::Result<bool> DeleteAccount(std::string_view username) override;
  [[nodiscard]] core::Result<bool> HasUsableAdmin() override;

  [[nodiscard]] core::Status PutEnrolmentToken(const EnrolmentToken& token) override;
  [[nodiscard]] core::Result<LocalAccount> EnrolAccount(std::string_view token_hash,
                                                        const LocalAccount& account,
                                                        core::Clock::WallTime now) override;

  [[nodiscard]] core::Status PutSession(const LocalSession& session) override;
  [[nodiscard]] core::Result<std::optional<LocalSession>> FindSession(
      std::string_view token_hash) override;
  [[nodiscard]] core::Result<bool> TouchSession(std::string_view token_hash,
                                                core::Clock::WallTime now,
                                                std::chrono::seconds min_interval) override;
  [[nodiscard]] core::Status SetSessionMfaVerified(std::string_view token_hash,
                                                   core::Clock::WallTime now) override;
  [[nodiscard]] core::Result<bool> DeleteSession(std::string_view token_hash) override;
  [[nodiscard]] core::Result<int64_t> DeleteSessionsOf(std::string_view username) override;
  [[nodiscard]] core::Result<int64_t> PruneSessions(core::Clock::WallTime now) override;

  [[nodiscard]] core::Result<bool> MarkTotpStepUsed(std::string_view account, int64_t step,
                                                    core::Clock::WallTime now,
                                                    core::Clock::WallTime prune_before) override;

  [[nodiscard]] core::Status RecordLoginFailure(std::string_view key,
                                                core::Clock::WallTime now) override;
  [[nodiscard]] core::Result<FailureStats> LoginFailures(std::string_view key,
                                                         core::Clock::WallTime since) override;
  [[nodiscard]] core::Status ClearLoginFailures(std::string_view key) override;
  [[nodiscard]] core::Result<int64_t> PruneLoginFailures(core::Clock::WallTime before) override;

  [[nodiscard]] core::Status PutStepUp(const StepUpRecord& record) override;
  [[nodiscard]] core::Result<std::optional<StepUpRecord>> FindStepUp(
      std::string_view challenge_hash) override;
  [[nodiscard]] core::Result<bool> SatisfyStepUp(std::string_view challenge_hash,
                                                 std::string_view principal,
                                                 core::Clock::WallTime now) override;
  [[nodiscard]] core::Result<bool> HasSatisfiedStepUp(std::string_view principal,
                                                      std::string_view request_hash,
                                                      core::Clock::WallTime now) override;
  [[nodiscard]] core::Result<bool> ConsumeStepUp(std::string_view principal,
                                                 std::string_view request_hash,
                                                 core::Clock::WallTime now) override;
  [[nodiscard]] core::Result<int64_t> PruneStepUps(core::Clock::WallTime now) override;

 private:
  SqliteStore& store_;
};

}  // namespace opsgate::store
