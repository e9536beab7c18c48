// File: opsgate/app/nlu_training.h
//
// What the classifier is trained on, the same for `serve` and the `nlu` tools: the
// configured intent catalogue (intents.file, or the default) plus the rephrasings an
// administrator accepted (`opsgate nlu accept`, store/nlu_store.h).
#pragma once

#include <cstddef>

#include "opsgate/config/config.h"
#include "opsgate/core/result.h"
#include "opsgate/intents/intents.h"
#include "opsgate/store/nlu_store.h"

namespace opsgate::app {

// `candidates` may be null (no store: the catalogue alone). `learned`, if given, receives
// how many accepted utterances were added.
core::Result<intents::Catalogue> TrainingCatalogue(const config::Config& config,
                                                   const store::NluCandidateStore* candidates,
                                                   size_t* learned = nullptr);

}  // namespace opsgate::app
