#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace facilityd::ctl {

/// The server's answer to one request: either a result or an error.
struct answer {
  bool ok = false;
  nlohmann::json result;  // when ok
  std::string code;       // when not ok: not_found, conflict, ...
  std::string message;
  nlohmann::json error;  // the whole error object, for extra fields
};

/// One connection to facilityd's admin endpoint (docs/admin-protocol.md):
/// JSON objects, one per line, over TCP. Every call blocks with a time
/// limit and throws connection_error (ctl/settings.hpp) with a sentence
/// for the user when the server cannot be reached, breaks the connection,
/// or answers something that is not the protocol. Used by one thread.
class admin_client {
 public:
  /// Connects to `host`:`port`, giving up after `timeout`.
  admin_client(const std::string& host, uint16_t port,
               std::chrono::milliseconds timeout = std::chrono::seconds{5});
  ~admin_client();
  admin_client(const admin_client&) = delete;
  admin_client& operator=(const admin_client&) = delete;

  /// Logs in as `user`; returns the server's result ({"server",
  /// "version"}). A refused token throws connection_error, as the server
  /// closes the connection then.
  nlohmann::json login(const std::string& token, const std::string& user);

  /// Sends `cmd` with `args` and waits for its answer.
  answer call(const std::string& cmd,
              const nlohmann::json& args = nlohmann::json::object());

  /// How long call() waits for an answer; long enough for the server's
  /// own database time limits to run out first.
  void set_answer_timeout(std::chrono::milliseconds t) { answer_timeout_ = t; }

  enum class wait_status { line, timeout, closed, interrupted };

  /// For the event stream after `watch`: waits up to `timeout` for the
  /// next line and parses it into `out`. While waiting, the signal mask
  /// is `wait_mask` (when given), so that a signal blocked otherwise ends
  /// the wait with `interrupted` and cannot slip in before it.
  wait_status next_message(nlohmann::json& out,
                           std::chrono::milliseconds timeout,
                           const sigset_t* wait_mask = nullptr);

  /// False when the server has closed the connection (it restarted, or
  /// dropped an idle console); a request on it would never be answered.
  /// Does not wait.
  bool alive();

  /// "host:port", for messages.
  const std::string& endpoint() const { return endpoint_; }

 private:
  void send_line(const std::string& line);
  wait_status read_line(std::string& line, std::chrono::milliseconds timeout,
                        const sigset_t* wait_mask);
  nlohmann::json read_answer(const nlohmann::json& id);

  int fd_ = -1;
  std::string endpoint_;
  std::string pending_;
  int64_t next_id_ = 1;
  std::chrono::milliseconds answer_timeout_{std::chrono::seconds{60}};
};

}  // namespace facilityd::ctl
