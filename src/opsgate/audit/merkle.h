// File: opsgate/audit/merkle.h
//
// The Merkle tree of RFC 9162 §2.1 (same hashing as RFC 6962) over the audit log:
//   leaf hash  SHA-256(0x00 || record bytes as stored)
//   node hash  SHA-256(0x01 || left || right)
//   MTH({})    SHA-256("")
// with inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), and CompactRange, the
// O(log n) frontier the writer keeps so that appending and computing the root never
// walks the whole tree.
//
//   CompactRange range;
//   for (const auto& bytes : records) range.Append(LeafHash(bytes));
//   Hash root = range.Root();
//   auto proof = InclusionProof(leaf_hashes, 5, leaf_hashes.size());
//   Status ok = VerifyInclusion(5, size, leaf_hashes[5], *proof, root);
//
// Thread-safety: pure functions are safe from any thread; CompactRange is a value type,
// not safe for concurrent mutation.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "opsgate/core/result.h"
#include "opsgate/crypto/hash.h"

namespace opsgate::audit {

using Hash = crypto::Digest;

Hash LeafHash(std::string_view leaf_bytes);
Hash NodeHash(const Hash& left, const Hash& right);
// MTH of the empty tree: SHA-256 of the empty string.
Hash EmptyRoot();

// MTH(D[begin:end]) from leaf hashes, RFC 9162 §2.1.1. O(end - begin).
// REQUIRES: begin <= end <= leaves.size().
Hash RootOf(std::span<const Hash> leaves);

// The frontier of a tree: the roots of its perfect subtrees, largest first (one per set
// bit of size()). Append is amortised O(1) hashes, Root O(log n).
class CompactRange {
 public:
  void Append(const Hash& leaf_hash);
  Hash Root() const;
  uint64_t size() const { return size_; }

 private:
  uint64_t size_ = 0;
  std::vector<Hash> peaks_;
};

// PATH(index, D[0:size]) of RFC 9162 §2.1.3.1 from the first `size` leaf hashes.
// Errors: kInvalidArgument unless index < size <= leaves.size().
[[nodiscard]] core::Result<std::vector<Hash>> InclusionProof(std::span<const Hash> leaves,
                                                             uint64_t index, uint64_t size);

// PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1. Errors: kInvalidArgument unless
// 0 < size1 <= size2 <= leaves.size() (an empty proof for size1 == size2).
[[nodiscard]] core::Result<std::vector<Hash>> ConsistencyProof(std::span<const Hash> leaves,
                                                               uint64_t size1, uint64_t size2);

// RFC 9162 §2.1.3.2. Errors: kInvalidArgument for index >= size; kDataLoss when the proof
// does not lead to `root` (wrong length, wrong hashes).
[[nodiscard]] core::Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                                           std::span<const Hash> proof, const Hash& root);

// RFC 9162 §2.1.4.2. size1 == size2 needs an empty proof and equal roots; size1 == 0
// is always refused (nothing to prove), as in transparency-dev/merkle.
// Errors: kInvalidArgument for size1 > size2 or size1 == 0; kDataLoss when the proof
// does not link root1 to root2.
[[nodiscard]] core::Status VerifyConsistency(uint64_t size1, uint64_t size2,
                                             std::span<const Hash> proof, const Hash& root1,
                                             const Hash& root2);

}  // namespace opsgate::audit
