#pragma once

#include <string>

#include "persistence/pg.hpp"

namespace facility_sim {

/// The harness's own schema in the database: created afresh (an earlier
/// one of the same name is dropped) with facilityd's migrations applied,
/// and dropped again by the destructor unless kept. Everything the harness
/// and its facilityd do happens in it, so other users of the database are
/// not disturbed.
class sim_schema {
 public:
  /// `base_dsn` is a key=value connection string, empty for libpq's
  /// environment. Throws std::runtime_error when the database cannot be
  /// reached or the schema cannot be made.
  sim_schema(const std::string& base_dsn, std::string name, bool keep);
  ~sim_schema();
  sim_schema(const sim_schema&) = delete;
  sim_schema& operator=(const sim_schema&) = delete;

  /// A connection string that reaches this schema and nothing else.
  const std::string& dsn() const { return dsn_; }

  /// A new connection to the schema; throws on failure.
  facilityd::pg_connection connect() const;

 private:
  std::string base_dsn_;
  std::string name_;
  std::string dsn_;
  bool keep_;
};

}  // namespace facility_sim
