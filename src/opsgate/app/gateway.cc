#include "opsgate/app/gateway.h"

#include <csignal>
#include <cstdlib>
#include <future>
#include <thread>

#include "opsgate/app/builtin_routes.h"
#include "opsgate/app/nlu_training.h"
#include "opsgate/app/version.h"
#include "opsgate/app/wiring.h"
#include "opsgate/audit/export/syslog_client.h"
#include "opsgate/audit/sealing.h"
#include "opsgate/config/loader.h"
#include "opsgate/config/secret_ref.h"
#include "opsgate/intents/catalogue_yaml.h"
#include "opsgate/http/client/curl_http_client.h"
#include "opsgate/policy/policy.h"
#include "opsgate/redact/redactor.h"
#include "opsgate/store/sqlite/sqlite_audit_store.h"
#include "opsgate/store/sqlite/sqlite_export_cursor.h"
#include "opsgate/store/sqlite/sqlite_identity_store.h"
#include "opsgate/store/sqlite/sqlite_local_auth_store.h"
#include "opsgate/store/sqlite/sqlite_seen_keys.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace opsgate::app {
namespace {

http::ServerOptions ServerOptionsFor(const config::Config& c, const ServeOverrides& o) {
  http::ServerOptions opts;
  opts.host = o.listen_host.value_or(c.server.listen_host);
  opts.port = o.listen_port.value_or(c.server.listen_port);
  opts.tls = c.server.tls;
  opts.behind_tls_proxy = c.server.behind_tls_proxy;
  opts.limits = c.server.limits;
  opts.threads = c.server.threads;
  opts.drain_timeout = c.server.drain_timeout;
  return opts;
}

core::Result<std::unique_ptr<audit::AuditLog>> OpenAuditLog(
    const config::AuditConfig& c, crypto::FieldSealer* sealer,
    std::function<void(uint64_t)> on_commit, telemetry::Counter* tree_head_failures,
    const core::Clock& clock, telemetry::Logger& log) {
  auto signer = audit::TreeHeadSigner::FromPemFile(c.signing_key);
  if (!signer) {
    return core::Fail(signer.error());
  }
  auto store = store::SqliteAuditStore::Open(c.path);
  if (!store) {
    return core::Fail(store.error());
  }
  audit::AuditLogOptions options;
  options.max_batch = c.max_batch;
  options.tree_head_every = c.tree_head_every;
  options.tree_head_interval = c.tree_head_interval;
  options.sealer = sealer;
  options.on_commit = std::move(on_commit);
  options.tree_head_failures = tree_head_failures;
  auto opened = audit::AuditLog::Open(std::move(*store), std::move(*signer), clock, log, options);
  if (!opened) {
    core::Error e = opened.error();
    e.message = "audit log " + c.path + ": " + e.message;
    return core::Fail(std::move(e));
  }
  log.Info("audit.opened", {{"path", c.path},
                            {"records", (*opened)->size()},
                            {"sealed_fields", sealer != nullptr}});
  return opened;
}

core::Result<std::shared_ptr<const core::Secret>> ResolveMetricsToken(const config::Config& c) {
  if (!c.server.metrics_token) {
    return std::shared_ptr<const core::Secret>();
  }
  auto secret = config::ResolveSecret(*c.server.metrics_token);
  if (!secret) {
    return core::Fail(secret.error());
  }
  return std::make_shared<const core::Secret>(std::move(*secret));
}

}  // namespace

Gateway::Gateway(std::shared_ptr<const config::Config> config, ServeOverrides overrides,
                 telemetry::Logger& log, const core::Clock& clock)
    : config_(std::move(config)), overrides_(std::move(overrides)), log_(log), clock_(clock) {}

Gateway::~Gateway() {
  StopSweeper();
  if (slow_work_ != nullptr) {
    slow_work_->Shutdown();
  }
}

core::Result<std::unique_ptr<Gateway>> Gateway::Create(
    std::shared_ptr<const config::Config> config, ServeOverrides overrides,
    telemetry::Logger& log, const core::Clock& clock) {
  std::unique_ptr<Gateway> g(new Gateway(std::move(config), std::move(overrides), log, clock));
  OPSGATE_RETURN_IF_ERROR(g->Build());
  return g;
}

