#include "opsgate/intents/classifier.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_set>

#include "opsgate/core/strings.h"
#include "opsgate/intents/slot_types.h"

namespace opsgate::intents {

namespace {

constexpr size_t kNumSlotTypes = 10;
constexpr size_t kMaxTokens = 256;

size_t TypeIndex(SlotType t) { return static_cast<size_t>(t); }

// What a token was recognised as. The mask word stands for the value in the features.
enum class Mask { kNone, kId, kRegion, kItype, kIp, kNum, kDur, kEnum, kKey, kName, kText };

const char* MaskWord(Mask m) {
  switch (m) {
    case Mask::kId:
      return "__id__";
    case Mask::kRegion:
      return "__region__";
    case Mask::kItype:
      return "__itype__";
    case Mask::kIp:
      return "__ip__";
    case Mask::kNum:
      return "__num__";
    case Mask::kDur:
      return "__dur__";
    case Mask::kEnum:
      return "__enum__";
    case Mask::kKey:
      return "__key__";
    case Mask::kName:
      return "__name__";
    case Mask::kText:
      return "__text__";
    case Mask::kNone:
      break;
  }
  return "";
}

Mask MaskForType(SlotType t) {
  switch (t) {
    case SlotType::kAwsInstanceId:
      return Mask::kId;
    case SlotType::kAwsRegion:
      return Mask::kRegion;
    case SlotType::kEc2InstanceType:
      return Mask::kItype;
    case SlotType::kInteger:
      return Mask::kNum;
    case SlotType::kIpOrCidr:
      return Mask::kIp;
    case SlotType::kEnum:
      return Mask::kEnum;
    case SlotType::kIdentifier:
      return Mask::kName;
    case SlotType::kJiraProjectKey:
      return Mask::kKey;
    case SlotType::kFreeText:
      return Mask::kText;
    case SlotType::kDuration:
      return Mask::kDur;
  }
  return Mask::kNone;
}

// Masks that name a resource: their presence alone keeps a text in scope.
bool IsResourceMask(Mask m) {
  return m == Mask::kId || m == Mask::kRegion || m == Mask::kItype || m == Mask::kIp ||
         m == Mask::kKey;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

bool Contains(const std::vector<std::string>& sorted, std::string_view w) {
  return std::binary_search(sorted.begin(), sorted.end(), w, std::less<>());
}

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// ---- Word lists -------------------------------------------------------------------------

const std::unordered_set<std::string_view>& Politeness() {
  static const std::unordered_set<std::string_view> k = {
      "please", "pls", "plz",   "kindly", "thanks",  "thx",      "ty",   "cheers",
      "hey",    "hi",  "hello", "yo",     "opsgate", "thankyou", "asap", "pleas"};
  return k;
}

// Words that stand for a resource named elsewhere; they say nothing about the intent.
const std::unordered_set<std::string_view>& Pronouns() {
  static const std::unordered_set<std::string_view> k = {"it",   "that",  "this",
                                                         "them", "those", "these"};
  return k;
}

// Function words: not evidence that a text is in scope, and never an identifier.
const std::unordered_set<std::string_view>& StopWords() {
  static const std::unordered_set<std::string_view> k = {
      "a",    "an",   "the",   "to",    "of",       "in",       "on",     "for",   "at",
      "from", "by",   "with",  "and",   "or",       "is",       "are",    "am",    "be",
      "been", "was",  "were",  "it",    "its",      "this",     "that",   "these", "those",
      "me",   "my",   "i",     "you",   "your",     "we",       "our",    "us",    "do",
      "does", "did",  "can",   "could", "would",    "will",     "should", "what",  "which",
      "who",  "how",  "when",  "where", "why",      "there",    "here",   "any",   "some",
      "all",  "so",   "just",  "now",   "right",    "very",     "really", "get",   "got",
      "have", "has",  "had",   "want",  "need",     "like",     "about",  "if",    "not",
      "no",   "yes",  "up",    "out",   "off",      "into",     "as",     "but",   "then",
      "too",  "also", "again", "ok",    "okay",     "him",      "her",    "them",  "they",
      "he",   "she",  "one",   "today", "tomorrow", "yesterday"};
  return k;
}

// Cue words after which a free-text slot runs to the end of the text.
const std::unordered_set<std::string_view>& StrongTextCues() {
  static const std::unordered_set<std::string_view> k = {
      "saying",    "says", "about",   "called",  "titled",      "because",
      "regarding", "re",   "summary", "subject", "description", "reason"};
  return k;
}

// A small ops lexicon: surface word -> canonical word(s) ("" drops the word).
const std::unordered_map<std::string_view, std::string_view>& Lexicon() {
  static const std::unordered_map<std::string_view, std::string_view> k = {
      {"what's", "what is"},
      {"whats", "what is"},
      {"it's", "it is"},
      {"i'm", "i am"},
      {"i'd", "i would"},
      {"there's", "there is"},
      {"shutdown", "shut down"},
      {"poweroff", "power off"},
      {"kill", "stop"},
      {"halted", "halt"},
      {"vm", "instance"},
      {"vms", "instances"},
      {"box", "instance"},
      {"machine", "instance"},
      {"machines", "instances"},
      {"host", "instance"},
      {"hosts", "instances"},
      {"node", "instance"},
      {"nodes", "instances"},
      {"ec2", "instance"},
      {"info", "details"},
      {"information", "details"},
      {"detail", "details"},
      {"state", "status"},
      {"health", "status"},
      {"display", "show"},
      {"alert", "alarms"},
      {"alerts", "alarms"},
      {"alarm", "alarms"},
      {"triggered", "firing"},
      {"fired", "firing"},
      {"ringing", "firing"},
      {"active", "firing"},
      {"firewall", "waf"},
      {"blacklist", "block"},
      {"blocklist", "block list"},
      {"denylist", "block list"},
      {"block-list", "block list"},
      {"blacklisted", "block"},
      {"whitelist", "allow"},
      {"allowlist", "allow"},
      {"whitelisted", "allow"},
      {"permit", "allow"},
      {"let", "allow"},
      {"drop", "deny"},
      {"blackhole", "block"},
      {"reject", "deny"},
      {"undo", "remove"},
      {"revert", "remove"},
      {"task", "ticket"},
      {"story", "ticket"},
      {"execute", "run"},
      {"exec", "run"},
      {"rerun", "run"},
      {"retrigger", "trigger"},
      {"launch", "start"},
      {"ship", "deploy"},
      {"rollout", "deploy"},
      {"ci", "pipeline"},
      {"workflow", "pipeline"},
      {"outage", "incident"},
      {"sev", "severity"},
      {"emergency", "incident"},
      {"pager", "page"},
      {"oncall", "on-call"},
      {"recycle", "reboot"},
      {"power-cycle", "power cycle"},
      {"online", "up"},
      {"resume", "start"},
      {"wake", "start"},
      {"downgrade", "upgrade"},
      {"downsize", "resize"},
      {"upsize", "resize"},
      {"rightsize", "resize"},
      {"bump", "scale"},
      {"autoscaling", "auto scaling"},
      {"auto-scaling", "auto scaling"},
      {"asg", "auto scaling group"},
      {"capabilities", "commands"},
      {"options", "commands"},
      {"usage", "help"},
      {"manual", "help"},
      {"instructions", "help"},
  };
  return k;
}

// Two-word phrases -> canonical word(s).
const std::unordered_map<std::string_view, std::string_view>& PhraseLexicon() {
  static const std::unordered_map<std::string_view, std::string_view> k = {
      {"spin up", "start"},    {"fire up", "start"},    {"power down", "power off"},
      {"scale out", "scale"},  {"scale up", "scale"},   {"scale down", "scale"},
      {"going off", "firing"}, {"go off", "firing"},    {"on call", "on-call"},
      {"thank you", ""},       {"auto scale", "scale"},
  };
  return k;
}

// Generic chat for the out-of-scope class "none".
const std::vector<std::string_view>& BuiltinOutOfScope() {
  static const std::vector<std::string_view> k = {"how is the weather today",
                                                  "will it be sunny tomorrow",
                                                  "tell me something funny",
                                                  "make me laugh",
                                                  "i want to order food",
                                                  "get me a burger",
                                                  "who is winning the football match",
                                                  "what was the final score last night",
                                                  "hello there",
                                                  "good night",
                                                  "how old are you",
                                                  "what is your name",
                                                  "what year is it",
                                                  "what is the date today",
                                                  "play my favourite playlist",
                                                  "turn up the volume",
                                                  "schedule lunch with sam on friday",
                                                  "reserve a table for two",
                                                  "translate this sentence to spanish",
                                                  "what is 7 times 8",
                                                  "calculate 15 percent of 80",
                                                  "who wrote hamlet",
                                                  "what is the population of india",
                                                  "set a timer for 10 minutes",
                                                  "wake me at 7 tomorrow",
                                                  "suggest a book to read",
                                                  "what should i watch tonight",
                                                  "how far is the moon",
                                                  "what is the speed of light",
                                                  "write a poem about cats",
                                                  "i am bored",
                                                  "you are awesome",
                                                  "do you love me",
                                                  "where can i buy shoes",
                                                  "find a restaurant nearby",
                                                  "what is the exchange rate for euros",
                                                  "how much is bitcoin worth",
                                                  "who is your favourite singer",
                                                  "what is for dinner",
                                                  "directions to the airport",
                                                  "text my brother",
                                                  "show me pictures of dogs",
                                                  "open the pod bay doors",
                                                  "what is the time in tokyo",
                                                  "is it cold outside",
                                                  "give me a recipe for soup",
                                                  "how many days until christmas",
                                                  "good job",
                                                  "thanks for nothing",
                                                  "who made you",
                                                  "are you a robot",
                                                  "what is love",
                                                  "explain quantum physics",
                                                  "what is the tallest building",
                                                  "buy tickets for the concert"};
  return k;
}

// ---- Tokens ---------------------------------------------------------------------------

struct Tok {
  std::string core;   // edge punctuation stripped; quoted: the inner text
  std::string lower;  // ASCII lower case of core
  size_t begin = 0;   // byte range of core in the text
  size_t end = 0;
  bool quoted = false;
  bool colon_after = false;
  bool dropped = false;            // politeness, or the second word of a phrase
  bool corrected = false;          // typo-corrected or stemmed to a vocabulary word
  bool oov = false;                // unknown word (parse only)
  Mask mask = Mask::kNone;         // typed value; placeholders in training
  std::vector<std::string> words;  // canonical words for the features
};

bool IsLeadStrip(char c) { return c == '"' || c == '\'' || c == '(' || c == '[' || c == '<'; }
bool IsTrailStrip(char c) {
  return c == ',' || c == '.' || c == '!' || c == '?' || c == ';' || c == ':' || c == '"' ||
         c == '\'' || c == ')' || c == ']' || c == '>';
}

// Splits on ASCII whitespace; a "..." (or “...”) span is one quoted token.
std::vector<Tok> Tokenise(std::string_view text) {
  std::vector<Tok> toks;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n && toks.size() < kMaxTokens) {
    if (IsSpace(text[i])) {
      ++i;
      continue;
    }
    // Quotes: ASCII " or U+201C ... U+201D.
    size_t open_len = 0;
    if (text[i] == '"') {
      open_len = 1;
    } else if (text.substr(i, 3) == "\xE2\x80\x9C") {
      open_len = 3;
    }
    if (open_len > 0) {
      const size_t close_ascii = text.find('"', i + open_len);
      const size_t close_curly = text.find("\xE2\x80\x9D", i + open_len);
      const size_t close = std::min(close_ascii, close_curly);
      if (close != std::string_view::npos && close > i + open_len) {
        Tok t;
        t.quoted = true;
        t.begin = i + open_len;
        t.end = close;
        t.core = std::string(text.substr(t.begin, t.end - t.begin));
        t.lower = core::AsciiLower(t.core);
        toks.push_back(std::move(t));
        i = close + (close == close_ascii ? 1 : 3);
        while (i < n && !IsSpace(text[i])) {
          if (text[i] == ':') {
            toks.back().colon_after = true;
          }
          ++i;
        }
        continue;
      }
    }
    size_t j = i;
    while (j < n && !IsSpace(text[j])) {
      ++j;
    }
    size_t b = i;
    size_t e = j;
    while (b < e && IsLeadStrip(text[b])) {
      ++b;
    }
    bool colon = false;
    while (e > b && IsTrailStrip(text[e - 1])) {
      colon = colon || text[e - 1] == ':';
      --e;
    }
    i = j;
    if (b == e) {
      if (colon && !toks.empty()) {
        toks.back().colon_after = true;  // "payments :"
      }
      continue;
    }
    Tok t;
    t.begin = b;
    t.end = e;
    t.core = std::string(text.substr(b, e - b));
    t.lower = core::AsciiLower(t.core);
    t.colon_after = colon;
    toks.push_back(std::move(t));
  }
  return toks;
}

// ---- Typed recognition ----------------------------------------------------------------

const SlotSpec& TypeSpec(SlotType t) {
  static const std::array<SlotSpec, kNumSlotTypes> specs = [] {
    std::array<SlotSpec, kNumSlotTypes> s;
    for (size_t i = 0; i < kNumSlotTypes; ++i) {
      s[i].name = "value";
      s[i].type = static_cast<SlotType>(i);
    }
    return s;
  }();
  return specs[TypeIndex(t)];
}

bool Valid(SlotType t, std::string_view v) { return NormaliseSlot(TypeSpec(t), v).has_value(); }

bool AllDigits(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (i >= s.size() || s.size() - i > 18) {
    return false;
  }
  for (; i < s.size(); ++i) {
    if (!IsDigit(s[i])) {
      return false;
    }
  }
  return true;
}

bool HasIdentifierShape(std::string_view s) {
  for (char c : s) {
    if (IsDigit(c) || c == '-' || c == '_' || c == '/' || c == '.') {
      return true;
    }
  }
  return false;
}

// Upper-case word that could be a Jira key (OPS, INFRA2).
bool JiraShape(std::string_view s) {
  if (s.size() < 2 || s.size() > 10 || !IsUpper(s[0])) {
    return false;
  }
  for (char c : s) {
    if (!IsUpper(c) && !IsDigit(c)) {
      return false;
    }
  }
  return true;
}

bool IsEnumWord(const Catalogue& c, std::string_view lower) {
  for (const IntentSpec& intent : c.intents) {
    for (const SlotSpec& s : intent.slots) {
      if (s.type != SlotType::kEnum) {
        continue;
      }
      for (const EnumValue& v : s.values) {
        if (core::AsciiLower(v.value) == lower) {
          return true;
        }
        for (const std::string& syn : v.synonyms) {
          if (core::AsciiLower(syn) == lower) {
            return true;
          }
        }
      }
    }
  }
  return false;
}

// Damerau distance exactly 1 (one substitution, insertion, deletion or adjacent swap).
bool OneEditApart(std::string_view a, std::string_view b) {
  if (a == b) {
    return false;
  }
  if (a.size() == b.size()) {
    size_t first = a.size();
    size_t diffs = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] != b[i]) {
        if (diffs == 0) {
          first = i;
        }
        ++diffs;
      }
    }
    if (diffs == 1) {
      return true;
    }
    return diffs == 2 && first + 1 < a.size() && a[first] == b[first + 1] &&
           a[first + 1] == b[first];
  }
  if (a.size() + 1 == b.size()) {
    std::swap(a, b);
  }
  if (b.size() + 1 != a.size()) {
    return false;
  }
  size_t i = 0;
  while (i < b.size() && a[i] == b[i]) {
    ++i;
  }
  return a.substr(i + 1) == b.substr(i);
}

