#pragma once

#include <string>
#include <vector>

namespace facilityd::test {

/// A throwaway self-signed certificate (EC P-256, valid for a day, made
/// out to `name`) and its key, made with the openssl command in a
/// temporary folder that the destructor removes. Throws when openssl
/// fails.
class test_certificate {
 public:
  explicit test_certificate(const std::string& name = "localhost");
  ~test_certificate();
  test_certificate(const test_certificate&) = delete;
  test_certificate& operator=(const test_certificate&) = delete;

  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }

  /// The facilityd arguments that make its gateway port TLS only, with
  /// this certificate.
  std::vector<std::string> server_args() const;

 private:
  std::string dir_;
  std::string cert_file_;
  std::string key_file_;
};

}  // namespace facilityd::test
