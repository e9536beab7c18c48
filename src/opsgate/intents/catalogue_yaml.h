// File: opsgate/intents/catalogue_yaml.h
//
// The intent catalogue as a YAML file (`intents.file` in the config; the format is
// docs/intents-catalogue.md):
//
//   version: 1
//   intents:
//     - name: ec2.stop
//       description: Stop a running EC2 instance.
//       action: ec2:StopInstances
//       resource: arn:aws:ec2:{region}:{account}:instance/{instance_id}
//       destructive: true
//       confirmation: confirm            # none | confirm | typed (then typed_slot: ...)
//       confirmation_prompt: "Stop instance {instance_id}?"
//       utterances:
//         - "stop {instance_id}"
//       slots:
//         - name: instance_id
//           type: aws_instance_id
//           required: true
//           prompt: "Which instance? (an id such as i-0abc1234)"
//
//   auto catalogue = LoadCatalogueFile(config.intents.file);   // or ParseCatalogue(text, name)
//   if (!catalogue) for (const auto& d : catalogue.error()) std::cerr << d.ToString() << "\n";
//
// Parsing is strict: unknown keys (with did-you-mean), wrong types, missing keys,
// duplicate keys, intent names, slot names, utterances and enum values, placeholders that
// name no slot, aliases, and the limits below are all errors, each a config::Diagnostic
// "FILE:LINE:COL: intents[3].slots[1].type: unknown type 'int' (did you mean 'integer'?)".
// A file that parses yields a Catalogue every other module can use as is: every name is
// unique, every {placeholder} resolves, every typed_slot is a required slot of its intent.
//
// The `help` intent is optional: the gateway's built-in help command works without it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "opsgate/config/diagnostic.h"
#include "opsgate/core/result.h"
#include "opsgate/intents/intents.h"

namespace opsgate::intents {

// Limits (docs/intents-catalogue.md#limits).
inline constexpr size_t kMaxCatalogueBytes = 1024 * 1024;
inline constexpr size_t kMaxIntents = 200;
inline constexpr size_t kMaxUtterances = 100;     // per intent
inline constexpr size_t kMaxSlots = 20;           // per intent
inline constexpr size_t kMaxEnumValues = 100;     // per enum slot
inline constexpr size_t kMaxSynonyms = 20;        // per enum value
inline constexpr size_t kMaxNameBytes = 64;       // intent and slot names, enum values
inline constexpr size_t kMaxTextBytes = 500;      // descriptions, prompts, utterances
inline constexpr size_t kMaxTemplateBytes = 512;  // resource templates, actions

using CatalogueResult = tl::expected<Catalogue, std::vector<config::Diagnostic>>;

// Strict parse of a catalogue file's text; `source_name` is the file name used in the
// diagnostics. On failure the list holds at least one error (and only errors).
[[nodiscard]] CatalogueResult ParseCatalogue(std::string_view yaml, std::string_view source_name);

// Reads `path` (a regular file of at most kMaxCatalogueBytes, never blocking on a FIFO)
// and parses it. An unreadable file is one diagnostic "PATH: no such file" (or "not a
// regular file", "cannot be read: ...", "larger than ... bytes").
[[nodiscard]] CatalogueResult LoadCatalogueFile(const std::string& path);

// The text of the default catalogue, as `opsgate init` writes it to DIR/intents.yaml:
// commented, and parsing to exactly DefaultCatalogue() (catalogue_yaml_test.cc checks
// this field by field).
std::string DefaultCatalogueYaml();

// "" when `a` and `b` are equal field by field (names, descriptions, utterances, slots with
// every setting, confirmation, action, resource, destructive), otherwise the first
// difference: "intents[4].slots[1].max: 1000 != 100". For tests, and for telling an
// operator how a catalogue file differs from the default.
std::string CatalogueDifference(const Catalogue& a, const Catalogue& b);

// The catalogue a config names: intents.file when set (LoadCatalogueFile; every
// diagnostic joined into one kInvalidArgument error, one per line, prefixed
// "intents.file: "), else DefaultCatalogue(). What serve, check and the nlu tools use.
[[nodiscard]] core::Result<Catalogue> LoadConfiguredCatalogue(const std::string& file);

// Adds training utterances learned in use (accepted rephrasings, nlu_store.h) to the
// intents they belong to: (intent name, utterance with {slot} placeholders) pairs.
// Skipped, not errors: unknown intents, placeholders that are not slots of the intent,
// duplicates (ignoring case), and anything past kMaxUtterances for an intent. Returns how
// many were added.
size_t AddUtterances(Catalogue& catalogue,
                     const std::vector<std::pair<std::string, std::string>>& utterances);

}  // namespace opsgate::intents
