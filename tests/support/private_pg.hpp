#pragma once

#include <cstdint>
#include <string>

namespace facilityd::test {

/// A PostgreSQL cluster of one test's own, in a temporary directory, run
/// by scripts/pg.sh like the shared test cluster (so it needs what the
/// test command needs: root, and the user pg.sh runs PostgreSQL as). For
/// tests that stop and start the database, which they must never do to
/// the cluster every other test shares. The destructor stops it and
/// removes its directory.
class private_pg {
 public:
  /// Creates and starts the cluster on a free port; throws on failure.
  private_pg();
  ~private_pg();
  private_pg(const private_pg&) = delete;
  private_pg& operator=(const private_pg&) = delete;

  /// A libpq connection string for its database (key=value form).
  const std::string& dsn() const { return dsn_; }

  uint16_t port() const { return port_; }

  /// A fast shutdown; connections break, new ones are refused.
  void stop();

  /// Starts it again on the same port.
  void start();

 private:
  void run(const std::string& args);

  std::string dir_;
  uint16_t port_ = 0;
  std::string dsn_;
};

}  // namespace facilityd::test
