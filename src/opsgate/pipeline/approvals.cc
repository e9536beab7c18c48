#include "opsgate/pipeline/approvals.h"

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/random.h"

namespace opsgate::pipeline {
namespace {

namespace json = boost::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr size_t kIdLength = 8;
// Crockford's base32 alphabet: no I, L, O, U, so ids read aloud and typed survive.
constexpr std::string_view kIdAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kMaxListed = 1000;

int64_t Millis(core::Clock::WallTime t) {
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}
core::Clock::WallTime FromMillis(int64_t ms) {
  return core::Clock::WallTime(duration_cast<core::Clock::WallTime::duration>(milliseconds(ms)));
}

std::string Utc(core::Clock::WallTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string Minutes(std::chrono::seconds s) {
  return std::to_string(duration_cast<std::chrono::minutes>(s).count()) + " min";
}

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) {
    a.emplace_back(s);
  }
  return a;
}

bool InGroup(const std::vector<std::string>& groups, std::string_view group) {
  for (const auto& g : groups) {
    if (g == group) {
      return true;
    }
  }
  return false;
}

// Reads typed members strictly; any surprise makes the payload undecodable.
class Reader {
 public:
  explicit Reader(const json::object& o) : o_(o) {}
  std::string Str(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || !v->is_string()) {
      ok_ = false;
      return {};
    }
    return std::string(v->get_string());
  }
  bool Bool(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || !v->is_bool()) {
      ok_ = false;
      return false;
    }
    return v->get_bool();
  }
  int64_t Int(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || !v->is_int64()) {
      ok_ = false;
      return 0;
    }
    return v->get_int64();
  }
  std::vector<std::string> List(std::string_view key) {
    std::vector<std::string> out;
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || !v->is_array()) {
      ok_ = false;
      return out;
    }
    for (const json::value& e : v->get_array()) {
      if (!e.is_string()) {
        ok_ = false;
        return {};
      }
      out.emplace_back(e.get_string());
    }
    return out;
  }
  bool ok() const { return ok_; }

 private:
  const json::object& o_;
  bool ok_ = true;
};

}  // namespace

core::Result<std::string> NewRequestId() {
  auto bytes = crypto::RandomBytes(kIdLength);
  if (!bytes) {
    return core::Fail(bytes.error());
  }
  std::string id;
  for (unsigned char b : *bytes) {
    id += kIdAlphabet[b % kIdAlphabet.size()];  // 256 % 32 == 0: uniform
  }
  return id;
}

std::optional<VoteCommand> ParseVoteCommand(std::string_view text) {
  const std::vector<std::string_view> words = core::Words(text);
  if (words.size() != 2 || words[1].size() > 32) {
    return std::nullopt;
  }
  const std::string verb = core::AsciiLower(words[0]);
  if (verb != "approve" && verb != "deny") {
    return std::nullopt;
  }
  return VoteCommand{verb == "approve", core::AsciiUpper(words[1])};
}

