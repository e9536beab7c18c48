// audit_bench: durable appends/s of the audit log (AuditLog over SQLite, WAL,
// synchronous=FULL, group commit) with 1, 16 and 256 concurrent writers, each waiting for
// its own record to be durable before sending the next; then verification speed.
//
//   audit_bench [--seconds S] [--dir DIR] [--verify-records N]
//
// Results are recorded in docs/benchmarks.md. Build Release for numbers.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "opsgate/audit/verifier.h"
#include "opsgate/audit/writer.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/key_provider.h"
#include "opsgate/crypto/keys.h"
#include "opsgate/store/sqlite/sqlite_audit_store.h"

namespace {

using namespace opsgate;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

audit::Record Sample(uint64_t i) {
  audit::Record r;
  r.kind = audit::RecordKind::kRequest;
  r.correlation_id = "0123456789abcdef0123456789ab" + std::to_string(i % 10000);
  r.platform = "slack";
  r.workspace = "T0ACMEACME";
  r.channel = "C0OPSCHANNEL";
  r.user = "U0ADALOVELACE";
  r.action = "slash_command";
  r.resource = "/ops";
  r.result = "accepted";
  r.user_name = audit::Field::Plain("ada");
  r.text = audit::Field::Plain("stop i-0abcdef1234567890 in eu-west-1");
  return r;
}

struct Run {
  uint64_t records = 0;
  uint64_t commits = 0;
  double seconds = 0;
};

Run Appends(const std::string& db, const std::string& key_pem, int writers, double seconds,
            crypto::FieldSealer* sealer) {
  core::SystemClock clock;
  telemetry::MemorySink sink;
  telemetry::Logger log(sink, clock, telemetry::LogLevel::kError);
  auto store = store::SqliteAuditStore::Open(db);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    std::exit(1);
  }
  audit::AuditLogOptions options;
  options.sealer = sealer;  // what `opsgate serve` does by default (audit.seal_fields)
  auto alog = audit::AuditLog::Open(std::move(*store), *audit::TreeHeadSigner::FromPem(key_pem),
                                    clock, log, options);
  if (!alog) {
    std::fprintf(stderr, "%s\n", alog.error().message.c_str());
    std::exit(1);
  }
  const uint64_t start_size = (*alog)->size();
  const uint64_t start_commits = (*alog)->commits();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        if (!(*alog)->AppendAndWait(Sample(i * 1000 + w))) {
          failures.fetch_add(1);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) {
    t.join();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  Run r{(*alog)->size() - start_size, (*alog)->commits() - start_commits, elapsed};
  (void)(*alog)->Close();
  if (failures.load() != 0) {
    std::fprintf(stderr, "%llu appends failed\n", static_cast<unsigned long long>(failures.load()));
    std::exit(1);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  uint64_t verify_records = 1'000'000;
  fs::path dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) {
      seconds = std::stod(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--dir") == 0) {
      dir = argv[i + 1];
    } else if (std::strcmp(argv[i], "--verify-records") == 0) {
      verify_records = std::stoull(argv[i + 1]);
    }
  }
  if (dir.empty()) {
    dir = fs::temp_directory_path() / ("opsgate-audit-bench-" + std::to_string(std::random_device{}()));
  }
  fs::create_directories(dir);
  auto kp = crypto::GenerateEd25519KeyPair();
  const std::string key_pem(kp->private_pem.Reveal());

  // A key-encryption key as `opsgate init` writes it, for the sealed runs.
  fs::create_directories(dir / "keys");
  {
    auto kek = crypto::GenerateAes256Key();
    const fs::path path = dir / "keys" / "data.key";
    std::ofstream(path) << crypto::Base64Encode(kek->Reveal()) << "\n";
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  }
  auto keys = crypto::LocalFileKeyProvider::Open(dir / "keys");
  if (!keys) {
    std::fprintf(stderr, "%s\n", keys.error().message.c_str());
    return 1;
  }
  crypto::FieldSealer sealer(**keys);

  std::printf("%-10s %-7s %12s %10s %14s %12s\n", "writers", "fields", "appends", "seconds",
              "appends/s", "recs/commit");
  for (const bool sealed : {false, true}) {
    for (int writers : {1, 16, 256}) {
      const std::string db = (dir / ("append-" + std::to_string(writers) +
                                     (sealed ? "-sealed" : "") + ".db"))
                                 .string();
      const Run r = Appends(db, key_pem, writers, seconds, sealed ? &sealer : nullptr);
      std::printf("%-10d %-7s %12llu %10.2f %14.0f %12.1f\n", writers, sealed ? "sealed" : "plain",
                  static_cast<unsigned long long>(r.records), r.seconds, r.records / r.seconds,
                  r.commits ? static_cast<double>(r.records) / r.commits : 0.0);
      std::fflush(stdout);
    }
  }

  // Verification: a log of verify_records records (written in large batches).
  const std::string vdb = (dir / "verify.db").string();
  {
    core::SystemClock clock;
    telemetry::MemorySink sink;
    telemetry::Logger log(sink, clock, telemetry::LogLevel::kError);
    audit::AuditLogOptions o;
    o.max_batch = 8192;
    o.max_queue = 1 << 22;
    auto alog = audit::AuditLog::Open(std::move(*store::SqliteAuditStore::Open(vdb)),
                                      *audit::TreeHeadSigner::FromPem(key_pem), clock, log, o);
    std::atomic<uint64_t> done{0};
    for (uint64_t i = 0; i < verify_records; ++i) {
      (*alog)->Append(Sample(i), [&](core::Result<uint64_t>) { done.fetch_add(1); });
      while (i - done.load() > (1u << 20)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    (void)(*alog)->Close();
  }
  auto store = store::SqliteAuditStore::Open(vdb);
  auto signer = audit::TreeHeadSigner::FromPem(key_pem);
  const auto t0 = Clock::now();
  auto rep = audit::VerifyAuditLog(**store, (*signer)->public_key());
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!rep || !rep->ok) {
    std::fprintf(stderr, "verify failed: %s\n", rep ? rep->problem.c_str() : rep.error().message.c_str());
    return 1;
  }
  std::printf("verify: %llu records, %llu tree heads in %.2f s = %.0f records/s\n",
              static_cast<unsigned long long>(rep->records),
              static_cast<unsigned long long>(rep->tree_heads), elapsed, rep->records / elapsed);
  fs::remove_all(dir);
  return 0;
}