void Split(std::string_view s, std::vector<std::string>& out) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) {
      j = s.size();
    }
    if (j > i) {
      out.emplace_back(s.substr(i, j - i));
    }
    i = j + 1;
  }
}

}  // namespace

// Everything that needs the trained state; a friend of Classifier.
struct ClassifierInternals {
  const Classifier& c;

  struct Analysis {
    std::vector<Tok> toks;
    std::vector<std::string> feats;  // feature words in order
    size_t in_scope = 0;             // in-scope content words and resource values
    bool resource_value = false;
  };

  bool Known(std::string_view w) const { return c.word_freq_.count(std::string(w)) > 0; }

  // Typo repair: the most frequent vocabulary word one edit away (ties: smallest).
  std::string Repair(const std::string& w) const {
    if (w.size() < 4 || c.deletions_.empty()) {
      return "";
    }
    std::vector<int> cands;
    auto add = [&](const std::string& key) {
      auto it = c.deletions_.find(key);
      if (it != c.deletions_.end()) {
        cands.insert(cands.end(), it->second.begin(), it->second.end());
      }
    };
    add(w);
    for (size_t i = 0; i < w.size(); ++i) {
      add(w.substr(0, i) + w.substr(i + 1));
    }
    std::string best;
    int best_freq = -1;
    for (int idx : cands) {
      const std::string& cand = c.long_words_[static_cast<size_t>(idx)];
      if (!OneEditApart(w, cand)) {
        continue;
      }
      auto f = c.word_freq_.find(cand);
      const int freq = f == c.word_freq_.end() ? 0 : f->second;
      if (freq > best_freq || (freq == best_freq && cand < best)) {
        best = cand;
        best_freq = freq;
      }
    }
    return best;
  }

