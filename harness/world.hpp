#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "harness/options.hpp"
#include "persistence/pg.hpp"

namespace facility_sim {

struct facility_spec {
  int64_t id = 0;
  std::string name;
  std::optional<int32_t> capacity;  // none: no limit
  std::vector<int> readers;         // indexes into world::readers
};

struct reader_spec {
  std::string id;
  int facility = -1;  // index into world::facilities; -1: not in the database
  int gateway = 0;    // the gateway box it is wired to
};

struct participant_spec {
  int64_t id = 0;
  std::string name;
  bool keyholder = false;
  bool suspended = false;
  std::vector<std::string> badges;
  std::vector<int> haunts;  // facilities this person goes to
};

struct gateway_spec {
  std::string id;
  std::string token;
  uint64_t first_seq = 1;  // seqs count up from here
};

/// Everything the harness puts into the database, plus what hostile
/// traffic uses and the database must not know. Facility and participant
/// ids are their index plus one.
struct world {
  std::vector<facility_spec> facilities;
  std::vector<reader_spec> readers;
  std::vector<reader_spec> unknown_readers;
  std::vector<participant_spec> participants;
  std::vector<std::string> unknown_badges;
  std::vector<gateway_spec> gateways;

  /// The participant holding `badge`, or null.
  const participant_spec* owner_of(const std::string& badge) const;

  /// The known reader called `id`, or null.
  const reader_spec* reader(const std::string& id) const;
  /// The reader `id` if it is wired to gateway `gateway` (an id): scans
  /// through any other gateway are an unknown reader's.
  const reader_spec* reader_of(const std::string& gateway,
                               const std::string& id) const;

  const participant_spec* participant(int64_t id) const;

  int keyholder_count() const;
  int suspended_count() const;

  std::unordered_map<std::string, int> badge_index;
  std::unordered_map<std::string, int> reader_index;
};

/// Draws a world from the options' sizes and shares. Every facility is
/// haunted by at least one keyholder who is not suspended, when there is
/// one, so that every facility opens now and then.
world make_world(const options& opts, std::mt19937_64& rng);

/// Writes the world into the (empty, migrated) schema `conn` points at, in
/// one transaction. Throws std::runtime_error on failure.
void create_world(facilityd::pg_connection& conn, const world& w);

}  // namespace facility_sim
