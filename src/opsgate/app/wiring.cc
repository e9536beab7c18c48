#include "opsgate/app/wiring.h"

namespace opsgate::app {

void RegisterConnectors(connectors::ConnectorRegistry& registry) {
  // One line per platform, e.g. registry.Add<connectors::slack::SlackConnectorFactory>();
  (void)registry;
}

}  // namespace opsgate::app
