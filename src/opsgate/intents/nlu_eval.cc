#include "opsgate/intents/nlu_eval.h"

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "opsgate/core/strings.h"

namespace opsgate::intents {

namespace json = boost::json;

namespace {

core::Error LineError(size_t line, const std::string& msg) {
  return core::InvalidArgument("line " + std::to_string(line) + ": " + msg);
}

std::string Fixed(double v, int digits = 4) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string Str(std::string_view s) {
  return "\"" + core::JsonEscape(core::SanitizeUtf8(s)) + "\"";
}

// Probabilities and rates with 4 decimals: readable, and stable in diffs.
std::string Num(double v) { return Fixed(v, 4); }

std::string SlotsJsonText(const std::map<std::string, std::string>& slots) {
  std::string o = "{";
  for (const auto& [k, v] : slots) {
    if (o.size() > 1) {
      o += ",";
    }
    o += Str(k) + ":" + Str(v);
  }
  return o + "}";
}

double Ratio(size_t num, size_t den) {
  return den == 0 ? 1.0 : static_cast<double>(num) / static_cast<double>(den);
}

std::string SlotsText(const std::map<std::string, std::string>& slots) {
  return SlotsJsonText(slots);
}

}  // namespace

core::Result<std::vector<EvalExample>> ParseEvalData(std::string_view data,
                                                     const Catalogue& catalogue) {
  std::vector<EvalExample> out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) {
      nl = data.size();
    }
    std::string_view line = data.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (core::Trim(line).empty()) {
      if (nl == data.size()) {
        break;
      }
      continue;
    }
    if (!core::IsValidUtf8(line)) {
      return core::Fail(LineError(line_no, "not valid UTF-8"));
    }
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec) {
      return core::Fail(LineError(line_no, "not valid JSON: " + ec.message()));
    }
    if (!v.is_object()) {
      return core::Fail(LineError(line_no, "expected a JSON object"));
    }
    EvalExample ex;
    ex.line = line_no;
    bool has_text = false;
    bool has_intent = false;
    for (const auto& kv : v.as_object()) {
      const std::string key(kv.key());
      if (key == "text") {
        if (!kv.value().is_string()) {
          return core::Fail(LineError(line_no, "\"text\" must be a string"));
        }
        ex.text = std::string(kv.value().as_string());
        has_text = true;
      } else if (key == "intent") {
        if (!kv.value().is_string()) {
          return core::Fail(LineError(line_no, "\"intent\" must be a string"));
        }
        ex.intent = std::string(kv.value().as_string());
        has_intent = true;
      } else if (key == "slots") {
        if (!kv.value().is_object()) {
          return core::Fail(LineError(line_no, "\"slots\" must be an object of strings"));
        }
        for (const auto& s : kv.value().as_object()) {
          if (!s.value().is_string()) {
            return core::Fail(LineError(
                line_no, "slot \"" + std::string(s.key()) + "\" must have a string value"));
          }
          ex.slots[std::string(s.key())] = std::string(s.value().as_string());
        }
      } else {
        return core::Fail(LineError(line_no, "unknown key \"" + core::SanitizeUtf8(key) +
                                                 "\" (expected text, intent, slots)"));
      }
    }
    if (!has_text || ex.text.empty()) {
      return core::Fail(LineError(line_no, "missing or empty \"text\""));
    }
    if (!has_intent) {
      return core::Fail(LineError(line_no, "missing \"intent\""));
    }
    if (ex.intent == kNoneIntent) {
      if (!ex.slots.empty()) {
        return core::Fail(LineError(line_no, "intent none has no slots"));
      }
    } else {
      const IntentSpec* spec = catalogue.Find(ex.intent);
      if (spec == nullptr) {
        return core::Fail(LineError(line_no, "unknown intent \"" + core::SanitizeUtf8(ex.intent) +
                                                 "\" (not in the catalogue, and not none)"));
      }
      for (const auto& [name, value] : ex.slots) {
        if (spec->Slot(name) == nullptr) {
          return core::Fail(LineError(line_no, "intent " + ex.intent + " has no slot \"" +
                                                   core::SanitizeUtf8(name) + "\""));
        }
      }
    }
    out.push_back(std::move(ex));
    if (nl == data.size()) {
      break;
    }
  }
  if (out.empty()) {
    return core::Fail(core::InvalidArgument("no examples (expected JSON lines)"));
  }
  return out;
}