  // Light stemming onto the vocabulary ("servers" -> "server", "scaling" -> "scale").
  std::string Stem(const std::string& w) const {
    auto ends = [&](std::string_view suf) {
      return w.size() > suf.size() + 2 && w.compare(w.size() - suf.size(), suf.size(), suf) == 0;
    };
    std::vector<std::string> tries;
    if (ends("ies")) {
      tries.push_back(w.substr(0, w.size() - 3) + "y");
    }
    if (ends("es")) {
      tries.push_back(w.substr(0, w.size() - 2));
    }
    if (ends("s")) {
      tries.push_back(w.substr(0, w.size() - 1));
    }
    for (std::string_view suf : {std::string_view("ing"), std::string_view("ed")}) {
      if (ends(suf)) {
        std::string base = w.substr(0, w.size() - suf.size());
        tries.push_back(base);
        tries.push_back(base + "e");
        if (base.size() >= 2 && base[base.size() - 1] == base[base.size() - 2]) {
          tries.push_back(base.substr(0, base.size() - 1));
        }
      }
    }
    for (const std::string& t : tries) {
      if (Known(t)) {
        return t;
      }
    }
    return "";
  }

  void Recognise(Tok& t, bool training) const {
    const auto& used = c.types_used_;
    const std::string& s = t.core;
    if (t.quoted) {
      if (used[TypeIndex(SlotType::kFreeText)]) {
        t.mask = Mask::kText;
      }
      return;
    }
    auto on = [&](SlotType ty) { return used[TypeIndex(ty)]; };
    if (on(SlotType::kAwsInstanceId) && s.size() > 2 && Lower(s[0]) == 'i' && s[1] == '-' &&
        Valid(SlotType::kAwsInstanceId, s)) {
      t.mask = Mask::kId;
    } else if (on(SlotType::kAwsRegion) && s.find('-') != std::string::npos &&
               Valid(SlotType::kAwsRegion, s)) {
      t.mask = Mask::kRegion;
    } else if (on(SlotType::kIpOrCidr) &&
               (s.find('.') != std::string::npos || s.find(':') != std::string::npos) &&
               Valid(SlotType::kIpOrCidr, s)) {
      t.mask = Mask::kIp;
    } else if (on(SlotType::kEc2InstanceType) && s.find('.') != std::string::npos &&
               Valid(SlotType::kEc2InstanceType, s)) {
      t.mask = Mask::kItype;
    } else if (on(SlotType::kInteger) && AllDigits(s)) {
      t.mask = Mask::kNum;
    } else if (on(SlotType::kDuration) && !s.empty() && IsDigit(s[0]) &&
               Valid(SlotType::kDuration, s)) {
      t.mask = Mask::kDur;
    } else if (on(SlotType::kEnum) && IsEnumWord(c.catalogue_, t.lower)) {
      t.mask = Mask::kEnum;
    } else if (!training && on(SlotType::kJiraProjectKey) && JiraShape(s) && !Known(t.lower) &&
               Lexicon().count(t.lower) == 0 && StopWords().count(t.lower) == 0 &&
               Politeness().count(t.lower) == 0 && !Contains(c.in_scope_vocab_, Repair(t.lower))) {
      t.mask = Mask::kKey;
    }
  }

