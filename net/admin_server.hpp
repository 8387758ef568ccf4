#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "net/asio.hpp"

namespace facilityd {

struct admin_options {
  std::string host = "127.0.0.1";
  uint16_t port = 7401;
  /// The token staff tools log in with (see admin_token_from_file).
  std::string token;
  /// The server's version, in the answer to a login.
  std::string version;
};

/// Reads the admin token from `path`, creating the file with a new random
/// token and mode 0600 first when it does not exist. Throws
/// std::runtime_error with a clear message when it cannot.
std::string admin_token_from_file(const std::string& path);

/// The admin endpoint: JSON lines over TCP (docs/admin-protocol.md). Each
/// connection logs in with the admin token, then its requests go one at a
/// time to the admin service actor; a `watch` turns the connection into a
/// stream of scan events. Like the gateway server, nothing here blocks on
/// an actor: a small actor per connection carries requests and answers.
class admin_server {
 public:
  admin_server(boost::asio::io_context& io, caf::actor_system& sys,
               caf::actor service, admin_options opts);
  ~admin_server();

  /// Binds and starts accepting; throws boost::system::system_error.
  void start();

  /// Stops accepting and closes every connection.
  void stop();

  boost::asio::ip::tcp::endpoint local_endpoint() const;

  caf::actor_system& system() { return sys_; }
  const caf::actor& service() const { return service_; }
  const admin_options& options() const { return opts_; }

 private:
  void accept();

  boost::asio::io_context& io_;
  caf::actor_system& sys_;
  caf::actor service_;
  admin_options opts_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<std::atomic<bool>> stopped_;
};

}  // namespace facilityd
