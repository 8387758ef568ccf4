#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "net/asio_ssl.hpp"

namespace facilityd {

/// A TLS set-up that cannot work: a file missing, unreadable or not what
/// it should be. The message names the file and the problem.
struct tls_setup_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The server side of TLS for gateway connections: the certificate chain
/// in `cert_file` and the private key in `key_file` (both PEM; the key
/// unencrypted), TLS 1.2 or newer, no compression. Throws tls_setup_error
/// when the files cannot be read, hold no certificate or key, or do not
/// belong together. Call at start-up, before any connection exists.
std::shared_ptr<boost::asio::ssl::context> make_tls_server_context(
    const std::string& cert_file, const std::string& key_file);

}  // namespace facilityd
