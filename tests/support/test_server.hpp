#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "actors/messages.hpp"
#include "actors/registry.hpp"
#include "tests/support/test_db.hpp"

namespace facilityd::test {

/// A facilityd core in this process: recovers from the test database the way
/// the daemon does at start-up and runs its own actor system, registry,
/// facility actors and database pool. Two instances on one test_db are two
/// servers sharing a database.
class test_server {
 public:
  explicit test_server(test_db& db, server_options opts = default_options());
  ~test_server();

  static server_options default_options();

  /// Sends one scan through the registry and waits for the reply.
  caf::expected<scan_reply> scan(const std::string& gateway, uint64_t seq,
                                 const std::string& reader,
                                 const std::string& badge);

  /// Asks the facility's actor for its state (its memory, not the db).
  caf::expected<facility_state> state(facility_id id);

  std::vector<facility_id> facilities();

  /// Staff changes through the registry; each answers visits closed.
  caf::expected<int32_t> close(facility_id id, const std::string& actor);
  caf::expected<int32_t> checkout(facility_id id, participant_id who);
  /// Hands the directory now in the database to every facility actor.
  caf::expected<int32_t> publish_directory(test_db& db);

  caf::actor_system& system() { return *sys_; }
  const registry_actor& registry() const { return registry_; }

  /// How long recovery took and what it found.
  size_t recovered_open_visits = 0;

 private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  registry_actor registry_;
};

/// Compares every facility actor's memory with the database (invariant I4).
/// Returns the differences, one line each.
std::vector<std::string> memory_differences(test_server& server, test_db& db);

}  // namespace facilityd::test
