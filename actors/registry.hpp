#pragma once

#include <caf/actor_system.hpp>

#include "actors/db_pool.hpp"
#include "actors/facility_actor.hpp"
#include "actors/messages.hpp"
#include "persistence/store.hpp"

namespace facilityd {

struct server_options {
  db_pool_options pool;
  facility_options facility;
};

/// Spawns the registry together with the database pool, one facility actor
/// per facility of `w` and one actor for scans at unknown readers, all
/// linked to it. The registry routes each scan by its reader and holds the
/// only strong handles to the facility actors. Stopping it with a
/// non-normal exit reason (caf::exit_reason::user_shutdown) stops them all;
/// a facility actor finishes the scan it is committing first.
registry_actor spawn_registry(caf::actor_system& sys, world w,
                              store_factory make_store, server_options opts);

}  // namespace facilityd
