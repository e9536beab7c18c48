#include "opsgate/config/loader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "opsgate/config/internal/diagnostics.h"
#include "opsgate/config/internal/files.h"
#include "opsgate/config/internal/map_reader.h"
#include "opsgate/config/internal/yaml_tree.h"
#include "opsgate/core/strings.h"

// The schema lives here: one Parse<Section>() per section, each reading its keys with
// MapReader getters (defaults stay in config.h) and ending with Finish(). To add a
// section, add its struct to config.h, write Parse<Section>(MapReader, const Context&,
// Struct*) below and call it from ParseRoot().

namespace opsgate::config {
namespace {

using internal::Diagnostics;
using internal::kKiB;
using internal::kMiB;
using internal::MapReader;
using internal::ParseResult;
using internal::Printable;
using internal::YamlNode;
using std::chrono::hours;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr size_t kMaxPrintedPath = 200;

// What value parsers need to know about the file being loaded.
struct Context {
  std::string config_dir;  // absolute
  std::string data_dir;    // absolute
  bool dev = false;
};

std::string AbsoluteNormal(const fs::path& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  if (ec) {
    abs = path;
  }
  std::string out = abs.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

// `path` against `base` unless it is absolute; normalised, without a trailing '/'.
std::string ResolvePath(const std::string& base, const std::string& path) {
  return AbsoluteNormal(fs::path(base) / path);
}

// --- environment interpolation -----------------------------------------------------

// Expands ${NAME} and ${NAME:-default} (default when NAME is unset or empty) in a plain
// string value; "$$" is a literal '$', any other '$' is kept. Secrets never go through
// this: they are env:/file: references, resolved when used.
ParseResult<std::string> ExpandEnv(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out += c;
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out += c;
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return tl::unexpected(std::string(
          "unterminated ${...}: write ${NAME} or ${NAME:-default} (and $$ for a literal $)"));
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const size_t sep = inner.find(":-");
    const std::string name(inner.substr(0, sep));
    if (!IsValidEnvName(name)) {
      return tl::unexpected("'${" + Printable(name, 64) +
                            "}' does not name an environment variable (letters, digits and "
                            "'_', not starting with a digit)");
    }
    const char* value = std::getenv(name.c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (sep != std::string_view::npos) {
      out += inner.substr(sep + 2);
    } else {
      return tl::unexpected("environment variable " + name +
                            " is not set (export it, or give a default: ${" + name +
                            ":-value})");
    }
    i = close;
  }
  if (out.find('\0') != std::string::npos) {
    return tl::unexpected(std::string("must not contain NUL characters"));
  }
  return out;
}

// A string value with ${NAME} interpolation.
ParseResult<std::string> ParseText(const YamlNode& node) {
  return internal::ParseString(node).and_then(
      [](const std::string& s) { return ExpandEnv(s); });
}

// A non-empty path, resolved against `base`.
auto PathParser(const std::string& base) {
  return [&base](const YamlNode& node) -> ParseResult<std::string> {
    auto text = ParseText(node);
    if (text && text->empty()) {
      return tl::unexpected(std::string("expected a path (got nothing)"));
    }
    return text.transform([&](const std::string& p) { return ResolvePath(base, p); });
  };
}

// --- listen addresses -----------------------------------------------------------

constexpr std::string_view kListenForm = "HOST:PORT like 127.0.0.1:8443 or [::1]:8443";

bool IsIpv4(const std::string& host) {
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool IsIpv6(const std::string& host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '-' || host.front() == '.') {
    return false;
  }
  for (const char c : host) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") {
    return true;
  }
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) {
      return true;
    }
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

ParseResult<ListenAddress> ParseListen(const YamlNode& node) {
  const auto text = ParseText(node);
  if (!text) {
    return tl::unexpected("expected " + std::string(kListenForm) + " (got " +
                          DescribeNode(node) + ")");
  }
  auto parsed = ParseListenAddress(*text);
  if (!parsed) {
    return tl::unexpected(parsed.error().message);
  }
  return *parsed;
}

// --- files and secrets ----------------------------------------------------------

// Reads a required path under `key` (relative to data_dir) that must name a readable
// regular file; a private key must not be readable by group or others.
void ReadExistingFile(MapReader& map, std::string_view key, const Context& ctx, bool is_private,
                      std::string* out) {
  if (map.Find(key) == nullptr) {
    map.Error(key, "required key is missing (a file path, relative to data_dir)");
    return;
  }
  if (!map.Read(key, PathParser(ctx.data_dir), out)) {
    return;
  }
  const std::string shown = Printable(*out, kMaxPrintedPath);
  const internal::FileStatus status = internal::StatFile(*out);
  if (!status.exists) {
    map.Error(key, "file " + shown + " does not exist (relative paths resolve against data_dir " +
                       Printable(ctx.data_dir, kMaxPrintedPath) + ")");
  } else if (!status.regular) {
    map.Error(key, shown + " is not a regular file (point it at a PEM file)");
  } else if (!status.readable) {
    map.Error(key, "file " + shown + " is not readable by this user (check its owner and mode)");
  } else if (is_private && status.group_or_world) {
    map.Warning(key, "private key " + shown + " is readable by group or others (run chmod 600 " +
                         shown + ")");
  }
}

// Reads an optional secret reference under `key`. Literals are errors unless dev;
// env: and file: references that would not resolve now are warned about.
void ReadSecret(MapReader& map, std::string_view key, const Context& ctx,
                std::optional<SecretRef>* out) {
  std::string text;
  if (!map.ReadString(key, &text)) {
    return;
  }
  SecretRef ref = ParseSecretRef(text, ctx.config_dir);
  const std::string value(ref.kind == SecretRef::Kind::kLiteral ? "" : ref.value.Reveal());
  switch (ref.kind) {
    case SecretRef::Kind::kLiteral:
      if (ref.value.empty()) {
        map.Error(key, "expected a secret reference like env:NAME or file:PATH (got nothing)");
        return;
      }
      if (!ctx.dev) {
        map.Error(key,
                  "a literal secret is not allowed; use env:NAME or file:PATH (or set dev: true "
                  "for a development setup)");
        return;
      }
      map.Warning(key,
                  "a literal secret is in the config file; use env:NAME or file:PATH outside "
                  "development");
      break;
    case SecretRef::Kind::kEnv:
      if (!IsValidEnvName(value)) {
        map.Error(key,
                  "expected an environment variable name after 'env:' (letters, digits and "
                  "'_', not starting with a digit)");
        return;
      }
      if (std::getenv(value.c_str()) == nullptr) {
        map.Warning(key, "secret env:" + value +
                             ": the environment variable is not set (export it before starting "
                             "opsgate)");
      }
      break;
    case SecretRef::Kind::kFile: {
      if (value.empty()) {
        map.Error(key, "expected a path after 'file:' (like file:/etc/opsgate/token)");
        return;
      }
      const std::string shown = Printable(value, kMaxPrintedPath);
      const internal::FileStatus status = internal::StatFile(value);
      if (!status.exists) {
        map.Warning(key,
                    "secret file:" + shown + ": the file does not exist (create it with mode 600)");
      } else if (status.regular && status.group_or_world) {
        map.Warning(key, "secret file:" + shown +
                             ": the file is readable by group or others (run chmod 600 " + shown +
                             ")");
      }
      break;
    }
  }
  *out = std::move(ref);
}

// --- sections -------------------------------------------------------------------

void ParseLimits(MapReader map, LimitsConfig* out) {
  map.ReadSize("header_bytes", 1 * kKiB, 1 * kMiB, &out->header_bytes);
  map.ReadSize("body_bytes", 1, 64 * kMiB, &out->body_bytes);
  map.ReadDuration("read_timeout", milliseconds(1), hours(1), &out->read_timeout);
  map.ReadDuration("idle_timeout", milliseconds(1), hours(1), &out->idle_timeout);
  map.ReadDuration("write_timeout", milliseconds(1), hours(1), &out->write_timeout);
  map.ReadInteger("max_connections", 1, 1'000'000, &out->max_connections);
  map.ReadInteger("max_requests_per_connection", 1, 1'000'000, &out->max_requests_per_connection);
  map.Finish();
}

TlsConfig ParseTls(MapReader map, const Context& ctx) {
  TlsConfig out;
  ReadExistingFile(map, "cert", ctx, /*is_private=*/false, &out.cert_file);
  ReadExistingFile(map, "key", ctx, /*is_private=*/true, &out.key_file);
  map.ReadEnum("profile",
               {{"intermediate", TlsProfile::kIntermediate}, {"modern", TlsProfile::kModern}},
               &out.profile);
  map.Finish();
  return out;
}

void ParseServer(MapReader map, const Context& ctx, ServerConfig* out) {
  ListenAddress listen{out->listen_host, out->listen_port};
  map.Read("listen", ParseListen, &listen);
  out->listen_host = listen.host;
  out->listen_port = listen.port;
  // When behind_tls_proxy is malformed, whether tls is required is unknown.
  const bool proxy_known = map.ReadBool("behind_tls_proxy", &out->behind_tls_proxy) ||
                           map.Find("behind_tls_proxy") == nullptr;
  map.ReadInteger("threads", 1, 64, &out->threads);
  map.ReadDuration("drain_timeout", milliseconds(0), hours(1), &out->drain_timeout);
  ReadSecret(map, "metrics_token", ctx, &out->metrics_token);
  if (map.Find("tls") != nullptr) {
    out->tls = ParseTls(map.Section("tls"), ctx);
  } else if (!out->behind_tls_proxy && proxy_known && map.ok()) {
    map.Error("tls",
              "required unless server.behind_tls_proxy is true (add tls.cert and tls.key, or "
              "set behind_tls_proxy: true when a TLS proxy sits in front)");
  }
  ParseLimits(map.Section("limits"), &out->limits);

  const bool loopback = IsLoopback(out->listen_host);
  if (out->behind_tls_proxy && !out->tls && !loopback) {
    map.Warning("behind_tls_proxy",
                "plain HTTP on a non-loopback address: make sure only the TLS proxy can reach "
                "it");
  }
  if (!loopback && !out->metrics_token) {
    map.Warning("listen",
                "/metrics is readable by anyone who can reach the listener; set "
                "server.metrics_token");
  }
  map.Finish();
}

void ParseStore(MapReader map, const Context& ctx, StoreConfig* out) {
  if (map.ReadEnum("driver",
                   {{"sqlite", StoreDriver::kSqlite}, {"postgres", StoreDriver::kPostgres}},
                   &out->driver) &&
      out->driver == StoreDriver::kPostgres) {
    map.Error("driver", "postgres driver is not available in this build yet (use sqlite)");
  }
  std::string path = ResolvePath(ctx.data_dir, "opsgate.db");
  map.Read("path", PathParser(ctx.data_dir), &path);
  out->path = path;
  map.Finish();
}

void ParseSyslogExport(MapReader map, const Context& ctx, SyslogExportConfig* out) {
  if (map.Find("host") == nullptr) {
    map.Error("host", "required key is missing (the syslog receiver's host name or IP)");
  } else {
    map.ReadString("host", &out->host);
  }
  map.ReadInteger("port", 1, 65'535, &out->port);
  map.ReadBool("tls", &out->tls);
  if (out->tls) {
    ReadExistingFile(map, "ca_file", ctx, /*is_private=*/false, &out->ca_file);
  } else {
    map.Warning("tls", "audit records go to the syslog receiver unencrypted and unauthenticated");
  }
  map.ReadString("server_name", &out->server_name);
  const bool has_cert = map.Find("client_cert") != nullptr;
  const bool has_key = map.Find("client_key") != nullptr;
  if (has_cert != has_key) {
    map.Error(has_cert ? "client_key" : "client_cert",
              "client_cert and client_key go together (set both or neither)");
  } else if (has_cert) {
    ReadExistingFile(map, "client_cert", ctx, /*is_private=*/false, &out->client_cert);
    ReadExistingFile(map, "client_key", ctx, /*is_private=*/true, &out->client_key);
  }
  map.ReadInteger("facility", 0, 23, &out->facility);
  map.ReadString("hostname", &out->hostname);
  map.ReadString("name", &out->name);
  map.ReadEnum("format", {{"syslog", std::string("syslog")}, {"jsonl", std::string("jsonl")}},
               &out->format);
  map.ReadInteger("batch_size", 1, 100'000, &out->batch_size);
  map.ReadDuration("poll_interval", std::chrono::milliseconds(100), std::chrono::minutes(10),
                   &out->poll_interval);
  map.ReadDuration("connect_timeout", std::chrono::milliseconds(100), std::chrono::minutes(5),
                   &out->connect_timeout);
  map.ReadDuration("io_timeout", std::chrono::milliseconds(100), std::chrono::minutes(5),
                   &out->io_timeout);
  map.ReadBool("open_sealed_fields", &out->open_sealed_fields);
  map.Finish();
}

void ParseAuditExport(MapReader map, const Context& ctx, AuditConfig* out) {
  if (map.Find("syslog") != nullptr) {
    out->syslog_export.emplace();
    ParseSyslogExport(map.Section("syslog"), ctx, &*out->syslog_export);
  }
  map.Finish();
}

void ParseAudit(MapReader map, const Context& ctx, AuditConfig* out) {
  out->path = ResolvePath(ctx.data_dir, "audit.db");
  out->signing_key = ResolvePath(ctx.data_dir, "keys/audit-signing.key");
  out->public_key = ResolvePath(ctx.data_dir, "keys/audit-signing.pub");
  map.Read("path", PathParser(ctx.data_dir), &out->path);
  map.Read("signing_key", PathParser(ctx.data_dir), &out->signing_key);
  map.Read("public_key", PathParser(ctx.data_dir), &out->public_key);
  map.ReadInteger("tree_head_every", 1, 1'000'000, &out->tree_head_every);
  map.ReadDuration("tree_head_interval", std::chrono::seconds(1), std::chrono::hours(1),
                   &out->tree_head_interval);
  map.ReadInteger("max_batch", 1, 65'536, &out->max_batch);
  map.ReadInteger("rejection_records_per_second", 1, 100'000, &out->rejection_records_per_second);
  map.ReadBool("seal_fields", &out->seal_fields);
  if (!out->seal_fields) {
    map.Warning("seal_fields", "audit records will hold message text and user names in clear");
  }
  if (map.Find("export") != nullptr) {
    ParseAuditExport(map.Section("export"), ctx, out);
  }
  map.Finish();
}

void ParseKeys(MapReader map, const Context& ctx, KeysConfig* out) {
  out->dir = ResolvePath(ctx.data_dir, "keys");
  map.Read("dir", PathParser(ctx.data_dir), &out->dir);
  map.Finish();
}

// A list of non-empty strings.
ParseResult<std::vector<std::string>> ParseStringList(const YamlNode& node) {
  std::vector<std::string> out;
  if (node.kind == YamlNode::Kind::kNull) {
    return out;
  }
  if (node.kind != YamlNode::Kind::kSequence) {
    return tl::unexpected("expected a list of strings (got " + DescribeNode(node) + ")");
  }
  for (const YamlNode& item : node.items) {
    auto text = ParseText(item);
    if (!text) {
      return tl::unexpected(text.error());
    }
    if (text->empty()) {
      return tl::unexpected(std::string("expected a list of non-empty strings (got an empty one)"));
    }
    out.push_back(*text);
  }
  return out;
}

void ParseRedact(MapReader map, RedactConfig* out) {
  map.Read("extra_patterns", ParseStringList, &out->extra_patterns);
  map.Finish();
}

// A Slack channel id: C/G/D followed by upper-case letters and digits.
ParseResult<std::string> ParseSlackChannelId(const YamlNode& node) {
  auto text = ParseText(node);
  if (!text) {
    return text;
  }
  const bool shape = text->size() >= 2 && text->size() <= 24 &&
                     std::string_view("CGD").find((*text)[0]) != std::string_view::npos &&
                     std::all_of(text->begin() + 1, text->end(), [](char c) {
                       return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                     });
  if (!shape) {
    return tl::unexpected("expected a Slack channel id such as C0123ABCD (got '" + *text +
                          "'); in Slack: channel details > About, at the bottom");
  }
  return text;
}

void ParsePolicyConfig(MapReader map, const Context& ctx, PolicyConfig* out) {
  map.Read("file", PathParser(ctx.config_dir), &out->file);
  MapReader approvals = map.Section("approvals");
  std::chrono::milliseconds ttl = out->approvals.ttl;
  if (approvals.ReadDuration("ttl", std::chrono::minutes(1), std::chrono::hours(24), &ttl)) {
    out->approvals.ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl);
  }
  std::chrono::milliseconds mfa = out->approvals.approver_mfa_max_age;
  if (approvals.ReadDuration("approver_mfa_max_age", std::chrono::minutes(1),
                             std::chrono::hours(24), &mfa)) {
    out->approvals.approver_mfa_max_age = std::chrono::duration_cast<std::chrono::seconds>(mfa);
  }
  approvals.Read("slack_channel", ParseSlackChannelId, &out->approvals.slack_channel);
  approvals.Finish();
  MapReader glass = map.Section("break_glass");
  std::chrono::milliseconds max = out->break_glass.max_duration;
  if (glass.ReadDuration("max_duration", std::chrono::minutes(5), std::chrono::hours(24), &max)) {
    out->break_glass.max_duration = std::chrono::duration_cast<std::chrono::seconds>(max);
  }
  std::chrono::milliseconds def = out->break_glass.default_duration;
  if (glass.ReadDuration("default_duration", std::chrono::minutes(1), std::chrono::hours(24),
                         &def)) {
    out->break_glass.default_duration = std::chrono::duration_cast<std::chrono::seconds>(def);
  }
  if (out->break_glass.default_duration > out->break_glass.max_duration) {
    if (glass.Find("default_duration") != nullptr) {
      glass.Error("default_duration", "must not be longer than max_duration");
    } else {
      out->break_glass.default_duration = out->break_glass.max_duration;
    }
  }
  glass.Read("slack_channel", ParseSlackChannelId, &out->break_glass.slack_channel);
  glass.Finish();
  map.Finish();
}

// "service:Operation" with '*'/'?' globs, or "*".
bool IsActionPattern(std::string_view p) {
  if (p == "*") {
    return true;
  }
  const size_t colon = p.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == p.size() ||
      p.find(':', colon + 1) != std::string_view::npos || p.size() > 128) {
    return false;
  }
  return std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '*' || c == '?' || c == '-';
  });
}

// arn:<partition>:iam::<12 digits>:role/<path/name>
bool IsRoleArn(std::string_view arn) {
  constexpr std::string_view kPrefix = "arn:";
  if (!arn.starts_with(kPrefix) || arn.size() > 2048) {
    return false;
  }
  const size_t part_end = arn.find(':', kPrefix.size());
  if (part_end == std::string_view::npos || part_end == kPrefix.size()) {
    return false;
  }
  std::string_view rest = arn.substr(part_end + 1);
  if (!rest.starts_with("iam::") || rest.size() < 5 + 12 + 7) {
    return false;
  }
  const std::string_view account = rest.substr(5, 12);
  if (!std::all_of(account.begin(), account.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  rest = rest.substr(17);
  return rest.starts_with(":role/") && rest.size() > 6 &&
         rest.find_first_of(" \t\r\n*?") == std::string_view::npos;
}

ParseResult<std::vector<std::pair<std::string, std::string>>> ParseAwsRoles(const YamlNode& node) {
  std::vector<std::pair<std::string, std::string>> out;
  if (node.kind == YamlNode::Kind::kNull) {
    return out;
  }
  if (node.kind != YamlNode::Kind::kMap) {
    return tl::unexpected(
        "expected a mapping of action pattern to role ARN, like "
        "\"ec2:*\": arn:aws:iam::111111111111:role/opsgate-ec2 (got " +
        DescribeNode(node) + ")");
  }
  for (const internal::YamlEntry& e : node.entries) {
    auto action = ParseText(e.key);
    if (!action) {
      return tl::unexpected(action.error());
    }
    if (!IsActionPattern(*action)) {
      return tl::unexpected("'" + *action +
                            "' is not an action pattern: expected service:Operation, with * "
                            "or ? as wildcards (ec2:StopInstances, ec2:*), or *");
    }
    auto role = ParseText(e.value);
    if (!role) {
      return tl::unexpected(role.error());
    }
    if (!IsRoleArn(*role)) {
      return tl::unexpected("role for '" + *action +
                            "': expected a role ARN like "
                            "arn:aws:iam::111111111111:role/opsgate-ec2 (got '" +
                            *role + "')");
    }
    for (const auto& [seen, unused] : out) {
      if (seen == *action) {
        return tl::unexpected("'" + *action + "' is mapped twice");
      }
    }
    out.emplace_back(std::move(*action), std::move(*role));
  }
  return out;
}

void ParseIpSet(MapReader map, AwsIpSetConfig* out) {
  map.ReadString("name", &out->name);
  map.ReadString("id", &out->id);
  map.ReadEnum<std::string>("scope", {{"REGIONAL", "REGIONAL"}, {"CLOUDFRONT", "CLOUDFRONT"}},
                            &out->scope);
  if (out->name.empty()) {
    map.Error("name", "required: the IP set's name (WAF console > IP sets)");
  }
  if (out->id.empty()) {
    map.Error("id", "required: the IP set's id (the last part of its ARN)");
  }
  map.Finish();
}

void ParseAws(MapReader map, AwsConfig* out) {
  map.ReadEnum("enabled",
               {{"auto", ConnectorSwitch::kAuto},
                {"true", ConnectorSwitch::kOn},
                {"false", ConnectorSwitch::kOff}},
               &out->enabled);
  map.Read(
      "region",
      [](const YamlNode& node) -> ParseResult<std::string> {
        auto text = ParseText(node);
        const bool shape = text && text->size() <= 32 && !text->empty() &&
                           std::all_of(text->begin(), text->end(), [](char c) {
                             return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                           });
        if (text && !shape) {
          return tl::unexpected("expected a region name like eu-west-1 (got '" + *text + "')");
        }
        return text;
      },
      &out->region);
  map.Read(
      "account",
      [](const YamlNode& node) -> ParseResult<std::string> {
        auto text = ParseText(node);
        if (text && (text->size() != 12 || !std::all_of(text->begin(), text->end(), [](char c) {
                       return c >= '0' && c <= '9';
                     }))) {
          return tl::unexpected("expected a 12-digit account id, quoted (got '" + *text + "')");
        }
        return text;
      },
      &out->account);
  map.Read("roles", ParseAwsRoles, &out->roles);
  MapReader waf = map.Section("waf");
  if (waf.Find("ip_set") != nullptr) {
    out->waf_ipv4.emplace();
    ParseIpSet(waf.Section("ip_set"), &*out->waf_ipv4);
  }
  if (waf.Find("ipv6_ip_set") != nullptr) {
    out->waf_ipv6.emplace();
    ParseIpSet(waf.Section("ipv6_ip_set"), &*out->waf_ipv6);
  }
  waf.Finish();
  std::chrono::milliseconds resize = out->resize_timeout;
  if (map.ReadDuration("resize_timeout", std::chrono::minutes(1), std::chrono::hours(1), &resize)) {
    out->resize_timeout = std::chrono::duration_cast<std::chrono::seconds>(resize);
  }
  map.ReadSize("workers", 1, 64, &out->workers);
  map.ReadSize("queue", 1, 10000, &out->queue);
  if (out->enabled == ConnectorSwitch::kOn && out->roles.empty() && map.ok()) {
    map.Error("roles",
              "required when aws.enabled is true: map actions to the roles opsgate "
              "assumes for them, like \"ec2:*\": arn:aws:iam::111111111111:role/opsgate-ec2");
  }
  map.Finish();
}

void ParseLog(MapReader map, LogConfig* out) {
  map.ReadEnum<std::string>(
      "level", {{"debug", "debug"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"}},
      &out->level);
  map.Finish();
}

// An https:// URL without a trailing '/', with a host name or IP literal.
ParseResult<std::string> ParseHttpsBase(const YamlNode& node) {
  auto text = ParseText(node);
  if (!text) {
    return text;
  }
  std::string url = *text;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  constexpr std::string_view kScheme = "https://";
  const bool https = url.compare(0, kScheme.size(), kScheme) == 0;
  const std::string rest = https ? url.substr(kScheme.size()) : "";
  const std::string host_port = rest.substr(0, rest.find('/'));
  if (!https || host_port.empty() ||
      url.find_first_of(" \t\r\n?#@") != std::string::npos) {
    return tl::unexpected(std::string(
        "expected an https:// URL like https://slack.com/api (no query, fragment or user info)"));
  }
  return url;
}

// Slack team ids: a list, or one comma-separated string ("T1,T2"); blanks dropped.
ParseResult<std::vector<std::string>> ParseTeamIds(const YamlNode& node) {
  std::vector<std::string> raw;
  if (node.kind == YamlNode::Kind::kSequence) {
    for (const YamlNode& item : node.items) {
      auto text = ParseText(item);
      if (!text) {
        return tl::unexpected(text.error());
      }
      raw.push_back(*text);
    }
  } else if (node.kind == YamlNode::Kind::kNull) {
    return raw;
  } else {
    auto text = ParseText(node);
    if (!text) {
      return tl::unexpected(text.error());
    }
    for (std::string_view piece : core::Split(*text, ',')) {
      raw.emplace_back(piece);
    }
  }
  std::vector<std::string> out;
  for (const std::string& r : raw) {
    const std::string_view id = core::Trim(r);
    if (id.empty()) {
      continue;
    }
    const bool ok = id.size() <= 32 && id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                            "abcdefghijklmnopqrstuvwxyz"
                                                            "0123456789") == std::string::npos;
    if (!ok) {
      return tl::unexpected("'" + Printable(id, 40) +
                            "' is not a Slack team id (letters and digits, like T0123ABCD)");
    }
    out.emplace_back(id);
  }
  return out;
}

void ParseSlack(MapReader map, const Context& ctx, SlackConfig* out) {
  map.ReadEnum("enabled",
               {{"auto", ConnectorSwitch::kAuto},
                {"true", ConnectorSwitch::kOn},
                {"false", ConnectorSwitch::kOff}},
               &out->enabled);
  ReadSecret(map, "signing_secret", ctx, &out->signing_secret);
  ReadSecret(map, "bot_token", ctx, &out->bot_token);
  map.Read("api_url", ParseHttpsBase, &out->api_url);
  const bool teams_read = map.Read("team_ids", ParseTeamIds, &out->team_ids);
  std::chrono::milliseconds window = out->replay_window;
  if (map.ReadDuration("replay_window", std::chrono::seconds(30), std::chrono::seconds(3600),
                       &window)) {
    out->replay_window = std::chrono::duration_cast<std::chrono::seconds>(window);
  }
  map.ReadSize("body_bytes", 4 * kKiB, 512 * kKiB, &out->body_bytes);
  map.Read(
      "command",
      [](const YamlNode& node) -> ParseResult<std::string> {
        auto text = ParseText(node);
        if (text && (text->size() < 2 || text->size() > 32 || text->front() != '/' ||
                     text->find_first_of(" \t/", 1) != std::string::npos)) {
          return tl::unexpected(std::string("expected a slash command like /ops"));
        }
        return text;
      },
      &out->command);
  if (out->enabled != ConnectorSwitch::kOff) {
    if (!out->signing_secret) {
      if (out->enabled == ConnectorSwitch::kOn) {
        map.Error("signing_secret",
                  "required when the Slack connector is enabled (like env:OPSGATE_SLACK_SIGNING_"
                  "SECRET)");
      } else {
        map.Warning("signing_secret",
                    "missing: the Slack connector stays off (set it, or enabled: false)");
      }
    }
    if (out->team_ids.empty() && (teams_read || map.Find("team_ids") == nullptr) && map.ok()) {
      map.Warning("team_ids",
                  "no workspace is allowed: every Slack request will be refused with 403 (list "
                  "your team ids, e.g. OPSGATE_SLACK_TEAM_IDS=T0123ABCD)");
    }
    if (!out->bot_token) {
      map.Warning("bot_token",
                  "missing: mentions and direct messages get no answer (slash commands and "
                  "buttons still do)");
    }
  }
  map.Finish();
}

void ParseConnectors(MapReader map, const Context& ctx, ConnectorsConfig* out) {
  if (map.Find("slack") != nullptr) {
    out->slack.emplace();
    ParseSlack(map.Section("slack"), ctx, &*out->slack);
  }
  map.Finish();
}

void ParseOutbound(MapReader map, const Context& ctx, OutboundConfig* out) {
  if (map.Find("ca_file") != nullptr) {
    ReadExistingFile(map, "ca_file", ctx, /*is_private=*/false, &out->ca_file);
  }
  map.Finish();
}

void ParseOidc(MapReader map, const Context& ctx, const std::string& public_url,
               OidcConfig* out) {
  for (const char* key : {"issuer", "client_id"}) {
    if (map.Find(key) == nullptr) {
      map.Error(key, "required key is missing (from your identity provider's client registration)");
    }
  }
  map.ReadBool("allow_http", &out->allow_http);
  if (out->allow_http && !ctx.dev) {
    map.Error("allow_http", "http:// identity providers are only for tests: set dev: true, or "
                            "use the provider's https:// issuer");
  }
  const auto url = [&](std::string_view what) {
    return [&, what](const YamlNode& n) -> ParseResult<std::string> {
      auto text = ParseText(n);
      if (!text) {
        return text;
      }
      const bool https = text->rfind("https://", 0) == 0;
      const bool http = out->allow_http && text->rfind("http://", 0) == 0;
      if ((!https && !http) || text->size() > 2048 || text->find_first_of(" \t\r\n") != std::string::npos) {
        return tl::unexpected("expected an https:// URL (" + std::string(what) + ")");
      }
      return text;
    };
  };
  map.Read("issuer", url("the issuer identifier"), &out->issuer);
  map.ReadString("client_id", &out->client_id);
  map.ReadEnum("client_auth",
               {{"client_secret_basic", std::string("client_secret_basic")},
                {"client_secret_post", std::string("client_secret_post")},
                {"none", std::string("none")}},
               &out->client_auth);
  ReadSecret(map, "client_secret", ctx, &out->client_secret);
  if (out->client_auth != "none" && !out->client_secret && map.Find("client_secret") == nullptr) {
    map.Error("client_secret", "required with client_auth " + out->client_auth +
                                   " (a secret reference such as env:OPSGATE_OIDC_CLIENT_SECRET)");
  }
  out->redirect_uri = public_url + "/auth/callback";
  map.Read("redirect_uri", url("opsgate's /auth/callback as registered"), &out->redirect_uri);
  map.Read("scopes", ParseStringList, &out->scopes);
  map.ReadString("groups_claim", &out->groups_claim);
  map.Finish();
}

void ParseIdentity(MapReader map, const Context& ctx, const ServerConfig& server,
                   IdentityConfig* out) {
  const std::string host = server.listen_host.find(':') != std::string::npos
                               ? "[" + server.listen_host + "]"
                               : server.listen_host;
  out->public_url = "https://" + host + ":" + std::to_string(server.listen_port);
  map.Read("public_url", ParseHttpsBase, &out->public_url);
  std::chrono::milliseconds token_ttl = out->link_token_ttl;
  if (map.ReadDuration("link_token_ttl", std::chrono::minutes(1), std::chrono::hours(1),
                       &token_ttl)) {
    out->link_token_ttl = std::chrono::duration_cast<std::chrono::seconds>(token_ttl);
  }
  std::chrono::milliseconds link_ttl = out->link_ttl;
  if (map.ReadDuration("link_ttl", std::chrono::hours(1), std::chrono::hours(8760), &link_ttl)) {
    out->link_ttl = std::chrono::duration_cast<std::chrono::seconds>(link_ttl);
  }
  if (map.Find("oidc") != nullptr) {
    out->oidc.emplace();
    ParseOidc(map.Section("oidc"), ctx, out->public_url, &*out->oidc);
  }
  map.Finish();
}

void ParseRoot(MapReader map, Context& ctx, Config* out) {
  map.ReadBool("dev", &out->dev);
  ctx.dev = out->dev;
  if (out->dev) {
    map.Warning("dev", "development mode: literal secrets allowed; never use in production");
  }
  std::string data_dir = ctx.config_dir;
  map.Read("data_dir", PathParser(ctx.config_dir), &data_dir);
  out->data_dir = ctx.data_dir = data_dir;
  ParseServer(map.Section("server"), ctx, &out->server);
  ParseStore(map.Section("store"), ctx, &out->store);
  ParseAudit(map.Section("audit"), ctx, &out->audit);
  ParseKeys(map.Section("keys"), ctx, &out->keys);
  ParseLog(map.Section("log"), &out->log);
  ParseRedact(map.Section("redact"), &out->redact);
  ParseConnectors(map.Section("connectors"), ctx, &out->connectors);
  ParseOutbound(map.Section("outbound"), ctx, &out->outbound);
  ParseIdentity(map.Section("identity"), ctx, out->server, &out->identity);
  MapReader webchat = map.Section("webchat");
  webchat.ReadBool("enabled", &out->webchat.enabled);
  webchat.Finish();
  ParsePolicyConfig(map.Section("policy"), ctx, &out->policy);
  // The catalogue itself is parsed by the intents module (intents::LoadCatalogueFile).
  MapReader intents = map.Section("intents");
  intents.Read("file", PathParser(ctx.config_dir), &out->intents.file);
  intents.Finish();
  ParseAws(map.Section("aws"), &out->aws);
  map.Finish();
}

std::string JoinErrors(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Diagnostic::Severity::kError) {
      out += (out.empty() ? "" : "\n") + d.ToString();
    }
  }
  return out;
}

}  // namespace

core::Result<ListenAddress> ParseListenAddress(std::string_view s) {
  const auto fail = [&](std::string_view hint = {}) {
    return core::Fail(core::InvalidArgument("expected " + std::string(kListenForm) + " (got '" +
                                            std::string(s) + "'" + std::string(hint) + ")"));
  };
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    return fail();
  }
  ListenAddress out;
  std::string_view host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    out.host = host.substr(1, host.size() - 2);
    if (!IsIpv6(out.host)) {
      return fail("; brackets hold an IPv6 address");
    }
  } else {
    out.host = host;
    if (out.host.find(':') != std::string::npos) {
      return fail("; write IPv6 addresses in brackets, like [::1]:8443");
    }
    const bool looks_numeric = out.host.find_first_not_of("0123456789.") == std::string::npos;
    if (looks_numeric ? !IsIpv4(out.host) : !IsHostName(out.host)) {
      return fail();
    }
  }
  const auto port = core::ParseDigits(s.substr(colon + 1));
  if (!port || *port > 65535) {
    return fail("; the port is 0 to 65535");
  }
  out.port = static_cast<uint16_t>(*port);
  return out;
}

