#include "opsgate/app/commands.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "opsgate/app/gateway.h"
#include "opsgate/audit/export/export_range.h"
#include "opsgate/audit/merkle.h"
#include "opsgate/audit/record.h"
#include "opsgate/audit/sealing.h"
#include "opsgate/audit/tree_head.h"
#include "opsgate/audit/verifier.h"
#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/store/sqlite/sqlite_audit_store.h"
#include "opsgate/app/init.h"
#include "opsgate/app/version.h"
#include "opsgate/config/loader.h"
#include "opsgate/crypto/key_provider.h"
#include "opsgate/crypto/keys.h"
#include "opsgate/intents/catalogue_yaml.h"
#include "opsgate/store/sqlite/sqlite_nlu_store.h"
#include "opsgate/intents/classifier.h"
#include "opsgate/intents/intents.h"
#include "opsgate/intents/nlu_eval.h"
#include "opsgate/policy/builtin_policy.h"
#include "opsgate/policy/evaluator.h"
#include "opsgate/policy/lint.h"
#include "opsgate/policy/policy.h"
#include "opsgate/policy/policy_table.h"
#include "opsgate/redact/redactor.h"

namespace opsgate::app {
namespace {

namespace fs = std::filesystem;

void PrintNextSteps(const config::Config& c, const std::string& host, uint16_t port,
                    Gateway& gateway) {
  const bool tls = !c.server.behind_tls_proxy;
  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const std::string url = (tls ? "https://" : "http://") + shown_host + ":" + std::to_string(port);
  std::cout << "opsgate " OPSGATE_VERSION " is serving " << url << "  (pid " << ::getpid()
            << ")\n"
            << "  config:  " << c.source_path << "\n"
            << "  store:   " << c.store.path << "\n";
  if (c.webchat.enabled) {
    std::cout << "  web chat: " << url << "/\n";
    auto link = gateway.FirstAdminEnrolment(url);
    if (!link) {
      std::cout << "  (could not make a first-administrator link: " << link.error().message
                << ")\n";
    } else if (*link) {
      std::cout << "  first administrator: " << **link << "\n"
                << "           (open it once, within 24 hours, to choose a user name, password\n"
                << "            and authenticator app; it is printed until an admin exists)\n";
    }
  }
  if (tls && c.server.tls) {
    std::cout << "  try:     curl --cacert " << c.server.tls->cert_file << " " << url
              << "/healthz\n";
  } else {
    std::cout << "  try:     curl " << url << "/healthz\n";
  }
  std::cout << "  metrics: " << url << "/metrics (Prometheus)\n"
            << "  next:    connect a chat platform (docs/slack.md), edit the config, then\n"
            << "           `opsgate check --config " << c.source_path << "` and `kill -HUP "
            << ::getpid() << "`\n"
            << "  stop:    Ctrl-C (finishes in-flight requests first)\n"
            << std::flush;
}

int PrintLoadError(const core::Error& e) {
  std::cerr << e.message << "\n";
  return 1;
}

// The audit section of the config, the opened audit database and, when the key files
// are readable, what opens sealed fields; prints the problem and returns nullopt on
// failure.
struct OpenedAudit {
  std::shared_ptr<const config::Config> full;
  config::AuditConfig config;
  std::unique_ptr<store::SqliteAuditStore> store;
  std::unique_ptr<crypto::LocalFileKeyProvider> keys;  // null: sealed fields stay sealed
  std::unique_ptr<crypto::FieldSealer> sealer;
};

std::optional<OpenedAudit> OpenAudit(const AuditOptions& options, std::string_view command) {
  auto loaded = config::LoadConfigFile(options.config_path);
  if (!loaded) {
    std::cerr << loaded.error().message << "\n";
    return std::nullopt;
  }
  OpenedAudit out{loaded->config, loaded->config->audit, nullptr, nullptr, nullptr};
  if (!fs::exists(out.config.path)) {
    std::cerr << "opsgate audit " << command << ": no audit log at " << out.config.path
              << " (audit.path); it is created by `opsgate serve`\n";
    return std::nullopt;
  }
  auto store = store::SqliteAuditStore::Open(out.config.path);
  if (!store) {
    std::cerr << "opsgate audit " << command << ": " << store.error().message << "\n";
    return std::nullopt;
  }
  out.store = std::move(*store);
  if (options.decrypt) {
    auto keys = crypto::LocalFileKeyProvider::Open(loaded->config->keys.dir);
    if (keys) {
      out.keys = std::move(*keys);
      out.sealer = std::make_unique<crypto::FieldSealer>(*out.keys);
    } else {
      std::cerr << "opsgate audit " << command << ": sealed fields stay sealed: "
                << keys.error().message << "\n";
    }
  }
  return out;
}

void PrintRecord(const store::AuditRow& row, crypto::FieldSealer* sealer) {
  auto rec = audit::DecodeRecord(row.record);
  if (!rec) {
    std::cout << "{\"seq\":" << row.seq << ",\"error\":\"" << core::JsonEscape(rec.error().message)
              << "\"}\n";
    return;
  }
  if (sealer != nullptr) {
    if (auto st = audit::OpenRecordFields(*rec, *sealer); !st) {
      std::cerr << "opsgate audit: cannot open sealed fields of " << st.error().message << "\n";
    }
  }
  std::cout << audit::RecordToJson(*rec) << "\n";
}

}  // namespace

int RunAuditVerify(const AuditOptions& options) {
  auto opened = OpenAudit(options, "verify");
  if (!opened) {
    return 1;
  }
  auto key = audit::TreeHeadKey::FromPemFile(opened->config.public_key);
  if (!key) {
    std::cerr << "opsgate audit verify: " << key.error().message << "\n";
    return 1;
  }
  auto report = audit::VerifyAuditLog(*opened->store, *key);
  if (!report) {
    std::cerr << "opsgate audit verify: " << report.error().message << "\n";
    return 1;
  }
  if (!report->ok) {
    std::cerr << "audit log " << opened->config.path << " FAILED verification: ";
    if (report->first_bad_seq) {
      std::cerr << "first bad record: seq " << *report->first_bad_seq << ": ";
    }
    std::cerr << report->problem << "\n";
    return 1;
  }
  std::cout << "verified " << report->records << " records, " << report->tree_heads
            << " tree heads";
  if (report->unsigned_records > 0) {
    std::cout << " (" << report->unsigned_records
              << " newest records not yet covered by a signed tree head; checked for order and "
                 "hashes only)";
  }
  std::cout << "\n";
  return 0;
}

int RunAuditShow(const AuditOptions& options) {
  auto opened = OpenAudit(options, "show");
  if (!opened) {
    return 1;
  }
  auto st = opened->store->ForEachRecord(options.from, options.limit,
                                         [&](const store::AuditRow& row) {
                                           PrintRecord(row, opened->sealer.get());
                                           return true;
                                         });
  if (!st) {
    std::cerr << "opsgate audit show: " << st.error().message << "\n";
    return 1;
  }
  return 0;
}

int RunAuditProve(const AuditOptions& options) {
  auto opened = OpenAudit(options, "prove");
  if (!opened) {
    return 1;
  }
  auto head = opened->store->LatestTreeHead();
  if (!head || !*head) {
    std::cerr << "opsgate audit prove: "
              << (head ? "no signed tree head yet" : head.error().message) << "\n";
    return 1;
  }
  const store::TreeHeadRow& h = **head;
  if (options.seq >= h.tree_size) {
    std::cerr << "opsgate audit prove: record " << options.seq
              << " is not covered by the latest signed tree head (size " << h.tree_size
              << "); try again after the next tree head\n";
    return 1;
  }
  auto raw = opened->store->LeafHashes(h.tree_size);
  if (!raw) {
    std::cerr << "opsgate audit prove: " << raw.error().message << "\n";
    return 1;
  }
  std::vector<audit::Hash> leaves(raw->size());
  for (size_t i = 0; i < raw->size(); ++i) {
    std::copy((*raw)[i].begin(), (*raw)[i].end(), leaves[i].begin());
  }
  std::string record;
  (void)opened->store->ForEachRecord(options.seq, 1, [&](const store::AuditRow& row) {
    record = row.record;
    return false;
  });
  const audit::Hash leaf = audit::LeafHash(record);
  auto proof = audit::InclusionProof(leaves, options.seq, h.tree_size);
  audit::Hash root{};
  std::copy(h.root.begin(), h.root.end(), root.begin());
  if (!proof || h.root.size() != 32 ||
      !audit::VerifyInclusion(options.seq, h.tree_size, leaf, *proof, root)) {
    std::cerr << "opsgate audit prove: record " << options.seq
              << " does not prove against the signed root; run `opsgate audit verify`\n";
    return 1;
  }
  std::cout << "{\"seq\":" << options.seq << ",\"tree_size\":" << h.tree_size
            << ",\"timestamp_ms\":" << h.timestamp_ms << ",\"root\":\"" << crypto::HexEncode(h.root)
            << "\",\"signature\":\"" << crypto::Base64Encode(h.signature) << "\",\"key_id\":\""
            << h.key_id << "\",\"record\":\"" << crypto::Base64Encode(record)
            << "\",\"leaf_hash\":\"" << crypto::HexEncode(leaf) << "\",\"proof\":[";
  for (size_t i = 0; i < proof->size(); ++i) {
    std::cout << (i ? "," : "") << "\"" << crypto::HexEncode((*proof)[i]) << "\"";
  }
  std::cout << "]}\n";
  return 0;
}

int RunAuditExport(const AuditOptions& options) {
  auto format = audit::siem::ParseExportFormat(options.format);
  if (!format) {
    std::cerr << "opsgate audit export: " << format.error().message << "\n";
    return 2;
  }
  auto opened = OpenAudit(options, "export");
  if (!opened) {
    return 1;
  }
  auto redactor = redact::Redactor::Create(opened->full->redact.extra_patterns);
  if (!redactor) {
    std::cerr << "opsgate audit export: redact.extra_patterns: " << redactor.error().message
              << "\n";
    return 1;
  }
  audit::siem::FormatOptions format_options;
  if (opened->sealer != nullptr) {
    format_options.decrypt = [sealer = opened->sealer.get()](uint64_t seq, std::string_view name,
                                                             const audit::Field& field) {
      auto plain = sealer->Open(field.bytes, audit::SealedFieldAad(seq, name));
      return plain ? std::optional<std::string>(std::move(*plain)) : std::nullopt;
    };
  }
  auto formatter = audit::siem::RecordFormatter::Create(std::move(*redactor), format_options);
  if (!formatter) {
    std::cerr << "opsgate audit export: " << formatter.error().message << "\n";
    return 1;
  }
  auto n = audit::siem::ExportRange(*opened->store, options.from, options.to, *format, *formatter,
                                    std::cout);
  std::cout << std::flush;
  if (!n) {
    std::cerr << "opsgate audit export: " << n.error().message << "\n";
    return 1;
  }
  std::cerr << "exported " << *n << " records\n";
  return 0;
}

namespace {
volatile std::sig_atomic_t g_tail_stop = 0;
}  // namespace

int RunAuditTail(const AuditOptions& options) {
  auto opened = OpenAudit(options, "tail");
  if (!opened) {
    return 1;
  }
  auto count = opened->store->RecordCount();
  if (!count) {
    std::cerr << "opsgate audit tail: " << count.error().message << "\n";
    return 1;
  }
  uint64_t next = *count > options.limit ? *count - options.limit : 0;
  std::signal(SIGINT, [](int) { g_tail_stop = 1; });
  std::signal(SIGTERM, [](int) { g_tail_stop = 1; });
  do {
    auto st = opened->store->ForEachRecord(next, UINT64_MAX, [&](const store::AuditRow& row) {
      PrintRecord(row, opened->sealer.get());
      next = row.seq + 1;
      return true;
    });
    if (!st) {
      std::cerr << "opsgate audit tail: " << st.error().message << "\n";
      return 1;
    }
    std::cout << std::flush;
    if (options.follow) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  } while (options.follow && g_tail_stop == 0);
  return 0;
}

int RunKeys(const KeysOptions& options) {
  auto loaded = config::LoadConfigFile(options.config_path);
  if (!loaded) {
    return PrintLoadError(loaded.error());
  }
  const std::string& dir = loaded->config->keys.dir;
  auto keys = crypto::LocalFileKeyProvider::Open(dir);
  if (!keys) {
    std::cerr << "opsgate keys: " << keys.error().message << "\n";
    return 1;
  }
  if (options.rotate) {
    const std::string before = (*keys)->CurrentKeyId();
    auto id = (*keys)->Rotate();
    if (!id) {
      std::cerr << "opsgate keys rotate: " << id.error().message << "\n";
      return 1;
    }
    std::cout << "key-encryption key " << *id << " is now current in " << dir << "\n"
              << "retired " << before << " (kept as data-" << before
              << ".key: records sealed under it stay readable; keep it)\n"
              << "a running opsgate starts using the new key on SIGHUP (kill -HUP <pid>) or "
                 "restart, and audits the rotation\n";
    return 0;
  }
  const std::string current = (*keys)->CurrentKeyId();
  for (const std::string& id : (*keys)->KeyIds()) {
    std::cout << id << (id == current ? "  current" : "  retired") << "\n";
  }
  return 0;
}

int RunInit(const InitCommandOptions& options) {
  core::SystemClock clock;
  auto result = InitDataDir({options.dir, options.extra_hosts, 90}, clock);
  if (!result) {
    std::cerr << "opsgate init: " << result.error().message << "\n";
    return 1;
  }
  std::cout << "Created " << result->files.size() << " files in "
            << fs::path(result->config_path).parent_path().string() << ":\n";
  for (const auto& f : result->files) {
    std::cout << "  " << f << "\n";
  }
  std::cout << "Next: opsgate serve --config " << result->config_path << "\n"
            << "The certificate is self-signed for development; clients trust it with "
            << "--cacert " << result->cert_path << "\n";
  return 0;
}

namespace {

void PrintPolicyDiagnostics(const std::vector<policy::Diagnostic>& diags) {
  for (const auto& d : diags) {
    std::cerr << d.ToString() << "\n";
  }
}

// The policy named by --policy, or by the config (policy.file, or the built-in policy
// when it is empty). Prints what is wrong and returns nullopt on failure; `*source` says
// where the policy came from.
std::optional<policy::Policy> LoadPolicyFrom(const std::string& config_path,
                                             const std::string& policy_path,
                                             std::string_view command, std::string* source) {
  if (!config_path.empty() && !policy_path.empty()) {
    std::cerr << "opsgate policy " << command << ": give --config or --policy, not both\n";
    return std::nullopt;
  }
  std::string file = policy_path;
  if (!config_path.empty()) {
    auto loaded = config::LoadConfigFile(config_path);
    if (!loaded) {
      std::cerr << loaded.error().message << "\n";
      return std::nullopt;
    }
    file = loaded->config->policy.file;
    if (file.empty()) {
      *source = std::string(policy::kBuiltinPolicyName);
      auto builtin = policy::ParsePolicy(policy::kBuiltinPolicyYaml, policy::kBuiltinPolicyName);
      if (!builtin) {
        PrintPolicyDiagnostics(builtin.error());
        return std::nullopt;
      }
      return std::move(*builtin);
    }
  }
  *source = file;
  auto parsed = policy::LoadPolicyFile(file);
  if (!parsed) {
    PrintPolicyDiagnostics(parsed.error());
    return std::nullopt;
  }
  return std::move(*parsed);
}

std::string FormatSeconds(std::chrono::seconds s) {
  const auto n = s.count();
  if (n != 0 && n % 86400 == 0) {
    return std::to_string(n / 86400) + "d";
  }
  if (n != 0 && n % 3600 == 0) {
    return std::to_string(n / 3600) + "h";
  }
  if (n != 0 && n % 60 == 0) {
    return std::to_string(n / 60) + "m";
  }
  return std::to_string(n) + "s";
}

}  // namespace

int RunCheck(const CheckOptions& options) {
  auto loaded = config::LoadConfigFile(options.config_path);
  if (!loaded) {
    return PrintLoadError(loaded.error());
  }
  const auto& c = *loaded->config;
  std::vector<std::string> errors;
  if (c.server.tls) {
    core::SystemClock clock;
    auto pair = crypto::CheckCertificatePair(c.server.tls->cert_file, c.server.tls->key_file,
                                             clock.Now());
    if (!pair) {
      errors.push_back(c.source_path + ": server.tls: " + pair.error().message);
    }
  }
  if (auto redactor = redact::Redactor::Create(c.redact.extra_patterns); !redactor) {
    errors.push_back(c.source_path + ": redact.extra_patterns: " + redactor.error().message);
  }
  // What `serve` opens at start: the tree-head key pair and the key-encryption keys.
  if (auto signer = audit::TreeHeadSigner::FromPemFile(c.audit.signing_key); !signer) {
    errors.push_back(c.source_path + ": audit.signing_key: " + signer.error().message);
  } else if (auto key = audit::TreeHeadKey::FromPemFile(c.audit.public_key); !key) {
    errors.push_back(c.source_path + ": audit.public_key: " + key.error().message);
  } else if ((*signer)->public_key().key_id() != key->key_id()) {
    errors.push_back(c.source_path + ": audit.public_key: " + c.audit.public_key +
                     " is not the public half of audit.signing_key " + c.audit.signing_key +
                     " (`opsgate audit verify` would refuse every tree head)");
  }
  if (c.audit.seal_fields || c.webchat.enabled) {  // sealed audit fields, sealed TOTP secrets
    if (auto keys = crypto::LocalFileKeyProvider::Open(c.keys.dir); !keys) {
      errors.push_back(c.source_path + ": keys.dir: " + keys.error().message);
    }
  }
  // The policy `serve` would enforce: parse errors are errors, risky statements warnings.
  std::vector<std::string> policy_warnings;
  if (!c.policy.file.empty()) {
    auto policy = policy::LoadPolicyFile(c.policy.file);
    if (!policy) {
      for (const auto& d : policy.error()) {
        errors.push_back(d.ToString());
      }
    } else {
      for (const auto& f : policy::Lint(*policy)) {
        policy_warnings.push_back(c.policy.file + ": statements[" + f.statement + "]: " + f.rule +
                                  ": " + f.message);
      }
    }
  }
  // The intent catalogue `serve` would load.
  if (!c.intents.file.empty()) {
    if (auto catalogue = intents::LoadCatalogueFile(c.intents.file); !catalogue) {
      for (const auto& d : catalogue.error()) {
        errors.push_back(d.ToString());
      }
    }
  }
  for (const auto& w : loaded->warnings) {
    std::cerr << w.ToString() << "\n";
  }
  for (const auto& w : policy_warnings) {
    std::cerr << w << "\n";
  }
  for (const auto& e : errors) {
    std::cerr << e << "\n";
  }
  if (!errors.empty()) {
    return 1;
  }
  std::cout << c.source_path << ": OK";
  const size_t warnings = loaded->warnings.size() + policy_warnings.size();
  if (warnings > 0) {
    std::cout << " (" << warnings << " warning" << (warnings == 1 ? "" : "s") << ")";
  }
  std::cout << "\n";
  return 0;
}

int RunServe(const ServeOptions& options) {
  core::SystemClock clock;
  std::string config_path = options.config_path;
  if (config_path.empty()) {
    const fs::path dir = fs::absolute(options.data_dir).lexically_normal();
    config_path = (dir / "opsgate.yaml").string();
    if (!fs::exists(config_path)) {
      std::cout << "First start: creating " << dir.string()
                << " (config, SQLite store, development certificate and keys)\n";
      auto init = InitDataDir({dir.string(), {}, 90}, clock);
      if (!init) {
        std::cerr << "opsgate serve: " << init.error().message << "\n";
        return 1;
      }
    }
  }

  auto loaded = config::LoadConfigFile(config_path);
  if (!loaded) {
    return PrintLoadError(loaded.error());
  }
  const auto config = loaded->config;

  ServeOverrides overrides;
  if (!options.listen.empty()) {
    auto listen = config::ParseListenAddress(options.listen);
    if (!listen) {
      std::cerr << "opsgate serve: --listen " << options.listen << ": "
                << listen.error().message << "\n";
      return 2;
    }
    overrides.listen_host = listen->host;
    overrides.listen_port = listen->port;
  }

  auto sink = telemetry::MakeStderrSink();
  telemetry::Logger log(*sink, clock,
                        telemetry::ParseLogLevel(config->log.level).value_or(
                            telemetry::LogLevel::kInfo));
  for (const auto& w : loaded->warnings) {
    log.Warn("config.warning", {{"detail", w.ToString()}});
  }

  auto gateway = Gateway::Create(config, overrides, log, clock);
  if (!gateway) {
    log.Error("startup.failed", {{"error", gateway.error().message}});
    std::cerr << "opsgate serve: " << gateway.error().message << "\n";
    return 1;
  }
  if (auto st = (*gateway)->Start(); !st) {
    log.Error("startup.failed", {{"error", st.error().message}});
    std::cerr << "opsgate serve: " << st.error().message << "\n";
    return 1;
  }
  PrintNextSteps(*config, overrides.listen_host.value_or(config->server.listen_host),
                 (*gateway)->port(), **gateway);
  (*gateway)->Run();
  log.Info("shutdown.complete");
  return 0;
}

int RunPolicyExplain(const PolicyExplainOptions& options) {
  constexpr std::string_view kUsage = "opsgate policy explain: ";
  if (options.config_path.empty() == options.policy_path.empty()) {
    std::cerr << kUsage << "give exactly one of --config FILE and --policy FILE\n";
    return kPolicyUsageError;
  }
  if (options.principal.empty() || options.action.empty()) {
    std::cerr << kUsage << "--principal and --action are required\n";
    return kPolicyUsageError;
  }
  if (options.dm && !options.channel.empty()) {
    std::cerr << kUsage << "give --channel or --dm, not both\n";
    return kPolicyUsageError;
  }
  policy::Request r;
  r.principal.id = options.principal;
  r.principal.user = options.principal;
  r.principal.groups = options.groups;
  r.principal.roles = options.roles;
  r.action = options.action;
  r.resource = options.resource;
  r.platform = options.platform;
  r.workspace = options.workspace;
  r.channel = options.channel;
  r.is_dm = options.dm;
  if (!options.channel_posture.empty()) {
    r.channel_external = options.channel_posture == "shared";
  }
  r.now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  if (!options.at.empty()) {
    auto at = policy::ParseUtcTime(options.at);
    if (!at) {
      std::cerr << kUsage << "--at " << options.at
                << ": expected an RFC 3339 UTC time such as 2026-01-05T12:00:00Z\n";
      return kPolicyUsageError;
    }
    r.now = *at;
  }
  if (!options.mfa_age.empty()) {
    auto age = policy::ParseAge(options.mfa_age);
    if (!age) {
      std::cerr << kUsage << "--mfa-age " << options.mfa_age
                << ": expected a duration such as 90s, 15m, 2h or 1d\n";
      return kPolicyUsageError;
    }
    r.principal.mfa_at = r.now - *age;
  }
  std::string source;
  auto policy = LoadPolicyFrom(options.config_path, options.policy_path, "explain", &source);
  if (!policy) {
    return kPolicyUsageError;
  }

  // No rate counter: statements with rate caps cannot be evaluated here (they deny).
  const policy::Decision d = policy::Evaluate(*policy, r, policy::EvalContext{});
  std::cout << "decision:  " << policy::EffectName(d.effect) << "\n"
            << "statement: " << d.statement << "\n"
            << "reason:    " << d.reason << "\n";
  if (d.session_duration) {
    std::cout << "session_duration: " << FormatSeconds(*d.session_duration) << "\n";
  }
  std::cout << "policy:    " << source << "\n";
  for (const auto& s : policy->statements) {
    if (s.id == d.statement && (s.conditions.per_principal || s.conditions.total)) {
      std::cout << "note: statement '" << s.id
                << "' has rate caps; explain has no usage counts, so it cannot be evaluated "
                   "here and denies. The running gateway counts uses; `opsgate policy test` "
                   "takes them from a case's `uses:`.\n";
    }
  }
  switch (d.effect) {
    case policy::Decision::Effect::kAllow:
      return kExplainAllow;
    case policy::Decision::Effect::kDeny:
      return kExplainDeny;
    case policy::Decision::Effect::kNeedsMfa:
    case policy::Decision::Effect::kNeedsApproval:
      return kExplainNeedsStepUp;
  }
  return kExplainDeny;
}

int RunPolicyTest(const PolicyTestOptions& options) {
  auto table = policy::LoadPolicyTable(options.table_path);
  if (!table) {
    PrintPolicyDiagnostics(table.error());
    return kPolicyUsageError;
  }
  std::string source;
  std::optional<policy::Policy> policy;
  if (!options.config_path.empty() || !options.policy_path.empty()) {
    policy = LoadPolicyFrom(options.config_path, options.policy_path, "test", &source);
  } else if (!table->policy_path.empty()) {
    policy = LoadPolicyFrom("", table->policy_path, "test", &source);
  } else {
    std::cerr << "opsgate policy test: no policy: give --policy FILE or --config FILE, or "
                 "name it in the table (policy: FILE)\n";
    return kPolicyUsageError;
  }
  if (!policy) {
    return kPolicyUsageError;
  }
  const auto report = policy::RunPolicyTable(*policy, *table);
  for (const auto& o : report.outcomes) {
    std::cout << policy::FormatOutcome(o) << "\n";
  }
  std::cout << report.passed << " passed, " << report.failed << " failed (" << source << ")\n";
  return report.failed == 0 ? 0 : 1;
}

namespace {

// The intent catalogue the nlu tools train on: the config's, as `serve` loads it.
core::Result<intents::Catalogue> NluCatalogue(const config::Config& config) {
  return intents::LoadConfiguredCatalogue(config.intents.file);
}

// Loads the config, picks its catalogue and trains; prints the problem and returns
// nullopt on failure.
std::optional<intents::Classifier> NluClassifier(const std::string& config_path,
                                                 std::string_view command) {
  if (config_path.empty()) {
    std::cerr << "opsgate nlu " << command << ": --config FILE is required\n";
    return std::nullopt;
  }
  auto loaded = config::LoadConfigFile(config_path);
  if (!loaded) {
    std::cerr << loaded.error().message << "\n";
    return std::nullopt;
  }
  auto catalogue = NluCatalogue(*loaded->config);
  if (!catalogue) {
    std::cerr << "opsgate nlu " << command << ": " << catalogue.error().message << "\n";
    return std::nullopt;
  }
  auto classifier = intents::Classifier::Train(*catalogue);
  if (!classifier) {
    std::cerr << "opsgate nlu " << command << ": " << classifier.error().message << "\n";
    return std::nullopt;
  }
  return *std::move(classifier);
}

}  // namespace

int RunNluParse(const NluParseOptions& options) {
  auto classifier = NluClassifier(options.config_path, "parse");
  if (!classifier) {
    return kNluUsageError;
  }
  std::cout << intents::NluResultToJson(classifier->Parse(options.text)) << "\n";
  return 0;
}

int RunNluEval(const NluEvalOptions& options) {
  auto classifier = NluClassifier(options.config_path, "eval");
  if (!classifier) {
    return kNluUsageError;
  }
  auto data = intents::ReadEvalFile(options.data_path, classifier->catalogue());
  if (!data) {
    std::cerr << "opsgate nlu eval: " << data.error().message << "\n";
    return kNluUsageError;
  }
  const intents::EvalReport report = intents::Evaluate(*classifier, *data);
  if (options.json) {
    std::cout << intents::FormatReportJson(report) << "\n";
  } else {
    std::cout << intents::FormatReportText(report);
  }
  return 0;
}

namespace {

// The store of a config, for the nlu review tools; prints the problem and returns null.
std::unique_ptr<store::SqliteStore> OpenStoreFor(const std::string& config_path,
                                                 std::string_view command) {
  auto loaded = config::LoadConfigFile(config_path);
  if (!loaded) {
    std::cerr << loaded.error().message << "\n";
    return nullptr;
  }
  auto opened = store::SqliteStore::Open(loaded->config->store.path);
  if (!opened) {
    std::cerr << "opsgate nlu " << command << ": " << opened.error().message << "\n";
    return nullptr;
  }
  return std::move(*opened);
}

std::string UtcText(core::Clock::WallTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int RunNluReview(const NluReviewOptions& options) {
  auto db = OpenStoreFor(options.config_path, "review");
  if (!db) {
    return kNluUsageError;
  }
  store::SqliteNluCandidateStore candidates(*db);
  auto listed = candidates.List(options.state == "all" ? "" : options.state, 1000);
  if (!listed) {
    std::cerr << "opsgate nlu review: " << listed.error().message << "\n";
    return kNluUsageError;
  }
  if (listed->empty()) {
    std::cout << "no " << (options.state == "all" ? "" : options.state + " ")
              << "candidates\n";
    return 0;
  }
  for (const store::NluCandidate& c : *listed) {
    std::cout << c.id << "  " << c.state << "  " << c.intent << "  \"" << c.utterance << "\"\n"
              << "    typed \"" << c.text << "\"; guessed " << (c.guessed.empty() ? "-" : c.guessed)
              << " (" << static_cast<int>(c.confidence * 100 + 0.5) << "%); by " << c.principal
              << " at " << UtcText(c.created_at) << "\n";
  }
  if (options.state == "pending") {
    std::cout << "accept with: opsgate nlu accept --config " << options.config_path
              << " ID...  (or reject); a running opsgate learns them on SIGHUP\n";
  }
  return 0;
}

int RunNluDecide(const NluReviewOptions& options) {
  const std::string_view command = options.verdict == "accepted" ? "accept" : "reject";
  auto db = OpenStoreFor(options.config_path, command);
  if (!db) {
    return kNluUsageError;
  }
  store::SqliteNluCandidateStore candidates(*db);
  const char* user = std::getenv("USER");
  const std::string reviewer = std::string("cli:") + (user != nullptr && *user ? user : "unknown");
  int status = 0;
  for (int64_t id : options.ids) {
    auto changed = candidates.Review(id, options.verdict, reviewer, std::chrono::system_clock::now());
    if (!changed) {
      std::cerr << "opsgate nlu " << command << ": " << id << ": " << changed.error().message
                << "\n";
      status = changed.error().code == core::ErrorCode::kNotFound ? 1 : kNluUsageError;
      continue;
    }
    if (!*changed) {
      std::cerr << "opsgate nlu " << command << ": " << id << " was already reviewed\n";
      status = std::max(status, 1);
      continue;
    }
    std::cout << id << " " << options.verdict << "\n";
  }
  return status;
}

}  // namespace opsgate::app