std::string ApprovalHash(const PendingAction& p) {
  const std::string bound = p.action.canonical + '\n' + policy::ApprovalKey(p.request);
  const crypto::Digest d = crypto::Sha256(bound);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

std::string EncodePendingAction(const PendingAction& p) {
  json::object slots;
  for (const auto& [k, v] : p.action.slots) {
    slots[k] = v;
  }
  json::object o{
      {"v", 1},
      {"principal_id", p.request.principal.id},
      {"user", p.request.principal.user},
      {"groups", Strings(p.request.principal.groups)},
      {"roles", Strings(p.request.principal.roles)},
      {"mfa_at_ms", p.request.principal.mfa_at ? Millis(*p.request.principal.mfa_at) : -1},
      {"action", p.request.action},
      {"resource", p.request.resource},
      {"policy_platform", p.request.platform},
      {"policy_workspace", p.request.workspace},
      {"policy_channel", p.request.channel},
      {"is_dm", p.request.is_dm},
      {"now_ms", Millis(p.request.now)},
      {"intent", p.action.intent},
      {"slots", std::move(slots)},
      {"destructive", p.action.destructive},
      {"canonical", p.action.canonical},
      {"statement", p.statement},
      {"correlation_id", p.correlation_id},
      {"platform", p.platform},
      {"workspace", p.workspace},
      {"channel", p.channel},
      {"thread", p.thread},
      {"user_id", p.user_id},
  };
  return json::serialize(o);
}

core::Result<PendingAction> DecodePendingAction(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return core::Fail(core::DataLoss("approval payload is not a JSON object"));
  }
  const json::object& o = v.get_object();
  Reader r(o);
  PendingAction p;
  if (r.Int("v") != 1) {
    return core::Fail(core::DataLoss("approval payload has an unknown version"));
  }
  p.request.principal.id = r.Str("principal_id");
  p.request.principal.user = r.Str("user");
  p.request.principal.groups = r.List("groups");
  p.request.principal.roles = r.List("roles");
  if (const int64_t mfa = r.Int("mfa_at_ms"); mfa >= 0) {
    p.request.principal.mfa_at = FromMillis(mfa);
  }
  p.request.action = r.Str("action");
  p.request.resource = r.Str("resource");
  p.request.platform = r.Str("policy_platform");
  p.request.workspace = r.Str("policy_workspace");
  p.request.channel = r.Str("policy_channel");
  p.request.is_dm = r.Bool("is_dm");
  p.request.now = FromMillis(r.Int("now_ms"));
  p.action.intent = r.Str("intent");
  p.action.action = p.request.action;
  p.action.resource = p.request.resource;
  p.action.destructive = r.Bool("destructive");
  p.action.canonical = r.Str("canonical");
  p.statement = r.Str("statement");
  p.correlation_id = r.Str("correlation_id");
  p.platform = r.Str("platform");
  p.workspace = r.Str("workspace");
  p.channel = r.Str("channel");
  p.thread = r.Str("thread");
  p.user_id = r.Str("user_id");
  const json::value* slots = o.if_contains("slots");
  if (slots == nullptr || !slots->is_object()) {
    return core::Fail(core::DataLoss("approval payload has no slots object"));
  }
  for (const auto& [k, val] : slots->get_object()) {
    if (!val.is_string()) {
      return core::Fail(core::DataLoss("approval payload slot is not a string"));
    }
    p.action.slots.emplace(std::string(k), std::string(val.get_string()));
  }
  if (!r.ok()) {
    return core::Fail(core::DataLoss("approval payload is missing a field or has a wrong type"));
  }
  return p;
}

core::Result<ApprovalDesk::Opened> ApprovalDesk::Open(const Message& origin,
                                                      const ActionRequest& action,
                                                      const policy::Request& request,
                                                      const policy::Decision& decision) {
  const std::optional<policy::Approval> spec = authorizer_.ApprovalOf(decision.statement);
  if (!spec) {
    return core::Fail(
        core::FailedPrecondition("statement " + decision.statement + " has no approval condition"));
  }
  PendingAction pending;
  pending.request = request;
  pending.action = action;
  pending.statement = decision.statement;
  pending.correlation_id = origin.correlation_id;
  pending.platform = origin.platform;
  pending.workspace = origin.workspace_id;
  pending.channel = origin.reply_to.channel_id;
  pending.thread = origin.reply_to.thread_id;
  pending.user_id = origin.user_id;
  const core::Clock::WallTime now = clock_.Now();
  store::ApprovalRequest stored;
  stored.action_hash = ApprovalHash(pending);
  stored.requester = request.principal.id;
  stored.needed = spec->count;
  stored.payload = EncodePendingAction(pending);
  stored.created_at = now;
  stored.updated_at = now;
  stored.expires_at = now + settings_.ttl;
  // An id collision (1 in 2^40 per pair) only costs a retry.
  for (int attempt = 0;; ++attempt) {
    auto id = NewRequestId();
    if (!id) {
      return core::Fail(id.error());
    }
    stored.id = std::move(*id);
    core::Status created = store_.Create(stored);
    if (created) {
      return Opened{std::move(stored), *spec};
    }
    if (created.error().code != core::ErrorCode::kAlreadyExists || attempt == 2) {
      return core::Fail(created.error());
    }
  }
}

