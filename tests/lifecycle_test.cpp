// facilityd's life as a process: killed with -9 in the middle of a
// pipelined batch and started again, and stopped with SIGTERM while scans
// are in flight. Nothing acknowledged may be lost, nothing applied twice.

#include <doctest/doctest.h>

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

#include "tests/support/history.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;

namespace {

using W = small_world;
constexpr const char* token = "lifecycle-token";

struct scan_line {
  uint64_t seq;
  std::string text;  // the whole SCAN line with "\n"
};

std::vector<scan_line> random_scans(size_t n, uint64_t seed) {
  const char* readers[] = {W::lab_door, W::shop_door};
  const char* badges[] = {W::b_k1, W::b_k2, W::b_m1,
                          W::b_m2, W::b_m3, W::b_suspended};
  std::mt19937_64 rng{seed};
  std::vector<scan_line> out;
  for (uint64_t seq = 1; seq <= n; ++seq) {
    std::ostringstream line;
    line << "SCAN " << seq << " " << readers[rng() % 2] << " "
         << badges[rng() % 6] << "\n";
    out.push_back({seq, line.str()});
  }
  return out;
}

// Reads lines until `count` answers arrived or the connection ended;
// returns the ACK and ERR lines by seq.
std::map<uint64_t, std::string> read_answers(gateway_client& gw, size_t count) {
  std::map<uint64_t, std::string> out;
  while (out.size() < count) {
    auto l = gw.line(std::chrono::seconds{5});
    if (!l) break;
    std::istringstream in{*l};
    std::string kind, seq;
    in >> kind >> seq;
    if ((kind == "ACK" || kind == "ERR") && seq != "-")
      out[std::stoull(seq)] = *l;
  }
  return out;
}

void require_invariants(test_db& db) {
  for (const auto& v : db.invariant_violations())
    FAIL_CHECK(v);
  for (const auto& d : replay_history(db))
    FAIL_CHECK(d);
}

}  // namespace

TEST_CASE(
    "kill -9 mid-batch loses no acknowledged scan and applies none "
    "twice") {
  test_db db;
  W w{db};
  db.add_gateway("gw-1", token);
  auto scans = random_scans(400, 9);
  std::map<uint64_t, std::string> before;
  {
    server_process server{db, {"--gateway.max-inflight=1000"}};
    gateway_client gw{server.port()};
    gw.login("gw-1", token);
    std::string batch;
    for (auto& s : scans)
      batch += s.text;
    gw.send(batch);
    // Take some answers, then kill the server with the rest in flight.
    before = read_answers(gw, 60);
    server.kill9();
    for (auto& [seq, line] : read_answers(gw, scans.size()))
      before.emplace(seq, line);
  }
  INFO("answered before the kill: " << before.size());
  CHECK(before.size() >= 60);

  server_process again{db, {"--gateway.max-inflight=1000"}};
  gateway_client gw{again.port()};
  gw.login("gw-1", token);
  // A gateway resends everything it has no ACK for; this one resends all,
  // so the ACKs it had must come back the same.
  std::string batch;
  for (auto& s : scans)
    batch += s.text;
  gw.send(batch);
  auto after = read_answers(gw, scans.size());
  REQUIRE(after.size() == scans.size());
  for (auto& [seq, line] : after) {
    INFO("seq " << seq);
    CHECK(line.rfind("ACK ", 0) == 0);
    auto earlier = before.find(seq);
    if (earlier != before.end() && earlier->second.rfind("ACK ", 0) == 0)
      CHECK(earlier->second == line);
  }
  CHECK(db.count("SELECT count(*) FROM scans") ==
        static_cast<int64_t>(scans.size()));
  require_invariants(db);
}

TEST_CASE("SIGTERM finishes the scans in flight and exits 0") {
  test_db db;
  W w{db};
  db.add_gateway("gw-1", token);
  server_process server{
      db, {"--server.shutdown-grace=5s", "--gateway.max-inflight=1000"}};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  auto scans = random_scans(300, 11);
  std::string batch;
  for (auto& s : scans)
    batch += s.text;
  gw.send(batch);
  auto first = read_answers(gw, 20);
  REQUIRE(first.size() == 20);
  auto started = std::chrono::steady_clock::now();
  auto status = std::async(std::launch::async, [&] {
    return server.stop(SIGTERM, std::chrono::seconds{15});
  });
  auto rest = read_answers(gw, scans.size());
  auto exit_code = status.get();
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 0);
  CHECK(took < std::chrono::seconds{7});
  CHECK(gw.closed_by_server(std::chrono::seconds{1}));

  // Every answer tells the truth: an ACK'd scan is recorded with that
  // outcome, a refused one is not recorded at all.
  rest.insert(first.begin(), first.end());
  size_t acked = 0, refused = 0;
  for (auto& [seq, line] : rest) {
    INFO(line);
    auto stored = db.scalar("SELECT outcome FROM scans WHERE gateway_seq = " +
                            std::to_string(seq));
    std::istringstream in{line};
    std::string kind, s, what;
    in >> kind >> s >> what;
    if (kind == "ACK") {
      ++acked;
      CHECK(stored == what);
    } else {
      ++refused;
      CHECK(what == "shutting_down");
      CHECK(stored.empty());
    }
  }
  CHECK(acked >= 20);
  CHECK(server.log().find("stopped") != std::string::npos);
  require_invariants(db);
}

