// File: opsgate/app/gateway.h
//
// The running gateway: the one place that knows concrete types. It builds the
// store, the audit log (audit.path; its tree-head signing key must exist), the route table (built-in endpoints plus every enabled connector, through
// the ConnectorRegistry filled in wiring.cc), and the HTTPS server from a Config,
// and applies a new Config on SIGHUP.
//
// Thread-safety: Create/Start/Run from the main thread; Reload() runs on an I/O
// thread (from the signal handler) and only touches reload-safe state.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "opsgate/audit/export/forwarder.h"
#include "opsgate/audit/writer.h"
#include "opsgate/aws/api_client.h"
#include "opsgate/aws/credentials.h"
#include "opsgate/aws/session_broker.h"
#include "opsgate/aws/sts.h"
#include "opsgate/config/config.h"
#include "opsgate/connectors/connector.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/core/work_queue.h"
#include "opsgate/crypto/key_provider.h"
#include "opsgate/http/client/http_client.h"
#include "opsgate/http/client/retrying_sender.h"
#include "opsgate/http/router.h"
#include "opsgate/http/server.h"
#include "opsgate/identity/linking/link_service.h"
#include "opsgate/identity/local/local_auth.h"
#include "opsgate/identity/oidc/discovery.h"
#include "opsgate/identity/oidc/relying_party.h"
#include "opsgate/intents/classifier.h"
#include "opsgate/intents/intents.h"
#include "opsgate/ops/aws_actions.h"
#include "opsgate/pipeline/approvals.h"
#include "opsgate/pipeline/authorizer.h"
#include "opsgate/pipeline/break_glass.h"
#include "opsgate/pipeline/dispatcher.h"
#include "opsgate/store/seen_keys.h"
#include "opsgate/store/sqlite/sqlite_audit_store.h"
#include "opsgate/store/sqlite/sqlite_dialog_store.h"
#include "opsgate/store/sqlite/sqlite_export_cursor.h"
#include "opsgate/store/sqlite/sqlite_identity_store.h"
#include "opsgate/store/sqlite/sqlite_local_auth_store.h"
#include "opsgate/store/sqlite/sqlite_nlu_store.h"
#include "opsgate/store/sqlite/sqlite_policy_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "opsgate/store/store.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"
#include "opsgate/webchat/webchat.h"

namespace opsgate::redact {
class Redactor;
}  // namespace opsgate::redact

namespace opsgate::app {

struct ServeOverrides {
  // --listen HOST:PORT replaces server.listen (and survives reloads).
  std::optional<std::string> listen_host;
  std::optional<uint16_t> listen_port;
};

class Gateway {
 public:
  // Builds everything; nothing listens yet. `config_path` is re-read on Reload().
  // `log` and `clock` must outlive the gateway.
  [[nodiscard]] static core::Result<std::unique_ptr<Gateway>> Create(
      std::shared_ptr<const config::Config> config, ServeOverrides overrides,
      telemetry::Logger& log, const core::Clock& clock);
  ~Gateway();

  // Binds the listener. Errors from http::Server::Start().
  [[nodiscard]] core::Status Start();
  uint16_t port() const { return server_->port(); }
  // When the web chat is on and has no administrator yet: a fresh one-time enrolment
  // link for the first one (valid 24 hours). Errors: the store's.
  [[nodiscard]] core::Result<std::optional<std::string>> FirstAdminEnrolment(
      const std::string& base_url);
  // Serves until SIGTERM/SIGINT (drain) ends it, then delivers the replies still
  // queued for the chat platforms (bounded by server.drain_timeout; what is left then
  // is cancelled and logged), then closes the audit log: the outcomes of those replies
  // are committed and a final tree head is signed.
  void Run();
  // Re-reads the config file and applies what can change safely; keeps the old
  // config on any error. Returns what happened, for tests and logs.
  core::Status Reload();

  telemetry::MetricsRegistry& metrics() { return metrics_; }

 private:
  Gateway(std::shared_ptr<const config::Config> config, ServeOverrides overrides,
          telemetry::Logger& log, const core::Clock& clock);
  core::Status Build();
  void DrainOutbound();
  void CloseAudit();
  // audit.export.syslog: the forwarder and what it reads and writes (not started).
  core::Status BuildSyslogExport(const config::SyslogExportConfig& c,
                                 const std::string& audit_path, store::SqliteStore& store);
  // identity.oidc: discovery, relying party, identity store, /auth routes, the linker.
  core::Status BuildIdentityLinking(const config::Config& c, store::SqliteStore& store);
  core::Status BuildPolicy(const config::Config& c, store::SqliteStore& store);
  // aws: credentials, STS, the session broker and the AWS executors (aws_wiring.cc);
  // nothing when AWS is off. Called by BuildPolicy before the dispatcher exists.
  core::Status BuildAws(const config::Config& c);
  // Registers the AWS executors with the dispatcher (after BuildAws and the dispatcher).
  void RegisterAws();
  // Trains on the configured catalogue plus accepted rephrasings and swaps it in.
  core::Status TrainClassifier(const config::Config& c);
  void StartSweeper();
  void StopSweeper();
  // Gives the forwarder a moment for the last records, then stops it.
  void StopExport();
  // Logs and audits that the key-encryption key changed (after SIGHUP).
  void NoteKeyRotation(const std::string& before, const std::string& after);
  std::shared_ptr<const core::Secret> MetricsToken() const;

