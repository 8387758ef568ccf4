// facilityctl as a person uses it: the interactive console on a
// pseudo-terminal (typing, history, TAB completion, Ctrl-C), and watch
// seeing the scans a gateway makes.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/ctl_process.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;
using namespace std::chrono_literals;

namespace {

using W = small_world;
constexpr const char* gw_token = "gw-token-1";
constexpr const char* prompt = "facilityctl> ";
constexpr const char* up_arrow = "\x1b[A";
constexpr const char* ctrl_c = "\x03";
constexpr const char* ctrl_d = "\x04";

struct fixture {
  test_db db;
  W w{db};
  bool gateway_added = (db.add_gateway("gw-1", gw_token), true);
  server_process server{db};
  ctl_env env;
  gateway_client gw{server.port()};
  uint64_t seq = 0;

  fixture() {
    REQUIRE_MESSAGE(server.admin_port() != 0,
                    "facilityd has no admin endpoint (admin.port)");
    gw.login("gw-1", gw_token);
  }

  std::string scan(const std::string& badge,
                   const std::string& reader = W::lab_door) {
    gw.send("SCAN " + std::to_string(++seq) + " " + reader + " " + badge +
            "\n");
    auto ack = gw.line();
    REQUIRE(ack);
    return *ack;
  }

  // facilityctl with `args` on a terminal of its own.
  std::unique_ptr<ctl_terminal> start(std::vector<std::string> args = {}) {
    auto all = ctl_options(server);
    all.insert(all.end(), args.begin(), args.end());
    return std::make_unique<ctl_terminal>(env, all);
  }

