// File: opsgate/config/config.h
//
// The typed, validated, immutable configuration. The YAML file is parsed once by
// LoadConfig() (loader.h) into these structs; nothing on the request path reads YAML.
// Snapshots are shared as std::shared_ptr<const Config>; a SIGHUP reload builds a new
// snapshot and swaps it in only if it validates.
//
// Paths are absolute after loading (relative ones are resolved against the config
// file's directory). Secrets are SecretRefs, resolved by ResolveSecret() (secret_ref.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "opsgate/config/secret_ref.h"

namespace opsgate::config {

enum class TlsProfile {
  kIntermediate,  // Mozilla "intermediate" (TLS 1.2 + 1.3); the default
  kModern,        // Mozilla "modern" (TLS 1.3 only)
};

struct TlsConfig {
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;   // PEM private key
  TlsProfile profile = TlsProfile::kIntermediate;
};

struct LimitsConfig {
  size_t header_bytes = 8 * 1024;          // request line + headers; over -> 431
  size_t body_bytes = 64 * 1024;           // default per route; over -> 413
  std::chrono::milliseconds read_timeout{10'000};   // first byte to full request; over -> 408
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for next request; -> close
  std::chrono::milliseconds write_timeout{10'000};  // sending one response
  size_t max_connections = 1024;           // concurrent; over -> 503 and close
  size_t max_requests_per_connection = 10'000;
};

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8443;
  // Absent only when behind_tls_proxy is true (then plain HTTP is served).
  std::optional<TlsConfig> tls;
  // A TLS-terminating proxy sits in front; plain HTTP on the listener.
  bool behind_tls_proxy = false;
  LimitsConfig limits;
  unsigned threads = 2;
  std::chrono::milliseconds drain_timeout{10'000};
  // When set, GET /metrics requires "Authorization: Bearer <token>".
  std::optional<SecretRef> metrics_token;
};

enum class StoreDriver {
  kSqlite,    // embedded default
  kPostgres,  // several replicas (later)
};

struct StoreConfig {
  StoreDriver driver = StoreDriver::kSqlite;
  std::string path;  // SQLite database file
};

// audit.export.syslog: live RFC 5424 export to a SIEM (docs/siem-export.md).
struct SyslogExportConfig {
  std::string host;              // required: receiver host name or IP
  uint16_t port = 6514;          // 6514: syslog over TLS (RFC 5425)
  bool tls = true;               // false: plain TCP (warned)
  std::string ca_file;           // trust anchors for the receiver; required with tls
  std::string server_name;       // name checked in the certificate; default host
  std::string client_cert;       // optional client certificate (PEM) ...
  std::string client_key;        // ... and its key; both or neither
  int facility = 13;             // 0..23; 13 = log audit
  std::string hostname;          // HOSTNAME field; empty: the machine's
  std::string name = "syslog";   // cursor name (the store keeps one cursor per name)
  // "syslog": RFC 5424 messages, octet-counted (RFC 5425/6587); "jsonl": one JSON
  // object per line (for receivers that take newline-delimited JSON over TCP/TLS).
  std::string format = "syslog";
  size_t batch_size = 256;       // records per write + cursor save
  std::chrono::milliseconds poll_interval{2000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds io_timeout{10000};
  // Send sealed fields opened (needs keys.dir); false: they go as {"sealed":true}.
  bool open_sealed_fields = false;

  friend bool operator==(const SyslogExportConfig&, const SyslogExportConfig&) = default;
};

// The tamper-evident audit log (docs/audit-format.md).
struct AuditConfig {
  // SQLite file of the audit log (a database of its own); absolute after loading.
  // Default <data_dir>/audit.db.
  std::string path;
  // Ed25519 PKCS#8 PEM key that signs tree heads (written by `opsgate init`).
  // Default <data_dir>/keys/audit-signing.key.
  std::string signing_key;
  // Its public key, for `opsgate audit verify`. Default <data_dir>/keys/audit-signing.pub.
  std::string public_key;
  // Sign a tree head after this many records (1..1,000,000) ...
  uint64_t tree_head_every = 1000;
  // ... or this long after the last one when records arrived since (1 s .. 1 h).
  std::chrono::milliseconds tree_head_interval{10000};
  // Most records per commit (one fsync) (1..65,536).
  size_t max_batch = 1024;
  // Seal the sensitive fields (user name, text, slots, output) with AES-256-GCM under
  // data keys wrapped by the key-encryption key in keys.dir (audit/sealing.h).
  bool seal_fields = true;
  // Most rejection records a second (bursts up to the same number); beyond it a flood of
  // bad requests is sampled: every rejection is still refused, logged and counted, and
  // a summary record says how many were not recorded (1..100,000).
  uint32_t rejection_records_per_second = 100;
  // audit.export.syslog; absent: no live export.
  std::optional<SyslogExportConfig> syslog_export;
};

// Key-encryption keys (crypto/key_provider.h): what seals audit fields and, later,
// other secrets at rest. `opsgate keys rotate` makes a new one current.
struct KeysConfig {
  // Directory of LocalFileKeyProvider: data.key (current) and data-<id>.key (retired).
  // Default <data_dir>/keys. Absolute after loading.
  std::string dir;
};

struct LogConfig {
  std::string level = "info";  // debug | info | warn | error
};

// Whether a connector runs.
enum class ConnectorSwitch {
  kAuto,  // on when its secrets resolve at start; otherwise off with a warning log
  kOn,    // on; a start-up error if it cannot be built
  kOff,   // off
};

// connectors.slack (docs/slack.md). Present in the file = considered; see `enabled`.
struct SlackConfig {
  ConnectorSwitch enabled = ConnectorSwitch::kAuto;
  // The app's signing secret (Basic Information > App Credentials). Required.
  std::optional<SecretRef> signing_secret;
  // The bot token (xoxb-...), for chat.postMessage. Without it mentions and DMs get
  // no answer (slash commands and buttons still do, through response_url).
  std::optional<SecretRef> bot_token;
  // Web API base, without a trailing '/'. Tests point it at a local stand-in.
  std::string api_url = "https://slack.com/api";
  // Workspaces (team ids, "T0123ABC") allowed in; empty refuses every workspace.
  std::vector<std::string> team_ids;
  // X-Slack-Request-Timestamp tolerance, both directions; also the replay memory.
  std::chrono::seconds replay_window{300};
  // Largest request body on POST /slack/events; more gets 413 before it is read.
  size_t body_bytes = 256 * 1024;
  // The slash command the app registers.
  std::string command = "/ops";
};

struct ConnectorsConfig {
  std::optional<SlackConfig> slack;  // absent: no Slack connector
};

// identity.oidc: the OpenID Provider chat accounts are linked to (docs/identity.md).
struct OidcConfig {
  std::string issuer;                 // required, exactly as the provider spells it
  std::string client_id;              // required
  std::optional<SecretRef> client_secret;  // required unless client_auth is none
  std::string client_auth = "client_secret_basic";  // | client_secret_post | none
  std::string redirect_uri;           // default <public_url>/auth/callback
  std::vector<std::string> scopes;    // besides "openid email profile"
  std::string groups_claim = "groups";
  // http:// endpoints on loopback (a test provider). Only with dev: true.
  bool allow_http = false;
};

struct IdentityConfig {
  // How browsers reach opsgate (https://host[:port], no trailing '/'); link URLs start
  // with it. Default https://<server.listen>.
  std::string public_url;
  std::chrono::seconds link_token_ttl{600};          // 1m..1h
  std::chrono::seconds link_ttl{30 * 24 * 3600};     // 1h..8760h; then link again
  std::optional<OidcConfig> oidc;                    // absent: no linking
};

// webchat: the built-in web chat at / (docs/webchat.md).
struct WebChatConfig {
  bool enabled = true;
};

// policy.approvals: four-eyes approvals (docs/policy.md#approvals).
struct ApprovalsConfig {
  std::chrono::seconds ttl{3600};  // 1m..24h: a pending request expires unapproved
  // An approver's last MFA must be this recent (1m..24h); older: step up first.
  std::chrono::seconds approver_mfa_max_age{900};
  // Slack channel id that approval requests are posted to; empty: the channel the
  // request came from.
  std::string slack_channel;
};

// policy.break_glass: time-boxed elevation (docs/policy.md#break-glass).
struct BreakGlassConfig {
  std::chrono::seconds max_duration{3600};      // 5m..24h: the longest elevation
  std::chrono::seconds default_duration{1800};  // when the command names none; <= max
  // Slack channel id starts, ends and reviews are announced in; empty: only the web chat
  // (every open session) and the audit log.
  std::string slack_channel;
};

// policy: who may do what (docs/policy.md).
struct PolicyConfig {
  // The policy file (absolute after loading); empty: the built-in policy, which allows
  // the built-in commands (help, whoami, ping, link, unlink) and nothing else.
  std::string file;
  ApprovalsConfig approvals;
  BreakGlassConfig break_glass;
};

// intents: the intent catalogue (docs/intents-catalogue.md).
struct IntentsConfig {
  // The catalogue file (absolute after loading), parsed by intents::LoadCatalogueFile();
  // empty: the default catalogue (intents::DefaultCatalogue()).
  std::string file;
};

// aws.waf.ip_set / ipv6_ip_set: the WAFv2 IP set the block list lives in.
struct AwsIpSetConfig {
  std::string name;
  std::string id;
  std::string scope = "REGIONAL";  // REGIONAL | CLOUDFRONT (CLOUDFRONT is in us-east-1)
  friend bool operator==(const AwsIpSetConfig&, const AwsIpSetConfig&) = default;
};

// aws: AWS actions under scoped sessions (docs/aws.md#configuration). Credentials come
// from the environment the way AWS SDKs find them; endpoints and region from
// AWS_ENDPOINT_URL[_<SERVICE>] and AWS_REGION unless set here.
struct AwsConfig {
  // auto: on when `roles` maps at least one action; true: on (roles required).
  ConnectorSwitch enabled = ConnectorSwitch::kAuto;
  // The region of commands that name none; empty: AWS_REGION, then AWS_DEFAULT_REGION.
  std::string region;
  // The account resource ARNs name; empty: the account of the role the action maps to.
  std::string account;
  // API action pattern ("ec2:StopInstances", "ec2:*", "*") -> the IAM role assumed
  // for it. The most specific pattern wins: an exact name, then the longest pattern.
  std::vector<std::pair<std::string, std::string>> roles;
  std::optional<AwsIpSetConfig> waf_ipv4;  // aws.waf.ip_set
  std::optional<AwsIpSetConfig> waf_ipv6;  // aws.waf.ipv6_ip_set
  // How long a resize waits for the instance to stop (polling with back-off).
  std::chrono::seconds resize_timeout{900};
  // AWS actions running at once, and waiting beyond those, before "busy" answers.
  size_t workers = 4;
  size_t queue = 64;
};

// Outbound HTTPS (replies to chat platforms, integrations).
struct OutboundConfig {
  // Extra PEM bundle of trust anchors used instead of the system store; empty: the
  // system store. Absolute after loading.
  std::string ca_file;
};

struct RedactConfig {
  // RE2 patterns redacted from logs and stored records besides the built-in rules
  // (tokens, keys, JWTs, passwords in URLs...); a pattern with a capture group redacts
  // only the group. Compiled (and refused if invalid) by `serve` and `check`.
  std::vector<std::string> extra_patterns;
};

struct Config {
  // The file this was loaded from (absolute), for messages.
  std::string source_path;
  // A development setup: literal secrets are allowed (and warned about).
  bool dev = false;
  // Data directory (absolute): store, keys and certificates live here by default.
  std::string data_dir;
  ServerConfig server;
  StoreConfig store;
  AuditConfig audit;
  KeysConfig keys;
  LogConfig log;
  RedactConfig redact;
  ConnectorsConfig connectors;
  OutboundConfig outbound;
  IdentityConfig identity;
  WebChatConfig webchat;
  PolicyConfig policy;
  IntentsConfig intents;
  AwsConfig aws;
};

}  // namespace opsgate::config
