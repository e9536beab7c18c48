// File: opsgate/redact/redactor.h
//
// Removes secrets from text before it is stored or leaves the process (logs, chat
// replies, audit exports). Each secret is replaced by a typed marker, e.g.
//
//   "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
//     -> "aws_secret_access_key=[redacted:aws-secret-key]"
//   "postgres://app:hunter2@db:5432/ops" -> "postgres://app:[redacted:url-password]@db:5432/ops"
//
//   auto redactor = Redactor::Create(config.redact.extra_patterns);
//   if (!redactor) return Fail(redactor.error());
//   reply.text = redactor->Redact(reply.text);
//
// Built-in rules (marker name in brackets): PEM private keys [private-key], AWS access
// key ids AKIA/ASIA/ABIA/ACCA [aws-access-key-id], AWS secret access keys after an
// aws/secret keyword or right after an access key id [aws-secret-key], AWS session
// tokens after a keyword or with a known prefix [aws-session-token], Slack tokens
// xox?-/xapp- [slack-token], Slack webhook URLs [slack-webhook], GitHub tokens gh?_ and
// github_pat_ [github-token], Atlassian API tokens ATATT3 [atlassian-token], JWTs
// [jwt], passwords in URLs scheme://user:PASSWORD@host [url-password],
// password=/"password": and similar assignments [password], Authorization headers and
// Bearer tokens [authorization], Google API keys AIza [google-api-key], Stripe keys
// sk_/rk_ live/test [stripe-key]. Extra patterns from the config give [custom]: the
// first capture group is replaced if the pattern has one, else the whole match.
//
// Only RE2 is used (linear time, safe on untrusted input). Redact() is idempotent:
// Redact(Redact(x)) == Redact(x); a marker is never redacted again.
//
// Thread-safety: immutable after Create(); Redact() is safe to call from any thread.
// Copying is cheap (the compiled rules are shared).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/result.h"

namespace opsgate::redact {

class Redactor {
 public:
  // Built-in rules plus `extra_patterns` (RE2 syntax).
  // Errors: kInvalidArgument naming the first pattern that does not compile or that can
  // match the empty string.
  [[nodiscard]] static core::Result<Redactor> Create(std::vector<std::string> extra_patterns = {});

  // `text` with every secret replaced by its marker. Overlapping secrets become one marker
  // (the rule that starts first, or the earlier rule in the list above, names it).
  std::string Redact(std::string_view text) const;

  // True if Redact(text) would change `text`.
  bool ContainsSecret(std::string_view text) const;

  // The marker names of the built-in rules, in priority order.
  static std::vector<std::string> BuiltinRuleNames();

  struct Rules;  // compiled rules; internal

 private:
  explicit Redactor(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {}

  std::string RedactOnce(std::string_view text) const;

  std::shared_ptr<const Rules> rules_;
};

}  // namespace opsgate::redact
