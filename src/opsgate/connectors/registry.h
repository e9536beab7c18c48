// File: opsgate/connectors/registry.h
//
// The list of connector factories the binary knows, filled explicitly in
// app/wiring.cc:
//
//   ConnectorRegistry registry;
//   registry.Add<SlackConnectorFactory>();
//
// Thread-safety: fill and use from one thread (start-up).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "opsgate/connectors/connector.h"

namespace opsgate::connectors {

class ConnectorRegistry {
 public:
  template <class Factory, class... Args>
  void Add(Args&&... args) {
    factories_.push_back(std::make_unique<Factory>(std::forward<Args>(args)...));
  }

  // Creates every connector the config enables and registers its routes.
  // Errors: the first factory or route error, prefixed with the connector's name.
  [[nodiscard]] core::Result<std::vector<std::unique_ptr<Connector>>> CreateEnabled(
      const config::Config& config, ConnectorDeps& deps, http::Router& router) const;

  // Names of all known factories, for `opsgate --help` and diagnostics.
  std::vector<std::string> Names() const;

 private:
  std::vector<std::unique_ptr<ConnectorFactory>> factories_;
};

}  // namespace opsgate::connectors
