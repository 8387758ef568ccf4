#pragma once

#include <cstddef>
#include <string>

struct ssl_st;
struct ssl_ctx_st;

namespace facility_sim {

/// The client side of TLS for the simulated gateways, made once per run:
/// it trusts only the certificates in a CA file and requires the server's
/// certificate to be made out to a given name.
class tls_client {
 public:
  /// Throws std::runtime_error naming `ca_file` when it holds no usable
  /// certificate.
  tls_client(const std::string& ca_file, std::string server_name);
  ~tls_client();
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;

  ssl_ctx_st* native() const { return ctx_; }
  const std::string& server_name() const { return server_name_; }

 private:
  ssl_ctx_st* ctx_ = nullptr;
  std::string server_name_;
};

/// What a TLS step came to: done, or what the socket must be polled for
/// before trying again, or the end of the connection.
enum class tls_step { done, want_read, want_write, closed, failed };

/// TLS over one connected non-blocking socket, which stays the caller's
/// to poll and to close (after this is gone).
class tls_link {
 public:
  tls_link(const tls_client& client, int fd);
  ~tls_link();
  tls_link(const tls_link&) = delete;
  tls_link& operator=(const tls_link&) = delete;

  tls_step handshake();

  /// On done, `n` holds the bytes read (at least one).
  tls_step read(char* buf, size_t cap, size_t& n);

  /// On done, `n` holds the bytes written (at least one).
  tls_step write(const char* data, size_t len, size_t& n);

  /// Bytes already decrypted and waiting to be read; poll cannot see them.
  size_t pending() const;

  /// Why the last step failed: OpenSSL's reason and, when the server was
  /// not trusted, the verification's.
  std::string failure() const { return failure_; }

 private:
  tls_step outcome(int rc);

  ssl_st* ssl_ = nullptr;
  std::string failure_;
};

}  // namespace facility_sim
