#include "opsgate/audit/verifier.h"

#include <limits>

#include "opsgate/audit/merkle.h"
#include "opsgate/audit/record.h"

namespace opsgate::audit {
namespace {

std::string Hex(std::string_view s) { return crypto::HexEncode(s); }

}  // namespace

core::Result<VerifyReport> VerifyAuditLog(store::AuditStore& store, const TreeHeadKey& key) {
  auto heads = store.TreeHeads();
  if (!heads) {
    return core::Fail(heads.error());
  }
  VerifyReport rep;
  CompactRange range;
  size_t next_head = 0;
  uint64_t covered = 0;  // size of the last verified tree head

  // Checks every tree head of size range.size(); false (with rep filled) on a problem.
  const auto check_heads = [&]() -> bool {
    while (next_head < heads->size() && (*heads)[next_head].tree_size == range.size()) {
      const store::TreeHeadRow& h = (*heads)[next_head];
      TreeHead th;
      th.tree_size = h.tree_size;
      th.timestamp_ms = h.timestamp_ms;
      const Hash root = range.Root();
      if (h.root.size() != 32 || h.root != crypto::AsStringView(root)) {
        if (h.tree_size > covered) {
          rep.first_bad_seq = covered;
        }
        rep.problem = "tree head of size " + std::to_string(h.tree_size) + " signed root " +
                      Hex(h.root) + " but records " + std::to_string(covered) + ".." +
                      std::to_string(h.tree_size == 0 ? 0 : h.tree_size - 1) + " hash to " +
                      crypto::HexEncode(root) +
                      ": one of them was changed together with its stored leaf hash";
        return false;
      }
      std::copy(h.root.begin(), h.root.end(), th.root.begin());
      if (h.key_id != key.key_id()) {
        rep.problem = "tree head of size " + std::to_string(h.tree_size) + " names signing key " +
                      h.key_id + ", not " + key.key_id() +
                      " (the public key given); use the matching audit-signing.pub";
        return false;
      }
      if (auto st = key.Verify(th, h.signature); !st) {
        rep.problem = st.error().message + ": the tree head was forged or altered";
        return false;
      }
      covered = h.tree_size;
      ++rep.tree_heads;
      ++next_head;
    }
    return true;
  };

  if (!check_heads()) {  // a tree head of size 0 (an empty log)
    return rep;
  }
  bool failed = false;
  auto st = store.ForEachRecord(
      0, std::numeric_limits<uint64_t>::max(), [&](const store::AuditRow& row) {
        const uint64_t expected = range.size();
        if (row.seq != expected) {
          rep.first_bad_seq = expected;
          rep.problem = "record " + std::to_string(expected) + " is missing (the next stored "
                        "record is " + std::to_string(row.seq) + "): deleted";
          failed = true;
          return false;
        }
        auto rec_seq = ValidateRecord(row.record);
        if (!rec_seq) {
          rep.first_bad_seq = expected;
          rep.problem = "record " + std::to_string(expected) +
                        " does not decode: " + rec_seq.error().message;
          failed = true;
          return false;
        }
        if (*rec_seq != row.seq) {
          rep.first_bad_seq = expected;
          rep.problem = "record stored at " + std::to_string(row.seq) + " carries seq " +
                        std::to_string(*rec_seq) + ": records were moved or swapped";
          failed = true;
          return false;
        }
        const Hash leaf = LeafHash(row.record);
        if (row.leaf_hash != crypto::AsStringView(leaf)) {
          rep.first_bad_seq = expected;
          rep.problem = "record " + std::to_string(expected) +
                        ": its bytes no longer hash to the leaf hash stored with it (changed "
                        "after it was written)";
          failed = true;
          return false;
        }
        range.Append(leaf);
        rep.records = range.size();
        if (!check_heads()) {
          failed = true;
          return false;
        }
        return true;
      });
  if (!st) {
    return core::Fail(st.error());
  }
  if (failed) {
    return rep;
  }
  if (next_head < heads->size()) {
    rep.first_bad_seq = range.size();
    rep.problem = "a tree head of size " + std::to_string((*heads)[next_head].tree_size) +
                  " was signed but the log ends at " + std::to_string(range.size()) +
                  " records: records " + std::to_string(range.size()) + " and later were deleted";
    return rep;
  }
  rep.unsigned_records = range.size() - covered;
  rep.ok = true;
  return rep;
}

}  // namespace opsgate::audit