core::Status Gateway::Build() {
  const config::Config& c = *config_;
  metrics_.AddGauge("opsgate_build_info", "opsgate version; always 1.", {"version"})
      .With({OPSGATE_VERSION})
      .Set(1);
  reloads_ = &metrics_.AddCounter("opsgate_config_reloads_total",
                                  "Configuration reloads (SIGHUP) by result.", {"result"});
  reloads_->With({"applied"});
  reloads_->With({"rejected"});

  auto token = ResolveMetricsToken(c);
  if (!token) {
    return core::Fail(token.error());
  }
  metrics_token_ = *token;

  auto redactor = redact::Redactor::Create(c.redact.extra_patterns);
  if (!redactor) {
    return core::Fail({redactor.error().code, "redact.extra_patterns: " + redactor.error().message});
  }
  redactor_ = std::make_unique<redact::Redactor>(std::move(*redactor));
  // Every string a log line carries passes the redactor; the copy keeps its compiled
  // rules alive for as long as the logger holds it.
  log_.SetRedactor([r = *redactor_](std::string_view text) { return r.Redact(text); });

  if (c.store.driver != config::StoreDriver::kSqlite) {
    return core::Fail(core::FailedPrecondition("only the sqlite store is available in this build"));
  }
  auto store = store::SqliteStore::Open(c.store.path);
  if (!store) {
    return core::Fail(store.error());
  }
  seen_keys_ = std::make_unique<store::SqliteSeenKeys>(**store);
  store::SqliteStore& sqlite = **store;
  store_ = std::move(*store);

  crypto::FieldSealer* sealer = nullptr;
  // The key-encryption keys seal audit fields and the web chat's TOTP secrets.
  if (c.audit.seal_fields || c.webchat.enabled) {
    auto keys = crypto::LocalFileKeyProvider::Open(c.keys.dir);
    if (!keys) {
      core::Error e = keys.error();
      e.message = "keys.dir: " + e.message +
                  " (`opsgate init` writes keys/data.key; or set audit.seal_fields: false)";
      return core::Fail(std::move(e));
    }
    key_provider_ = std::move(*keys);
    sealer_ = std::make_unique<crypto::FieldSealer>(*key_provider_);
    if (c.audit.seal_fields) {
      sealer = sealer_.get();
    }
  }
  std::function<void(uint64_t)> on_commit;
  if (c.audit.syslog_export) {
    OPSGATE_RETURN_IF_ERROR(BuildSyslogExport(*c.audit.syslog_export, c.audit.path, sqlite));
    on_commit = [f = forwarder_.get()](uint64_t) { f->Notify(); };
  }
  telemetry::Counter& tree_head_failures =
      metrics_
          .AddCounter("opsgate_audit_tree_head_failures_total",
                      "Tree heads that could not be signed or stored (retried; alert on it).", {})
          .With({});
  auto audit_log =
      OpenAuditLog(c.audit, sealer, std::move(on_commit), &tree_head_failures, clock_, log_);
  if (!audit_log) {
    return core::Fail(audit_log.error());
  }
  audit_ = std::move(*audit_log);
  if (forwarder_ != nullptr) {
    forwarder_->Start();
  }

  http::CurlHttpClientOptions client_options;
  client_options.ca_file = c.outbound.ca_file;
  auto client = http::CurlHttpClient::Create(client_options);
  if (!client) {
    return core::Fail(client.error());
  }
  http_client_ = std::move(*client);
  sender_ = std::make_unique<http::RetryingSender>(
      *http_client_, clock_, http::RetryingSender::RegisterMetrics(metrics_));

  OPSGATE_RETURN_IF_ERROR(BuildPolicy(c, sqlite));
  OPSGATE_RETURN_IF_ERROR(AddBuiltinRoutes(
      router_, *store_, metrics_, [this] { return MetricsToken(); }, !c.webchat.enabled));
  if (c.webchat.enabled) {
    local_auth_store_ = std::make_unique<store::SqliteLocalAuthStore>(sqlite);
    local_auth_ = std::make_unique<identity::local::LocalAuthenticator>(*local_auth_store_,
                                                                        *sealer_, clock_);
    if (auto pruned = local_auth_->Prune(); !pruned) {
      log_.Warn("webchat.prune_failed", {{"error", pruned.error().message}});
    }
    webchat::WebChatOptions webchat_options;
    webchat_options.oidc_sign_in = c.identity.oidc.has_value();
    // Web chat users are always known (local accounts or provider sign-in): policy on.
    webchat::WebChatDeps chat_deps{*local_auth_,
                                   *audit_,
                                   clock_,
                                   log_,
                                   metrics_,
                                   redactor_.get(),
                                   nullptr,
                                   authorizer_.get(),
                                   dispatcher_.get(),
                                   approval_desk_.get(),
                                   understand_,
                                   notifier_.get()};
    webchat_ = std::make_unique<webchat::WebChat>(std::move(chat_deps), webchat_options);
    OPSGATE_RETURN_IF_ERROR(webchat_->AddRoutes(router_));
  }
  if (c.identity.oidc) {
    OPSGATE_RETURN_IF_ERROR(BuildIdentityLinking(c, sqlite));
    if (webchat_ != nullptr) {
      webchat_->SetRevoke([links = link_service_.get()](const std::string& issuer,
                                                        const std::string& subject) {
        return links->Revoke(issuer, subject);
      });
      link_service_->SetSignInHandler(
          [chat = webchat_.get()](const identity::oidc::Identity& who, const http::Request& r) {
            return chat->SignedInThroughProvider(who, r);
          });
    }
  }

  rejections_ = std::make_unique<audit::RejectionLimiter>(
      clock_, c.audit.rejection_records_per_second, c.audit.rejection_records_per_second,
      &metrics_
           .AddCounter("opsgate_audit_rejections_unrecorded_total",
                       "Rejections refused and counted but not written to the audit log "
                       "(audit.rejection_records_per_second exceeded).",
                       {})
           .With({}));
  deps_ = std::make_unique<connectors::ConnectorDeps>(connectors::ConnectorDeps{
      clock_, log_, metrics_, *store_, *seen_keys_, *http_client_, *sender_, *audit_,
      redactor_.get(), rejections_.get(), link_service_.get(), authorizer_.get(), dispatcher_.get(),
      understand_, notifier_.get(), [this](std::function<void()> step) {
        // server_ exists before any request arrives; after the server has stopped the
        // step runs here.
        if (!server_ || !server_->Post(step)) {
          step();
        }
      }});
  connectors::ConnectorRegistry registry;
  RegisterConnectors(registry);
  auto created = registry.CreateEnabled(c, *deps_, router_);
  if (!created) {
    return core::Fail(created.error());
  }
  connectors_ = std::move(*created);

  server_ = std::make_unique<http::Server>(ServerOptionsFor(c, overrides_), router_, metrics_,
                                           log_, clock_);
  server_->SetSignalHandler([this](int signo) {
    if (signo == SIGHUP) {
      (void)Reload();
    } else {
      log_.Info("signal.drain", {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"}});
      server_->Drain();
    }
  });
  return core::Ok();
}

core::Status Gateway::Start() {
  OPSGATE_RETURN_IF_ERROR(server_->Start());
  StartSweeper();
  const auto& c = *config_;
  log_.Info("gateway.started",
            {{"version", OPSGATE_VERSION},
             {"connectors", static_cast<uint64_t>(connectors_.size())},
             {"config", c.source_path}});
  return core::Ok();
}

namespace {

// The policy file, or the built-in policy when policy.file is unset.
core::Result<std::shared_ptr<const policy::Policy>> LoadPolicy(const config::PolicyConfig& c) {
  if (c.file.empty()) {
    return pipeline::BuiltinPolicy();
  }
  auto parsed = policy::LoadPolicyFile(c.file);
  if (!parsed) {
    std::string why;
    for (const policy::Diagnostic& d : parsed.error()) {
      why += (why.empty() ? "" : "\n") + d.ToString();
    }
    return core::Fail(core::InvalidArgument("policy.file: " + why));
  }
  return std::make_shared<const policy::Policy>(std::move(*parsed));
}

}  // namespace

core::Status Gateway::BuildPolicy(const config::Config& c, store::SqliteStore& store) {
  auto loaded = LoadPolicy(c.policy);
  if (!loaded) {
    return core::Fail(loaded.error());
  }
  policy_ = std::make_unique<pipeline::PolicyHolder>(std::move(*loaded));
  rate_events_ = std::make_unique<store::SqliteRateEventStore>(store);
  approval_store_ = std::make_unique<store::SqliteApprovalStore>(store);
  authorizer_ = std::make_unique<pipeline::Authorizer>(*policy_, rate_events_.get());
  approval_desk_ = std::make_unique<pipeline::ApprovalDesk>(*approval_store_, *authorizer_, clock_,
                                                            c.policy.approvals);
  notifier_ = std::make_unique<pipeline::Notifier>();
  OPSGATE_RETURN_IF_ERROR(BuildAws(c));
  dispatcher_ = std::make_unique<pipeline::Dispatcher>(
      pipeline::Dispatcher::Deps{authorizer_.get(), approval_desk_.get(), audit_.get(), &clock_,
                                 &log_, notifier_.get(), slow_work_.get()});
  RegisterAws();
  elevations_ = std::make_unique<store::SqliteElevationStore>(store);
  authorizer_->SetElevations(elevations_.get());
  break_glass_ = std::make_unique<pipeline::BreakGlass>(*elevations_, clock_, c.policy.break_glass,
                                                        *notifier_, *audit_, log_);
  for (std::string_view action : pipeline::kBreakGlassActions) {
    dispatcher_->Register(std::string(action), break_glass_.get());
  }
  auto catalogue = intents::LoadConfiguredCatalogue(c.intents.file);
  if (!catalogue) {
    return core::Fail(catalogue.error());
  }
  catalogue_ = std::make_unique<intents::Catalogue>(std::move(*catalogue));
  // Free text: the classifier, trained at start-up (and on SIGHUP) on the catalogue's
  // utterances and the rephrasings an administrator accepted.
  nlu_candidates_ = std::make_unique<store::SqliteNluCandidateStore>(store);
  classifier_ = std::make_unique<ClassifierSlot>();
  OPSGATE_RETURN_IF_ERROR(TrainClassifier(c));
  understand_.classify = [slot = classifier_.get()](std::string_view text) {
    std::shared_ptr<const intents::Classifier> nlu;
    {
      std::lock_guard<std::mutex> lock(slot->mu);
      nlu = slot->current;
    }
    intents::NluResult r = nlu->Parse(text);
    return pipeline::Classified{std::move(r.intent), r.confidence, std::move(r.slots),
                                std::move(r.alternatives), r.below_threshold};
  };
  understand_.candidates = nlu_candidates_.get();
  understand_.redact = [r = redactor_.get()](std::string_view text) { return r->Redact(text); };
  understand_.catalogue = catalogue_.get();
  dialogs_ = std::make_unique<store::SqliteDialogStore>(store);
  understand_.dialogs = dialogs_.get();
  // The default region for commands that name none: aws.region, else as AWS SDKs do.
  if (!c.aws.region.empty()) {
    understand_.defaults.region = c.aws.region;
  } else if (const char* region = std::getenv("AWS_REGION"); region != nullptr) {
    understand_.defaults.region = region;
  } else if (const char* fallback = std::getenv("AWS_DEFAULT_REGION"); fallback != nullptr) {
    understand_.defaults.region = fallback;
  }
  // The account resource ARNs name: aws.account, else the account of a mapped role.
  understand_.account = c.aws.account;
  if (understand_.account.empty() && !c.aws.roles.empty()) {
    understand_.account = ops::RoleMap::AccountOf(c.aws.roles.front().second);
  }
  log_.Info("policy.loaded",
            {{"file", c.policy.file.empty() ? std::string("(built-in)") : c.policy.file},
             {"statements", static_cast<uint64_t>(policy_->Current()->statements.size())}});
  return core::Ok();
}

core::Status Gateway::TrainClassifier(const config::Config& c) {
  size_t learned = 0;
  auto catalogue = TrainingCatalogue(c, nlu_candidates_.get(), &learned);
  if (!catalogue) {
    return core::Fail(catalogue.error());
  }
  auto trained = intents::Classifier::Train(*catalogue);
  if (!trained) {
    return core::Fail(core::Error{trained.error().code,
                                  "intents: training the classifier: " + trained.error().message});
  }
  auto fresh = std::make_shared<const intents::Classifier>(std::move(*trained));
  log_.Info("nlu.trained", {{"utterances", static_cast<uint64_t>(fresh->training_samples())},
                            {"learned", static_cast<uint64_t>(learned)}});
  std::lock_guard<std::mutex> lock(classifier_->mu);
  classifier_->current = std::move(fresh);
  return core::Ok();
}

core::Status Gateway::BuildIdentityLinking(const config::Config& c, store::SqliteStore& store) {
  const config::OidcConfig& o = *c.identity.oidc;
  const auto fail = [](const core::Error& e) {
    return core::Fail(core::Error{e.code, "identity.oidc: " + e.message});
  };
  identity::oidc::RelyingPartyOptions rp;
  rp.client_id = o.client_id;
  if (o.client_secret) {
    auto secret = config::ResolveSecret(*o.client_secret);
    if (!secret) {
      return fail(secret.error());
    }
    rp.client_secret = std::move(*secret);
  }
  rp.client_auth = o.client_auth == "client_secret_post" ? identity::oidc::ClientAuthMethod::kClientSecretPost
                   : o.client_auth == "none"             ? identity::oidc::ClientAuthMethod::kNone
                                                         : identity::oidc::ClientAuthMethod::kClientSecretBasic;
  rp.redirect_uri = o.redirect_uri;
  rp.extra_scopes = o.scopes;
  rp.groups_claim = o.groups_claim;
  rp.login_ttl = c.identity.link_token_ttl;
  http::CurlHttpClientOptions client_options;
  client_options.ca_file = c.outbound.ca_file;
  client_options.allow_http = o.allow_http;  // dev only (the loader refuses it otherwise)
  auto client = http::CurlHttpClient::Create(client_options);
  if (!client) {
    return fail(client.error());
  }
  oidc_http_ = std::move(*client);
  identity::oidc::DiscoveryOptions discovery;
  discovery.issuer = o.issuer;
  discovery.allow_http = o.allow_http;
  discovery_ = std::make_unique<identity::oidc::Discovery>(discovery, *oidc_http_, clock_);
  relying_party_ =
      std::make_unique<identity::oidc::RelyingParty>(std::move(rp), *discovery_, *oidc_http_, clock_);
  identity_store_ = std::make_unique<store::SqliteIdentityStore>(store);
  identity::LinkServiceOptions options;
  options.public_url = c.identity.public_url;
  options.link_token_ttl = c.identity.link_token_ttl;
  options.link_ttl = c.identity.link_ttl;
  link_service_ = std::make_unique<identity::LinkService>(options, *identity_store_, *identity_store_,
                                                          *relying_party_, *audit_, clock_, log_);
  OPSGATE_RETURN_IF_ERROR(link_service_->AddRoutes(router_));
  log_.Info("identity.configured", {{"issuer", o.issuer}, {"public_url", c.identity.public_url}});
  return core::Ok();
}

core::Status Gateway::BuildSyslogExport(const config::SyslogExportConfig& c,
                                         const std::string& audit_path,
                                         store::SqliteStore& store) {
  const auto fail = [](const core::Error& e) {
    return core::Fail(core::Error{e.code, "audit.export.syslog: " + e.message});
  };
  audit::siem::SyslogClientOptions client_options;
  client_options.host = c.host;
  client_options.port = c.port;
  client_options.tls = c.tls;
  client_options.ca_file = c.ca_file;
  client_options.server_name = c.server_name;
  client_options.client_cert_file = c.client_cert;
  client_options.client_key_file = c.client_key;
  client_options.connect_timeout = c.connect_timeout;
  client_options.io_timeout = c.io_timeout;
  auto client = audit::siem::SyslogClient::Create(client_options);
  if (!client) {
    return fail(client.error());
  }
  audit::siem::FormatOptions format;
  format.facility = c.facility;
  format.hostname = c.hostname;
  if (c.open_sealed_fields && sealer_ != nullptr) {
    format.decrypt = [sealer = sealer_.get()](uint64_t seq, std::string_view name,
                                              const audit::Field& field) {
      auto plain = sealer->Open(field.bytes, audit::SealedFieldAad(seq, name));
      return plain ? std::optional<std::string>(std::move(*plain)) : std::nullopt;
    };
  }
  auto formatter = audit::siem::RecordFormatter::Create(*redactor_, std::move(format));
  if (!formatter) {
    return fail(formatter.error());
  }
  // Its own connection to the audit database: WAL readers never block the writer.
  auto source = store::SqliteAuditStore::Open(audit_path);
  if (!source) {
    return fail(source.error());
  }
  export_source_ = std::move(*source);
  export_cursors_ = std::make_unique<store::SqliteExportCursor>(store, clock_);
  export_metrics_ = audit::siem::ExportMetrics::Register(metrics_);
  audit::siem::ForwarderOptions options;
  options.name = c.name;
  options.format = c.format == "jsonl" ? audit::siem::ExportFormat::kJsonLines
                                       : audit::siem::ExportFormat::kSyslog;
  options.batch_size = c.batch_size;
  options.poll_interval = c.poll_interval;
  auto forwarder = audit::siem::Forwarder::Create(*export_source_, *export_cursors_,
                                                  std::move(*client), std::move(*formatter), log_,
                                                  &export_metrics_, options);
  if (!forwarder) {
    return fail(forwarder.error());
  }
  forwarder_ = std::move(*forwarder);
  log_.Info("audit.export_configured", {{"exporter", c.name},
                                        {"receiver", c.host + ":" + std::to_string(c.port)},
                                        {"tls", c.tls}});
  return core::Ok();
}

void Gateway::StopExport() {
  if (forwarder_ == nullptr) {
    return;
  }
  // A short grace for the last records; what is left goes after the next start.
  const auto grace = std::min<std::chrono::milliseconds>(config_->server.drain_timeout,
                                                         std::chrono::seconds(2));
  if (!forwarder_->WaitUntilExported(audit_->size(), grace)) {
    log_.Warn("audit.export_behind", {{"exported_up_to", forwarder_->next_seq()},
                                      {"records", audit_->size()},
                                      {"action", "the rest is sent after the next start"}});
  }
  forwarder_->Stop();
}

core::Result<std::optional<std::string>> Gateway::FirstAdminEnrolment(const std::string& base_url) {
  if (local_auth_ == nullptr) {
    return std::optional<std::string>();
  }
  auto has_admin = local_auth_->HasAnyAdmin();
  if (!has_admin) {
    return core::Fail(has_admin.error());
  }
  if (*has_admin) {
    return std::optional<std::string>();
  }
  auto token = local_auth_->CreateEnrolmentToken(/*is_admin=*/true, std::chrono::hours(24),
                                                 "first-admin");
  if (!token) {
    return core::Fail(token.error());
  }
  log_.Info("webchat.first_admin_link", {{"valid_hours", int64_t{24}}});
  return std::optional<std::string>(base_url + "/enrol?t=" + std::string(token->Reveal()));
}

void Gateway::StartSweeper() {
  sweeper_ = std::thread([this] {
    // Rate-cap windows are at most 31 days (docs/policy.md); older uses count for nothing.
    constexpr auto kLongestRateWindow = std::chrono::hours(24 * 31);
    constexpr int kSweepsPerPrune = 120;  // every ten minutes
    int sweeps = 0;
    std::unique_lock<std::mutex> lock(sweeper_mu_);
    while (!sweeper_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return sweeper_stop_; })) {
      lock.unlock();
      break_glass_->Sweep();
      dispatcher_->SweepApprovals();
      if (++sweeps % kSweepsPerPrune == 1) {
        if (auto pruned = rate_events_->PruneBefore(clock_.Now() - kLongestRateWindow); !pruned) {
          log_.Warn("policy.rate_prune_failed", {{"error", pruned.error().message}});
        }
        if (auto pruned = dialogs_->PruneExpired(clock_.Now()); !pruned) {
          log_.Warn("dialog.prune_failed", {{"error", pruned.error().message}});
        }
      }
      lock.lock();
    }
  });
}