  // Index of the first token of the free-text tail after a strong cue (':' after a
  // token, a quoted token, or a cue word), or toks.size() when there is none.
  static size_t StrongTextStart(const std::vector<Tok>& toks, size_t* quoted) {
    *quoted = toks.size();
    for (size_t i = 0; i < toks.size(); ++i) {
      if (toks[i].quoted) {
        *quoted = i;
        return toks.size();
      }
    }
    for (size_t i = 0; i + 1 < toks.size(); ++i) {
      if (toks[i].dropped && !toks[i].colon_after) {
        continue;
      }
      if (toks[i].colon_after ||
          (toks[i].mask == Mask::kNone && StrongTextCues().count(toks[i].lower) > 0)) {
        return i + 1;
      }
    }
    return toks.size();
  }

  // `intent` >= 0: training on that intent's utterance ({slot} placeholders allowed).
  core::Result<Analysis> Analyse(std::string_view text, int intent) const {
    const bool training = intent >= 0;
    Analysis a;
    a.toks = Tokenise(text);
    std::vector<Tok>& toks = a.toks;
    for (Tok& t : toks) {
      if (training && !t.quoted && t.core.size() > 2 && t.core.front() == '{' &&
          t.core.back() == '}') {
        const std::string name = t.core.substr(1, t.core.size() - 2);
        const SlotSpec* spec = c.catalogue_.intents[static_cast<size_t>(intent)].Slot(name);
        if (spec == nullptr) {
          return core::Fail(core::InvalidArgument(
              "intent " + c.catalogue_.intents[static_cast<size_t>(intent)].name + ": utterance '" +
              std::string(text) + "' names no slot {" + name + "}"));
        }
        t.mask = MaskForType(spec->type);
        continue;
      }
      Recognise(t, training);
    }
    // Politeness, and pronouns: "stop it" is "stop" with the instance still to ask for.
    for (Tok& t : toks) {
      if (t.mask == Mask::kNone && !t.quoted &&
          (Politeness().count(t.lower) > 0 || Pronouns().count(t.lower) > 0)) {
        t.dropped = true;
      }
    }
    {
      std::vector<size_t> live;
      for (size_t i = 0; i < toks.size() && live.size() < 2; ++i) {
        if (!toks[i].dropped) {
          live.push_back(i);
        }
      }
      if (live.size() == 2 && toks[live[1]].lower == "you" &&
          (toks[live[0]].lower == "could" || toks[live[0]].lower == "can" ||
           toks[live[0]].lower == "would" || toks[live[0]].lower == "will")) {
        toks[live[0]].dropped = toks[live[1]].dropped = true;
      }
    }
    // Canonical words: phrase lexicon, lexicon, then (parsing) stemming and typo repair.
    for (size_t i = 0; i < toks.size(); ++i) {
      Tok& t = toks[i];
      if (t.dropped || t.mask != Mask::kNone) {
        continue;
      }
      size_t j = i + 1;
      while (j < toks.size() && toks[j].dropped) {
        ++j;
      }
      if (j < toks.size() && toks[j].mask == Mask::kNone && !t.colon_after) {
        auto p = PhraseLexicon().find(t.lower + " " + toks[j].lower);
        if (p != PhraseLexicon().end()) {
          Split(p->second, t.words);
          toks[j].dropped = true;
          t.colon_after = toks[j].colon_after;
          if (t.words.empty()) {
            t.dropped = true;
          }
          continue;
        }
      }
      std::string w = t.lower;
      if (!training && !Known(w) && Lexicon().count(w) == 0) {
        std::string fixed = Stem(w);
        if (fixed.empty()) {
          fixed = Repair(w);
        }
        if (!fixed.empty()) {
          w = fixed;
          t.corrected = true;
        }
      }
      auto l = Lexicon().find(w);
      if (l != Lexicon().end()) {
        Split(l->second, t.words);
      } else {
        t.words.push_back(w);
      }
      if (!training) {
        for (const std::string& word : t.words) {
          if (!Known(word)) {
            t.oov = true;
          }
        }
      }
    }
    // Free-text tail after a strong cue: one __text__ word (resource values inside it
    // keep their masks).
    size_t quoted = toks.size();
    size_t text_start = toks.size();
    if (c.types_used_[TypeIndex(SlotType::kFreeText)]) {
      text_start = StrongTextStart(toks, &quoted);
    }
    std::string prev = "^";
    bool text_emitted = false;
    for (size_t i = 0; i < toks.size(); ++i) {
      Tok& t = toks[i];
      if (i >= text_start) {
        if (!text_emitted) {
          a.feats.emplace_back(MaskWord(Mask::kText));
          text_emitted = true;
        }
        if (IsResourceMask(t.mask) && t.mask != Mask::kKey) {
          a.feats.emplace_back(MaskWord(t.mask));
        }
        continue;
      }
      if (t.dropped) {
        continue;
      }
      if (t.mask != Mask::kNone) {
        a.feats.emplace_back(MaskWord(t.mask));
        if (IsResourceMask(t.mask)) {
          a.resource_value = true;
          ++a.in_scope;
        }
        prev = a.feats.back();
        continue;
      }
      if (t.oov) {
        // Unknown word: a name when it looks like one or sits where names go.
        if (!training && (HasIdentifierShape(t.lower) ||
                          (Contains(c.name_prev_cues_, prev) && StopWords().count(t.lower) == 0 &&
                           Valid(SlotType::kIdentifier, t.core)))) {
          a.feats.emplace_back(MaskWord(Mask::kName));
          prev = a.feats.back();
        }
        continue;
      }
      for (const std::string& w : t.words) {
        a.feats.push_back(w);
        if (!training && StopWords().count(w) == 0 && Contains(c.in_scope_vocab_, w)) {
          ++a.in_scope;
        }
      }
      if (!t.words.empty()) {
        prev = t.words.back();
      }
    }
    (void)quoted;
    return a;
  }

