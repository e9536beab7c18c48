#include "opsgate/crypto/key_provider.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "opsgate/crypto/hash.h"

namespace opsgate::crypto {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;

template <class T>
ErrorCode CodeOf(const core::Result<T>& r) {
  EXPECT_FALSE(r.has_value());
  return r ? ErrorCode::kInternal : r.error().code;
}

class KeyProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "opsgate-kp-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    keys_ = root_ / "keys";
    fs::create_directory(keys_);
    WriteKey(keys_ / "data.key", std::string(32, '\x11'), 0600);
  }
  void TearDown() override { fs::remove_all(root_); }

  static void WriteKey(const fs::path& p, const std::string& raw, mode_t mode) {
    std::ofstream(p) << Base64Encode(raw) << "\n";
    ::chmod(p.c_str(), mode);
  }

  std::unique_ptr<LocalFileKeyProvider> OpenKeys() {
    auto p = LocalFileKeyProvider::Open(keys_);
    EXPECT_TRUE(p) << p.error();
    return p ? std::move(*p) : nullptr;
  }

  fs::path root_;
  fs::path keys_;
};

TEST_F(KeyProviderTest, KeyIdIsShortSha256Fingerprint) {
  auto p = OpenKeys();
  ASSERT_TRUE(p);
  const std::string raw(32, '\x11');
  EXPECT_EQ(p->CurrentKeyId(), HexEncode(AsStringView(Sha256(raw)).substr(0, 8)));
  EXPECT_EQ(p->CurrentKeyId().size(), 16u);
}

TEST_F(KeyProviderTest, WrapUnwrapRoundTrip) {
  auto p = OpenKeys();
  ASSERT_TRUE(p);
  const core::Secret dek(std::string(32, 'd'));
  auto w = p->WrapKey(dek);
  ASSERT_TRUE(w) << w.error();
  EXPECT_EQ(w->key_id, p->CurrentKeyId());
  EXPECT_EQ(w->wrapped.find(std::string(32, 'd')), std::string::npos);
  auto u = p->UnwrapKey(*w);
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->Reveal(), dek.Reveal());
  EXPECT_EQ(CodeOf(p->WrapKey(core::Secret("short"))), ErrorCode::kInvalidArgument);
}

TEST_F(KeyProviderTest, RefusesKeyFileReadableByOthers) {
  ::chmod((keys_ / "data.key").c_str(), 0644);
  auto p = LocalFileKeyProvider::Open(keys_);
  ASSERT_EQ(CodeOf(p), ErrorCode::kFailedPrecondition);
  EXPECT_NE(p.error().message.find("chmod 600"), std::string::npos) << p.error();
}

TEST_F(KeyProviderTest, RefusesGroupReadableRetiredKey) {
  WriteKey(keys_ / "data-0000000000000000.key", std::string(32, '\x22'), 0640);
  auto p = LocalFileKeyProvider::Open(keys_);
  ASSERT_EQ(CodeOf(p), ErrorCode::kFailedPrecondition);
  EXPECT_NE(p.error().message.find("chmod 600"), std::string::npos) << p.error();
}

TEST_F(KeyProviderTest, RefusesRetiredKeyWhoseNameIsNotItsId) {
  WriteKey(keys_ / "data-0000000000000000.key", std::string(32, '\x22'), 0600);
  EXPECT_EQ(CodeOf(LocalFileKeyProvider::Open(keys_)), ErrorCode::kFailedPrecondition);
}

TEST_F(KeyProviderTest, RefusesMalformedKey) {
  std::ofstream(keys_ / "data.key", std::ios::trunc) << "not base64!\n";
  EXPECT_EQ(CodeOf(LocalFileKeyProvider::Open(keys_)), ErrorCode::kFailedPrecondition);
}

