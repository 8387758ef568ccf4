#include "harness/tls_link.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace facility_sim {

tls_client::tls_client(const std::string& ca_file, std::string server_name)
    : ctx_(::SSL_CTX_new(::TLS_client_method())),
      server_name_(std::move(server_name)) {
  if (!ctx_) throw std::runtime_error("cannot set up TLS");
  ::SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  ::SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  if (::SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
    ::ERR_clear_error();
    ::SSL_CTX_free(ctx_);
    throw std::runtime_error("--tls-ca-file " + ca_file +
                             ": no PEM certificate to trust in it");
  }
}

tls_client::~tls_client() {
  ::SSL_CTX_free(ctx_);
}

tls_link::tls_link(const tls_client& client, int fd)
    : ssl_(::SSL_new(client.native())) {
  if (!ssl_) throw std::runtime_error("cannot set up TLS");
  ::SSL_set_fd(ssl_, fd);
  ::SSL_set_tlsext_host_name(ssl_, client.server_name().c_str());
  ::SSL_set1_host(ssl_, client.server_name().c_str());
  // The caller keeps unsent bytes in a string that may move as it grows.
  ::SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE |
                           SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

tls_link::~tls_link() {
  ::SSL_free(ssl_);
}

tls_step tls_link::handshake() {
  return outcome(::SSL_connect(ssl_));
}

tls_step tls_link::read(char* buf, size_t cap, size_t& n) {
  int rc =
      ::SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(cap, INT_MAX)));
  n = rc > 0 ? static_cast<size_t>(rc) : 0;
  return outcome(rc);
}

tls_step tls_link::write(const char* data, size_t len, size_t& n) {
  int rc =
      ::SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(len, INT_MAX)));
  n = rc > 0 ? static_cast<size_t>(rc) : 0;
  return outcome(rc);
}

size_t tls_link::pending() const {
  return static_cast<size_t>(::SSL_pending(ssl_));
}

tls_step tls_link::outcome(int rc) {
  if (rc > 0) return tls_step::done;
  auto e = ::SSL_get_error(ssl_, rc);
  auto code = ::ERR_get_error();
  ::ERR_clear_error();
  switch (e) {
    case SSL_ERROR_WANT_READ:
      return tls_step::want_read;
    case SSL_ERROR_WANT_WRITE:
      return tls_step::want_write;
    case SSL_ERROR_ZERO_RETURN:
      return tls_step::closed;
    default:
      break;
  }
  const char* reason = code ? ::ERR_reason_error_string(code) : nullptr;
  failure_ = reason ? reason : "connection closed";
  auto verdict = ::SSL_get_verify_result(ssl_);
  if (verdict != X509_V_OK)
    failure_ +=
        std::string{" ("} + ::X509_verify_cert_error_string(verdict) + ")";
  return e == SSL_ERROR_SYSCALL ? tls_step::closed : tls_step::failed;
}

}  // namespace facility_sim