  static void Features(const std::vector<std::string>& words, std::vector<std::string>& out) {
    out.clear();
    std::string prev = "^";
    for (const std::string& w : words) {
      out.push_back("w:" + w);
      out.push_back("b:" + prev + " " + w);
      prev = w;
    }
    out.push_back("b:" + prev + " $");
  }

  // Canonical word(s) just before / after token i (skipping dropped tokens).
  static std::string PrevWord(const std::vector<Tok>& toks, size_t i) {
    while (i > 0) {
      --i;
      const Tok& t = toks[i];
      if (t.dropped) {
        continue;
      }
      if (t.mask != Mask::kNone) {
        return MaskWord(t.mask);
      }
      return t.words.empty() ? t.lower : t.words.back();
    }
    return "^";
  }
  static std::string NextWord(const std::vector<Tok>& toks, size_t i) {
    for (++i; i < toks.size(); ++i) {
      const Tok& t = toks[i];
      if (t.dropped) {
        continue;
      }
      if (t.mask != Mask::kNone) {
        return MaskWord(t.mask);
      }
      return t.words.empty() ? t.lower : t.words.front();
    }
    return "$";
  }
  static std::string FirstWord(const Tok& t) {
    if (t.mask != Mask::kNone) {
      return MaskWord(t.mask);
    }
    return t.words.empty() ? t.lower : t.words.front();
  }