TEST_F(KeyProviderTest, MissingDirectoryOrKeyIsClearError) {
  auto missing = LocalFileKeyProvider::Open(root_ / "nope");
  ASSERT_EQ(CodeOf(missing), ErrorCode::kFailedPrecondition);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
  EXPECT_NE(missing.error().message.find("opsgate init"), std::string::npos);
  fs::remove(keys_ / "data.key");
  auto no_key = LocalFileKeyProvider::Open(keys_);
  ASSERT_EQ(CodeOf(no_key), ErrorCode::kFailedPrecondition);
  EXPECT_NE(no_key.error().message.find("data.key"), std::string::npos);
}

TEST_F(KeyProviderTest, RotateKeepsOldKeysAndWritesPrivateFile) {
  auto p = OpenKeys();
  ASSERT_TRUE(p);
  const std::string old_id = p->CurrentKeyId();
  const core::Secret dek(std::string(32, 'd'));
  const WrappedKey old_wrapped = p->WrapKey(dek).value();
  auto new_id = p->Rotate();
  ASSERT_TRUE(new_id) << new_id.error();
  EXPECT_NE(*new_id, old_id);
  EXPECT_EQ(p->CurrentKeyId(), *new_id);
  EXPECT_TRUE(fs::exists(keys_ / ("data-" + old_id + ".key")));
  EXPECT_FALSE(fs::exists(keys_ / "data.key.new"));
  struct stat st {};
  ASSERT_EQ(::stat((keys_ / "data.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(p->UnwrapKey(old_wrapped).value().Reveal(), dek.Reveal());
  EXPECT_EQ(p->WrapKey(dek).value().key_id, *new_id);

  // A fresh process sees both keys.
  auto reopened = OpenKeys();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->CurrentKeyId(), *new_id);
  EXPECT_EQ(reopened->KeyIds().size(), 2u);
  EXPECT_EQ(reopened->UnwrapKey(old_wrapped).value().Reveal(), dek.Reveal());
}

TEST_F(KeyProviderTest, ReloadPicksUpARotationByAnotherProcess) {
  auto server = OpenKeys();
  auto cli = OpenKeys();
  ASSERT_TRUE(server && cli);
  const std::string old_id = server->CurrentKeyId();
  const WrappedKey old_wrapped = server->WrapKey(core::Secret(std::string(32, 'd'))).value();
  auto reloaded = server->Reload();
  ASSERT_TRUE(reloaded) << reloaded.error();
  EXPECT_FALSE(*reloaded) << "nothing changed yet";

  auto new_id = cli->Rotate();
  ASSERT_TRUE(new_id) << new_id.error();
  EXPECT_EQ(server->CurrentKeyId(), old_id) << "a running process keeps its key until reload";
  reloaded = server->Reload();
  ASSERT_TRUE(reloaded) << reloaded.error();
  EXPECT_TRUE(*reloaded);
  EXPECT_EQ(server->CurrentKeyId(), *new_id);
  EXPECT_EQ(server->UnwrapKey(old_wrapped).value().Reveal(), std::string(32, 'd'));

  // A broken directory leaves the loaded keys in place.
  ::chmod((keys_ / "data.key").c_str(), 0644);
  EXPECT_FALSE(server->Reload().has_value());
  EXPECT_EQ(server->CurrentKeyId(), *new_id);
}

TEST_F(KeyProviderTest, UnknownKeyIdIsNotFound) {
  auto p = OpenKeys();
  ASSERT_TRUE(p);
  WrappedKey w = p->WrapKey(core::Secret(std::string(32, 'd'))).value();
  w.key_id = "feedfacefeedface";
  auto r = p->UnwrapKey(w);
  ASSERT_EQ(CodeOf(r), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("feedfacefeedface"), std::string::npos);
}

TEST_F(KeyProviderTest, FieldSealerRoundTrip) {
  auto p = OpenKeys();
  ASSERT_TRUE(p);
  FieldSealer sealer(*p);
  auto a = sealer.Seal("deploy prod please", "seq=1:text");
  auto b = sealer.Seal("", "seq=2:text");
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)[0], '\x01');
  EXPECT_EQ(a->find("deploy"), std::string::npos);
  EXPECT_EQ(sealer.Open(*a, "seq=1:text").value(), "deploy prod please");
  EXPECT_EQ(sealer.Open(*b, "seq=2:text").value(), "");
  EXPECT_EQ(CodeOf(sealer.Open(*a, "seq=2:text")), ErrorCode::kDataLoss);

  // Another sealer (another process) with the same keys opens it through the provider.
  auto p2 = OpenKeys();
  ASSERT_TRUE(p2);
  FieldSealer other(*p2);
  EXPECT_EQ(other.Open(*a, "seq=1:text").value(), "deploy prod please");
}

