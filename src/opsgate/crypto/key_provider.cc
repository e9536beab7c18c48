#include "opsgate/crypto/key_provider.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "opsgate/core/strings.h"
#include "opsgate/core/unique_fd.h"
#include "opsgate/crypto/aead.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/keys.h"

namespace opsgate::crypto {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCurrentFile = "data.key";
constexpr std::string_view kRetiredPrefix = "data-";
constexpr std::string_view kKeySuffix = ".key";
constexpr std::string_view kWrapAadPrefix = "opsgate-kek-wrap-v1:";
constexpr size_t kMaxKeyFileSize = 4096;
// Bounds the unwrap cache; each entry is one DEK (one per process start or N fields).
constexpr size_t kMaxCachedDeks = 4096;

std::string Errno() { return std::strerror(errno); }

using Fd = core::UniqueFd;

core::Result<core::Secret> ReadKeyFile(const fs::path& path) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    return core::Fail(core::FailedPrecondition("cannot open key file " + path.string() + ": " +
                                               Errno()));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return core::Fail(
        core::FailedPrecondition("key file " + path.string() + " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return core::Fail(core::FailedPrecondition(
        "key file " + path.string() + " is readable or writable by group or others; run: chmod 600 " +
        path.string()));
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileSize)) {
    return core::Fail(core::FailedPrecondition("key file " + path.string() + " is too large"));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  const core::Secret wiped_text(std::move(text));
  auto raw = Base64Decode(core::Trim(wiped_text.Reveal()));
  if (!raw || raw->size() != kAes256KeySize) {
    if (raw) {
      core::Secret wipe(std::move(*raw));
    }
    return core::Fail(core::FailedPrecondition(
        "key file " + path.string() + " must hold base64 of 32 bytes on one line"));
  }
  return core::Secret(std::move(*raw));
}

core::Status WriteNewFile(const fs::path& path, std::string_view content) {
  const Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    return core::Fail(core::FailedPrecondition("cannot create " + path.string() + ": " + Errno()));
  }
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return core::Fail(core::FailedPrecondition("cannot write " + path.string() + ": " + Errno()));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return core::Fail(core::FailedPrecondition("cannot fsync " + path.string() + ": " + Errno()));
  }
  return core::Ok();
}

void SyncDir(const fs::path& dir) {
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) {
    ::fsync(fd.get());
  }
}

std::string WrapAad(std::string_view key_id) {
  std::string aad(kWrapAadPrefix);
  aad += key_id;
  return aad;
}

void PutU16(std::string& out, size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

}  // namespace

std::string KeyFingerprint(const core::Secret& key) {
  const Digest d = Sha256(key.Reveal());
  return HexEncode(AsStringView(d).substr(0, 8));
}

core::Result<std::unique_ptr<LocalFileKeyProvider>> LocalFileKeyProvider::Open(
    const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return core::Fail(core::FailedPrecondition(
        "key directory " + dir.string() +
        " does not exist; run `opsgate init` or point the data directory at the right place"));
  }
  std::unique_ptr<LocalFileKeyProvider> p(new LocalFileKeyProvider(dir));
  const fs::path current = dir / kCurrentFile;
  if (!fs::exists(fs::symlink_status(current, ec))) {
    return core::Fail(core::FailedPrecondition("no current key " + current.string() +
                                               "; run `opsgate init` to create one"));
  }
  auto cur = ReadKeyFile(current);
  if (!cur) {
    return core::Fail(cur.error());
  }
  p->current_id_ = KeyFingerprint(*cur);
  p->keys_.emplace(p->current_id_, std::move(*cur));
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= kRetiredPrefix.size() + kKeySuffix.size() ||
        name.compare(0, kRetiredPrefix.size(), kRetiredPrefix) != 0 ||
        name.compare(name.size() - kKeySuffix.size(), kKeySuffix.size(), kKeySuffix) != 0) {
      continue;
    }
    const std::string named_id = name.substr(
        kRetiredPrefix.size(), name.size() - kRetiredPrefix.size() - kKeySuffix.size());
    auto key = ReadKeyFile(it->path());
    if (!key) {
      return core::Fail(key.error());
    }
    const std::string id = KeyFingerprint(*key);
    if (id != named_id) {
      return core::Fail(core::FailedPrecondition("key file " + it->path().string() +
                                                 " holds key " + id + ", not " + named_id +
                                                 "; rename it to data-" + id + ".key"));
    }
    p->keys_.emplace(id, std::move(*key));
  }
  if (ec) {
    return core::Fail(
        core::FailedPrecondition("cannot list key directory " + dir.string() + ": " + ec.message()));
  }
  return p;
}

