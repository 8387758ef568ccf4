#include "persistence/recovery.hpp"

#include <thread>

#include "persistence/errc.hpp"
#include "persistence/migrations.hpp"
#include "util/log.hpp"

namespace facilityd {

namespace {

caf::expected<pg_connection> wait_for_database(const pg_store_options& opts,
                                               std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  auto pause = opts.min_backoff;
  bool said = false;
  for (;;) {
    auto conn = pg_connection::open(opts.dsn, opts.connect_timeout_s);
    if (conn || std::chrono::steady_clock::now() + pause > deadline)
      return conn;
    if (!said)
      LOG_WARNING("db", describe(conn.error()) << "; retrying for up to "
                                               << wait.count() << " ms");
    said = true;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, opts.max_backoff);
  }
}

}  // namespace

caf::expected<recovery> recover(const pg_store_options& opts,
                                std::chrono::milliseconds wait) {
  auto start = std::chrono::steady_clock::now();
  auto conn = wait_for_database(opts, wait);
  if (!conn) return conn.error();
  recovery out;
  auto applied = apply_migrations(*conn);
  if (!applied) return applied.error();
  out.migrations_applied = *applied;
  auto w = make_pg_store(opts)->load_world();
  if (!w) return w.error();
  out.w = std::move(*w);
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return out;
}

}  // namespace facilityd
