#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "net/gateway_server.hpp"
#include "persistence/db_health.hpp"
#include "persistence/store.hpp"

namespace facilityd {

using admin_atom = caf::atom_constant<caf::atom("admin")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;

/// What the admin service reaches beyond itself, handed to it in one
/// message once it all exists (the registry is spawned after the service,
/// since the facility actors send their scan events to the service).
struct admin_links {
  registry_actor registry;
  /// Closes the connection of a gateway (after its token changed).
  std::function<void(const std::string&)> disconnect_gateway;
  /// Live figures from the network side: gateways_connected,
  /// scans_per_second, p99_scan_ms.
  std::function<nlohmann::json()> live_status;
};

/// Everything the admin service works with. Built once by main.
struct admin_context {
  admin_links links;
  pg_store_options db;
  /// The directory the server started with; the service keeps the current
  /// one from then on and hands each new one to the registry.
  directory_ptr dir;
  std::map<std::string, facility_id> facility_ids;  // by name
  std::shared_ptr<gateway_credentials> credentials;
  gateway_credentials::table gateway_tokens;
  /// Facility actors send scan events while this is above zero.
  std::shared_ptr<std::atomic<int>> watchers;
  /// The database health check that status and health report (the one
  /// /health answers with); none: a SELECT 1 on the service's own
  /// connection.
  std::shared_ptr<db_health> health;
  std::string version;
};

/// The admin service: one actor that carries out the admin protocol's
/// commands (docs/admin-protocol.md). Reads go to the actors that own the
/// state; changes to a facility are messages to its actor; directory
/// changes are written in one transaction each (with their audit row) by a
/// database worker of the service's own, then handed to the registry,
/// which hands them to every facility actor. Directory changes run one at
/// a time.
///
/// Messages:
///  - (admin_atom, user, request) -> result JSON, or an error
///  - (watch_atom, watcher, facility filter or ""): `watcher` gets
///    (event_atom, JSON event) for each committed scan until it ends
///  - (event_atom, scan_event) from the facility actors
///  - (admin_links), once, before the first request
caf::actor spawn_admin_service(caf::actor_system& sys, admin_context ctx);

/// The admin protocol's error code for an error: bad_request, not_found,
/// conflict, unavailable or internal.
std::string admin_error_code(const caf::error& e);

/// The words of an error for the admin protocol: its context message
/// without the code's name in front.
std::string admin_error_message(const caf::error& e);

}  // namespace facilityd

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::json)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::admin_links)