VoteResult ApprovalDesk::Vote(std::string_view id, const Principal& approver, bool approve) {
  VoteResult out;
  const core::Clock::WallTime now = clock_.Now();
  const auto refuse = [&](std::string why) {
    out.outcome = VoteResult::Outcome::kRefused;
    out.message = std::move(why);
    return out;
  };
  // Ids come from chat (typed, or a button's value): echo at most 32 valid characters.
  const std::string shown = core::SanitizeUtf8(id.substr(0, 32));
  auto found = store_.Find(id);
  if (!found && found.error().code != core::ErrorCode::kInvalidArgument) {
    return refuse("opsgate cannot read approvals right now; nothing changed. Try again.");
  }
  if (!found || !found->has_value()) {
    return refuse("There is no approval request " + shown + ".");
  }
  out.request = **found;
  const store::ApprovalRequest& req = *out.request;
  if (req.state != store::ApprovalState::kPending) {
    return refuse("Approval request " + req.id + " is already " +
                  std::string(store::ApprovalStateName(req.state)) + "; nothing changed.");
  }
  auto pending = DecodePendingAction(req.payload);
  if (!pending || !crypto::ConstantTimeEquals(ApprovalHash(*pending), req.action_hash)) {
    (void)store_.Transition(req.id, store::ApprovalState::kPending, store::ApprovalState::kDenied,
                            now);
    return refuse("Approval request " + req.id +
                  " no longer matches the request that was approved (it was altered); it is "
                  "refused and nothing will run.");
  }
  out.pending = *pending;
  const std::optional<policy::Approval> spec = authorizer_.ApprovalOf(pending->statement);
  if (!spec) {
    (void)store_.Transition(req.id, store::ApprovalState::kPending, store::ApprovalState::kDenied,
                            now);
    out.outcome = VoteResult::Outcome::kDenied;
    out.message = "The policy no longer asks for approval of this (statement " +
                  pending->statement + " changed); request " + req.id +
                  " is closed and nothing will run. Ask again.";
    return out;
  }
  if (spec->requester_excluded && approver.Id() == req.requester) {
    return refuse("You cannot approve or deny your own request; another member of " +
                  spec->approver_group + " must.");
  }
  if (!InGroup(approver.groups, spec->approver_group)) {
    return refuse("Only members of " + spec->approver_group + " may decide on request " + req.id +
                  ".");
  }
  const bool fresh_mfa = approver.mfa_at && *approver.mfa_at <= now + std::chrono::minutes(1) &&
                         now - *approver.mfa_at <= settings_.approver_mfa_max_age;
  if (!fresh_mfa) {
    return refuse("Approvers need an MFA confirmation within the last " +
                  Minutes(settings_.approver_mfa_max_age) +
                  "; confirm it is you first, then vote again.");
  }
  store::ApprovalVote vote;
  vote.request_id = req.id;
  vote.approver = approver.Id();
  vote.approve = approve;
  vote.detail = json::serialize(
      json::object{{"groups", Strings(approver.groups)}, {"mfa_at_ms", Millis(*approver.mfa_at)}});
  vote.at = now;
  auto votes = store_.AddVote(vote);
  if (!votes) {
    switch (votes.error().code) {
      case core::ErrorCode::kAlreadyExists:
        return refuse("You already voted on request " + req.id + ".");
      case core::ErrorCode::kFailedPrecondition:
      case core::ErrorCode::kNotFound:
        return refuse(votes.error().message + "; nothing changed.");
      default:
        return refuse("opsgate cannot record your vote right now; nothing changed. Try again.");
    }
  }
  if (!approve) {
    auto moved = store_.Transition(req.id, store::ApprovalState::kPending,
                                   store::ApprovalState::kDenied, now);
    if (!moved || !*moved) {
      return refuse("Request " + req.id + " was decided meanwhile; nothing changed.");
    }
    out.outcome = VoteResult::Outcome::kDenied;
    out.message = "Request " + req.id + " denied by " + approver.Id() + ". Nothing will run.";
    return out;
  }
  std::vector<policy::ApprovalRecord> records;
  const std::string key = policy::ApprovalKey(pending->request);
  for (const store::ApprovalVote& v : *votes) {
    if (!v.approve) {
      continue;
    }
    boost::system::error_code ec;
    json::value detail = json::parse(v.detail, ec);
    std::vector<std::string> groups;
    if (!ec && detail.is_object()) {
      Reader r(detail.get_object());
      groups = r.List("groups");
    }
    records.push_back({key, v.approver, std::move(groups)});
    ++out.approvals;
  }
  // The stored request as decided (its own time), under the policy in force now.
  out.decision = authorizer_.Decide(pending->request, records);
  switch (out.decision.effect) {
    case policy::Decision::Effect::kNeedsApproval:
      out.outcome = VoteResult::Outcome::kRecorded;
      out.message = "Approval recorded for request " + req.id + " (" +
                    std::to_string(out.approvals) + " of " + std::to_string(req.needed) + ").";
      return out;
    case policy::Decision::Effect::kAllow: {
      auto moved = store_.Transition(req.id, store::ApprovalState::kPending,
                                     store::ApprovalState::kApproved, now);
      if (!moved || !*moved) {
        return refuse("Request " + req.id + " was decided meanwhile; nothing changed.");
      }
      out.outcome = VoteResult::Outcome::kApproved;
      out.message = "Request " + req.id + " approved (" + std::to_string(out.approvals) + " of " +
                    std::to_string(req.needed) + "); running it now.";
      return out;
    }
    case policy::Decision::Effect::kDeny:
    case policy::Decision::Effect::kNeedsMfa:
      break;
  }
  (void)store_.Transition(req.id, store::ApprovalState::kPending, store::ApprovalState::kDenied,
                          now);
  out.outcome = VoteResult::Outcome::kDenied;
  out.message = "The policy no longer allows request " + req.id + ": " + out.decision.reason +
                ". It is closed and nothing will run.";
  return out;
}

