// File: opsgate/crypto/testing/fake_key_provider.h
//
// A KeyProvider for tests: KEKs are in memory, "wrapping" is real AES-256-GCM under a
// fixed test KEK (so altered wrapped keys fail as in production), and it can be told to
// fail. Use LocalFileKeyProvider where the files themselves are under test.
#pragma once

#include <atomic>
#include <string>

#include "opsgate/core/error.h"
#include "opsgate/crypto/aead.h"
#include "opsgate/crypto/key_provider.h"

namespace opsgate::crypto::testing {

class FakeKeyProvider final : public KeyProvider {
 public:
  explicit FakeKeyProvider(std::string id = "fakekek000000001", char fill = '\x42')
      : id_(std::move(id)), kek_(std::string(32, fill)) {}

  core::Result<WrappedKey> WrapKey(const core::Secret& data_key) override {
    if (fail_.load()) {
      return core::Fail(core::Unavailable("fake key provider told to fail"));
    }
    auto sealed = Aes256GcmSeal(kek_, data_key.Reveal(), id_);
    if (!sealed) {
      return core::Fail(sealed.error());
    }
    return WrappedKey{id_, std::move(*sealed)};
  }
  core::Result<core::Secret> UnwrapKey(const WrappedKey& wrapped) override {
    if (wrapped.key_id != id_) {
      return core::Fail(core::NotFound("no key-encryption key with id " + wrapped.key_id));
    }
    auto opened = Aes256GcmOpen(kek_, wrapped.wrapped, id_);
    if (!opened) {
      return core::Fail(core::DataLoss("wrapped data key does not open"));
    }
    return core::Secret(std::move(*opened));
  }
  std::string CurrentKeyId() const override { return id_; }

  void set_fail(bool fail) { fail_.store(fail); }

 private:
  const std::string id_;
  const core::Secret kek_;
  std::atomic<bool> fail_{false};
};

}  // namespace opsgate::crypto::testing
