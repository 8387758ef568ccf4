#include "harness/facilityd_child.hpp"

#include <signal.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace facility_sim {

namespace {

constexpr std::string_view listening_marker =
    "gateway: listening on 127.0.0.1:";

// Whether `binary --help` mentions `name`: options come and go between
// versions, and an unknown one stops the server.
bool has_option(const std::string& binary, const std::string& name) {
  std::string cmd = "'" + binary + "' --help 2>&1";
  FILE* out = ::popen(cmd.c_str(), "r");
  if (!out) return false;
  std::string text;
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, out))
    text.append(buf, n);
  ::pclose(out);
  return text.find("--" + name + "=") != std::string::npos;
}

}  // namespace

facilityd_child::facilityd_child(std::string binary, std::string dsn,
                                 std::vector<std::string> extra_args,
                                 std::string dir)
    : binary_(std::filesystem::absolute(binary)),
      dir_(std::move(dir)),
      log_path_(dir_ + "/facilityd.log") {
  // A long start-up wait lets a restart ride out a database restart.
  args_ = {binary_,
           "--db.dsn=" + dsn,
           "--gateway.host=127.0.0.1",
           "--gateway.port=0",
           "--server.name=facility-sim",
           "--db.startup-wait=60s"};
  // Servers that have an admin endpoint get a port of their own for it,
  // so that they never meet another server on the default one.
  if (has_option(binary_, "admin.port")) {
    args_.push_back("--admin.port=0");
    args_.push_back("--admin.token-file=" + dir_ + "/admin-token");
  }
  // Nobody scrapes the server under test; 0 turns the endpoint off.
  if (has_option(binary_, "metrics.port")) args_.push_back("--metrics.port=0");
  args_.insert(args_.end(), extra_args.begin(), extra_args.end());
  std::ofstream{log_path_, std::ios::trunc};
}

void facilityd_child::start() {
  // What an earlier run of the server logged must not count for this one.
  read_log();
  port_ = 0;
  started_at_ = clock::now();
  // The harness's directory holds no facilityd.ini that could change the
  // configuration behind its back.
  process_.spawn(args_, log_path_, dir_);
}

std::optional<int> facilityd_child::poll() {
  read_log();
  auto status = process_.poll();
  if (status) port_ = 0;
  return status;
}

void facilityd_child::read_log() {
  std::ifstream in{log_path_, std::ios::binary};
  in.seekg(static_cast<std::streamoff>(read_offset_));
  std::string chunk{std::istreambuf_iterator<char>{in}, {}};
  read_offset_ += chunk.size();
  partial_ += chunk;
  size_t start = 0;
  for (auto nl = partial_.find('\n'); nl != std::string::npos;
       nl = partial_.find('\n', start)) {
    take_line(partial_.substr(start, nl - start));
    start = nl + 1;
  }
  partial_.erase(0, start);
}

void facilityd_child::take_line(const std::string& line) {
  auto at = line.find(listening_marker);
  if (at == std::string::npos) return;
  auto digits = std::string_view{line}.substr(at + listening_marker.size());
  uint16_t port = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), port);
  port_ = port;
}

void facilityd_child::kill9() {
  process_.kill9();
  port_ = 0;
}

std::optional<int> facilityd_child::stop(std::chrono::milliseconds grace) {
  process_.signal(SIGTERM);
  auto status = process_.wait_for(grace);
  if (!status) process_.kill9();
  port_ = 0;
  return status;
}

std::string facilityd_child::log_tail(size_t lines) const {
  return file_tail(log_path_, lines);
}

}  // namespace facility_sim