LoadOutcome ParseConfig(std::string_view yaml, const std::string& source_path) {
  Diagnostics diags(source_path);
  LoadOutcome outcome;
  try {
    std::optional<YamlNode> root =
        internal::ParseYamlTree(yaml, kMaxConfigBytes, kMaxConfigDepth, diags);
    if (root) {
      auto config = std::make_shared<Config>();
      config->source_path =
          AbsoluteNormal(source_path.empty() ? fs::path(".") : fs::path(source_path));
      Context ctx;
      ctx.config_dir = source_path.empty() ? config->source_path
                                           : fs::path(config->source_path).parent_path().string();
      if (root->kind != YamlNode::Kind::kMap && root->kind != YamlNode::Kind::kNull) {
        diags.Error(
            root->position, "",
            "expected a mapping of sections like 'server:' (got " + DescribeNode(*root) + ")");
      } else {
        ParseRoot(MapReader(&*root, "", {}, diags), ctx, config.get());
      }
      if (!diags.has_errors()) {
        outcome.config = std::move(config);
      }
    }
  } catch (const std::exception& e) {
    // Only allocation failures can get here; the config is refused, not the process.
    diags.Error({}, "", std::string("cannot load the config: ") + e.what());
    outcome.config = nullptr;
  }
  outcome.diagnostics = diags.Take();
  return outcome;
}

