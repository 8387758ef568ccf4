#include "tests/support/private_pg.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "tests/support/server_process.hpp"

namespace facilityd::test {

namespace {

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

}  // namespace

private_pg::private_pg() {
  char tmpl[] = "/tmp/facilityd-private-pg-XXXXXX";
  if (!::mkdtemp(tmpl))
    throw std::runtime_error("cannot create a folder for a cluster");
  dir_ = std::string{tmpl} + "/pg";
  port_ = free_port();
  start();
  dsn_ = "host=127.0.0.1 port=" + std::to_string(port_) +
         " user=facilityd dbname=facilityd passfile=" + dir_ + "/pgpass";
}

private_pg::~private_pg() {
  try {
    stop();
  } catch (...) {
    // Removing the folder below still ends a cluster that did not stop.
  }
  auto parent = dir_.substr(0, dir_.rfind('/'));
  std::string cmd = "rm -rf " + quoted(parent);
  (void)!std::system(cmd.c_str());
}

void private_pg::start() {
  run("start " + quoted(dir_) + " " + std::to_string(port_));
}

void private_pg::stop() {
  run("stop " + quoted(dir_));
}

void private_pg::run(const std::string& args) {
  std::string cmd = std::string{FACILITYD_SOURCE_DIR} + "/scripts/pg.sh " +
                    args + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0)
    throw std::runtime_error("scripts/pg.sh " + args + " failed");
}

}  // namespace facilityd::test