namespace {

// A fresh folder for configuration files, removed with everything in it
// at the end of the test.
class config_folder {
 public:
  config_folder() {
    char name[] = "/tmp/facilityd-config-XXXXXX";
    if (::mkdtemp(name) == nullptr) throw std::runtime_error("no mkdtemp");
    path_ = name;
  }
  ~config_folder() { std::filesystem::remove_all(path_); }
  config_folder(const config_folder&) = delete;
  config_folder& operator=(const config_folder&) = delete;

  // Writes `text` to the file `name` in the folder; returns its path.
  std::string file(const std::string& name, const std::string& text) const {
    auto path = path_ + "/" + name;
    std::ofstream{path} << text;
    return path;
  }

 private:
  std::string path_;
};

// facilityd's output when started with `args`, which must end it with
// exit status 2 before it reaches for the database.
std::string refused(const std::vector<std::string>& args) {
  auto r = run_facilityd(args);
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK(r.output.find("INFO") == std::string::npos);
  return r.output;
}

}  // namespace

TEST_CASE("a bad configuration stops the start with status 2 and says where") {
  config_folder folder;
  auto syntax =
      folder.file("syntax.ini", "[db]\npool-size = 4\nqueue-limit = lots\n");
  CHECK(refused({"--config-file=" + syntax}) ==
        "facilityd: bad configuration: " + syntax +
            ", line 3, column 16: unexpected character\n");

  // CAF's parser takes these two without a word and would run on the
  // defaults instead.
  auto typo = folder.file("typo.ini", "[db]\npool-sise = 8\n");
  CHECK(refused({"--config-file=" + typo}) ==
        "facilityd: bad configuration: " + typo +
            ": [db] pool-sise is not an option (facilityd --help lists"
            " them)\n");
  auto wrong_type = folder.file("type.ini", "[gateway]\nidle-timeout = 60\n");
  CHECK(refused({"--config-file=" + wrong_type}) ==
        "facilityd: bad configuration: " + wrong_type +
            ": [gateway] idle-timeout must be a duration such as 5s or"
            " 250ms, not 60\n");

  CHECK(refused({"--config-file=/nonexistent/facilityd.ini"}) ==
        "facilityd: bad configuration: cannot open file"
        " /nonexistent/facilityd.ini\n");
  CHECK(refused({"--db.pool-size=many"}) ==
        "facilityd: bad configuration: --db.pool-size=many: unexpected"
        " character\n");
  CHECK(refused({"--gateway.port=99999"}) ==
        "facilityd: bad configuration: --gateway.port=99999: number out of"
        " range\n");
  auto port = folder.file("port.ini", "[gateway]\nport = 99999\n");
  CHECK(refused({"--config-file=" + port}) ==
        "facilityd: bad configuration: " + port +
            ": [gateway] port must be a whole number from 0 to 65535, not"
            " 99999\n");
  auto negative = folder.file("negative.ini", "[db]\npool-size = -4\n");
  CHECK(refused({"--config-file=" + negative}) ==
        "facilityd: bad configuration: " + negative +
            ": [db] pool-size must be a whole number from 0 up, not -4\n");
  CHECK(refused({"--db.pool-sise=8"}) ==
        "facilityd: bad configuration: --db.pool-sise=8: not an option\n");
  CHECK(refused({"--db.pool-size=0"}) ==
        "facilityd: bad configuration: db.pool-size must be between 1 and"
        " 256\n");

  // The example configuration that comes with the server passes.
  auto example =
      run_facilityd({"--config-file=" + std::string{FACILITYD_SOURCE_DIR} +
                         "/config/facilityd.ini",
                     "--db.dsn=host=127.0.0.1 port=1", "--db.startup-wait=1s",
                     "--db.connect-timeout=1s"});
  CHECK(example.status == 1);
  CHECK(example.output.find("start-up failed") != std::string::npos);
}
