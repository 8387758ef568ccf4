#pragma once

#include <string_view>

#include <caf/expected.hpp>

#include "persistence/pg.hpp"

namespace facilityd {

struct migration {
  std::string_view version;  // the file name without .sql: "001_schema"
  std::string_view sql;
};

/// The migrations under persistence/migrations/, in order, compiled in.
extern const migration all_migrations[];
extern const size_t all_migrations_count;

/// Applies every migration not yet recorded in schema_migrations, all in
/// one transaction that holds an advisory lock, so two servers starting at
/// once apply each migration once. Returns how many it applied.
caf::expected<size_t> apply_migrations(pg_connection& conn);

}  // namespace facilityd