core::Result<WrappedKey> LocalFileKeyProvider::WrapKey(const core::Secret& data_key) {
  if (data_key.size() != kAes256KeySize) {
    return core::Fail(core::InvalidArgument("data key must be 32 bytes"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto sealed = Aes256GcmSeal(keys_.at(current_id_), data_key.Reveal(), WrapAad(current_id_));
  if (!sealed) {
    return core::Fail(sealed.error());
  }
  return WrappedKey{current_id_, std::move(*sealed)};
}

core::Result<core::Secret> LocalFileKeyProvider::UnwrapKey(const WrappedKey& wrapped) {
  core::Secret kek;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = keys_.find(wrapped.key_id);
    if (it == keys_.end()) {
      return core::Fail(core::NotFound(
          "key-encryption key " + core::JsonEscape(wrapped.key_id) + " is not in " +
          dir_.string() + " (neither data.key nor a retired data-<id>.key); restore the key file "
          "it was sealed with"));
    }
    kek = it->second;
  }
  auto plain = Aes256GcmOpen(kek, wrapped.wrapped, WrapAad(wrapped.key_id));
  if (!plain) {
    return core::Fail(plain.error());
  }
  core::Secret dek(std::move(*plain));
  if (dek.size() != kAes256KeySize) {
    return core::Fail(core::DataLoss("unwrapped data key has the wrong length"));
  }
  return dek;
}

core::Result<bool> LocalFileKeyProvider::Reload() {
  auto fresh = Open(dir_);
  if (!fresh) {
    return core::Fail(fresh.error());
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, key] : (*fresh)->keys_) {
    keys_.insert_or_assign(id, std::move(key));
  }
  const bool changed = current_id_ != (*fresh)->current_id_;
  current_id_ = (*fresh)->current_id_;
  return changed;
}

std::string LocalFileKeyProvider::CurrentKeyId() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_id_;
}

std::vector<std::string> LocalFileKeyProvider::KeyIds() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, key] : keys_) {
    ids.push_back(id);
  }
  return ids;
}

core::Result<std::string> LocalFileKeyProvider::Rotate() {
  auto fresh = GenerateAes256Key();
  if (!fresh) {
    return core::Fail(fresh.error());
  }
  const std::string new_id = KeyFingerprint(*fresh);
  std::lock_guard<std::mutex> lock(mu_);
  const fs::path current = dir_ / kCurrentFile;
  const fs::path retired =
      dir_ / (std::string(kRetiredPrefix) + current_id_ + std::string(kKeySuffix));
  // Keep the old key under its id first: if we crash after this, data.key is unchanged
  // and the extra link is harmless.
  if (::link(current.c_str(), retired.c_str()) != 0 && errno != EEXIST) {
    return core::Fail(core::FailedPrecondition("cannot keep the old key as " + retired.string() +
                                               ": " + Errno()));
  }
  const fs::path tmp = dir_ / "data.key.new";
  ::unlink(tmp.c_str());  // a leftover of a crashed rotation was never current
  const core::Secret text(Base64Encode(fresh->Reveal()) + "\n");
  OPSGATE_RETURN_IF_ERROR(WriteNewFile(tmp, text.Reveal()));
  if (::rename(tmp.c_str(), current.c_str()) != 0) {
    return core::Fail(core::FailedPrecondition("cannot replace " + current.string() + ": " +
                                               Errno()));
  }
  SyncDir(dir_);
  keys_.emplace(new_id, std::move(*fresh));
  current_id_ = new_id;
  return new_id;
}

