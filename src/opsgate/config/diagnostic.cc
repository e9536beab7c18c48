#include "opsgate/config/diagnostic.h"

namespace opsgate::config {

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) {
      out += ':' + std::to_string(column);
    }
  }
  out += ": ";
  if (severity == Severity::kWarning) {
    out += "warning: ";
  }
  if (!key_path.empty()) {
    out += key_path + ": ";
  }
  out += message;
  return out;
}

}  // namespace opsgate::config
