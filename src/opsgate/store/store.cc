#include "opsgate/store/store.h"

#include "opsgate/store/policy_store.h"

namespace opsgate::store {

// Out of line so the vtable has a home in this library.
Store::~Store() = default;

std::string_view ApprovalStateName(ApprovalState state) {
  switch (state) {
    case ApprovalState::kPending:
      return "pending";
    case ApprovalState::kApproved:
      return "approved";
    case ApprovalState::kDenied:
      return "denied";
    case ApprovalState::kExpired:
      return "expired";
    case ApprovalState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace opsgate::store
