// opsgate: the command line. Subcommands live in commands.cc so tests can call them.
#include <CLI/CLI.hpp>

#include <iostream>

#include "opsgate/app/commands.h"
#include "opsgate/app/version.h"

int main(int argc, char** argv) {
  using opsgate::app::CheckOptions;
  using opsgate::app::InitCommandOptions;
  using opsgate::app::ServeOptions;

  CLI::App app{
      "opsgate " OPSGATE_VERSION
      ": a hardened ChatOps gateway. It verifies who is asking from Slack and other chat "
      "platforms, decides whether they may, audits it, and answers in the chat.",
      "opsgate"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "opsgate " OPSGATE_VERSION);
  app.footer(
      "First run: `opsgate serve` with no options creates ./opsgate-data (config, SQLite "
      "store, development certificate and keys) and serves https://127.0.0.1:8443.\n"
      "Signals while serving: SIGHUP reloads the config, TLS certificate and policy file and "
      "retrains the classifier; SIGTERM/SIGINT drain in-flight requests, finish the AWS "
      "actions under way and exit.\n"
      "AWS: credentials, region and endpoints from the environment as for the AWS CLI "
      "(AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL...); the config's aws "
      "section maps actions to the roles assumed for them (docs/aws.md).");

  ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Serve HTTPS: health, readiness, metrics and "
                                                "the enabled chat connectors.");
  serve_cmd->add_option("--config", serve.config_path,
                        "Config file (YAML). Without it, the data directory's opsgate.yaml is "
                        "used, and created with `init` on first start.");
  serve_cmd->add_option("--data-dir", serve.data_dir,
                        "Data directory used when --config is absent.")
      ->capture_default_str();
  serve_cmd->add_option("--listen", serve.listen,
                        "HOST:PORT to listen on instead of server.listen (port 0 picks a free "
                        "port; IPv6 as [::1]:8443).");

  InitCommandOptions init;
  auto* init_cmd = app.add_subcommand(
      "init", "Write a starter config, a starter policy with its tests (policy.yaml, "
              "policy-tests.yaml), the intent catalogue (intents.yaml), a self-signed "
              "development certificate and keys into DIR. Refuses to overwrite existing "
              "files.");
  init_cmd->add_option("dir", init.dir, "Directory to create or fill")->required();
  init_cmd->add_option("--host", init.extra_hosts,
                       "Extra DNS name or IP for the development certificate (repeatable); "
                       "localhost, 127.0.0.1 and ::1 are always included.");

  CheckOptions check;
  auto* check_cmd = app.add_subcommand(
      "check", "Validate a config and its policy file: exits 1 on errors (each as "
               "FILE:LINE:COL: key: problem), 0 otherwise; warns about insecure settings and "
               "risky policy statements.");
  check_cmd->add_option("--config", check.config_path, "Config file (YAML)")->required();

  opsgate::app::AuditOptions audit;
  auto* audit_cmd = app.add_subcommand(
      "audit", "Inspect the tamper-evident audit log (docs/audit-format.md).");
  audit_cmd->require_subcommand(1);
  auto* verify_cmd = audit_cmd->add_subcommand(
      "verify", "Re-derive every record hash, tree-head root and signature. Exit 0: "
                "\"verified N records, M tree heads\"; exit 1 names the first bad record and why.");
  auto* show_cmd = audit_cmd->add_subcommand(
      "show", "Print records as JSON lines; sealed fields are opened with the keys in keys.dir "
              "when they are readable.");
  show_cmd->add_option("--from", audit.from, "First sequence number")->capture_default_str();
  show_cmd->add_option("--limit", audit.limit, "Most records to print")->capture_default_str();
  auto* prove_cmd = audit_cmd->add_subcommand(
      "prove", "Print the inclusion proof of record SEQ against the latest signed tree head, "
               "as JSON (RFC 9162 §2.1.3).");
  prove_cmd->add_option("seq", audit.seq, "Sequence number of the record")->required();
  auto* tail_cmd = audit_cmd->add_subcommand("tail", "Print the last records as JSON lines.");
  tail_cmd->add_option("-n,--lines", audit.limit, "How many of the last records")
      ->capture_default_str();
  tail_cmd->add_flag("-f,--follow", audit.follow, "Keep printing new records until Ctrl-C");
  auto* export_cmd = audit_cmd->add_subcommand(
      "export", "Write records as JSON lines or RFC 5424 syslog lines to stdout, redacted "
                "(docs/siem-export.md); live export to a SIEM is audit.export.syslog.");
  export_cmd->add_option("--format", audit.format, "jsonl or syslog")
      ->check(CLI::IsMember({"jsonl", "syslog"}))
      ->capture_default_str();
  export_cmd->add_option("--from", audit.from, "First sequence number")->capture_default_str();
  export_cmd->add_option("--to", audit.to, "Last sequence number (inclusive); default: the end");
  for (auto* cmd : {verify_cmd, show_cmd, prove_cmd, tail_cmd, export_cmd}) {
    cmd->add_option("--config", audit.config_path, "Config file (YAML)")->required();
  }
  for (auto* cmd : {show_cmd, tail_cmd, export_cmd}) {
    cmd->add_flag("!--sealed", audit.decrypt, "Print sealed fields as stored, without opening them");
  }

  opsgate::app::KeysOptions keys;
  auto* keys_cmd = app.add_subcommand(
      "keys", "Key-encryption keys that seal sensitive audit fields (keys.dir).");
  keys_cmd->require_subcommand(1);
  auto* keys_list_cmd = keys_cmd->add_subcommand("list", "Print each key id, current or retired.");
  auto* keys_rotate_cmd = keys_cmd->add_subcommand(
      "rotate", "Make a new key current; old keys stay so old records remain readable. "
                "Nothing is rewritten. A running server switches on SIGHUP.");
  for (auto* cmd : {keys_list_cmd, keys_rotate_cmd}) {
    cmd->add_option("--config", keys.config_path, "Config file (YAML)")->required();
  }

  opsgate::app::PolicyExplainOptions explain;
  opsgate::app::PolicyTestOptions policy_test;
  auto* policy_cmd = app.add_subcommand(
      "policy", "Policy tools: explain one decision, run a table of expected decisions "
                "(docs/policy.md). `check` also lints the policy.");
  policy_cmd->require_subcommand(1);
  auto* explain_cmd = policy_cmd->add_subcommand(
      "explain",
      "Evaluate one request and print the decision (allow, deny, needs_mfa, needs_approval), "
      "the deciding statement, the reason and the session duration. Statements with rate "
      "caps cannot be evaluated here (no usage counts) and deny. Exit 0 allow, 1 deny, "
      "3 needs_mfa or needs_approval, 2 bad options, config or policy.");
  auto* explain_config = explain_cmd->add_option(
      "--config", explain.config_path,
      "Config file (YAML): its policy.file, or the built-in policy when that is empty");
  auto* explain_policy =
      explain_cmd->add_option("--policy", explain.policy_path, "Policy file (YAML)");
  explain_config->excludes(explain_policy);
  explain_cmd->add_option("--principal", explain.principal, "User name of the requester")
      ->required();
  explain_cmd->add_option("--action", explain.action, "service:Operation, e.g. ec2:StopInstances")
      ->required();
  explain_cmd->add_option("--resource", explain.resource,
                          "ARN or opsgate resource name; default: none");
  explain_cmd->add_option("--group", explain.groups, "A group of the requester (repeatable)");
  explain_cmd->add_option("--role", explain.roles, "A role of the requester (repeatable)");
  explain_cmd->add_option("--platform", explain.platform, "slack, teams, webchat, ...");
  explain_cmd->add_option("--workspace", explain.workspace, "Workspace or tenant id");
  auto* explain_channel =
      explain_cmd->add_option("--channel", explain.channel, "Channel id the request comes from");
  auto* explain_dm = explain_cmd->add_flag("--dm", explain.dm, "The request is a direct message");
  explain_channel->excludes(explain_dm);
  explain_cmd
      ->add_option("--channel-posture", explain.channel_posture,
                   "What the platform says about the channel: internal or shared (external "
                   "or guest members); default: it did not say")
      ->check(CLI::IsMember({"internal", "shared"}));
  explain_cmd->add_option("--mfa-age", explain.mfa_age,
                          "Time since the requester's last MFA, e.g. 5m; default: no MFA");
  explain_cmd->add_option("--at", explain.at,
                          "Evaluate at this RFC 3339 UTC time, e.g. 2026-01-05T12:00:00Z; "
                          "default: now");
  auto* policy_test_cmd = policy_cmd->add_subcommand(
      "test",
      "Run a table of expected decisions (docs/policy.md#policy-tests); prints PASS/FAIL per "
      "case and a summary. Exit 0 all pass, 1 any fail, 2 bad table, config or policy.");
  policy_test_cmd->add_option("file", policy_test.table_path, "Table file (YAML)")->required();
  auto* test_config = policy_test_cmd->add_option(
      "--config", policy_test.config_path,
      "Test the config's policy (policy.file, or the built-in policy) instead of the table's");
  auto* test_policy = policy_test_cmd->add_option(
      "--policy", policy_test.policy_path, "Test this policy file instead of the table's");
  test_config->excludes(test_policy);

  opsgate::app::NluParseOptions nlu_parse;
  opsgate::app::NluEvalOptions nlu_eval;
  auto* nlu_cmd = app.add_subcommand(
      "nlu", "Natural-language understanding tools: parse one text, evaluate labelled data "
             "(docs/intents.md).");
  nlu_cmd->require_subcommand(1);
  auto* nlu_parse_cmd = nlu_cmd->add_subcommand(
      "parse", "Print the intent, slots, confidence and alternatives of TEXT as one JSON "
               "object. Exit 0, or 2 on a bad config.");
  nlu_parse_cmd->add_option("--config", nlu_parse.config_path, "Config file (YAML)")->required();
  nlu_parse_cmd->add_option("text", nlu_parse.text, "The text to understand")->required();
  auto* nlu_eval_cmd = nlu_cmd->add_subcommand(
      "eval", "Score the classifier on JSON lines of {\"text\", \"intent\", \"slots\"}: "
              "intent accuracy, macro-F1, slot exact-match, out-of-scope precision and "
              "recall, confusion matrix, misclassified lines. Exit 0 when it ran, 2 on errors.");
  nlu_eval_cmd->add_option("--config", nlu_eval.config_path, "Config file (YAML)")->required();
  nlu_eval_cmd->add_option("data", nlu_eval.data_path, "Labelled data (JSON lines)")->required();
  nlu_eval_cmd->add_flag("--json", nlu_eval.json, "Print one JSON object");
  opsgate::app::NluReviewOptions nlu_review;
  auto* nlu_review_cmd = nlu_cmd->add_subcommand(
      "review", "List the rephrasings people confirmed after an unsure guess (candidates "
                "for training). Exit 0, or 2 on a bad config or store.");
  nlu_review_cmd->add_option("--config", nlu_review.config_path, "Config file (YAML)")->required();
  nlu_review_cmd->add_option("--state", nlu_review.state, "pending, accepted, rejected or all")
      ->check(CLI::IsMember({"pending", "accepted", "rejected", "all"}))
      ->capture_default_str();
  opsgate::app::NluReviewOptions nlu_decide;
  auto* nlu_accept_cmd = nlu_cmd->add_subcommand(
      "accept", "Accept candidates as training utterances (a running opsgate learns them on "
                "SIGHUP). Exit 0, 1 if an id is unknown or already reviewed, 2 on errors.");
  nlu_accept_cmd->add_option("--config", nlu_decide.config_path, "Config file (YAML)")->required();
  nlu_accept_cmd->add_option("ids", nlu_decide.ids, "Candidate ids (from nlu review)")->required();
  auto* nlu_reject_cmd = nlu_cmd->add_subcommand(
      "reject", "Reject candidates. Exit 0, 1 if an id is unknown or already reviewed, 2 on "
                "errors.");
  nlu_reject_cmd->add_option("--config", nlu_decide.config_path, "Config file (YAML)")->required();
  nlu_reject_cmd->add_option("ids", nlu_decide.ids, "Candidate ids (from nlu review)")->required();

  auto* version_cmd = app.add_subcommand("version", "Print the version.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // The policy tools document exit 2 for usage errors (3 means needs_mfa/approval).
    if (code != 0 && nlu_cmd->parsed()) {
      return opsgate::app::kNluUsageError;
    }
    return code != 0 && policy_cmd->parsed() ? opsgate::app::kPolicyUsageError : code;
  }

  if (*serve_cmd) {
    return opsgate::app::RunServe(serve);
  }
  if (*init_cmd) {
    return opsgate::app::RunInit(init);
  }
  if (*check_cmd) {
    return opsgate::app::RunCheck(check);
  }
  if (*audit_cmd) {
    if (*verify_cmd) {
      return opsgate::app::RunAuditVerify(audit);
    }
    if (*show_cmd) {
      return opsgate::app::RunAuditShow(audit);
    }
    if (*prove_cmd) {
      return opsgate::app::RunAuditProve(audit);
    }
    if (*tail_cmd) {
      return opsgate::app::RunAuditTail(audit);
    }
    if (*export_cmd) {
      return opsgate::app::RunAuditExport(audit);
    }
  }
  if (*policy_cmd) {
    if (*explain_cmd) {
      return opsgate::app::RunPolicyExplain(explain);
    }
    if (*policy_test_cmd) {
      return opsgate::app::RunPolicyTest(policy_test);
    }
  }
  if (*nlu_cmd) {
    if (*nlu_parse_cmd) {
      return opsgate::app::RunNluParse(nlu_parse);
    }
    if (*nlu_eval_cmd) {
      return opsgate::app::RunNluEval(nlu_eval);
    }
    if (*nlu_review_cmd) {
      return opsgate::app::RunNluReview(nlu_review);
    }
    if (*nlu_accept_cmd || *nlu_reject_cmd) {
      nlu_decide.verdict = *nlu_accept_cmd ? "accepted" : "rejected";
      return opsgate::app::RunNluDecide(nlu_decide);
    }
  }
  if (*keys_cmd) {
    keys.rotate = keys_rotate_cmd->parsed();
    return opsgate::app::RunKeys(keys);
  }
  if (*version_cmd) {
    std::cout << "opsgate " OPSGATE_VERSION "\n";
    return 0;
  }
  return 2;
}
