#include "opsgate/aws/sigv4.h"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cstdio>
#include <map>

#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"

namespace opsgate::aws {
namespace {

using core::Fail;
using core::InvalidArgument;

constexpr std::string_view kHexUpper = "0123456789ABCDEF";

// Headers that proxies and HTTP stacks add, drop or rewrite; signing them breaks requests.
constexpr std::string_view kUnsignedHeaderNames[] = {
    "connection",        "expect",  "proxy-authorization", "te",
    "transfer-encoding", "upgrade", "user-agent",          "x-amzn-trace-id"};

// The query parameters PresignUrl adds.
constexpr std::string_view kPresignParams[] = {
    "X-Amz-Algorithm",     "X-Amz-Credential",     "X-Amz-Date",     "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature"};

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

void AppendEscape(std::string& out, unsigned char c) {
  out.push_back('%');
  out.push_back(kHexUpper[c >> 4]);
  out.push_back(kHexUpper[c & 0xF]);
}

bool IsEscapeAt(std::string_view s, size_t i) {
  return s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0;
}

// Percent-decodes; a '%' not followed by two hex digits stays a literal '%'. '+' is a
// literal plus (AWS SDKs send spaces as %20).
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (IsEscapeAt(s, i)) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// S3 (single encoding): keep valid escapes (upper-cased), encode everything else that
// is not unreserved or '/'.
std::string NormalizeEscapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (IsEscapeAt(s, i)) {
      out.push_back('%');
      out.push_back(kHexUpper[HexValue(s[i + 1])]);
      out.push_back(kHexUpper[HexValue(s[i + 2])]);
      i += 2;
    } else if (IsUnreserved(c) || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      AppendEscape(out, c);
    }
  }
  return out;
}

// RFC 3986 §5.2.4 dot-segment removal plus collapsing of empty segments ("//").
// Keeps a trailing '/' (also the one implied by a final "." or "..").
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> kept;
  bool trailing_slash = false;
  size_t start = 1;  // path[0] == '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    const std::string_view seg = path.substr(start, end - start);
    const bool last = end == path.size();
    if (seg == "..") {
      if (!kept.empty()) {
        kept.pop_back();
      }
      trailing_slash = last;
    } else if (seg == "." || seg.empty()) {
      trailing_slash = last;
    } else {
      kept.push_back(seg);
      trailing_slash = false;
    }
    start = end + 1;
  }
  std::string out;
  for (std::string_view seg : kept) {
    out.push_back('/');
    out.append(seg);
  }
  if (out.empty() || trailing_slash) {
    out.push_back('/');
  }
  return out;
}

bool IsTokenChar(unsigned char c) {
  return IsUnreserved(c) ||
         std::string_view("!#$%&'*+^`|").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return IsTokenChar(static_cast<unsigned char>(c));
  });
}

bool IEquals(std::string_view a, std::string_view b) {
  return core::AsciiLower(a) == core::AsciiLower(b);
}

// Trims and folds every run of whitespace (SP, HT, and obs-folds: CR/LF followed by SP or
// HT) into one space. A CR or LF that does not start a fold, and other control bytes, are
// refused: they would let a value smuggle in another header.
core::Result<std::string> CanonicalHeaderValue(std::string_view name, std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c == '\r' || c == '\n') {
      size_t j = i + 1;
      if (c == '\r' && j < v.size() && v[j] == '\n') {
        ++j;
      }
      if (j >= v.size() || (v[j] != ' ' && v[j] != '\t')) {
        return Fail(InvalidArgument("header '" + std::string(name) +
                                    "' has a line break that is not a fold"));
      }
      pending_space = true;
      i = j - 1;
      continue;
    }
    if (c == ' ' || c == '\t') {
      pending_space = true;
      continue;
    }
    if (c < 0x20 || c == 0x7F) {
      return Fail(InvalidArgument("header '" + std::string(name) + "' has a control character"));
    }
    if (pending_space && !out.empty()) {
      out.push_back(' ');
    }
    pending_space = false;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

struct CanonicalHeaders {
  std::string block;  // "name:value\n" lines
  std::string names;  // "a;b;c"
};

