// File: opsgate/connectors/connector.h
//
// A Connector is one chat platform's door into opsgate: it registers its HTTP
// routes, verifies what arrives (signature, token, replay window, dedupe), parses
// it into a pipeline::Message and acknowledges within the platform's deadline.
//
// Connectors are created by ConnectorFactory objects that app/wiring.cc registers
// explicitly (no static registration: static libraries drop unreferenced objects).
// A factory validates its part of the config once and builds a connector holding
// only typed, immutable settings.
//
// Thread-safety: route handlers run concurrently on I/O threads; a Connector must be
// safe for that. The deps passed to Create() outlive the connector.
#pragma once

#include <memory>
#include <string_view>

#include "opsgate/audit/rejection_limiter.h"
#include "opsgate/audit/sink.h"
#include "opsgate/config/config.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/http/client/http_client.h"
#include "opsgate/http/client/retrying_sender.h"
#include "opsgate/http/router.h"
#include "opsgate/identity/linking/linker.h"
#include "opsgate/pipeline/authorizer.h"
#include "opsgate/pipeline/dispatcher.h"
#include "opsgate/store/seen_keys.h"
#include "opsgate/store/store.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::redact {
class Redactor;
}  // namespace opsgate::redact

namespace opsgate::connectors {

// What a connector may use. All references outlive every connector.
struct ConnectorDeps {
  const core::Clock& clock;
  telemetry::Logger& log;
  telemetry::MetricsRegistry& metrics;
  store::Store& store;
  // Replay and dedupe memory, shared by all connectors (scope the keys by platform).
  store::SeenKeys& seen_keys;
  // Outbound HTTPS (outbound.ca_file applied). Blocking: never call it on an I/O thread.
  http::HttpClient& http;
  // Where replies go after the acknowledgement: off the I/O threads, with retries.
  // The gateway drains it after the server has stopped (bounded by drain_timeout).
  http::RetryingSender& sender;
  // The audit log (audit/sink.h): every request before anything acts on it, every
  // rejection, every outcome. Outlives the sender, so reply callbacks may append.
  audit::AuditSink& audit;
  // Strips secrets (tokens, keys, passwords...) from text before it is stored; null
  // stores text as received (tests).
  const redact::Redactor* redactor = nullptr;
  // Samples rejection records under a flood (audit/rejection_limiter.h), shared by all
  // connectors; null records every rejection (tests).
  audit::RejectionLimiter* rejections = nullptr;
  // Identity linking (identity.oidc); null: not configured, askers stay unlinked and
  // the built-in commands answer everyone.
  identity::Linker* linker = nullptr;
  // Policy (docs/policy.md), set whenever `linker` is: what a message asks for, whether
  // the asker may, and what follows (deny, MFA, approval, run). Null: built-ins only.
  pipeline::Authorizer* authorizer = nullptr;
  pipeline::Dispatcher* dispatcher = nullptr;
  // How commands are read (the intent catalogue, default region, AWS account).
  pipeline::UnderstandEnv understand{};
  // Where connectors register how to tell a requester about their approval request.
  pipeline::Notifier* notifier = nullptr;
  // Runs a handler's next step on an I/O thread (http::Server::Post), so the store's
  // writer thread that finished the previous step goes straight back to writing. Null
  // (tests): the step runs on the calling thread.
  std::function<void(std::function<void()>)> run_on_io = nullptr;
};

class Connector {
 public:
  virtual ~Connector() = default;
  // The platform name, as in Message::platform ("slack").
  virtual std::string_view Name() const = 0;
  // Adds this connector's routes. Errors: whatever Router::Add returns.
  [[nodiscard]] virtual core::Status RegisterRoutes(http::Router& router) = 0;
};

class ConnectorFactory {
 public:
  virtual ~ConnectorFactory() = default;
  virtual std::string_view Name() const = 0;
  // Whether the config asks for this connector.
  virtual bool Enabled(const config::Config& config) const = 0;
  // Builds the connector from the (already validated) config. Errors: secrets that
  // cannot be resolved (kNotFound / kFailedPrecondition), naming the reference.
  // A null connector (no error) means "off after all": the config left the choice to
  // the factory (e.g. enabled: auto without its secret), and the factory has logged why.
  [[nodiscard]] virtual core::Result<std::unique_ptr<Connector>> Create(
      const config::Config& config, ConnectorDeps& deps) = 0;
};

}  // namespace opsgate::connectors
