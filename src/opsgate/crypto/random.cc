#include "opsgate/crypto/random.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <limits>

#include "opsgate/core/check.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/internal/openssl_ptr.h"

namespace opsgate::crypto {

core::Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  ERR_clear_error();
  // RAND_bytes takes an int length; fill larger requests in chunks.
  constexpr size_t kMaxChunk = static_cast<size_t>(std::numeric_limits<int>::max());
  for (size_t done = 0; done < n;) {
    const size_t chunk = std::min(n - done, kMaxChunk);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + done), static_cast<int>(chunk)) !=
        1) {
      return core::Fail(
          core::Unavailable("the OpenSSL random generator failed: " + internal::OpenSslErrors()));
    }
    done += chunk;
  }
  return out;
}

std::string NewCorrelationId() {
  unsigned char bytes[16];
  OPSGATE_CHECK(RAND_bytes(bytes, sizeof(bytes)) == 1);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

}  // namespace opsgate::crypto
