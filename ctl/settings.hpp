#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace facilityd::ctl {

/// facilityctl's exit statuses, which scripts may rely on.
enum exit_status : int {
  exit_ok = 0,
  exit_refused = 1,      // the server answered no (not_found, conflict, ...)
  exit_usage = 2,        // the command line is wrong
  exit_unreachable = 3,  // no server, no token, or the token was refused
};

/// A command line that cannot be run. The message is a sentence for the
/// user; `command` names the command whose usage helps, when there is one.
class usage_error : public std::runtime_error {
 public:
  explicit usage_error(const std::string& message, std::string command = {})
      : std::runtime_error(message), command_(std::move(command)) {}

  const std::string& command() const { return command_; }

 private:
  std::string command_;
};

/// The server cannot be used: not reachable, no token, login refused, or
/// the connection broke. The message is a sentence for the user.
class connection_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Where and as whom facilityctl connects.
struct settings {
  std::string host = "127.0.0.1";
  uint16_t port = 7401;
  std::string token_file = "var/admin-token";
  /// How token_file was chosen, for the message when it is missing.
  std::string token_file_source = "the default";
  std::string user;
  bool json = false;
  bool help = false;

  std::string endpoint() const;
};

/// The environment facilityctl reads; a seam for tests.
struct environment {
  std::string admin_host;        // FACILITYD_ADMIN_HOST
  std::string admin_port;        // FACILITYD_ADMIN_PORT
  std::string admin_token_file;  // FACILITYD_ADMIN_TOKEN_FILE
  std::string user;              // USER, else the login name

  /// Reads the real process environment.
  static environment current();
};

/// Takes the global options (--host, --port, --token-file, --user, --json,
/// --help/-h) out of `args`, wherever they stand before a "--", and
/// returns the settings they make together with `env`. What remains in
/// `args` is the command and its own arguments. Throws usage_error.
settings take_global_options(std::vector<std::string>& args,
                             const environment& env);

/// Takes only --json (and --help/-h) out of `args`: a console line may ask
/// for JSON, but may not switch servers. Throws usage_error on a
/// connection option.
void take_line_options(std::vector<std::string>& args, settings& s);

/// Reads the admin token from s.token_file, without surrounding white
/// space. Throws connection_error saying where it looked when the file is
/// missing, unreadable or empty.
std::string read_token(const settings& s);

}  // namespace facilityd::ctl
