#include "opsgate/audit/merkle.h"

#include <openssl/evp.h>

#include <bit>

#include "opsgate/core/check.h"

namespace opsgate::audit {
namespace {

// Largest power of two strictly less than n (n >= 2): the split point k of §2.1.1.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

void InclusionPath(std::span<const Hash> d, uint64_t m, std::vector<Hash>& out) {
  // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])  for m < k
  //               = PATH(m - k, D[k:n]) : MTH(D[0:k]) for m >= k
  if (d.size() <= 1) {
    return;
  }
  const uint64_t k = SplitPoint(d.size());
  if (m < k) {
    InclusionPath(d.subspan(0, k), m, out);
    out.push_back(RootOf(d.subspan(k)));
  } else {
    InclusionPath(d.subspan(k), m - k, out);
    out.push_back(RootOf(d.subspan(0, k)));
  }
}

void SubProof(uint64_t m, std::span<const Hash> d, bool b, std::vector<Hash>& out) {
  const uint64_t n = d.size();
  if (m == n) {
    if (!b) {
      out.push_back(RootOf(d));
    }
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, d.subspan(0, k), b, out);
    out.push_back(RootOf(d.subspan(k)));
  } else {
    SubProof(m - k, d.subspan(k), false, out);
    out.push_back(RootOf(d.subspan(0, k)));
  }
}

core::Unexpected Mismatch(std::string what) { return core::Fail(core::DataLoss(std::move(what))); }

// SHA-256 over prefix || a || b with a fetched digest and a per-thread context:
// OpenSSL 3's EVP_sha256() path re-fetches the algorithm and EVP_Digest allocates a
// context on every call, which dominated verification time (two hashes per record).
Hash Sha256Of(unsigned char prefix, const void* a, size_t a_len, const void* b, size_t b_len) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  OPSGATE_CHECK(md != nullptr);
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx c;
  OPSGATE_CHECK(c.ctx != nullptr);
  Hash out{};
  unsigned int len = 0;
  OPSGATE_CHECK(EVP_DigestInit_ex2(c.ctx, md, nullptr) == 1);
  OPSGATE_CHECK(EVP_DigestUpdate(c.ctx, &prefix, 1) == 1);
  OPSGATE_CHECK(EVP_DigestUpdate(c.ctx, a, a_len) == 1);
  if (b_len > 0) {
    OPSGATE_CHECK(EVP_DigestUpdate(c.ctx, b, b_len) == 1);
  }
  OPSGATE_CHECK(EVP_DigestFinal_ex(c.ctx, out.data(), &len) == 1);
  return out;
}

}  // namespace

Hash LeafHash(std::string_view leaf_bytes) {
  return Sha256Of(0x00, leaf_bytes.data(), leaf_bytes.size(), nullptr, 0);
}

Hash NodeHash(const Hash& left, const Hash& right) {
  return Sha256Of(0x01, left.data(), left.size(), right.data(), right.size());
}

Hash EmptyRoot() { return crypto::Sha256(""); }

Hash RootOf(std::span<const Hash> leaves) {
  if (leaves.empty()) {
    return EmptyRoot();
  }
  CompactRange range;
  for (const Hash& h : leaves) {
    range.Append(h);
  }
  return range.Root();
}

void CompactRange::Append(const Hash& leaf_hash) {
  peaks_.push_back(leaf_hash);
  // Each trailing 1 bit of the old size is a perfect subtree the new leaf completes.
  for (uint64_t s = size_; (s & 1) != 0; s >>= 1) {
    Hash right = peaks_.back();
    peaks_.pop_back();
    peaks_.back() = NodeHash(peaks_.back(), right);
  }
  ++size_;
}

Hash CompactRange::Root() const {
  if (peaks_.empty()) {
    return EmptyRoot();
  }
  // The right spine: fold the smaller subtrees into the larger ones from the right.
  Hash h = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) {
    h = NodeHash(peaks_[i], h);
  }
  return h;
}

core::Result<std::vector<Hash>> InclusionProof(std::span<const Hash> leaves, uint64_t index,
                                               uint64_t size) {
  if (size > leaves.size() || index >= size) {
    return core::Fail(core::InvalidArgument(
        "inclusion proof: need index < size <= " + std::to_string(leaves.size()) + " (index " +
        std::to_string(index) + ", size " + std::to_string(size) + ")"));
  }
  std::vector<Hash> out;
  InclusionPath(leaves.subspan(0, size), index, out);
  return out;
}

core::Result<std::vector<Hash>> ConsistencyProof(std::span<const Hash> leaves, uint64_t size1,
                                                 uint64_t size2) {
  if (size1 == 0 || size1 > size2 || size2 > leaves.size()) {
    return core::Fail(core::InvalidArgument(
        "consistency proof: need 0 < size1 <= size2 <= " + std::to_string(leaves.size()) +
        " (size1 " + std::to_string(size1) + ", size2 " + std::to_string(size2) + ")"));
  }
  std::vector<Hash> out;
  if (size1 < size2) {
    SubProof(size1, leaves.subspan(0, size2), true, out);
  }
  return out;
}

core::Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                             std::span<const Hash> proof, const Hash& root) {
  if (index >= size) {
    return core::Fail(core::InvalidArgument("inclusion proof: leaf index " +
                                            std::to_string(index) + " is not below tree size " +
                                            std::to_string(size)));
  }
  // RFC 9162 §2.1.3.2.
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) {
      return Mismatch("inclusion proof: longer than the path to the root");
    }
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return Mismatch("inclusion proof: shorter than the path to the root");
  }
  if (!crypto::ConstantTimeEquals(r, root)) {
    return Mismatch("inclusion proof: does not lead to the root");
  }
  return core::Ok();
}

core::Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const Hash> proof,
                               const Hash& root1, const Hash& root2) {
  if (size1 > size2) {
    return core::Fail(core::InvalidArgument("consistency proof: size1 " + std::to_string(size1) +
                                            " is larger than size2 " + std::to_string(size2)));
  }
  if (size1 == 0) {
    return core::Fail(core::InvalidArgument("consistency proof: size1 is 0; every tree is "
                                            "consistent with the empty one, nothing to prove"));
  }
  if (size1 == size2) {
    if (!proof.empty()) {
      return Mismatch("consistency proof: must be empty for equal sizes");
    }
    if (!crypto::ConstantTimeEquals(root1, root2)) {
      return Mismatch("consistency proof: equal sizes but different roots");
    }
    return core::Ok();
  }
  if (proof.empty()) {
    return Mismatch("consistency proof: empty");
  }
  // RFC 9162 §2.1.4.2.
  std::vector<Hash> path(proof.begin(), proof.end());
  if (std::has_single_bit(size1)) {
    path.insert(path.begin(), root1);
  }
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) {
      return Mismatch("consistency proof: longer than expected");
    }
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return Mismatch("consistency proof: shorter than expected");
  }
  if (!crypto::ConstantTimeEquals(fr, root1)) {
    return Mismatch("consistency proof: does not lead to the first root");
  }
  if (!crypto::ConstantTimeEquals(sr, root2)) {
    return Mismatch("consistency proof: does not lead to the second root");
  }
  return core::Ok();
}

}  // namespace opsgate::audit
