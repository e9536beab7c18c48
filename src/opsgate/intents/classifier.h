// File: opsgate/intents/classifier.h
//
// The statistical side of understanding (docs/intents.md): free text that is not the
// deterministic command syntax (command.h) goes through a Classifier trained at start-up
// on the sample utterances of a Catalogue.
//
//   auto classifier = Classifier::Train(DefaultCatalogue());
//   NluResult r = classifier->Parse("could you stop I-0ABC1234 please");
//   // r.intent == "ec2.stop", r.slots == {instance_id: i-0abc1234}, r.confidence ~0.9
//   NluResult none = classifier->Parse("tell me a joke");   // none.intent == "none"
//
// How a text is understood:
//   1. Tokens are split on whitespace; "..." quoted spans stay one token.
//   2. Slot values are recognised and MASKED BY TYPE: instance ids, regions, instance
//      types, IPs/CIDRs, integers, durations, enum values and synonyms, upper-case Jira
//      keys, a free-text tail after a cue (':', "saying", "about", "because", ...).
//      Unknown words with identifier shape (web-asg, release/1.4) or in a learned
//      identifier position ("the X group") become a name mask.
//   3. Politeness ("please", "could you", "thanks", "kindly", ...) and pronouns ("it",
//      "that": "stop it" is ec2.stop with the instance still to ask for) are dropped; words go
//      through a small built-in ops lexicon ("shutdown" -> "shut down", "vm" ->
//      "instance", "alerts" -> "alarms"), light stemming, and one-letter typo repair
//      (Damerau distance 1 against the vocabulary, for words of 4+ letters).
//   4. A multinomial naive Bayes over word unigrams and bigrams (each feature weighted by
//      its inverse class frequency) scores every intent and the out-of-scope class
//      "none" (trained on a built-in set of generic chat). The
//      scores go through a softmax with a temperature fitted at training time by
//      leave-one-out over the training utterances (minimum log loss), so `confidence`
//      is calibrated on held-in data.
//   5. A text with no in-scope word and no resource-like value is "none" outright.
//   6. Slots of the chosen intent are then filled by type AND position: a typed value
//      fills the slot of that type; several candidates are told apart by the cue words
//      learned from the utterances ("to {capacity}", "in {region}"); identifiers and
//      free text are taken from the positions the utterances show ("the {group} group",
//      "for {service}", "saying {summary}").
//
// Below `ClassifierOptions::threshold` the caller must not act: it asks "did you
// mean ..." with `alternatives`.
//
// Ownership: a Classifier owns a copy of its catalogue.
//
// Thread-safety: Parse() is const and touches no mutable state; any number of threads
// may call it concurrently on one Classifier. Training and parsing are deterministic.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "opsgate/core/result.h"
#include "opsgate/intents/intents.h"

namespace opsgate::intents {

// The intent name the classifier gives out-of-scope text.
inline constexpr std::string_view kNoneIntent = "none";

// Longest text Parse() looks at, in bytes; the rest is ignored.
inline constexpr size_t kMaxNluTextBytes = 4096;

struct ClassifierOptions {
  // Below this confidence the result is flagged below_threshold: the caller asks
  // "did you mean ..." instead of acting. In [0, 1].
  double threshold = 0.5;
  // Additive (Laplace) smoothing of the naive Bayes feature counts. > 0.
  double alpha = 0.3;
  // Fit the softmax temperature by leave-one-out log loss on the training utterances;
  // false: use `temperature` as given (> 0).
  bool fit_temperature = true;
  double temperature = 1.0;
  // Weight each feature by log(1 + classes / classes-with-the-feature), so words that
  // every intent uses ("the", "me") count less than words that pick one out.
  bool idf_weighting = true;
  // How many other intents NluResult::alternatives lists at most.
  size_t max_alternatives = 3;
  // Extra out-of-scope training utterances (no placeholders), added to the built-in set.
  std::vector<std::string> extra_out_of_scope;
};

struct NluResult {
  // An intent of the catalogue, or "none" (kNoneIntent) when out of scope.
  std::string intent;
  // Calibrated probability of `intent`, in [0, 1].
  double confidence = 0;
  // Slot name -> value normalised by NormaliseSlot(); only slots of `intent`.
  std::map<std::string, std::string> slots;
  // The next best intents (possibly "none") with their probability, best first.
  std::vector<std::pair<std::string, double>> alternatives;
  // confidence < threshold: ask "did you mean ..." with the alternatives.
  bool below_threshold = false;
};

class Classifier {
 public:
  // Trains on every utterance of `catalogue` plus the out-of-scope set. InvalidArgument
  // when the catalogue has no intents, an intent named "none", an utterance placeholder
  // naming no slot of its intent, or options out of range.
  [[nodiscard]] static core::Result<Classifier> Train(const Catalogue& catalogue,
                                                      ClassifierOptions options = {});

  // Understands `text` (any bytes; at most kMaxNluTextBytes are read). Never fails.
  NluResult Parse(std::string_view text) const;

  const Catalogue& catalogue() const { return catalogue_; }
  const ClassifierOptions& options() const { return options_; }
  // The softmax temperature in use (fitted or given).
  double temperature() const { return temperature_; }
  // Number of training samples (utterances, descriptions and out-of-scope lines).
  size_t training_samples() const { return training_samples_; }

  // Internal: the per-slot positional cues learned from the utterances.
  struct SlotCues {
    std::vector<std::string> prev;  // canonical words seen right before {slot} ("^": start)
    std::vector<std::string> next;  // canonical words seen right after ("$": end)
  };

 private:
  Classifier() = default;

  Catalogue catalogue_;
  ClassifierOptions options_;
  double temperature_ = 1.0;
  size_t training_samples_ = 0;
  size_t num_classes_ = 0;  // intents + none (last)
  std::unordered_map<std::string, int> feature_ids_;
  std::vector<double> log_prob_;                    // [class * features + feature]
  std::vector<double> log_prior_;                   // per class (uniform)
  std::vector<double> weight_;                      // per feature
  std::unordered_map<std::string, int> word_freq_;  // vocabulary (canonical words)
  std::vector<std::string> long_words_;             // vocabulary words of 4+ bytes, sorted
  std::unordered_map<std::string, std::vector<int>> deletions_;  // typo index -> long_words_
  std::vector<std::vector<std::string>> intent_vocab_;  // per intent, sorted canonical words
  std::vector<std::string> in_scope_vocab_;             // sorted
  std::vector<std::string> name_prev_cues_;             // sorted, all identifier slots
  // Per intent, per slot (same order as IntentSpec::slots).
  std::vector<std::vector<SlotCues>> cues_;
  std::vector<std::vector<std::string>> weak_text_cues_;  // per intent, sorted
  std::vector<bool> types_used_;                          // indexed by SlotType

  friend struct ClassifierInternals;
};

}  // namespace opsgate::intents