core::Result<LoadedConfig> LoadConfigText(std::string_view yaml, const std::string& source_path) {
  LoadOutcome outcome = ParseConfig(yaml, source_path);
  if (!outcome.ok()) {
    return core::Fail(core::InvalidArgument(JoinErrors(outcome.diagnostics)));
  }
  LoadedConfig loaded{std::move(outcome.config), std::move(outcome.diagnostics)};
  return loaded;
}

core::Result<LoadedConfig> LoadConfigFile(const std::string& path) {
  auto text = internal::ReadFileAtMost(path, kMaxConfigBytes);
  if (!text) {
    switch (text.error().problem) {
      case internal::FileProblem::kNotFound:
        return core::Fail(core::NotFound(path + ": the config file does not exist"));
      case internal::FileProblem::kNotRegular:
        return core::Fail(core::InvalidArgument(path + ": not a regular file"));
      case internal::FileProblem::kTooLarge:
        return core::Fail(core::InvalidArgument(path + ": the config file is larger than " +
                                                std::to_string(kMaxConfigBytes / 1024) + " KiB"));
      case internal::FileProblem::kUnreadable:
        break;
    }
    return core::Fail(core::FailedPrecondition(path + ": cannot read the config file (" +
                                               text.error().detail + ")"));
  }
  return LoadConfigText(*text, path);
}

}  // namespace opsgate::config