  std::map<std::string, std::string> ExtractSlots(std::string_view text, const Analysis& a,
                                                  size_t intent_index) const {
    const IntentSpec& intent = c.catalogue_.intents[intent_index];
    const std::vector<Tok>& toks = a.toks;
    const size_t n = toks.size();
    std::vector<bool> used(n, false);
    std::map<std::string, std::string> slots;
    const auto& cues = c.cues_[intent_index];
    const auto& vocab = c.intent_vocab_[intent_index];

    // 1. The free-text span, when the intent has a free-text slot.
    size_t span_begin = n;
    size_t span_end = n;
    bool has_text_slot = false;
    for (const SlotSpec& s : intent.slots) {
      has_text_slot = has_text_slot || s.type == SlotType::kFreeText;
    }
    if (has_text_slot) {
      size_t quoted = n;
      size_t start = StrongTextStart(toks, &quoted);
      if (quoted < n) {
        span_begin = quoted;
        span_end = quoted + 1;
      } else if (start < n) {
        span_begin = start;
      } else {
        const auto& weak = c.weak_text_cues_[intent_index];
        for (size_t i = n; i-- > 0;) {
          if (!toks[i].dropped && toks[i].mask == Mask::kNone &&
              Contains(weak, FirstWord(toks[i])) && i + 1 < n) {
            span_begin = i + 1;
            break;
          }
        }
      }
      // A key or enum value right after the cue belongs to its own slot ("for OPS").
      for (int k = 0; k < 2 && span_begin < span_end && !toks[span_begin].quoted; ++k) {
        const Mask m = toks[span_begin].mask;
        if (m == Mask::kKey || m == Mask::kEnum) {
          ++span_begin;
        } else {
          break;
        }
      }
      // Trailing politeness is not part of the text.
      while (span_end > span_begin && toks[span_end - 1].dropped && !toks[span_end - 1].quoted) {
        --span_end;
      }
      // A quoted span reserves itself; a cued tail runs to the end.
      const size_t reserved_end = (span_begin < n && toks[span_begin].quoted) ? span_end : n;
      for (size_t i = span_begin; i < reserved_end; ++i) {
        used[i] = true;
      }
    }

    auto prev_is_cue = [&](size_t i, const Classifier::SlotCues& sc) {
      return Contains(sc.prev, PrevWord(toks, i));
    };
    auto next_is_cue = [&](size_t i, const Classifier::SlotCues& sc) {
      return Contains(sc.next, NextWord(toks, i));
    };

    // 2. Typed slots (not identifiers, not free text).
    for (size_t si = 0; si < intent.slots.size(); ++si) {
      const SlotSpec& spec = intent.slots[si];
      if (spec.type == SlotType::kIdentifier || spec.type == SlotType::kFreeText) {
        continue;
      }
      const Mask want = MaskForType(spec.type);
      size_t best = n;
      int best_score = -1;
      for (size_t i = 0; i < n; ++i) {
        if (used[i] || toks[i].mask != want || !NormaliseSlot(spec, toks[i].core)) {
          continue;
        }
        const int score = (prev_is_cue(i, cues[si]) ? 2 : 0) + (next_is_cue(i, cues[si]) ? 1 : 0);
        if (score > best_score) {
          best = i;
          best_score = score;
        }
      }
      if (best == n && spec.type == SlotType::kJiraProjectKey) {
        // A lower-case key where the utterances put the key ("in ops").
        for (size_t i = 0; i < n; ++i) {
          const Tok& t = toks[i];
          if (used[i] || t.dropped || t.mask != Mask::kNone || t.quoted ||
              !prev_is_cue(i, cues[si]) || StopWords().count(t.lower) > 0 ||
              Contains(vocab, FirstWord(t)) || !NormaliseSlot(spec, t.core)) {
            continue;
          }
          best = i;
          break;
        }
      }
      if (best < n) {
        auto v = NormaliseSlot(spec, toks[best].core);
        if (v) {
          slots[spec.name] = *v;
          used[best] = true;
        }
      }
    }

    // 3. Identifiers, by position.
    bool first_identifier = true;
    for (size_t si = 0; si < intent.slots.size(); ++si) {
      const SlotSpec& spec = intent.slots[si];
      if (spec.type != SlotType::kIdentifier) {
        continue;
      }
      size_t best = n;
      int best_score = 0;
      size_t fallback = n;
      for (size_t i = 0; i < n; ++i) {
        const Tok& t = toks[i];
        if (used[i] || t.dropped || t.mask != Mask::kNone || (t.quoted && has_text_slot) ||
            StopWords().count(t.lower) > 0 || Politeness().count(t.lower) > 0 ||
            Contains(vocab, FirstWord(t)) || !NormaliseSlot(spec, t.core)) {
          continue;
        }
        const int score = (prev_is_cue(i, cues[si]) ? 2 : 0) + (next_is_cue(i, cues[si]) ? 1 : 0);
        if (score > best_score) {
          best = i;
          best_score = score;
        }
        if (fallback == n && (HasIdentifierShape(t.core) || t.quoted)) {
          fallback = i;
        }
      }
      if (best == n && first_identifier && spec.required) {
        best = fallback;
      }
      first_identifier = false;
      if (best < n) {
        auto v = NormaliseSlot(spec, toks[best].core);
        if (v) {
          slots[spec.name] = *v;
          used[best] = true;
        }
      }
    }

    // 4. Free text: the span as written.
    if (has_text_slot && span_begin < span_end) {
      std::string_view raw;
      if (toks[span_begin].quoted) {
        raw = std::string_view(toks[span_begin].core);
      } else {
        const size_t b = toks[span_begin].begin;
        const size_t e = toks[span_end - 1].end;
        raw = text.substr(b, e - b);
      }
      for (const SlotSpec& spec : intent.slots) {
        if (spec.type == SlotType::kFreeText) {
          auto v = NormaliseSlot(spec, raw);
          if (v) {
            slots[spec.name] = *v;
          }
          break;
        }
      }
    }
    return slots;
  }
};

