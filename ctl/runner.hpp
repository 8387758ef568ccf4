#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/admin_client.hpp"
#include "ctl/commands.hpp"
#include "ctl/settings.hpp"

namespace facilityd::ctl {

/// facilityctl's connection to the server, made when first needed and
/// kept for the commands after (the console runs many on one). Throws
/// connection_error when the server cannot be reached or refuses the
/// token.
class server_link {
 public:
  explicit server_link(settings s) : settings_(std::move(s)) {}

  /// The logged-in connection, made now if there is none.
  admin_client& client();

  /// A new logged-in connection of its own (watch needs one: after watch
  /// a connection carries only events).
  std::unique_ptr<admin_client> open();

  /// Forgets a connection that broke; the next client() makes another.
  void drop() { client_.reset(); }

  /// The server's answer to the login ({"server", "version"}), once
  /// logged in.
  const nlohmann::json& server() const { return server_; }

  settings& config() { return settings_; }

  /// The facility names, sorted, as the server lists them now; empty when
  /// it cannot be asked.
  std::vector<std::string> facility_names();

 private:
  settings settings_;
  std::unique_ptr<admin_client> client_;
  nlohmann::json server_;
};

/// Where facilityctl writes: results to `out`, errors to `err`, each
/// error a sentence after "facilityctl: ".
struct terminal {
  std::ostream& out;
  std::ostream& err;
};

/// Runs `inv` (remote or help) on `s`, printing the result, or the error
/// as a sentence. With `json`, prints the server's result (or error)
/// object as JSON instead of text. Returns an exit_status.
int run(const invocation& inv, server_link& s, bool json, terminal t);

/// Runs a watch until SIGINT (exit_ok) or until the server closes the
/// connection (exit_unreachable), printing each event as it comes. Takes
/// over SIGINT while it runs and restores it after.
int run_watch(const invocation& inv, server_link& s, bool json, terminal t);

/// Prints a usage error and the usage of the command it concerns.
/// `console`: without the program's name, as the console reads commands.
int report_usage(const usage_error& e, bool console, terminal t);

}  // namespace facilityd::ctl