core::Result<CanonicalHeaders> BuildCanonicalHeaders(const HeaderList& headers) {
  std::map<std::string, std::string> grouped;  // sorted by lower-case name
  for (const auto& [name, value] : headers) {
    if (!IsToken(name)) {
      return Fail(InvalidArgument("a header name is empty or not an HTTP token"));
    }
    std::string lname = core::AsciiLower(name);
    if (std::find(std::begin(kUnsignedHeaderNames), std::end(kUnsignedHeaderNames), lname) !=
        std::end(kUnsignedHeaderNames)) {
      continue;
    }
    auto canonical = CanonicalHeaderValue(lname, value);
    if (!canonical) {
      return Fail(canonical.error());
    }
    auto [it, inserted] = grouped.try_emplace(std::move(lname), std::move(*canonical));
    if (!inserted) {
      it->second.push_back(',');
      it->second.append(*canonical);
    }
  }
  if (grouped.find("host") == grouped.end()) {
    return Fail(InvalidArgument("the request has no host: set HttpRequestToSign::host"));
  }
  CanonicalHeaders out;
  for (const auto& [name, value] : grouped) {
    out.block.append(name).append(":").append(value).append("\n");
    if (!out.names.empty()) {
      out.names.push_back(';');
    }
    out.names.append(name);
  }
  return out;
}

std::string CanonicalUri(std::string_view path, const SignOptions& options) {
  std::string p(path.empty() ? "/" : path);
  if (options.normalize_path) {
    p = NormalizePath(p);
  }
  return options.double_uri_encode ? UriEncode(p, /*keep_slash=*/true) : NormalizeEscapes(p);
}

// The non-empty '&'-separated pieces of a raw query.
std::vector<std::string_view> SplitQuery(std::string_view query) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) {
      end = query.size();
    }
    if (end > start) {
      out.push_back(query.substr(start, end - start));
    }
    start = end + 1;
  }
  return out;
}

// Parameters percent-decoded then re-encoded (UriEncode), sorted by key then value.
std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (std::string_view piece : SplitQuery(query)) {
    const size_t eq = piece.find('=');
    const std::string_view key = piece.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    params.emplace_back(UriEncode(PercentDecode(key), false),
                        UriEncode(PercentDecode(value), false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out.append(k).append("=").append(v);
  }
  return out;
}

core::Status ValidateRequest(const HttpRequestToSign& r) {
  if (!IsToken(r.method)) {
    return Fail(InvalidArgument("the HTTP method is empty or not a token"));
  }
  if (!r.path.empty() && r.path.front() != '/') {
    return Fail(InvalidArgument("the path must start with '/'"));
  }
  for (char c : r.path + r.query) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '#') {
      return Fail(InvalidArgument("the path or query has a control character or '#'"));
    }
  }
  if (r.path.find('?') != std::string::npos) {
    return Fail(
        InvalidArgument("the path contains '?': put the query in HttpRequestToSign::query"));
  }
  for (char c : r.host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '/' || c == '@') {
      return Fail(InvalidArgument("the host has a character that is not allowed"));
    }
  }
  return core::Ok();
}

bool IsScopeWord(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

core::Status ValidateSigningInputs(const Credentials& creds, std::string_view region,
                                   std::string_view service, core::Clock::WallTime now) {
  if (creds.access_key_id.empty() || creds.access_key_id.size() > 128 ||
      !std::all_of(creds.access_key_id.begin(), creds.access_key_id.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      })) {
    return Fail(InvalidArgument("the access key id is empty or not alphanumeric"));
  }
  if (creds.secret_access_key.empty()) {
    return Fail(InvalidArgument("the secret access key is empty"));
  }
  if (creds.session_token) {
    for (char c : creds.session_token->Reveal()) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F) {
        return Fail(InvalidArgument("the session token has a control character"));
      }
    }
    if (creds.session_token->empty()) {
      return Fail(InvalidArgument("the session token is empty (use std::nullopt for none)"));
    }
  }
  if (!IsScopeWord(region)) {
    return Fail(InvalidArgument("the region must be lower-case letters, digits and '-'"));
  }
  if (!IsScopeWord(service)) {
    return Fail(InvalidArgument("the service name must be lower-case letters, digits and '-'"));
  }
  if (creds.expires_at && now >= *creds.expires_at) {
    return Fail(core::FailedPrecondition("the credentials for access key " + creds.access_key_id +
                                         " expired at " + FormatAmzDate(*creds.expires_at) +
                                         "; refresh them before signing"));
  }
  return core::Ok();
}