void Gateway::StopSweeper() {
  {
    std::lock_guard<std::mutex> lock(sweeper_mu_);
    sweeper_stop_ = true;
  }
  sweeper_cv_.notify_all();
  if (sweeper_.joinable()) {
    sweeper_.join();
  }
}

void Gateway::Run() {
  server_->Run();
  StopSweeper();
  if (webchat_ != nullptr) {
    webchat_->Shutdown();  // its queued work may still append to the audit log
  }
  if (slow_work_ != nullptr) {
    slow_work_->Shutdown();  // AWS actions under way finish and queue their replies
  }
  // Answer what is still waiting on the replay memory (its callbacks use the
  // connectors), then the audit log's completions queue the last replies.
  seen_keys_->Drain();
  DrainOutbound();
  CloseAudit();
  StopExport();
}

void Gateway::CloseAudit() {
  if (auto st = audit_->Close(); !st) {
    log_.Error("audit.close_failed",
               {{"error", st.error().message},
                {"action", "the last records are durable but not covered by a signed tree head; "
                           "the next start signs one"}});
    return;
  }
  log_.Info("audit.closed", {{"records", audit_->size()}});
}

void Gateway::DrainOutbound() {
  const size_t queued = sender_->queued();
  const auto timeout = config_->server.drain_timeout;
  std::promise<void> drained;
  std::future<void> done = drained.get_future();
  std::thread drainer([this, &drained] {
    sender_->Shutdown(http::ShutdownMode::kDrain);
    drained.set_value();
  });
  if (done.wait_for(timeout) != std::future_status::ready) {
    log_.Warn("outbound.drain_timeout",
              {{"queued", static_cast<uint64_t>(sender_->queued())},
               {"action", "replies still queued after server.drain_timeout were cancelled"}});
    sender_->Shutdown(http::ShutdownMode::kCancel);
  }
  drainer.join();
  log_.Info("outbound.drained", {{"queued_at_stop", static_cast<uint64_t>(queued)}});
}