core::Result<bool> ApprovalDesk::Cancel(std::string_view id, const Principal& requester) {
  auto found = store_.Find(id);
  if (!found) {
    return core::Fail(found.error());
  }
  if (!found->has_value() || (*found)->requester != requester.Id()) {
    return false;
  }
  return store_.Transition(id, store::ApprovalState::kPending, store::ApprovalState::kCancelled,
                           clock_.Now());
}

core::Result<std::vector<store::ApprovalRequest>> ApprovalDesk::Pending(size_t limit) {
  return store_.ListPending(clock_.Now(), std::min(limit, kMaxListed));
}

core::Result<std::vector<ApprovalDesk::Expired>> ApprovalDesk::ExpireDue() {
  auto expired = store_.ExpireDue(clock_.Now());
  if (!expired) {
    return core::Fail(expired.error());
  }
  std::vector<Expired> out;
  for (const store::ApprovalRequest& r : *expired) {
    auto p = DecodePendingAction(r.payload);
    if (!p) {
      continue;  // nobody to tell; the record of the request stays in the audit log
    }
    out.push_back({r.id, std::move(*p)});
  }
  return out;
}

Reply ApprovalRequestReply(const store::ApprovalRequest& request, const PendingAction& pending,
                           const policy::Approval& spec, std::string_view requester_name) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"requested by", std::string(requester_name)},
      {"action", pending.action.action},
  };
  if (!pending.action.resource.empty()) {
    fields.emplace_back("resource", pending.action.resource);
  }
  for (const auto& [k, v] : pending.action.slots) {
    fields.emplace_back(k, v);
  }
  fields.emplace_back("needs",
                      std::to_string(request.needed) + " approval(s) from " + spec.approver_group);
  fields.emplace_back("expires", Utc(request.expires_at));
  Reply r("Approval needed: " + std::string(requester_name) + " asks to run " +
          pending.action.action + " (request " + request.id + ")");
  r.ephemeral = false;
  r.Heading("Approval needed: request " + request.id)
      .Fields(std::move(fields))
      .Buttons({{ReplyButton::Kind::kApprove, request.id}, {ReplyButton::Kind::kDeny, request.id}})
      .Note("Or type: approve " + request.id + " / deny " + request.id +
            ". Approvers need a recent MFA confirmation; the requester cannot approve.");
  return r;
}

Reply ApprovalOpenedReply(const store::ApprovalRequest& request, const policy::Approval& spec,
                          std::string_view where) {
  Reply r("Waiting for approval: request " + request.id + " needs " +
          std::to_string(request.needed) + " approval(s) from " + spec.approver_group);
  r.Heading("Waiting for approval")
      .Text("Request " + request.id + " needs " + std::to_string(request.needed) +
            " approval(s) from " + spec.approver_group + ". I asked " + std::string(where) + ".")
      .Note("It expires at " + Utc(request.expires_at) +
            ". Only exactly this request will run once approved. Cancel with: cancel " +
            request.id);
  return r;
}

Reply VoteReply(const VoteResult& result) {
  Reply r(result.message);
  r.Text(result.message);
  return r;
}

}  // namespace opsgate::pipeline