// The values of header `name` (any case), in order.
std::vector<std::string_view> FindHeaders(const HeaderList& headers, std::string_view name) {
  std::vector<std::string_view> found;
  for (const auto& [n, v] : headers) {
    if (IEquals(n, name)) {
      found.push_back(v);
    }
  }
  return found;
}

// The single value of header `name`: nullopt when absent, kInvalidArgument when repeated.
core::Result<std::optional<std::string_view>> FindSingleHeader(const HeaderList& headers,
                                                               std::string_view name) {
  const auto all = FindHeaders(headers, name);
  if (all.size() > 1) {
    return Fail(InvalidArgument("the request has more than one " + std::string(name) + " header"));
  }
  return all.empty() ? std::nullopt : std::optional<std::string_view>(all.front());
}

std::string PayloadHash(const HttpRequestToSign& r, const SignOptions& o) {
  return o.unsigned_payload ? std::string(kUnsignedPayload)
                            : crypto::HexEncode(crypto::Sha256(r.body));
}

// Headers to sign: the request's, with Host added from `host` when missing.
core::Result<HttpRequestToSign> WithHost(const HttpRequestToSign& request) {
  HttpRequestToSign r = request;
  auto found = FindSingleHeader(r.headers, "host");
  if (!found) {
    return Fail(found.error());
  }
  const auto host = *found;
  if (!host) {
    if (r.host.empty()) {
      return Fail(InvalidArgument("the request has no host: set HttpRequestToSign::host"));
    }
    r.headers.insert(r.headers.begin(), {"host", r.host});
  } else if (!r.host.empty() && std::string(core::Trim(*host)) != r.host) {
    return Fail(InvalidArgument("the Host header and HttpRequestToSign::host differ"));
  }
  return r;
}

}  // namespace

std::string UriEncode(std::string_view bytes, bool keep_slash) {
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      AppendEscape(out, c);
    }
  }
  return out;
}

std::string FormatAmzDate(core::Clock::WallTime t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd(day);
  const hh_mm_ss hms(secs - day);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service) {
  std::string out;
  out.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
  return out;
}

core::Result<std::string> SignedHeaderNames(const HttpRequestToSign& request) {
  auto r = WithHost(request);
  if (!r) {
    return Fail(r.error());
  }
  auto headers = BuildCanonicalHeaders(r->headers);
  if (!headers) {
    return Fail(headers.error());
  }
  return std::move(headers->names);
}

core::Result<std::string> CanonicalRequest(const HttpRequestToSign& request,
                                           std::string_view payload_hash,
                                           const SignOptions& options) {
  OPSGATE_RETURN_IF_ERROR(ValidateRequest(request));
  auto r = WithHost(request);
  if (!r) {
    return Fail(r.error());
  }
  auto headers = BuildCanonicalHeaders(r->headers);
  if (!headers) {
    return Fail(headers.error());
  }
  std::string out;
  out.append(request.method).append("\n");
  out.append(CanonicalUri(request.path, options)).append("\n");
  out.append(CanonicalQuery(request.query)).append("\n");
  out.append(headers->block).append("\n");
  out.append(headers->names).append("\n");
  out.append(payload_hash);
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view credential_scope,
                         std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(amz_date).append("\n").append(credential_scope).append("\n");
  out.append(crypto::HexEncode(crypto::Sha256(canonical_request)));
  return out;
}

namespace {

core::Secret Hmac(std::string_view key, std::string_view data) {
  crypto::Digest d = crypto::HmacSha256(key, data);
  core::Secret out(std::string(crypto::AsStringView(d)));
  explicit_bzero(d.data(), d.size());
  return out;
}

}  // namespace

core::Secret DeriveSigningKey(const core::Secret& secret_access_key, std::string_view date,
                              std::string_view region, std::string_view service) {
  std::string k_secret_bytes;
  k_secret_bytes.reserve(4 + secret_access_key.size());
  k_secret_bytes.append("AWS4").append(secret_access_key.Reveal());
  const core::Secret k_secret(std::move(k_secret_bytes));
  const core::Secret k_date = Hmac(k_secret.Reveal(), date);
  const core::Secret k_region = Hmac(k_date.Reveal(), region);
  const core::Secret k_service = Hmac(k_region.Reveal(), service);
  return Hmac(k_service.Reveal(), "aws4_request");
}

