#include "opsgate/store/store.h"

namespace opsgate::store {

// Out of line so the vtable has a home in this library.
Store::~Store() = default;

}  // namespace opsgate::store
