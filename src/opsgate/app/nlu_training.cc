#include "opsgate/app/nlu_training.h"

#include <string>
#include <utility>
#include <vector>

#include "opsgate/intents/catalogue_yaml.h"

namespace opsgate::app {

// At most this many accepted rephrasings are read (oldest first).
constexpr size_t kMaxLearned = 10'000;

core::Result<intents::Catalogue> TrainingCatalogue(const config::Config& config,
                                                   const store::NluCandidateStore* candidates,
                                                   size_t* learned) {
  auto catalogue = intents::LoadConfiguredCatalogue(config.intents.file);
  if (!catalogue) {
    return core::Fail(catalogue.error());
  }
  size_t added = 0;
  if (candidates != nullptr) {
    auto accepted = candidates->List("accepted", kMaxLearned);
    if (!accepted) {
      return core::Fail(accepted.error());
    }
    std::vector<std::pair<std::string, std::string>> utterances;
    for (const store::NluCandidate& c : *accepted) {
      utterances.emplace_back(c.intent, c.utterance);
    }
    added = intents::AddUtterances(*catalogue, utterances);
  }
  if (learned != nullptr) {
    *learned = added;
  }
  return catalogue;
}

}  // namespace opsgate::app
