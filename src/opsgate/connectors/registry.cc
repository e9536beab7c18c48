#include "opsgate/connectors/registry.h"

namespace opsgate::connectors {

core::Result<std::vector<std::unique_ptr<Connector>>> ConnectorRegistry::CreateEnabled(
    const config::Config& config, ConnectorDeps& deps, http::Router& router) const {
  std::vector<std::unique_ptr<Connector>> created;
  for (const auto& factory : factories_) {
    if (!factory->Enabled(config)) {
      continue;
    }
    auto connector = factory->Create(config, deps);
    if (!connector) {
      return core::Fail({connector.error().code, "connector " + std::string(factory->Name()) +
                                                     ": " + connector.error().message});
    }
    if (*connector == nullptr) {
      continue;  // off after all; the factory logged why
    }
    if (auto st = (*connector)->RegisterRoutes(router); !st) {
      return core::Fail({st.error().code, "connector " + std::string(factory->Name()) +
                                              ": " + st.error().message});
    }
    created.push_back(std::move(*connector));
  }
  return created;
}

std::vector<std::string> ConnectorRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& f : factories_) {
    names.emplace_back(f->Name());
  }
  return names;
}

}  // namespace opsgate::connectors
