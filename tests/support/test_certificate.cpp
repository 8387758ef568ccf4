#include "tests/support/test_certificate.hpp"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace facilityd::test {

test_certificate::test_certificate(const std::string& name) {
  char tmpl[] = "/tmp/facilityd-tls-XXXXXX";
  if (!::mkdtemp(tmpl))
    throw std::runtime_error("cannot create a certificate folder");
  dir_ = tmpl;
  cert_file_ = dir_ + "/cert.pem";
  key_file_ = dir_ + "/key.pem";
  auto cmd =
      "openssl req -x509 -newkey ec -pkeyopt "
      "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=" +
      name + " -addext subjectAltName=DNS:" + name + " -keyout " + key_file_ +
      " -out " + cert_file_ + " >" + dir_ + "/openssl.log 2>&1";
  if (std::system(cmd.c_str()) != 0)
    throw std::runtime_error("openssl could not make a certificate: " + cmd);
}

test_certificate::~test_certificate() {
  ::unlink(cert_file_.c_str());
  ::unlink(key_file_.c_str());
  ::unlink((dir_ + "/openssl.log").c_str());
  ::rmdir(dir_.c_str());
}

std::vector<std::string> test_certificate::server_args() const {
  return {"--gateway.tls", "--gateway.tls-cert-file=" + cert_file_,
          "--gateway.tls-key-file=" + key_file_};
}

}  // namespace facilityd::test
