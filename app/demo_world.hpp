#pragma once

#include <optional>
#include <string>

#include <caf/expected.hpp>

#include "persistence/pg.hpp"

namespace facilityd {

/// What seed_demo_world created: the demo gateway and its token, which
/// exists nowhere else (the database keeps only its hash).
struct demo_world {
  std::string gateway;
  std::string token;
};

/// Creates a small world to try the server with, in one transaction, when
/// the database has no facility yet; does nothing otherwise. Blocks.
caf::expected<std::optional<demo_world>> seed_demo_world(pg_connection& c);

/// The text that tells a newcomer how to try the demo world: with nc, or
/// with openssl s_client trusting `tls_cert_file` when that is not empty.
std::string demo_instructions(const demo_world& w, uint16_t port,
                              const std::string& tls_cert_file = {});

}  // namespace facilityd
