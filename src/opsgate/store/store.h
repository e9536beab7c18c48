// File: opsgate/store/store.h
//
// Store is the persistence boundary of opsgate: everything that must survive a restart
// or be shared between replicas (audit log, identity links, approvals, dedupe ids,
// dialog state) lives behind it. SQLite (sqlite/sqlite_store.h) is the embedded
// default; PostgreSQL comes later behind the same interface. Repository interfaces for
// each kind of record are added next to this file as features need them.
//
// Ownership: app/ owns the one Store of the process (std::unique_ptr<Store>) and lends
// it to components by reference; it must outlive them.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <string_view>

#include "opsgate/core/result.h"

namespace opsgate::store {

class Store {
 public:
  virtual ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The driver's name as written in the config ("sqlite", "postgres"), for logs and
  // /healthz.
  virtual std::string_view Driver() const = 0;

  // Checks that the store answers a trivial query. Errors: kUnavailable, with the
  // reason (file gone, disk error, server down), for readiness probes.
  [[nodiscard]] virtual core::Status Ping() = 0;

 protected:
  Store() = default;
};

}  // namespace opsgate::store
