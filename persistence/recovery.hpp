#pragma once

#include <chrono>

#include <caf/expected.hpp>

#include "persistence/store.hpp"

namespace facilityd {

struct recovery {
  world w;
  size_t migrations_applied = 0;
  std::chrono::milliseconds took{0};
};

/// Start-up: waits up to `wait` for the database to accept connections,
/// applies pending migrations and loads the world in one snapshot. Blocks.
caf::expected<recovery> recover(const pg_store_options& opts,
                                std::chrono::milliseconds wait);

}  // namespace facilityd