core::Result<Classifier> Classifier::Train(const Catalogue& catalogue, ClassifierOptions options) {
  if (catalogue.intents.empty()) {
    return core::Fail(core::InvalidArgument("the intent catalogue is empty"));
  }
  if (!(options.threshold >= 0 && options.threshold <= 1) || !(options.alpha > 0) ||
      (!options.fit_temperature && !(options.temperature > 0))) {
    return core::Fail(core::InvalidArgument(
        "classifier options: threshold must be in [0, 1], alpha and temperature > 0"));
  }
  for (const IntentSpec& i : catalogue.intents) {
    if (i.name == kNoneIntent) {
      return core::Fail(core::InvalidArgument("an intent may not be called 'none'"));
    }
  }
  Classifier c;
  c.catalogue_ = catalogue;
  c.options_ = std::move(options);
  const size_t num_intents = catalogue.intents.size();
  c.num_classes_ = num_intents + 1;
  c.types_used_.assign(kNumSlotTypes, false);
  for (const IntentSpec& i : catalogue.intents) {
    for (const SlotSpec& s : i.slots) {
      c.types_used_[TypeIndex(s.type)] = true;
    }
  }
  ClassifierInternals in{c};

  // Analyse the training texts (vocabulary not built yet: no repair, no OOV handling).
  struct Sample {
    std::vector<std::string> words;
    size_t label;
    bool calibrate;  // a sample utterance of an intent: used to fit the temperature
  };
  std::vector<Sample> samples;
  c.cues_.assign(num_intents, {});
  c.weak_text_cues_.assign(num_intents, {});
  c.intent_vocab_.assign(num_intents, {});
  for (size_t ii = 0; ii < num_intents; ++ii) {
    const IntentSpec& intent = catalogue.intents[ii];
    c.cues_[ii].assign(intent.slots.size(), {});
    std::vector<std::string> texts = intent.utterances;
    if (!intent.description.empty()) {
      texts.push_back(intent.description);
    }
    for (size_t ti = 0; ti < texts.size(); ++ti) {
      const std::string& text = texts[ti];
      auto a = in.Analyse(text, static_cast<int>(ii));
      if (!a) {
        return core::Fail(a.error());
      }
      for (size_t k = 0; k < a->toks.size(); ++k) {
        const Tok& t = a->toks[k];
        if (t.core.size() > 2 && t.core.front() == '{' && t.core.back() == '}') {
          const std::string name = t.core.substr(1, t.core.size() - 2);
          for (size_t si = 0; si < intent.slots.size(); ++si) {
            if (intent.slots[si].name != name) {
              continue;
            }
            const std::string prev = ClassifierInternals::PrevWord(a->toks, k);
            c.cues_[ii][si].prev.push_back(prev);
            c.cues_[ii][si].next.push_back(ClassifierInternals::NextWord(a->toks, k));
            if (intent.slots[si].type == SlotType::kIdentifier && prev != "^" &&
                prev.rfind("__", 0) != 0) {
              c.name_prev_cues_.push_back(prev);
            }
            if (intent.slots[si].type == SlotType::kFreeText && k > 0 &&
                !a->toks[k - 1].colon_after && StrongTextCues().count(prev) == 0 &&
                prev.rfind("__", 0) != 0) {
              c.weak_text_cues_[ii].push_back(prev);
            }
          }
        }
      }
      for (const std::string& w : a->feats) {
        if (w.rfind("__", 0) != 0) {
          c.intent_vocab_[ii].push_back(w);
        }
      }
      samples.push_back({std::move(a->feats), ii, ti < intent.utterances.size()});
    }
    for (auto& sc : c.cues_[ii]) {
      SortUnique(sc.prev);
      SortUnique(sc.next);
    }
    SortUnique(c.weak_text_cues_[ii]);
    SortUnique(c.intent_vocab_[ii]);
    c.in_scope_vocab_.insert(c.in_scope_vocab_.end(), c.intent_vocab_[ii].begin(),
                             c.intent_vocab_[ii].end());
  }
  SortUnique(c.name_prev_cues_);
  SortUnique(c.in_scope_vocab_);
  std::vector<std::string> oos(BuiltinOutOfScope().begin(), BuiltinOutOfScope().end());
  oos.insert(oos.end(), c.options_.extra_out_of_scope.begin(), c.options_.extra_out_of_scope.end());
  for (const std::string& text : oos) {
    // Out-of-scope lines have no placeholders; analyse them like training text.
    auto a = in.Analyse(text, 0);
    if (!a) {
      return core::Fail(a.error());
    }
    samples.push_back({std::move(a->feats), num_intents, false});
  }
  c.training_samples_ = samples.size();

  // Vocabulary and the typo index (every 1-deletion of every word of 4+ bytes).
  for (const Sample& s : samples) {
    for (const std::string& w : s.words) {
      if (w.rfind("__", 0) != 0) {
        ++c.word_freq_[w];
      }
    }
  }
  for (const auto& [w, f] : c.word_freq_) {
    if (w.size() >= 4) {
      c.long_words_.push_back(w);
    }
  }
  std::sort(c.long_words_.begin(), c.long_words_.end());
  for (size_t i = 0; i < c.long_words_.size(); ++i) {
    const std::string& w = c.long_words_[i];
    c.deletions_[w].push_back(static_cast<int>(i));
    for (size_t k = 0; k < w.size(); ++k) {
      c.deletions_[w.substr(0, k) + w.substr(k + 1)].push_back(static_cast<int>(i));
    }
  }

  // Multinomial naive Bayes counts.
  std::vector<std::vector<int>> sample_feats(samples.size());
  std::vector<std::string> fs;
  for (size_t i = 0; i < samples.size(); ++i) {
    ClassifierInternals::Features(samples[i].words, fs);
    for (const std::string& f : fs) {
      auto [it, inserted] = c.feature_ids_.emplace(f, static_cast<int>(c.feature_ids_.size()));
      sample_feats[i].push_back(it->second);
    }
  }
  const size_t nf = c.feature_ids_.size();
  const size_t nc = c.num_classes_;
  std::vector<double> counts(nc * nf, 0.0);
  std::vector<double> totals(nc, 0.0);
  for (size_t i = 0; i < samples.size(); ++i) {
    for (int f : sample_feats[i]) {
      counts[samples[i].label * nf + static_cast<size_t>(f)] += 1;
      totals[samples[i].label] += 1;
    }
  }
  const double alpha = c.options_.alpha;
  const double v = static_cast<double>(nf);
  c.log_prob_.assign(nc * nf, 0.0);
  for (size_t k = 0; k < nc; ++k) {
    const double denom = std::log(totals[k] + alpha * v);
    for (size_t f = 0; f < nf; ++f) {
      c.log_prob_[k * nf + f] = std::log(counts[k * nf + f] + alpha) - denom;
    }
  }
  c.log_prior_.assign(nc, -std::log(static_cast<double>(nc)));
  c.weight_.assign(nf, 1.0);
  if (c.options_.idf_weighting) {
    for (size_t f = 0; f < nf; ++f) {
      size_t df = 0;
      for (size_t k = 0; k < nc; ++k) {
        df += counts[k * nf + f] > 0 ? 1 : 0;
      }
      c.weight_[f] =
          std::log(1.0 + static_cast<double>(nc) / static_cast<double>(std::max<size_t>(df, 1)));
    }
  }

  // Temperature: minimum leave-one-out log loss over a geometric grid.
  c.temperature_ = c.options_.temperature;
  if (c.options_.fit_temperature) {
    std::vector<std::vector<double>> loo(samples.size(), std::vector<double>(nc, 0.0));
    for (size_t i = 0; i < samples.size(); ++i) {
      const size_t y = samples[i].label;
      std::unordered_map<int, int> own;
      for (int f : sample_feats[i]) {
        ++own[f];
      }
      const double len = static_cast<double>(sample_feats[i].size());
      for (size_t k = 0; k < nc; ++k) {
        double s = c.log_prior_[k];
        if (k == y) {
          const double denom = std::log(totals[k] - len + alpha * v);
          for (int f : sample_feats[i]) {
            s += c.weight_[static_cast<size_t>(f)] *
                 (std::log(counts[k * nf + static_cast<size_t>(f)] - own[f] + alpha) - denom);
          }
        } else {
          for (int f : sample_feats[i]) {
            s += c.weight_[static_cast<size_t>(f)] * c.log_prob_[k * nf + static_cast<size_t>(f)];
          }
        }
        loo[i][k] = s;
      }
    }
    double best_loss = std::numeric_limits<double>::infinity();
    for (int step = 0; step <= 80; ++step) {
      const double t = 0.25 * std::pow(1.08, step);
      double loss = 0;
      for (size_t i = 0; i < samples.size(); ++i) {
        if (!samples[i].calibrate) {
          continue;
        }
        double mx = -std::numeric_limits<double>::infinity();
        for (double s : loo[i]) {
          mx = std::max(mx, s / t);
        }
        double z = 0;
        for (double s : loo[i]) {
          z += std::exp(s / t - mx);
        }
        loss -= loo[i][samples[i].label] / t - mx - std::log(z);
      }
      if (loss < best_loss) {
        best_loss = loss;
        c.temperature_ = t;
      }
    }
  }
  return c;
}