  // The console, once it has shown its first prompt.
  std::unique_ptr<ctl_terminal> console() {
    auto t = start();
    REQUIRE_MESSAGE(t->wait_for(prompt), t->output());
    t->forget();
    return t;
  }
};

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("the console runs a typed command and shows its output") {
  fixture f;
  f.scan(W::b_k1);
  auto t = f.start();
  REQUIRE_MESSAGE(t->wait_for("Connected to facilityd"), t->output());
  REQUIRE(t->wait_for(prompt));
  t->forget();
  t->type("who lab\r");
  CHECK_MESSAGE(t->wait_for("Kim Keyholder"), t->output());
  CHECK(t->wait_for("1 person inside."));
  CHECK(t->wait_for(prompt));

  // Errors are sentences, and the console goes on.
  t->forget();
  t->type("who nowhere\r");
  CHECK(t->wait_for("facilityctl: no facility 'nowhere'"));
  t->forget();
  t->type("close lab\r");
  CHECK(t->wait_for("usage: close <facility> --reason <text>"));
  t->forget();
  t->type("quit\r");
  CHECK(t->wait_exit() == 0);
}

TEST_CASE(
    "the up arrow recalls the previous line and history outlives the console") {
  fixture f;
  {
    auto t = f.console();
    t->type("facilities\r");
    REQUIRE(t->wait_for("KEYHOLDERS"));
    REQUIRE(t->wait_for(prompt));
    t->forget();
    t->type(up_arrow);
    t->type("\r");
    CHECK_MESSAGE(t->wait_for("KEYHOLDERS"), t->output());
    t->type(ctrl_d);
    CHECK(t->wait_exit() == 0);
  }
  auto path = f.env.home() + "/.facilityctl_history";
  CHECK(read_all(path).find("facilities") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // A new console starts with the history of the last.
  auto t = f.console();
  t->type(up_arrow);
  t->type("\r");
  CHECK_MESSAGE(t->wait_for("KEYHOLDERS"), t->output());
  t->type("exit\r");
  CHECK(t->wait_exit() == 0);
}

TEST_CASE("TAB completes command names") {
  fixture f;
  auto t = f.console();
  t->type("stat\t\r");
  CHECK_MESSAGE(t->wait_for("open visits"), t->output());
  REQUIRE(t->wait_for(prompt));

  // facilities and facility share "facilit": TAB goes that far, a second
  // TAB lists both, one more letter decides.
  t->forget();
  t->type("fac\t\t");
  CHECK_MESSAGE(t->wait_for("facilities  facility"), t->output());
  t->type("i\t\r");
  CHECK_MESSAGE(t->wait_for("KEYHOLDERS"), t->output());
  t->type("quit\r");
  CHECK(t->wait_exit() == 0);
}

TEST_CASE("TAB completes facility names including new ones") {
  fixture f;
  f.scan(W::b_k1);
  auto t = f.console();
  t->type("who l\t\r");
  CHECK_MESSAGE(t->wait_for("lab (#" + std::to_string(f.w.lab) + ") is open"),
                t->output());
  REQUIRE(t->wait_for(prompt));

  t->forget();
  t->type("facility add greenhouse\r");
  REQUIRE_MESSAGE(t->wait_for("Added facility greenhouse"), t->output());
  REQUIRE(t->wait_for(prompt));
  t->forget();
  t->type("who gr\t\r");
  CHECK_MESSAGE(t->wait_for("greenhouse (#"), t->output());
  t->type("quit\r");
  CHECK(t->wait_exit() == 0);
}

TEST_CASE("Ctrl-C at the prompt drops the line but not the console") {
  fixture f;
  auto t = f.console();
  t->type("who la");
  t->type(ctrl_c);
  REQUIRE_MESSAGE(t->wait_for(prompt), t->output());
  t->forget();
  t->type("status\r");
  CHECK_MESSAGE(t->wait_for("database"), t->output());
  t->type("quit\r");
  CHECK(t->wait_exit() == 0);
}

TEST_CASE("watch prints each scan a gateway makes until Ctrl-C") {
  fixture f;
  auto t = f.start({"watch"});
  REQUIRE_MESSAGE(t->wait_for("Watching all facilities"), t->output());
  f.scan(W::b_k1);
  f.scan(W::b_m1);
  f.scan(W::b_k2, W::shop_door);
  CHECK_MESSAGE(t->wait_for("Mia Member"), t->output());
  CHECK(t->wait_for("Kai Keyholder"));
  auto out = t->output();
  auto kim = out.find("Kim Keyholder");
  REQUIRE(kim != std::string::npos);
  auto line = out.substr(out.rfind('\n', kim) + 1);
  line = line.substr(0, line.find('\n'));
  CHECK(line.find("lab") != std::string::npos);
  CHECK(line.find("lab-door") != std::string::npos);
  CHECK(line.find("checked_in") != std::string::npos);
  t->type(ctrl_c);
  CHECK(t->wait_exit() == 0);
}

TEST_CASE(
    "watch of one facility sees only its scans and --json gives JSON lines") {
  fixture f;
  auto t = f.start({"--json", "watch", "shop"});
  REQUIRE_MESSAGE(t->wait_for("{\"watching\":\"shop\"}"), t->output());
  f.scan(W::b_k1);
  f.scan(W::b_k2, W::shop_door);
  REQUIRE_MESSAGE(t->wait_for("Kai Keyholder"), t->output());
  CHECK(t->output().find("Kim Keyholder") == std::string::npos);
  auto out = t->output();
  auto at = out.find("{\"at\"");
  REQUIRE(at != std::string::npos);
  auto event = nlohmann::json::parse(out.substr(at, out.find('\n', at) - at));
  CHECK(event["facility"] == "shop");
  CHECK(event["outcome"] == "checked_in");
  CHECK(event["participant"] == f.w.k2);
  t->type(ctrl_c);
  CHECK(t->wait_exit() == 0);
}

TEST_CASE("watch in the console stops at Ctrl-C and the console goes on") {
  fixture f;
  auto t = f.console();
  t->type("watch lab\r");
  REQUIRE_MESSAGE(t->wait_for("Watching lab"), t->output());
  f.scan(W::b_k1);
  CHECK_MESSAGE(t->wait_for("Kim Keyholder"), t->output());
  t->forget();
  t->type(ctrl_c);
  REQUIRE_MESSAGE(t->wait_for(prompt), t->output());
  t->type("who lab\r");
  CHECK(t->wait_for("1 person inside."));
  t->type("quit\r");
  CHECK(t->wait_exit() == 0);
}

TEST_CASE("the console reads commands from a pipe too") {
  fixture f;
  f.scan(W::b_k1);
  auto r = run_ctl_raw(f.env, ctl_options(f.server), "who lab\nfacilities\n");
  CHECK(r.status == 0);
  CHECK(r.out.find("Kim Keyholder") != std::string::npos);
  CHECK(r.out.find("KEYHOLDERS") != std::string::npos);
  CHECK(r.out.find("Connected") == std::string::npos);
  auto failing = run_ctl_raw(f.env, ctl_options(f.server), "who nowhere\n");
  CHECK(failing.status == 1);
}

TEST_CASE("the console outlives its server and says what went wrong") {
  fixture f;
  auto t = f.console();
  REQUIRE_MESSAGE(f.server.stop(SIGTERM, 20s) == 0, f.server.log());
  t->type("status\r");
  CHECK_MESSAGE(t->wait_for("facilityctl: cannot reach facilityd"),
                t->output());
  CHECK(t->wait_for(prompt));
  t->type("quit\r");
  CHECK(t->wait_exit() == 0);
}