  std::shared_ptr<const config::Config> config_;  // GUARDED_BY(mu_) after Start
  ServeOverrides overrides_;
  telemetry::Logger& log_;
  const core::Clock& clock_;
  telemetry::MetricsRegistry metrics_;
  telemetry::Family<telemetry::Counter>* reloads_ = nullptr;
  // Declaration order is destruction order in reverse: the sender stops before the
  // client it uses, the seen-keys statements are finalized before the store closes.
  std::unique_ptr<redact::Redactor> redactor_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::SeenKeys> seen_keys_;
  // Seal audit fields; they outlive the audit log that uses them.
  std::unique_ptr<crypto::LocalFileKeyProvider> key_provider_;
  std::unique_ptr<crypto::FieldSealer> sealer_;
  // The SIEM export (before the audit log, whose commits wake it: the log goes first).
  std::unique_ptr<store::SqliteAuditStore> export_source_;
  std::unique_ptr<store::SqliteExportCursor> export_cursors_;
  audit::siem::ExportMetrics export_metrics_;
  std::unique_ptr<audit::siem::Forwarder> forwarder_;
  // Before the sender: reply callbacks append outcomes until the sender has stopped.
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<http::HttpClient> http_client_;
  std::unique_ptr<http::RetryingSender> sender_;
  http::Router router_;
  std::unique_ptr<audit::RejectionLimiter> rejections_;
  // Identity linking (identity.oidc), in dependency order.
  std::unique_ptr<http::HttpClient> oidc_http_;
  std::unique_ptr<identity::oidc::Discovery> discovery_;
  std::unique_ptr<identity::oidc::RelyingParty> relying_party_;
  std::unique_ptr<store::SqliteIdentityStore> identity_store_;
  std::unique_ptr<identity::LinkService> link_service_;
  // The web chat (webchat.enabled) and its local accounts.
  // Policy (docs/policy.md): the policy in force (SIGHUP reloads it), rate-cap uses and
  // approval requests in the store, and what follows a decision.
  std::unique_ptr<pipeline::PolicyHolder> policy_;
  std::unique_ptr<store::SqliteRateEventStore> rate_events_;
  std::unique_ptr<store::SqliteApprovalStore> approval_store_;
  std::unique_ptr<pipeline::Authorizer> authorizer_;
  std::unique_ptr<pipeline::ApprovalDesk> approval_desk_;
  std::unique_ptr<pipeline::Notifier> notifier_;
  // AWS (BuildAws): all null when AWS is off.
  std::unique_ptr<http::HttpClient> aws_http_;
  std::unique_ptr<aws::SigV4StsClient> sts_;
  std::unique_ptr<aws::CredentialsProvider> aws_credentials_;
  std::unique_ptr<aws::StsRoleAssumer> assumer_;
  std::unique_ptr<aws::SessionBroker> broker_;
  std::unique_ptr<aws::ApiClient> aws_api_;
  std::unique_ptr<ops::AwsActions> aws_actions_;
  std::unique_ptr<pipeline::Dispatcher> dispatcher_;
  // Slow executors (AWS) run here; shut down in Run() before the dispatcher goes.
  std::unique_ptr<core::WorkQueue> slow_work_;
  std::unique_ptr<store::SqliteElevationStore> elevations_;
  std::unique_ptr<pipeline::BreakGlass> break_glass_;
  // Every few seconds: ends expired break-glass elevations and approval requests and
  // tells the people concerned (StartSweeper / StopSweeper).
  std::thread sweeper_;
  std::mutex sweeper_mu_;
  std::condition_variable sweeper_cv_;
  bool sweeper_stop_ = false;  // GUARDED_BY(sweeper_mu_)
  std::unique_ptr<intents::Catalogue> catalogue_;
  // The classifier in use; SIGHUP retrains it (accepted rephrasings) and swaps it in.
  struct ClassifierSlot {
    std::mutex mu;
    std::shared_ptr<const intents::Classifier> current;  // GUARDED_BY(mu)
  };
  std::unique_ptr<ClassifierSlot> classifier_;
  std::unique_ptr<store::SqliteNluCandidateStore> nlu_candidates_;
  std::unique_ptr<store::SqliteDialogStore> dialogs_;
  pipeline::UnderstandEnv understand_;
  std::unique_ptr<store::SqliteLocalAuthStore> local_auth_store_;
  std::unique_ptr<identity::local::LocalAuthenticator> local_auth_;
  std::unique_ptr<webchat::WebChat> webchat_;
  std::unique_ptr<connectors::ConnectorDeps> deps_;
  std::vector<std::unique_ptr<connectors::Connector>> connectors_;
  std::unique_ptr<http::Server> server_;

  mutable std::mutex mu_;
  std::shared_ptr<const core::Secret> metrics_token_;  // GUARDED_BY(mu_)
};

}  // namespace opsgate::app