std::string ComputeSignature(const core::Secret& signing_key, std::string_view string_to_sign) {
  return crypto::HexEncode(crypto::HmacSha256(signing_key.Reveal(), string_to_sign));
}

core::Result<SignedHeaders> SignRequest(const HttpRequestToSign& request,
                                        const Credentials& credentials, std::string_view region,
                                        std::string_view service, core::Clock::WallTime now,
                                        SignOptions options) {
  OPSGATE_RETURN_IF_ERROR(ValidateRequest(request));
  OPSGATE_RETURN_IF_ERROR(ValidateSigningInputs(credentials, region, service, now));
  if (!FindHeaders(request.headers, "authorization").empty()) {
    return Fail(InvalidArgument("the request already has an Authorization header"));
  }
  auto date_header = FindSingleHeader(request.headers, "x-amz-date");
  auto token_header = FindSingleHeader(request.headers, "x-amz-security-token");
  auto sha_header = FindSingleHeader(request.headers, "x-amz-content-sha256");
  for (const auto* h : {&date_header, &token_header, &sha_header}) {
    if (!*h) {
      return Fail(h->error());
    }
  }
  const std::string amz_date = FormatAmzDate(now);
  const std::string date = amz_date.substr(0, 8);
  const std::string payload_hash = PayloadHash(request, options);

  HttpRequestToSign to_sign = request;
  HeaderList add;
  // x-amz-date: added, or the caller's must say the same instant.
  if (const auto existing = *date_header) {
    if (core::Trim(*existing) != amz_date) {
      return Fail(
          InvalidArgument("the request's X-Amz-Date differs from the signing time " + amz_date));
    }
  } else {
    add.emplace_back("X-Amz-Date", amz_date);
  }
  // x-amz-security-token: signed unless omit_session_token, in which case it is added
  // after the signature.
  std::optional<std::pair<std::string, std::string>> token_after;
  if (const auto existing = *token_header) {
    if (!credentials.session_token ||
        !crypto::ConstantTimeEquals(core::Trim(*existing), credentials.session_token->Reveal())) {
      return Fail(InvalidArgument(
          "the request's X-Amz-Security-Token is not the credentials' session token"));
    }
    if (options.omit_session_token) {
      return Fail(InvalidArgument(
          "omit_session_token is set but the request already carries X-Amz-Security-Token"));
    }
  } else if (credentials.session_token) {
    std::pair<std::string, std::string> h{"X-Amz-Security-Token",
                                          std::string(credentials.session_token->Reveal())};
    if (options.omit_session_token) {
      token_after = std::move(h);
    } else {
      add.push_back(std::move(h));
    }
  }
  if (options.sign_body) {
    if (const auto existing = *sha_header) {
      if (core::Trim(*existing) != payload_hash) {
        return Fail(InvalidArgument("the request's x-amz-content-sha256 is not its payload hash"));
      }
    } else {
      add.emplace_back("x-amz-content-sha256", payload_hash);
    }
  }
  to_sign.headers.insert(to_sign.headers.end(), add.begin(), add.end());

  auto canonical = CanonicalRequest(to_sign, payload_hash, options);
  if (!canonical) {
    return Fail(canonical.error());
  }
  auto names = SignedHeaderNames(to_sign);
  if (!names) {
    return Fail(names.error());
  }
  SignedHeaders out;
  out.credential_scope = CredentialScope(date, region, service);
  out.signed_header_names = std::move(*names);
  const core::Secret key = DeriveSigningKey(credentials.secret_access_key, date, region, service);
  const std::string signature =
      ComputeSignature(key, StringToSign(amz_date, out.credential_scope, *canonical));
  if (token_after) {
    add.push_back(std::move(*token_after));
  }
  std::string authorization(kAlgorithm);
  authorization.append(" Credential=")
      .append(credentials.access_key_id)
      .append("/")
      .append(out.credential_scope)
      .append(", SignedHeaders=")
      .append(out.signed_header_names)
      .append(", Signature=")
      .append(signature);
  add.emplace_back("Authorization", std::move(authorization));
  out.add = std::move(add);
  return out;
}

