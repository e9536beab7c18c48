// File: opsgate/app/wiring.h
//
// The explicit list of connector factories this binary knows. Adding a platform
// means one line here (see docs/architecture.md, "Adding a connector").
#pragma once

#include "opsgate/connectors/registry.h"

namespace opsgate::app {

void RegisterConnectors(connectors::ConnectorRegistry& registry);

}  // namespace opsgate::app