NluResult Classifier::Parse(std::string_view text) const {
  if (text.size() > kMaxNluTextBytes) {
    size_t cut = kMaxNluTextBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    text = text.substr(0, cut);
  }
  ClassifierInternals in{*this};
  NluResult r;
  auto analysed = in.Analyse(text, -1);
  if (!analysed || analysed->feats.empty()) {
    r.intent = std::string(kNoneIntent);
    r.confidence = 1.0;
    r.below_threshold = r.confidence < options_.threshold;
    return r;
  }
  const auto& a = *analysed;
  std::vector<std::string> fs;
  ClassifierInternals::Features(a.feats, fs);
  const size_t nf = feature_ids_.size();
  std::vector<double> score(log_prior_);
  for (const std::string& feature : fs) {
    auto it = feature_ids_.find(feature);
    if (it == feature_ids_.end()) {
      continue;
    }
    const size_t f = static_cast<size_t>(it->second);
    for (size_t k = 0; k < num_classes_; ++k) {
      score[k] += weight_[f] * log_prob_[k * nf + f];
    }
  }
  double mx = -std::numeric_limits<double>::infinity();
  for (double s : score) {
    mx = std::max(mx, s / temperature_);
  }
  std::vector<double> prob(num_classes_);
  double z = 0;
  for (size_t k = 0; k < num_classes_; ++k) {
    prob[k] = std::exp(score[k] / temperature_ - mx);
    z += prob[k];
  }
  for (double& p : prob) {
    p /= z;
  }
  const size_t none = num_classes_ - 1;
  // Nothing in the text is about operations: out of scope whatever the model says.
  if (a.in_scope == 0) {
    constexpr double kRuleConfidence = 0.95;
    if (prob[none] < kRuleConfidence) {
      const double rest = 1.0 - prob[none];
      for (size_t k = 0; k < num_classes_; ++k) {
        prob[k] = k == none ? kRuleConfidence
                            : (rest > 0 ? prob[k] / rest * (1.0 - kRuleConfidence) : 0.0);
      }
    }
  }
  std::vector<size_t> order(num_classes_);
  for (size_t k = 0; k < num_classes_; ++k) {
    order[k] = k;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return prob[x] > prob[y]; });
  auto name = [&](size_t k) {
    return k == none ? std::string(kNoneIntent) : catalogue_.intents[k].name;
  };
  const size_t top = order[0];
  r.intent = name(top);
  r.confidence = std::clamp(prob[top], 0.0, 1.0);
  r.below_threshold = r.confidence < options_.threshold;
  for (size_t i = 1; i < order.size() && r.alternatives.size() < options_.max_alternatives; ++i) {
    r.alternatives.emplace_back(name(order[i]), std::clamp(prob[order[i]], 0.0, 1.0));
  }
  if (top != none) {
    r.slots = in.ExtractSlots(text, a, top);
  }
  return r;
}

}  // namespace opsgate::intents
