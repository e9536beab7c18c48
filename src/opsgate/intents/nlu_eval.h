// File: opsgate/intents/nlu_eval.h
//
// Evaluation of a Classifier on labelled data (`opsgate nlu eval`, docs/intents.md).
// The data is JSON lines, one example per line:
//
//   {"text": "could you stop i-0abc1234 please", "intent": "ec2.stop",
//    "slots": {"instance_id": "i-0abc1234"}}
//
// Read strictly: every non-blank line must be one JSON object with a string "text", a
// string "intent" (an intent of the catalogue or "none") and optionally "slots", an
// object of string values naming slots of that intent; no other keys. Errors name the
// line ("line 7: ...").
//
//   auto data = ReadEvalFile("tests/nlu/heldout.jsonl", classifier.catalogue());
//   EvalReport report = Evaluate(classifier, *data);
//   std::cout << FormatReportText(report);
//
// Metrics:
//   intent_accuracy   predicted intent == expected intent, over all lines.
//   macro_f1          mean F1 over every intent (and "none") that is expected or predicted.
//   slot_exact_match  the predicted slot map equals the expected one exactly (all slots,
//                     no extra), over the lines whose expected intent is not "none".
//   oos_precision     "none" as the positive class: of the lines predicted none, how
//   oos_recall        many are none; of the lines that are none, how many were predicted
//                     none. 1.0 when the denominator is 0.
//   mean_confidence   mean confidence of the predicted intent.
//   calibration_error expected calibration error: |accuracy - mean confidence| per
//                     confidence decile, weighted by the lines in it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/result.h"
#include "opsgate/intents/classifier.h"
#include "opsgate/intents/intents.h"

namespace opsgate::intents {

struct EvalExample {
  size_t line = 0;  // 1-based line number in the data
  std::string text;
  std::string intent;
  std::map<std::string, std::string> slots;
};

// One line the classifier got wrong (intent or slots).
struct EvalError {
  size_t line = 0;
  std::string text;
  std::string expected_intent;
  std::string predicted_intent;
  double confidence = 0;
  std::map<std::string, std::string> expected_slots;
  std::map<std::string, std::string> predicted_slots;
};

struct EvalReport {
  size_t examples = 0;
  size_t in_scope_examples = 0;  // expected intent is not none
  double intent_accuracy = 0;
  double macro_f1 = 0;
  double slot_exact_match = 0;
  double oos_precision = 0;
  double oos_recall = 0;
  double mean_confidence = 0;
  double calibration_error = 0;
  // expected intent -> predicted intent -> count.
  std::map<std::string, std::map<std::string, size_t>> confusion;
  std::vector<EvalError> errors;  // in line order
};

// Parses JSONL `data` (see the file comment) against `catalogue`. InvalidArgument
// "line N: ..." on the first bad line, or when there are no examples.
[[nodiscard]] core::Result<std::vector<EvalExample>> ParseEvalData(std::string_view data,
                                                                   const Catalogue& catalogue);

// Reads `path` and parses it; NotFound when it cannot be read. Messages start with the path.
[[nodiscard]] core::Result<std::vector<EvalExample>> ReadEvalFile(const std::string& path,
                                                                  const Catalogue& catalogue);

EvalReport Evaluate(const Classifier& classifier, const std::vector<EvalExample>& examples);

// The report for a person: the metrics, the confusion matrix, the misclassified lines.
std::string FormatReportText(const EvalReport& report);

// One JSON object: {"examples", "intent_accuracy", "macro_f1", "slot_exact_match",
// "oos_precision", "oos_recall", "mean_confidence", "calibration_error", "confusion": {expected:
// {predicted: n}}, "errors": [{"line", "text", "expected_intent", "predicted_intent", "confidence",
// "expected_slots", "predicted_slots"}]}.
std::string FormatReportJson(const EvalReport& report);

// One parse result as a JSON object: {"intent", "confidence", "below_threshold", "slots",
// "alternatives": [{"intent", "confidence"}]}.
std::string NluResultToJson(const NluResult& result);

}  // namespace opsgate::intents
