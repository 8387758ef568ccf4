// facilityd: the facility state server. Wiring only: configuration,
// recovery from the database, the actors, and the signals that stop them.

#include <sys/resource.h>

#include <csignal>
#include <exception>
#include <iostream>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/registry.hpp"
#include "app/config.hpp"
#include "app/demo_world.hpp"
#include "metrics/http_endpoint.hpp"
#include "metrics/metrics.hpp"
#include "net/admin_server.hpp"
#include "net/admin_service.hpp"
#include "net/asio.hpp"
#include "net/gateway_server.hpp"
#include "net/tls.hpp"
#include "persistence/db_health.hpp"
#include "persistence/errc.hpp"
#include "persistence/recovery.hpp"
#include "util/log.hpp"

namespace {

using namespace facilityd;

// CAF renders configuration errors as "parser_error(not_an_option, ...)";
// this says the same in words a user reads at a glance. An error in the
// INI file `config_file` carries its line and column, and says so.
std::string render_error(const caf::error& e, const std::string& config_file) {
  if (e.category() == errc_category) return describe(e);
  std::string what;
  if (e.category() == caf::atom("parser"))
    what = caf::to_string(static_cast<caf::pec>(e.code()));
  else if (e.category() == caf::atom("system"))
    what = caf::to_string(static_cast<caf::sec>(e.code()));
  else
    return caf::actor_system_config::render(e);
  if (what == "integer_overflow" || what == "integer_underflow")
    what = "number out of range";
  for (auto& c : what)
    if (c == '_') c = ' ';
  const auto& ctx = e.context();
  if (ctx.match_elements<caf::settings>()) {
    const auto& at = ctx.get_as<caf::settings>(0);
    auto line = at.find("line");
    auto column = at.find("column");
    if (line != at.end() && column != at.end())
      return config_file + ", line " + caf::to_string(line->second) +
             ", column " + caf::to_string(column->second) + ": " + what;
    auto argument = at.find("argument");
    if (argument != at.end()) {
      if (const auto* text = caf::get_if<std::string>(&argument->second))
        return *text + ": " + what;
    }
  }
  if (ctx.match_elements<std::string>())
    return what + " " + ctx.get_as<std::string>(0);
  if (!ctx.empty()) what += ": " + caf::to_string(ctx);
  return what;
}

// CAF's --help lists only its global options; ours live in groups that
// --long-help shows, so --help means that.
std::vector<char*> with_long_help(int argc, char** argv) {
  static char long_help[] = "--long-help";
  std::vector<char*> out{argv, argv + argc};
  for (auto& arg : out) {
    std::string_view a{arg};
    if (a == "--help" || a == "-h" || a == "-?") arg = long_help;
  }
  out.push_back(nullptr);
  return out;
}

// Seeds the demo world if asked to and the database is empty; reloads the
// world when it did.
caf::expected<std::optional<demo_world>> maybe_seed(const facilityd_config& cfg,
                                                    world& w) {
  if (!cfg.seed_demo) return std::optional<demo_world>{};
  auto opts = cfg.store_options();
  auto conn = pg_connection::open(opts.dsn, opts.connect_timeout_s);
  if (!conn) return conn.error();
  auto demo = seed_demo_world(*conn);
  if (!demo || !*demo) return demo;
  auto fresh = make_pg_store(opts)->load_world();
  if (!fresh) return fresh.error();
  w = std::move(*fresh);
  LOG_INFO("server", "created the demo world");
  return demo;
}

// What the network side reports to and asks about.
struct monitoring {
  std::shared_ptr<server_metrics> metrics;
  std::shared_ptr<db_health> health;
};

// Runs the network side until SIGINT or SIGTERM, then lets the connections
// finish their scans in flight for up to the grace period.
int serve(facilityd_config& cfg, gateway_options gateway_opts,
          caf::actor_system& sys, const registry_actor& registry,
          const caf::actor& service,
          std::shared_ptr<gateway_credentials> credentials,
          const std::string& admin_token, const std::optional<demo_world>& demo,
          const monitoring& mon,
          std::chrono::steady_clock::time_point& deadline) {
  boost::asio::io_context io;
  gateway_server gateways{io,
                          sys,
                          registry,
                          std::move(credentials),
                          std::move(gateway_opts),
                          mon.metrics};
  admin_links links;
  links.registry = registry;
  links.disconnect_gateway = [&gateways](const std::string& id) {
    gateways.disconnect(id);
  };
  links.live_status = [&gateways] {
    const auto& stats = gateways.stats();
    return nlohmann::json{{"gateways_connected", gateways.connections()},
                          {"scans_per_second", stats->per_second()},
                          {"p99_scan_ms", stats->p99_ms()}};
  };
  caf::anon_send(service, std::move(links));
  admin_server admins{io, sys, service,
                      admin_options{cfg.admin_host, cfg.admin_port, admin_token,
                                    FACILITYD_VERSION}};
  try {
    gateways.start();
  } catch (const boost::system::system_error& e) {
    LOG_ERROR("server", "cannot listen on " << cfg.gateway_host << ":"
                                            << cfg.gateway_port << ": "
                                            << e.code().message());
    return 1;
  }
  try {
    admins.start();
  } catch (const boost::system::system_error& e) {
    LOG_ERROR("server", "cannot listen on "
                            << cfg.admin_host << ":" << cfg.admin_port
                            << " (admin): " << e.code().message());
    return 1;
  }
  http_endpoint monitor{cfg.metrics_endpoint(), mon.metrics,
                        [health = mon.health] { return health->check(); }};
  if (cfg.metrics_port != 0) {
    try {
      monitor.start();
    } catch (const std::exception& e) {
      LOG_ERROR("server", "cannot listen on " << cfg.metrics_host << ":"
                                              << cfg.metrics_port
                                              << " (metrics): " << e.what());
      return 1;
    }
  }
  if (demo) {
    std::cout << demo_instructions(*demo, gateways.local_endpoint().port(),
                                   cfg.tls ? cfg.tls_cert_file : "")
              << std::flush;
  }

  // CAF handles no signals; Asio waits for them. A second signal ends the
  // grace period at once.
  boost::asio::signal_set signals{io, SIGINT, SIGTERM};
  auto grace =
      std::chrono::duration_cast<std::chrono::milliseconds>(cfg.shutdown_grace);
  std::function<void(const boost::system::error_code&, int)> on_signal;
  bool stopping = false;
  on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (stopping) {
      LOG_WARNING("server", "second signal " << sig << ", stopping now");
      io.stop();
      return;
    }
    stopping = true;
    deadline = std::chrono::steady_clock::now() + grace;
    LOG_INFO("server", "received signal " << sig << ", stopping (grace "
                                          << grace.count() << " ms)");
    admins.stop();
    gateways.shutdown(grace, [&io] { io.stop(); });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  LOG_INFO("server", "ready");

  std::vector<std::thread> threads;
  for (size_t i = 1; i < cfg.io_threads; ++i)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  io.stop();
  for (auto& t : threads)
    t.join();
  return 0;
}

// The actors end once their database requests return, and a database that
// hangs may hold one for as long as the operating system keeps a dead
// connection open. After the grace period (and a moment for the actors to
// end once the connections are gone) the process leaves without them: it is
// what kill -9 does, which the database is ready for. Nothing acknowledged is
// lost, as a scan is acknowledged only after its commit; a gateway resends what
// it got no answer to.
void exit_if_not_stopped_by(std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  deadline = std::max(deadline, steady_clock::now() + milliseconds{250});
  std::thread{[deadline] {
    std::this_thread::sleep_until(deadline);
    LOG_WARNING("server",
                "the grace period is over and database requests are"
                " still running; stopping without them");
    std::_Exit(0);
  }}.detach();
}

// Every gateway connection takes a file descriptor, and the usual soft
// limit (1024) is below what gateway.max-connections allows.
void raise_open_files_limit(const facilityd_config& cfg) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  // Database connections, the listening socket, logs and a margin.
  auto needed = cfg.max_connections + cfg.pool_size + 64;
  if (lim.rlim_cur < needed)
    LOG_WARNING("server",
                "open files limit "
                    << lim.rlim_cur << " is below the " << needed
                    << " that gateway.max-connections=" << cfg.max_connections
                    << " needs; connections beyond it are refused");
}

