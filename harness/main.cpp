// facility-sim: an integration harness for facilityd. See README.md here.

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <random>

#include "harness/checks.hpp"
#include "harness/inject.hpp"
#include "harness/options.hpp"
#include "harness/report.hpp"
#include "harness/schema.hpp"
#include "harness/simulation.hpp"
#include "harness/world.hpp"

namespace facility_sim {

namespace {

std::string describe(const world& w) {
  return std::to_string(w.facilities.size()) + " facilities, " +
         std::to_string(w.readers.size()) + " readers, " +
         std::to_string(w.participants.size()) + " participants (" +
         std::to_string(w.keyholder_count()) + " keyholders, " +
         std::to_string(w.suspended_count()) + " suspended), " +
         std::to_string(w.gateways.size()) + " gateways";
}

void check_binary(const std::string& path) {
  if (::access(path.c_str(), X_OK) != 0)
    throw std::runtime_error("no facilityd at " + path +
                             " (build it, or pass --facilityd)");
}

// A directory for the server and the logs, made afresh for each run of a
// schema; removed at the end unless the run failed or was asked to keep.
std::string make_run_dir(const std::string& schema) {
  auto dir =
      std::filesystem::temp_directory_path() / ("facility-sim-" + schema);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void tidy(const std::string& dir, bool keep) {
  if (keep)
    std::cout << "the server's log and the restart command's output are in "
              << dir << "\n";
  else
    std::filesystem::remove_all(dir);
}

// Checks the database, prints the summary and tidies up; the exit status.
int check(const options& opts, const world& w, simulation& sim,
          const sim_schema& schema, violation_log& violations,
          const std::string& dir) {
  auto conn = schema.connect();
  if (!opts.inject_violation.empty())
    std::cout << "injected: " << inject_violation(conn, opts.inject_violation)
              << std::endl;
  summary_input in;
  in.db = check_database(conn, w, sim.logs(), violations);
  in.world = describe(w);
  in.faults = sim.faults_done();
  in.traffic_s = sim.traffic_seconds();
  in.drain_s = sim.drain_seconds();
  std::cout << summary(sim.stats(), in, violations);

  // A failure on purpose needs no logs to look into.
  bool failed = violations.count() > 0;
  tidy(dir, opts.keep || (failed && opts.inject_violation.empty()));
  if (failed && !opts.keep)
    std::cout << "run again with --seed " << opts.seed
              << " --keep to keep the schema for a look\n";
  return failed ? 1 : 0;
}

int run(const options& opts) {
  check_binary(opts.facilityd);
  std::cout << "facility-sim: seed " << opts.seed << ", schema " << opts.schema
            << std::endl;
  sim_schema schema{opts.dsn, opts.schema, opts.keep};
  std::mt19937_64 rng{opts.seed};
  auto w = make_world(opts, rng);
  {
    auto conn = schema.connect();
    create_world(conn, w);
  }

  auto dir = make_run_dir(opts.schema);
  violation_log violations;
  simulation sim{opts, w, schema.dsn(), dir, violations};
  try {
    sim.run();
  } catch (const std::exception&) {
    std::cout << "the server's log and the restart command's output are in "
              << dir << std::endl;
    throw;
  }

  return check(opts, w, sim, schema, violations, dir);
}

}  // namespace

}  // namespace facility_sim

int main(int argc, char** argv) {
  try {
    auto opts = facility_sim::parse_options(argc, argv);
    if (!opts) return 0;
    return facility_sim::run(*opts);
  } catch (const facility_sim::usage_error& e) {
    std::cerr << "facility-sim: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "facility-sim: " << e.what() << "\n";
    return 2;
  }
}