std::shared_ptr<const core::Secret> Gateway::MetricsToken() const {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_token_;
}

void Gateway::NoteKeyRotation(const std::string& before, const std::string& after) {
  log_.Info("keys.rotated", {{"previous_key", before}, {"current_key", after}});
  audit::Record r;
  r.kind = audit::RecordKind::kAdmin;
  r.correlation_id = "keys-rotate-" + after;
  r.action = "keys.rotate";
  r.resource = "kek:" + after;
  r.result = "ok";
  r.reason = "key-encryption key " + before + " retired, " + after + " current";
  audit_->Append(std::move(r), [this](core::Result<uint64_t> seq) {
    if (!seq) {
      log_.Error("audit.append_failed", {{"event", "keys.rotate"}, {"error", seq.error().message}});
    }
  });
}

core::Status Gateway::Reload() {
  std::shared_ptr<const config::Config> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = config_;
  }
  auto rejected = [&](const core::Error& e) {
    reloads_->With({"rejected"}).Inc();
    log_.Error("config.reload_rejected",
               {{"config", old->source_path}, {"error", e.message},
                {"action", "kept the running configuration; fix the file and send SIGHUP again"}});
    return core::Fail(e);
  };

  auto loaded = config::LoadConfigFile(old->source_path);
  if (!loaded) {
    return rejected(loaded.error());
  }
  const auto fresh = loaded->config;
  auto token = ResolveMetricsToken(*fresh);
  if (!token) {
    return rejected(token.error());
  }
  // Always re-read the TLS files: renewing a certificate in place is the common case.
  if (fresh->server.tls) {
    if (auto st = server_->ReloadTls(*fresh->server.tls); !st) {
      return rejected(st.error());
    }
  }
  // Key files: `opsgate keys rotate` wrote a new data.key; start sealing under it.
  if (key_provider_ != nullptr) {
    const std::string before = key_provider_->CurrentKeyId();
    auto changed = key_provider_->Reload();
    if (!changed) {
      return rejected(changed.error());
    }
    if (*changed) {
      NoteKeyRotation(before, key_provider_->CurrentKeyId());
    }
  }
  // The policy file is re-read on every SIGHUP; a broken one keeps the running policy.
  auto policy = LoadPolicy(fresh->policy);
  if (!policy) {
    return rejected(policy.error());
  }
  server_->SetLimits(fresh->server.limits);
  policy_->Replace(*policy);
  // Accepted rephrasings (`opsgate nlu accept`) take effect now; a failure keeps the
  // classifier in use.
  if (auto trained = TrainClassifier(*old); !trained) {
    log_.Warn("nlu.retrain_failed", {{"error", trained.error().message}});
  }
  log_.Info("policy.loaded",
            {{"file", fresh->policy.file.empty() ? std::string("(built-in)") : fresh->policy.file},
             {"statements", static_cast<uint64_t>((*policy)->statements.size())}});
  if (auto level = telemetry::ParseLogLevel(fresh->log.level)) {
    log_.SetLevel(*level);
  }

  std::vector<std::string> needs_restart;
  if (fresh->server.listen_host != old->server.listen_host ||
      fresh->server.listen_port != old->server.listen_port) {
    needs_restart.emplace_back("server.listen");
  }
  if (fresh->server.threads != old->server.threads) {
    needs_restart.emplace_back("server.threads");
  }
  if (fresh->server.behind_tls_proxy != old->server.behind_tls_proxy) {
    needs_restart.emplace_back("server.behind_tls_proxy");
  }
  if (fresh->store.path != old->store.path || fresh->store.driver != old->store.driver) {
    needs_restart.emplace_back("store");
  }
  if (fresh->audit.path != old->audit.path || fresh->audit.signing_key != old->audit.signing_key ||
      fresh->audit.tree_head_every != old->audit.tree_head_every ||
      fresh->audit.tree_head_interval != old->audit.tree_head_interval ||
      fresh->audit.max_batch != old->audit.max_batch ||
      fresh->audit.rejection_records_per_second != old->audit.rejection_records_per_second ||
      fresh->audit.syslog_export != old->audit.syslog_export ||
      fresh->audit.seal_fields != old->audit.seal_fields || fresh->keys.dir != old->keys.dir) {
    needs_restart.emplace_back("audit");
  }
  // Secret references compare by what they point at, never by the secret.
  const auto ref = [](const std::optional<config::SecretRef>& r) {
    return r ? r->Describe() : std::string();
  };
  // Connectors and the outbound client are built once at start.
  const auto slack_differs = [&ref](const config::Config& a, const config::Config& b) {
    const auto& x = a.connectors.slack;
    const auto& y = b.connectors.slack;
    if (x.has_value() != y.has_value()) {
      return true;
    }
    if (!x) {
      return false;
    }
    return x->enabled != y->enabled || x->api_url != y->api_url || x->team_ids != y->team_ids ||
           x->replay_window != y->replay_window || x->body_bytes != y->body_bytes ||
           x->command != y->command || ref(x->signing_secret) != ref(y->signing_secret) ||
           ref(x->bot_token) != ref(y->bot_token);
  };
  if (slack_differs(*fresh, *old)) {
    needs_restart.emplace_back("connectors.slack");
  }
  if (fresh->redact.extra_patterns != old->redact.extra_patterns) {
    needs_restart.emplace_back("redact.extra_patterns");
  }
  if (fresh->outbound.ca_file != old->outbound.ca_file) {
    needs_restart.emplace_back("outbound.ca_file");
  }
  const auto& fa = fresh->policy.approvals;
  const auto& oa = old->policy.approvals;
  if (fa.ttl != oa.ttl || fa.approver_mfa_max_age != oa.approver_mfa_max_age ||
      fa.slack_channel != oa.slack_channel) {
    needs_restart.emplace_back("policy.approvals");
  }
  if (fresh->intents.file != old->intents.file) {
    needs_restart.emplace_back("intents.file");
  }
  const auto& fw = fresh->aws;
  const auto& ow = old->aws;
  if (fw.enabled != ow.enabled || fw.region != ow.region || fw.account != ow.account ||
      fw.roles != ow.roles || fw.waf_ipv4 != ow.waf_ipv4 || fw.waf_ipv6 != ow.waf_ipv6 ||
      fw.resize_timeout != ow.resize_timeout || fw.workers != ow.workers || fw.queue != ow.queue) {
    needs_restart.emplace_back("aws");
  }
  const auto& fb = fresh->policy.break_glass;
  const auto& ob = old->policy.break_glass;
  if (fb.max_duration != ob.max_duration || fb.default_duration != ob.default_duration ||
      fb.slack_channel != ob.slack_channel) {
    needs_restart.emplace_back("policy.break_glass");
  }
  const auto identity_differs = [&ref](const config::IdentityConfig& a,
                                       const config::IdentityConfig& b) {
    if (a.public_url != b.public_url || a.link_token_ttl != b.link_token_ttl ||
        a.link_ttl != b.link_ttl || a.oidc.has_value() != b.oidc.has_value()) {
      return true;
    }
    if (!a.oidc) {
      return false;
    }
    const config::OidcConfig& x = *a.oidc;
    const config::OidcConfig& y = *b.oidc;
    return x.issuer != y.issuer || x.client_id != y.client_id || x.client_auth != y.client_auth ||
           x.redirect_uri != y.redirect_uri || x.scopes != y.scopes ||
           x.groups_claim != y.groups_claim || x.allow_http != y.allow_http ||
           ref(x.client_secret) != ref(y.client_secret);
  };
  if (identity_differs(fresh->identity, old->identity)) {
    needs_restart.emplace_back("identity");
  }
  if (fresh->webchat.enabled != old->webchat.enabled) {
    needs_restart.emplace_back("webchat.enabled");
  }
  for (const auto& key : needs_restart) {
    log_.Warn("config.reload_needs_restart",
              {{"key", key}, {"action", "restart opsgate to apply this change; the old value "
                                        "stays in force until then"}});
  }
  for (const auto& w : loaded->warnings) {
    log_.Warn("config.warning", {{"detail", w.ToString()}});
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    config_ = fresh;
    metrics_token_ = *token;
  }
  reloads_->With({"applied"}).Inc();
  log_.Info("config.reloaded", {{"config", fresh->source_path}});
  return core::Ok();
}

}  // namespace opsgate::app
