// facilityd: the facility state server. Wiring only: configuration,
// recovery from the database, the actors, and the signals that stop them.

#include <csignal>
#include <exception>
#include <iostream>

#include <caf/all.hpp>

#include "actors/registry.hpp"
#include "app/config.hpp"
#include "net/asio.hpp"
#include "persistence/errc.hpp"
#include "persistence/recovery.hpp"
#include "util/log.hpp"

namespace {

using namespace facilityd;

// CAF renders configuration errors as "parser_error(not_an_option, ...)";
// this says the same in words a user reads at a glance.
std::string render_error(const caf::error& e) {
  if (e.category() == errc_category) return describe(e);
  std::string what;
  if (e.category() == caf::atom("parser"))
    what = caf::to_string(static_cast<caf::pec>(e.code()));
  else if (e.category() == caf::atom("system"))
    what = caf::to_string(static_cast<caf::sec>(e.code()));
  else
    return caf::actor_system_config::render(e);
  for (auto& c : what)
    if (c == '_') c = ' ';
  if (!e.context().empty()) what += ": " + caf::to_string(e.context());
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

int run(facilityd_config& cfg) {
  set_log_level(cfg.level());
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
  LOG_INFO("server", "recovered facilities="
                         << rec->w.facilities.size()
                         << " open_visits=" << rec->w.open_visits
                         << " participants=" << rec->w.dir.participant_count()
                         << " migrations_applied=" << rec->migrations_applied
                         << " in " << rec->took.count() << " ms");

  caf::actor_system sys{cfg};
  auto registry = spawn_registry(
      sys, std::move(rec->w), [opts] { return make_pg_store(opts); },
      cfg.actor_options());

  // CAF handles no signals; Asio waits for them on the main thread.
  boost::asio::io_context io;
  boost::asio::signal_set signals{io, SIGINT, SIGTERM};
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) LOG_INFO("server", "received signal " << sig << ", stopping");
  });
  LOG_INFO("server", "ready");
  io.run();

  // The facility actors finish the scan they are committing, then end; the
  // actor system's destructor waits for them.
  caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  registry = nullptr;
  sys.await_all_actors_done();
  LOG_INFO("server", "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    facilityd_config cfg;
    auto args = with_long_help(argc, argv);
    if (auto err = cfg.parse(argc, args.data(), "facilityd.ini")) {
      std::cerr << "facilityd: bad configuration: " << render_error(err)
                << "\n";
      return 2;
    }
    if (cfg.cli_helptext_printed) return 0;
    if (auto problem = cfg.validate(); !problem.empty()) {
      std::cerr << "facilityd: bad configuration: " << problem << "\n";
      return 2;
    }
    return run(cfg);
  } catch (const std::exception& e) {
    std::cerr << "facilityd: fatal: " << e.what() << "\n";
    return 1;
  }
}