core::Result<PresignedRequest> PresignUrl(const HttpRequestToSign& request,
                                          const Credentials& credentials, std::string_view region,
                                          std::string_view service, core::Clock::WallTime now,
                                          std::chrono::seconds expires, SignOptions options) {
  OPSGATE_RETURN_IF_ERROR(ValidateRequest(request));
  OPSGATE_RETURN_IF_ERROR(ValidateSigningInputs(credentials, region, service, now));
  if (expires.count() < 1 || expires > kMaxPresignExpiry) {
    return Fail(InvalidArgument("a presigned URL must expire in 1 to 604800 seconds, not " +
                                std::to_string(expires.count())));
  }
  if (!FindHeaders(request.headers, "authorization").empty()) {
    return Fail(InvalidArgument("the request already has an Authorization header"));
  }
  // Refuse a query that already carries a signing parameter.
  for (std::string_view piece : SplitQuery(request.query)) {
    const std::string key = PercentDecode(piece.substr(0, piece.find('=')));
    for (std::string_view p : kPresignParams) {
      if (IEquals(key, p)) {
        return Fail(
            InvalidArgument("the query already has the signing parameter " + std::string(p)));
      }
    }
  }
  auto names = SignedHeaderNames(request);
  if (!names) {
    return Fail(names.error());
  }
  const std::string amz_date = FormatAmzDate(now);
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = CredentialScope(date, region, service);

  // In the order the AWS suite's signed requests use.
  std::string params;
  params.append("X-Amz-Algorithm=").append(kAlgorithm);
  params.append("&X-Amz-Credential=")
      .append(UriEncode(credentials.access_key_id + "/" + scope, false));
  params.append("&X-Amz-Date=").append(amz_date);
  params.append("&X-Amz-SignedHeaders=").append(UriEncode(*names, false));
  params.append("&X-Amz-Expires=").append(std::to_string(expires.count()));
  std::string token_param;
  if (credentials.session_token) {
    token_param = "&X-Amz-Security-Token=" + UriEncode(credentials.session_token->Reveal(), false);
  }

  HttpRequestToSign to_sign = request;
  if (!to_sign.query.empty()) {
    to_sign.query.push_back('&');
  }
  to_sign.query.append(params);
  if (!options.omit_session_token) {
    to_sign.query.append(token_param);
  }
  auto canonical = CanonicalRequest(to_sign, PayloadHash(request, options), options);
  if (!canonical) {
    return Fail(canonical.error());
  }
  const core::Secret key = DeriveSigningKey(credentials.secret_access_key, date, region, service);
  const std::string signature = ComputeSignature(key, StringToSign(amz_date, scope, *canonical));

  PresignedRequest out;
  out.target = request.path.empty() ? "/" : request.path;
  out.target.push_back('?');
  if (!request.query.empty()) {
    out.target.append(request.query).append("&");
  }
  out.target.append(params).append(token_param).append("&X-Amz-Signature=").append(signature);
  std::string host = request.host;
  if (host.empty()) {
    if (const auto h = FindHeaders(request.headers, "host"); !h.empty()) {
      host = std::string(core::Trim(h.front()));
    }
  }
  out.url = "https://" + host + out.target;
  out.signed_header_names = std::move(*names);
  return out;
}

std::string ScrubSecrets(std::string text, std::initializer_list<std::string_view> secrets) {
  constexpr std::string_view kRedacted = "[redacted]";
  for (std::string_view secret : secrets) {
    if (secret.size() < 4) {
      continue;
    }
    // Continue after the replacement: a secret that occurs in "[redacted]" itself must
    // not be found there again.
    for (size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + kRedacted.size())) {
      text.replace(at, secret.size(), kRedacted);
    }
  }
  return text;
}

std::string ScrubCredentials(std::string text, const Credentials& credentials) {
  return ScrubSecrets(
      std::move(text),
      {credentials.secret_access_key.Reveal(),
       credentials.session_token ? credentials.session_token->Reveal() : std::string_view()});
}

}  // namespace opsgate::aws