int run(facilityd_config& cfg, gateway_options gateway_opts) {
  set_log_level(cfg.level());
  raise_open_files_limit(cfg);
  LOG_INFO("server", "starting " << cfg.server_name << " (facilityd "
                                 << FACILITYD_VERSION << ")");
  auto opts = cfg.store_options();
  auto rec = recover(
      opts,
      std::chrono::duration_cast<std::chrono::milliseconds>(cfg.startup_wait));
  if (!rec) {
    LOG_ERROR("server", "start-up failed: " << describe(rec.error()));
    return 1;
  }
  auto demo = maybe_seed(cfg, rec->w);
  if (!demo) {
    LOG_ERROR("server",
              "cannot create the demo world: " << describe(demo.error()));
    return 1;
  }
  LOG_INFO("server", "recovered facilities="
                         << rec->w.facilities.size()
                         << " open_visits=" << rec->w.open_visits
                         << " participants=" << rec->w.dir.participant_count()
                         << " gateways=" << rec->w.gateway_tokens.size()
                         << " migrations_applied=" << rec->migrations_applied
                         << " in " << rec->took.count() << " ms");
  if (auto n = rec->w.dir.unassigned_readers())
    LOG_WARNING("server", n << " reader(s) are wired to no gateway and take"
                               " no scans; see `facilityctl reader assign`");

  std::string admin_token;
  try {
    admin_token = admin_token_from_file(cfg.admin_token_file);
  } catch (const std::exception& e) {
    LOG_ERROR("server", e.what());
    return 1;
  }

  monitoring mon;
  mon.metrics = std::make_shared<server_metrics>();
  mon.health = std::make_shared<db_health>(
      opts, db_health_options{},
      [m = mon.metrics](const health_report& r) { m->db_up(r.reachable); });

  caf::actor_system sys{cfg};
  admin_context admin;
  admin.db = opts;
  admin.version = FACILITYD_VERSION;
  auto credentials =
      std::make_shared<gateway_credentials>(rec->w.gateway_tokens);
  admin.credentials = credentials;
  admin.gateway_tokens = rec->w.gateway_tokens;
  admin.dir = std::make_shared<const directory>(rec->w.dir);
  for (const auto& f : rec->w.facilities)
    admin.facility_ids[f.name] = f.id;
  admin.watchers = std::make_shared<std::atomic<int>>(0);
  admin.health = mon.health;
  auto actor_opts = cfg.actor_options();
  actor_opts.pool.metrics = mon.metrics;
  actor_opts.facility.metrics = mon.metrics;
  actor_opts.facility.watchers = admin.watchers;
  auto service = spawn_admin_service(sys, std::move(admin));
  actor_opts.facility.events = service;
  auto registry = spawn_registry(
      sys, std::move(rec->w), [opts] { return make_pg_store(opts); },
      actor_opts);
  auto deadline = std::chrono::steady_clock::time_point::max();
  auto status =
      serve(cfg, std::move(gateway_opts), sys, registry, service,
            std::move(credentials), admin_token, *demo, mon, deadline);
  if (deadline != std::chrono::steady_clock::time_point::max())
    exit_if_not_stopped_by(deadline);
  caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
  service = nullptr;

  // The connections are gone; the facility actors finish the scan they
  // are committing, then end.
  caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  registry = nullptr;
  sys.await_all_actors_done();
  LOG_INFO("server", "stopped");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    facilityd_config cfg;
    auto args = with_long_help(argc, argv);
    if (auto err = cfg.parse(argc, args.data(), "facilityd.ini")) {
      std::cerr << "facilityd: bad configuration: "
                << render_error(err, cfg.config_file_path) << "\n";
      return 2;
    }
    if (cfg.cli_helptext_printed) return 0;
    if (auto problem = cfg.check_file(cfg.config_file_path); !problem.empty()) {
      std::cerr << "facilityd: bad configuration: " << problem << "\n";
      return 2;
    }
    if (auto problem = cfg.validate(); !problem.empty()) {
      std::cerr << "facilityd: bad configuration: " << problem << "\n";
      return 2;
    }
    // The certificate and key are read before anything else starts, so
    // that a mistake in them ends start-up at once.
    auto gateway_opts = cfg.gateway();
    if (cfg.tls) {
      try {
        gateway_opts.tls =
            make_tls_server_context(cfg.tls_cert_file, cfg.tls_key_file);
      } catch (const tls_setup_error& e) {
        std::cerr << "facilityd: bad configuration: " << e.what() << "\n";
        return 2;
      }
    }
    return run(cfg, std::move(gateway_opts));
  } catch (const std::exception& e) {
    std::cerr << "facilityd: fatal: " << e.what() << "\n";
    return 1;
  }
}