core::Result<std::string> FieldSealer::Seal(std::string_view plaintext, std::string_view aad) {
  core::Secret dek;
  std::string header;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string kek_id = provider_.CurrentKeyId();
    if (!current_ || current_->uses >= max_fields_per_dek_ || current_->kek_id != kek_id) {
      auto fresh = GenerateAes256Key();
      if (!fresh) {
        return core::Fail(fresh.error());
      }
      auto wrapped = provider_.WrapKey(*fresh);
      if (!wrapped) {
        return core::Fail(wrapped.error());
      }
      if (wrapped->key_id.empty() || wrapped->key_id.size() > 255 || wrapped->wrapped.empty() ||
          wrapped->wrapped.size() > 0xffff) {
        return core::Fail(core::Internal("key provider returned an oversized wrapped key"));
      }
      auto next = std::make_unique<CurrentDek>();
      next->header += static_cast<char>(kVersion);
      next->header += static_cast<char>(wrapped->key_id.size());
      next->header += wrapped->key_id;
      PutU16(next->header, wrapped->wrapped.size());
      next->header += wrapped->wrapped;
      next->kek_id = wrapped->key_id;
      next->key = *fresh;
      if (cache_.size() >= kMaxCachedDeks) {
        cache_.clear();
      }
      cache_.insert_or_assign(std::string(AsStringView(Sha256(next->header))), *fresh);
      current_ = std::move(next);
    }
    ++current_->uses;
    dek = current_->key;
    header = current_->header;
  }
  std::string full_aad = header;
  full_aad += aad;
  auto sealed = Aes256GcmSeal(dek, plaintext, full_aad);
  if (!sealed) {
    return core::Fail(sealed.error());
  }
  header += *sealed;
  return header;
}

core::Result<core::Secret> FieldSealer::UnwrapCached(std::string_view kek_id,
                                                     std::string_view header) {
  const std::string cache_key(AsStringView(Sha256(header)));
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = cache_.find(cache_key);
    if (it != cache_.end()) {
      return it->second;
    }
  }
  const size_t wrapped_at = 2 + kek_id.size() + 2;
  auto dek = provider_.UnwrapKey(
      WrappedKey{std::string(kek_id), std::string(header.substr(wrapped_at))});
  if (!dek) {
    return core::Fail(dek.error());
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kMaxCachedDeks) {
    cache_.clear();
  }
  cache_.insert_or_assign(cache_key, *dek);
  return dek;
}

core::Result<std::string> FieldSealer::Open(std::string_view blob, std::string_view aad) {
  if (blob.empty()) {
    return core::Fail(core::DataLoss("sealed field is empty"));
  }
  if (static_cast<uint8_t>(blob[0]) != kVersion) {
    return core::Fail(core::DataLoss("sealed field has unsupported version " +
                                     std::to_string(static_cast<uint8_t>(blob[0]))));
  }
  if (blob.size() < 2) {
    return core::Fail(core::DataLoss("sealed field is truncated"));
  }
  const size_t id_len = static_cast<uint8_t>(blob[1]);
  if (id_len == 0 || blob.size() < 2 + id_len + 2) {
    return core::Fail(core::DataLoss("sealed field is truncated"));
  }
  const std::string_view kek_id = blob.substr(2, id_len);
  const size_t wrapped_len = (static_cast<size_t>(static_cast<uint8_t>(blob[2 + id_len])) << 8) |
                             static_cast<uint8_t>(blob[3 + id_len]);
  const size_t header_len = 4 + id_len + wrapped_len;
  if (wrapped_len == 0 || blob.size() < header_len + kGcmOverhead) {
    return core::Fail(core::DataLoss("sealed field is truncated"));
  }
  const std::string_view header = blob.substr(0, header_len);
  auto dek = UnwrapCached(kek_id, header);
  if (!dek) {
    return core::Fail(dek.error());
  }
  std::string full_aad(header);
  full_aad += aad;
  return Aes256GcmOpen(*dek, blob.substr(header_len), full_aad);
}

}  // namespace opsgate::crypto