core::Result<std::vector<EvalExample>> ReadEvalFile(const std::string& path,
                                                    const Catalogue& catalogue) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Fail(core::NotFound(path + ": cannot read the file"));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseEvalData(ss.str(), catalogue);
  if (!parsed) {
    return core::Fail(core::Error{parsed.error().code, path + ": " + parsed.error().message});
  }
  return parsed;
}

EvalReport Evaluate(const Classifier& classifier, const std::vector<EvalExample>& examples) {
  EvalReport r;
  r.examples = examples.size();
  size_t correct = 0;
  size_t slot_ok = 0;
  size_t pred_none = 0;
  size_t true_none = 0;
  size_t both_none = 0;
  std::map<std::string, size_t> tp;
  std::map<std::string, size_t> fp;
  std::map<std::string, size_t> fn;
  std::set<std::string> labels;
  std::array<double, 10> bin_conf{};
  std::array<double, 10> bin_right{};
  std::array<size_t, 10> bin_n{};
  double conf_sum = 0;
  for (const EvalExample& ex : examples) {
    const NluResult res = classifier.Parse(ex.text);
    const size_t bin = std::min<size_t>(9, static_cast<size_t>(res.confidence * 10));
    bin_conf[bin] += res.confidence;
    bin_right[bin] += res.intent == ex.intent ? 1 : 0;
    ++bin_n[bin];
    conf_sum += res.confidence;
    ++r.confusion[ex.intent][res.intent];
    labels.insert(ex.intent);
    labels.insert(res.intent);
    const bool intent_ok = res.intent == ex.intent;
    if (intent_ok) {
      ++correct;
      ++tp[ex.intent];
    } else {
      ++fp[res.intent];
      ++fn[ex.intent];
    }
    const bool is_none = ex.intent == kNoneIntent;
    const bool said_none = res.intent == kNoneIntent;
    true_none += is_none ? 1 : 0;
    pred_none += said_none ? 1 : 0;
    both_none += (is_none && said_none) ? 1 : 0;
    bool slots_ok = true;
    if (!is_none) {
      ++r.in_scope_examples;
      slots_ok = res.slots == ex.slots;
      slot_ok += slots_ok ? 1 : 0;
    }
    if (!intent_ok || !slots_ok) {
      r.errors.push_back(
          {ex.line, ex.text, ex.intent, res.intent, res.confidence, ex.slots, res.slots});
    }
  }
  r.intent_accuracy = Ratio(correct, examples.size());
  r.mean_confidence = examples.empty() ? 0 : conf_sum / static_cast<double>(examples.size());
  for (size_t b = 0; b < 10; ++b) {
    if (bin_n[b] > 0) {
      r.calibration_error += std::abs(bin_right[b] - bin_conf[b]) /
                             static_cast<double>(std::max<size_t>(examples.size(), 1));
    }
  }
  r.slot_exact_match = Ratio(slot_ok, r.in_scope_examples);
  r.oos_precision = Ratio(both_none, pred_none);
  r.oos_recall = Ratio(both_none, true_none);
  double f1_sum = 0;
  for (const std::string& l : labels) {
    const double p = Ratio(tp[l], tp[l] + fp[l]);
    const double rc = Ratio(tp[l], tp[l] + fn[l]);
    f1_sum += (p + rc) > 0 ? 2 * p * rc / (p + rc) : 0.0;
  }
  r.macro_f1 = labels.empty() ? 0.0 : f1_sum / static_cast<double>(labels.size());
  return r;
}

