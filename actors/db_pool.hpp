#pragma once

#include <cstddef>
#include <memory>

#include <caf/actor_system.hpp>

#include "actors/messages.hpp"
#include "metrics/metrics.hpp"
#include "persistence/store.hpp"

namespace facilityd {

struct db_pool_options {
  /// Database connections, each owned by a worker on a thread of its own.
  size_t workers = 4;
  /// Requests waiting for a worker; past this a request fails with
  /// errc::busy at once instead of queueing without bound.
  size_t queue_limit = 4096;
  /// Where the workers time their transactions and the pool reports its
  /// queue and busy connections; none: not measured.
  std::shared_ptr<server_metrics> metrics;
};

/// Spawns the pool and its workers, which call `make_store` once each on
/// their own thread. Blocking libpq calls run only on those threads, never
/// on CAF's scheduler. A request goes to an idle worker, or waits in a
/// first-in first-out queue for the next one. The workers are linked to
/// the pool: they end when it does, after the request they are working on.
db_pool_actor spawn_db_pool(caf::actor_system& sys, db_pool_options opts,
                            store_factory make_store);

}  // namespace facilityd