TEST_F(KeyProviderTest, FieldSealerOpensOldBlobsAfterRotate) {
  auto p = OpenKeys();
  ASSERT_TRUE(p);
  const std::string old_id = p->CurrentKeyId();
  FieldSealer sealer(*p);
  const std::string old_blob = sealer.Seal("before", "a").value();
  EXPECT_EQ(old_blob.substr(2, old_id.size()), old_id);
  const std::string new_id = p->Rotate().value();
  const std::string new_blob = sealer.Seal("after", "a").value();
  EXPECT_EQ(new_blob.substr(2, new_id.size()), new_id);
  EXPECT_EQ(sealer.Open(old_blob, "a").value(), "before");
  EXPECT_EQ(sealer.Open(new_blob, "a").value(), "after");

  auto reopened = OpenKeys();
  ASSERT_TRUE(reopened);
  FieldSealer fresh(*reopened);
  EXPECT_EQ(fresh.Open(old_blob, "a").value(), "before");
  EXPECT_EQ(fresh.Open(new_blob, "a").value(), "after");
}

TEST_F(KeyProviderTest, FieldSealerTamperIsDataLoss) {
  auto p = OpenKeys();
  ASSERT_TRUE(p);
  FieldSealer sealer(*p);
  const std::string blob = sealer.Seal("rm -rf /tmp/x", "aad").value();
  const size_t id_end = 2 + p->CurrentKeyId().size();
  for (size_t i = 0; i < blob.size(); ++i) {
    std::string bad = blob;
    bad[i] = static_cast<char>(bad[i] ^ 0x04);
    FieldSealer fresh(*p);  // no cached DEK: exercises the unwrap path too
    for (FieldSealer* s : {&sealer, &fresh}) {
      const ErrorCode code = CodeOf(s->Open(bad, "aad"));
      if (i >= 2 && i < id_end) {
        EXPECT_EQ(code, ErrorCode::kNotFound) << "byte " << i;  // a different KEK id
      } else {
        EXPECT_EQ(code, ErrorCode::kDataLoss) << "byte " << i;
      }
    }
  }
  for (size_t n = 0; n < blob.size(); ++n) {
    EXPECT_FALSE(sealer.Open(blob.substr(0, n), "aad")) << "length " << n;
  }
}

TEST_F(KeyProviderTest, FieldSealerUnknownKekIsNotFound) {
  auto p = OpenKeys();
  ASSERT_TRUE(p);
  FieldSealer sealer(*p);
  const std::string blob = sealer.Seal("x", "").value();
  // Another key directory that never had this KEK.
  fs::remove(keys_ / "data.key");
  WriteKey(keys_ / "data.key", std::string(32, '\x33'), 0600);
  auto other = OpenKeys();
  ASSERT_TRUE(other);
  FieldSealer stranger(*other);
  auto r = stranger.Open(blob, "");
  ASSERT_EQ(CodeOf(r), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find(p->CurrentKeyId()), std::string::npos) << r.error();
}

TEST_F(KeyProviderTest, FieldSealerRenewsDekAfterLimit) {
  auto p = OpenKeys();
  ASSERT_TRUE(p);
  FieldSealer sealer(*p, 2);
  const std::string a = sealer.Seal("1", "").value();
  const std::string b = sealer.Seal("2", "").value();
  const std::string c = sealer.Seal("3", "").value();
  const size_t header = a.size() - 1 - 28;
  EXPECT_EQ(a.substr(0, header), b.substr(0, header));
  EXPECT_NE(a.substr(0, header), c.substr(0, header));
  EXPECT_EQ(sealer.Open(c, "").value(), "3");
}

}  // namespace
}  // namespace opsgate::crypto