std::string FormatReportText(const EvalReport& r) {
  std::ostringstream o;
  o << "examples:         " << r.examples << " (" << r.in_scope_examples << " in scope, "
    << r.examples - r.in_scope_examples << " out of scope)\n";
  o << "intent_accuracy:  " << Fixed(r.intent_accuracy) << "\n";
  o << "macro_f1:         " << Fixed(r.macro_f1) << "\n";
  o << "slot_exact_match: " << Fixed(r.slot_exact_match) << "\n";
  o << "oos_precision:    " << Fixed(r.oos_precision) << "\n";
  o << "oos_recall:       " << Fixed(r.oos_recall) << "\n";
  o << "mean_confidence:  " << Fixed(r.mean_confidence) << "\n";
  o << "calibration_err:  " << Fixed(r.calibration_error) << " (expected calibration error, "
    << "10 bins)\n";
  o << "\nconfusion (expected -> predicted: count):\n";
  for (const auto& [expected, row] : r.confusion) {
    o << "  " << expected << ":";
    for (const auto& [predicted, n] : row) {
      o << " " << predicted << "=" << n;
    }
    o << "\n";
  }
  o << "\nmisclassified (" << r.errors.size() << "):\n";
  for (const EvalError& e : r.errors) {
    o << "  line " << e.line << ": " << core::SanitizeUtf8(e.text) << "\n";
    o << "    expected " << e.expected_intent << " " << SlotsText(e.expected_slots) << "\n";
    o << "    got      " << e.predicted_intent << " " << SlotsText(e.predicted_slots) << " ("
      << Fixed(e.confidence, 3) << ")\n";
  }
  return o.str();
}

std::string FormatReportJson(const EvalReport& r) {
  std::string o = "{";
  o += "\"examples\":" + std::to_string(r.examples);
  o += ",\"intent_accuracy\":" + Num(r.intent_accuracy);
  o += ",\"macro_f1\":" + Num(r.macro_f1);
  o += ",\"slot_exact_match\":" + Num(r.slot_exact_match);
  o += ",\"oos_precision\":" + Num(r.oos_precision);
  o += ",\"oos_recall\":" + Num(r.oos_recall);
  o += ",\"mean_confidence\":" + Num(r.mean_confidence);
  o += ",\"calibration_error\":" + Num(r.calibration_error);
  o += ",\"confusion\":{";
  bool first = true;
  for (const auto& [expected, row] : r.confusion) {
    o += (first ? "" : ",") + Str(expected) + ":{";
    first = false;
    bool first_cell = true;
    for (const auto& [predicted, n] : row) {
      o += (first_cell ? "" : ",") + Str(predicted) + ":" + std::to_string(n);
      first_cell = false;
    }
    o += "}";
  }
  o += "},\"errors\":[";
  first = true;
  for (const EvalError& e : r.errors) {
    o += first ? "{" : ",{";
    first = false;
    o += "\"line\":" + std::to_string(e.line);
    o += ",\"text\":" + Str(e.text);
    o += ",\"expected_intent\":" + Str(e.expected_intent);
    o += ",\"predicted_intent\":" + Str(e.predicted_intent);
    o += ",\"confidence\":" + Num(e.confidence);
    o += ",\"expected_slots\":" + SlotsJsonText(e.expected_slots);
    o += ",\"predicted_slots\":" + SlotsJsonText(e.predicted_slots);
    o += "}";
  }
  return o + "]}";
}

std::string NluResultToJson(const NluResult& result) {
  std::string o = "{\"intent\":" + Str(result.intent);
  o += ",\"confidence\":" + Num(result.confidence);
  o += ",\"below_threshold\":";
  o += result.below_threshold ? "true" : "false";
  o += ",\"slots\":" + SlotsJsonText(result.slots);
  o += ",\"alternatives\":[";
  bool first = true;
  for (const auto& [intent, p] : result.alternatives) {
    o += (first ? "{" : ",{") + std::string("\"intent\":") + Str(intent) +
         ",\"confidence\":" + Num(p) + "}";
    first = false;
  }
  return o + "]}";
}

}  // namespace opsgate::intents
