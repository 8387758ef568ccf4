#include "harness/schema.hpp"

#include <stdexcept>

#include "persistence/errc.hpp"
#include "persistence/migrations.hpp"

namespace facility_sim {

namespace {

facilityd::pg_connection open(const std::string& dsn) {
  auto c = facilityd::pg_connection::open(dsn, 10);
  if (!c)
    throw std::runtime_error("cannot connect to the database: " +
                             facilityd::describe(c.error()));
  return std::move(*c);
}

void exec(facilityd::pg_connection& conn, const std::string& sql) {
  if (auto r = conn.exec(sql.c_str()); !r)
    throw std::runtime_error(sql + ": " + facilityd::describe(r.error()));
}

// Quiet notices: dropping a schema CASCADE names every object it drops.
std::string quiet(const std::string& dsn, const std::string& more = "") {
  return dsn + " options='-c client_min_messages=warning" + more + "'";
}

}  // namespace

sim_schema::sim_schema(const std::string& base_dsn, std::string name, bool keep)
    : base_dsn_(base_dsn), name_(std::move(name)), keep_(keep) {
  auto admin = open(quiet(base_dsn_));
  exec(admin, "DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
  exec(admin, "CREATE SCHEMA " + name_);
  dsn_ = quiet(base_dsn_, " -c search_path=" + name_) +
         " application_name=facility-sim";
  auto conn = connect();
  if (auto applied = facilityd::apply_migrations(conn); !applied)
    throw std::runtime_error("cannot apply the migrations: " +
                             facilityd::describe(applied.error()));
}

sim_schema::~sim_schema() {
  if (keep_) return;
  try {
    auto admin = open(quiet(base_dsn_));
    exec(admin, "DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
  } catch (const std::exception&) {
    // Left behind, it harms nobody; the next run of the name drops it.
  }
}

facilityd::pg_connection sim_schema::connect() const {
  return open(dsn_);
}

}  // namespace facility_sim
