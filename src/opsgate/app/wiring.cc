#include "opsgate/app/wiring.h"

#include "opsgate/connectors/slack/slack_connector.h"

namespace opsgate::app {

void RegisterConnectors(connectors::ConnectorRegistry& registry) {
  // One line per platform.
  registry.Add<connectors::slack::SlackConnectorFactory>();
}

}  // namespace opsgate::app
