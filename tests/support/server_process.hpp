#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/test_db.hpp"

struct ssl_st;
struct ssl_ctx_st;

namespace facilityd::test {

/// A real facilityd process on a test_db's schema (or where `extra_args`'
/// --db.dsn points, e.g. test_db::dsn_via()), listening for gateways
/// on 127.0.0.1 at a port the system picks. Its log goes to a file that
/// log() reads. The destructor stops it (SIGTERM, then SIGKILL).
///
/// When the binary has an admin endpoint, it listens on 127.0.0.1 at a
/// port the system picks too, with its token in a file of its own that the
/// server creates (unless `extra_args` set --admin.port or
/// --admin.token-file themselves).
///
/// Its metrics endpoint listens on 127.0.0.1 at a free port picked here
/// (port 0 turns that endpoint off), unless `extra_args` set
/// --metrics.port.
class server_process {
 public:
  explicit server_process(const test_db& db,
                          std::vector<std::string> extra_args = {});
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  uint16_t port() const { return port_; }
  int pid() const { return pid_; }

  /// The admin endpoint's port; 0 when the binary has none.
  uint16_t admin_port() const { return admin_port_; }

  /// The metrics endpoint's port; 0 when it is off.
  uint16_t metrics_port() const { return metrics_port_; }

  /// The file the admin token is in; empty when the binary has no admin
  /// endpoint.
  const std::string& admin_token_file() const { return admin_token_file_; }

  /// The admin token, as the server wrote it to admin_token_file().
  std::string admin_token() const;

  /// Whether facilityd has an admin endpoint at all (it lists admin.port
  /// in --help); asked once per test process.
  static bool has_admin_endpoint();

  /// Sends `sig` and waits up to `timeout` for the exit; returns the exit
  /// status, or nothing if the process did not exit in time.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout);

  /// kill -9, and waits for it.
  void kill9();

  bool running();

  /// Everything the server logged so far.
  std::string log() const;

  /// Waits until the log contains `text`; false after `timeout`.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout);

 private:
  void start(const std::vector<std::string>& args,
             const std::vector<std::string>& extra_args);
  // Starts the binary with `args`; false when it exited because the
  // metrics port was taken meanwhile (picking a port and the server
  // binding it are not one step).
  bool launch(const std::vector<std::string>& args, bool picked_metrics_port);

  int pid_ = -1;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  uint16_t metrics_port_ = 0;
  std::string log_path_;
  std::string admin_dir_;  // ours to remove; holds the token file
  std::string admin_token_file_;
};

/// How a gateway_client speaks TLS: it trusts the certificates in
/// `ca_file` (PEM) and nothing else, and requires the server's certificate
/// to be made out to `server_name`.
struct tls_client_options {
  std::string ca_file;
  std::string server_name = "localhost";
};

struct run_result {
  int status = -1;     // the exit status; -1 when killed by a signal
  std::string output;  // stdout and stderr together
};

/// Runs facilityd with `args` (each one argument, as they are) to its end,
/// with its output captured and no input.
run_result run_facilityd(const std::vector<std::string>& args);

/// A gateway's side of a connection: plain blocking socket calls with
/// time limits, so a test can never hang on the server. Over TLS the
/// socket is non-blocking underneath, with the same time limits.
class gateway_client {
 public:
  /// Connects to 127.0.0.1:`port`; throws on failure.
  explicit gateway_client(uint16_t port);

  /// Connects to 127.0.0.1:`port` and completes a TLS handshake within
  /// `timeout`, verifying the server's certificate as `tls` says. Throws
  /// on failure; the message carries OpenSSL's reason (for a server that
  /// is not trusted: "certificate verify failed").
  gateway_client(uint16_t port, const tls_client_options& tls,
                 std::chrono::milliseconds timeout = std::chrono::seconds{10});
  ~gateway_client();
  gateway_client(const gateway_client&) = delete;
  gateway_client& operator=(const gateway_client&) = delete;

  /// Sends `bytes` as they are (add "\n" yourself).
  void send(const std::string& bytes);

  /// Like send(), but never blocks longer than `timeout` in all: true once
  /// every byte is sent, false when the server closed the connection or
  /// the time ran out first.
  bool send_within(const std::string& bytes, std::chrono::milliseconds timeout);

  /// The next line without its "\n", or nothing when none arrives within
  /// `timeout` or the server closed the connection.
  std::optional<std::string> line(
      std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// Appends what arrives within `timeout` to `out`, lines or not: the
  /// number of bytes, 0 once the server closed the connection, -1 when
  /// nothing came in time.
  long receive(std::string& out, std::chrono::milliseconds timeout);

  /// True when the server closes the connection within `timeout` (any
  /// lines still arriving before the close are skipped).
  bool closed_by_server(
      std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// Sends HELLO and requires WELCOME; returns the WELCOME line.
  std::string login(const std::string& gateway, const std::string& token);

  void close();

  /// Closes the sending side only, as `nc -N` does at the end of input;
  /// over TLS by sending close_notify.
  void finish_sending();

  /// Closes with a reset rather than an orderly close, dropping whatever
  /// the server sent and was not read: a gateway cut off mid-conversation.
  void abort();

 private:
  void connect_to(uint16_t port);
  void handshake(const tls_client_options& tls,
                 std::chrono::steady_clock::time_point deadline);
  void receive(std::chrono::milliseconds timeout);
  void receive_tls(std::chrono::milliseconds timeout);
  bool send_tls(const std::string& bytes,
                std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string pending_;
  bool eof_ = false;
  ssl_ctx_st* tls_ctx_ = nullptr;  // both set over TLS only
  ssl_st* tls_ = nullptr;
};

/// A free TCP port on 127.0.0.1, as the system hands them out; free when
/// asked, which a moment later it may no longer be.
uint16_t free_port();

/// The answer to one HTTP request.
struct http_response {
  int status = 0;  // 0: no answer
  std::string headers;
  std::string body;
};

/// Sends `request` as it is to 127.0.0.1:`port` and reads the answer until
/// the server closes the connection, for at most `timeout`.
http_response http_raw(uint16_t port, const std::string& request,
                       std::chrono::milliseconds timeout = std::chrono::seconds{
                           10});

/// GET `path` (HTTP/1.1, Connection: close).
http_response http_get(uint16_t port, const std::string& path);

/// The value of the sample `key` ("name" or "name{labels}", as the text
/// format writes it) in a Prometheus text exposition; nothing if absent.
std::optional<double> metric(const std::string& text, const std::string& key);

/// The ACK line that the row of scan (gateway, seq) in `db` calls for,
/// built from the database alone: outcome, visit, closed count and the
/// participant's name with spaces as %20 (enough for the names tests
/// use). Empty when there is no such row.
std::string ack_in_db(test_db& db, const std::string& gateway, uint64_t seq);

}  // namespace facilityd::test
