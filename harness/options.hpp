#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace facility_sim {

/// How facility-sim runs, from its command line.
struct options {
  // -- the database and the server
  std::string dsn;     // key=value form; empty: libpq's environment
  std::string schema;  // created fresh; dropped at the end unless `keep`
  bool keep = false;
  std::string facilityd;                 // the server binary
  std::vector<std::string> server_args;  // passed on to every start
  bool tls = false;                      // the gateways speak TLS...
  std::string tls_ca_file;  // ...and trust only the certificates in this

  // -- the world
  int facilities = 20;
  int participants = 400;
  double keyholder_share = 0.1;
  double suspended_share = 0.03;
  int gateways = 8;
  int min_doors = 1;  // readers per facility at least

  // -- the traffic
  // The sending ends at the first of these limits; without either, after
  // 5000 scans.
  std::optional<int64_t> scans;  // new scans, resends not counted
  std::optional<double> duration_s;
  uint64_t seed = 0;
  int pipeline = 32;   // scans in flight per gateway
  int think_ms = 200;  // a person's typical pause between two scans
  double hostile_share = 0.05;
  double drain_timeout_s = 60;

  // -- faults
  int kill_server = 0;
  int restart_db = 0;
  std::string db_restart_cmd;  // "{mode}" becomes fast or immediate
  int cut_connections = 0;
  bool resend_history = false;

  // -- checking the checks
  std::string inject_violation;  // empty: none
};

/// A command line that cannot be run; the message says why.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses the command line. Nothing when --help was given (the help has
/// been printed then). Throws usage_error.
std::optional<options> parse_options(int argc, char** argv);

/// The kinds --inject-violation takes.
inline constexpr const char* injection_kinds[] = {
    "open-visit", "duplicate-scan", "flip-outcome"};

}  // namespace facility_sim
