#include "opsgate/core/secret.h"

#include <string.h>

namespace opsgate::core {

void Secret::Wipe() noexcept {
  // explicit_bzero is not optimised away, unlike memset on memory about to die.
  if (!value_.empty()) {
    explicit_bzero(value_.data(), value_.size());
  }
  value_.clear();
}

}  // namespace opsgate::core
