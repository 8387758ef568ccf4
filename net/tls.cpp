#include "net/tls.hpp"

#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace facilityd {

namespace ssl = boost::asio::ssl;

namespace {

// Empties OpenSSL's error queue of this thread, first error first. Asio
// takes the first error off the queue into the error_code it returns, so
// that one goes first.
std::vector<unsigned long> take_tls_errors(
    const boost::system::error_code& ec = {}) {
  std::vector<unsigned long> out;
  if (ec && ec.category() == boost::asio::error::get_ssl_category())
    out.push_back(static_cast<unsigned long>(ec.value()));
  while (auto code = ::ERR_get_error())
    out.push_back(code);
  return out;
}

// The first error queued is the most specific one ("no start line"); the
// ones after it only say which layer passed it on ("PEM lib").
std::string first_reason(const std::vector<unsigned long>& errors,
                         const std::string& fallback) {
  if (errors.empty()) return fallback;
  const char* reason = ::ERR_reason_error_string(errors.front());
  return reason ? std::string{reason} : fallback;
}

// Opening the file first gives the usual "No such file or directory"
// instead of OpenSSL's "system lib" for the common mistakes.
void require_readable(const std::string& key, const std::string& file) {
  if (file.empty()) throw tls_setup_error(key + " is not set");
  std::ifstream in{file};
  if (!in)
    throw tls_setup_error(key + " '" + file +
                          "': cannot read it: " + std::strerror(errno));
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw tls_setup_error(key + " '" + file + "': not a file");
}

void load_chain(ssl::context& ctx, const std::string& file) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(file, ec);
  if (ec)
    throw tls_setup_error(
        "gateway.tls-cert-file '" + file + "': no PEM certificate in it (" +
        first_reason(take_tls_errors(ec), ec.message()) + ")");
}

tls_setup_error mismatch(const std::string& cert_file,
                         const std::string& key_file) {
  return tls_setup_error("gateway.tls-key-file '" + key_file +
                         "' does not match the certificate in "
                         "gateway.tls-cert-file '" +
                         cert_file + "'");
}

// OpenSSL compares the key with the certificate as it loads the key.
void load_key(ssl::context& ctx, const std::string& cert_file,
              const std::string& key_file) {
  boost::system::error_code ec;
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (!ec) return;
  auto errors = take_tls_errors(ec);
  if (std::any_of(errors.begin(), errors.end(), [](auto code) {
        return ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH;
      }))
    throw mismatch(cert_file, key_file);
  throw tls_setup_error("gateway.tls-key-file '" + key_file +
                        "': no unencrypted PEM private key in it (" +
                        first_reason(errors, ec.message()) + ")");
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_server_context(
    const std::string& cert_file, const std::string& key_file) {
  require_readable("gateway.tls-cert-file", cert_file);
  require_readable("gateway.tls-key-file", key_file);
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  ::SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // OpenSSL would ask on the terminal for the passphrase of an encrypted
  // key; a server must fail instead of waiting for an answer.
  ctx->set_password_callback(
      [](std::size_t, ssl::context::password_purpose) { return ""; });
  load_chain(*ctx, cert_file);
  load_key(*ctx, cert_file, key_file);
  if (::SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    take_tls_errors();
    throw mismatch(cert_file, key_file);
  }
  return ctx;
}

}  // namespace facilityd
