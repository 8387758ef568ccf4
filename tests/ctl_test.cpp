// facilityctl against a real facilityd on its own schema: each command in
// one-shot mode, what it prints, what it changes in the database, and the
// exit statuses scripts rely on.

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/token.hpp"
#include "tests/support/ctl_process.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;
using nlohmann::json;

namespace {

using W = small_world;
constexpr const char* gw_token = "gw-token-1";

// A server with the small world and a gateway logged in, and a place for
// facilityctl to run.
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

  ctl_result ctl(const std::vector<std::string>& args) {
    return run_ctl(env, server, args);
  }

  // Scans `badge` at `reader`; returns the outcome word of the ACK.
  std::string scan(const std::string& badge,
                   const std::string& reader = W::lab_door) {
    gw.send("SCAN " + std::to_string(++seq) + " " + reader + " " + badge +
            "\n");
    auto ack = gw.line();
    REQUIRE(ack);
    auto parts = ack->substr(ack->find(' ', 4) + 1);
    return parts.substr(0, parts.find(' '));
  }

  int64_t open_visits(const std::string& where = "") {
    return db.count("SELECT count(*) FROM visits WHERE checked_out_at IS NULL" +
                    (where.empty() ? "" : " AND " + where));
  }

  std::string last_audit() {
    return db.scalar(
        "SELECT actor || ' ' || action FROM admin_audit ORDER BY id DESC"
        " LIMIT 1");
  }
};

std::string id(int64_t n) {
  return std::to_string(n);
}

// The cells of a table line: columns are two or more spaces apart.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  size_t i = line.find_first_not_of(' ');
  while (i != std::string::npos && i < line.size()) {
    auto gap = line.find("  ", i);
    out.push_back(line.substr(i, gap == std::string::npos ? gap : gap - i));
    i = gap == std::string::npos ? gap : line.find_first_not_of(' ', gap);
  }
  return out;
}

// The table row (as cells) whose column `col` is `key`; empty if none.
std::vector<std::string> row(const std::string& table, size_t col,
                             const std::string& key) {
  size_t start = 0;
  while (start < table.size()) {
    auto nl = table.find('\n', start);
    auto c = cells(table.substr(start, nl - start));
    if (c.size() > col && c[col] == key) return c;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return {};
}

size_t lines_in(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A port nothing listens on.
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string write_file(const std::string& dir, const std::string& name,
                       const std::string& text) {
  auto path = dir + "/" + name;
  std::ofstream{path} << text;
  return path;
}

}  // namespace

TEST_CASE("help needs no server and names every command") {
  ctl_env env;
  auto r = run_ctl_raw(env, {"help"});
  CHECK(r.status == 0);
  for (auto c : {"status", "health", "who <facility>", "participant add",
                 "gateway rotate-token", "import participants", "verify"})
    CHECK_MESSAGE(has(r.out, c), c);
  auto h = run_ctl_raw(env, {"help", "history"});
  CHECK(h.status == 0);
  CHECK(has(h.out, "facility:NAME"));
  CHECK(run_ctl_raw(env, {"who", "--help"})
            .out.find("usage: facilityctl who <facility>") == 0);
}

TEST_CASE("a server that is not running is exit status 3 and says so") {
  ctl_env env;
  auto port = closed_port();
  auto r = run_ctl_raw(env, {"--port", id(port), "status"});
  CHECK(r.status == 3);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "facilityctl: cannot reach facilityd at 127.0.0.1:" + id(port) +
            " (connection refused). Is it running? Start it with"
            " scripts/run.sh\n");
  // The environment names the port too.
  env.extra = {"FACILITYD_ADMIN_PORT=" + id(port)};
  CHECK(run_ctl_raw(env, {"facilities"}).status == 3);
}

TEST_CASE("usage errors are exit status 2 and show the usage") {
  ctl_env env;
  auto r = run_ctl_raw(env, {"who"});
  CHECK(r.status == 2);
  CHECK(has(r.err, "usage: facilityctl who <facility>"));
  CHECK(run_ctl_raw(env, {"frobnicate"}).status == 2);
  CHECK(run_ctl_raw(env, {"close", "lab"}).status == 2);
  CHECK(run_ctl_raw(env, {"history", "lab", "--limit", "x"}).status == 2);
  CHECK(run_ctl_raw(env, {"--port", "0", "status"}).status == 2);
  CHECK(
      run_ctl_raw(env, {"import", "participants", "/nonexistent.csv"}).status ==
      2);
}

TEST_CASE("status reports the server and its database") {
  fixture f;
  auto r = f.ctl({"status"});
  CHECK(r.status == 0);
  CHECK(row(r.out, 0, "database") ==
        std::vector<std::string>{"database", "reachable"});
  CHECK(row(r.out, 0, "facilities") ==
        std::vector<std::string>{"facilities", "2"});
  CHECK(row(r.out, 0, "gateways connected") ==
        std::vector<std::string>{"gateways connected", "1"});

  auto j = f.ctl({"status", "--json"});
  CHECK(j.status == 0);
  auto parsed = json::parse(j.out);
  CHECK(parsed["database"] == "reachable");
  CHECK(parsed["facilities"] == 2);
  CHECK(parsed.contains("uptime_s"));
}

TEST_CASE("health says the database is reachable and exits 0") {
  fixture f;
  auto r = f.ctl({"health"});
  CHECK(r.status == 0);
  CHECK(has(r.out, "The database is reachable"));
  auto j = f.ctl({"health", "--json"});
  CHECK(j.status == 0);
  auto parsed = json::parse(j.out);
  CHECK(parsed["status"] == "ok");
  CHECK(parsed["database"] == "reachable");
  CHECK(parsed["round_trip_ms"].is_number());
}

TEST_CASE("a facility's metrics follow its renames and go with it") {
  fixture f;
  auto series = [&](const std::string& name, const std::string& id) {
    return "facilityd_open_visits{facility=\"" + name + "\",facility_id=\"" +
           id + "\"}";
  };
  auto metrics = [&] {
    auto r = http_get(f.server.metrics_port(), "/metrics");
    REQUIRE(r.status == 200);
    return r.body;
  };
  auto added = f.ctl({"facility", "add", "annex", "--json"});
  REQUIRE(added.status == 0);
  auto annex = id(json::parse(added.out)["facility"]["id"].get<int64_t>());
  CHECK(metric(metrics(), series("annex", annex)) == 0);

  REQUIRE(f.ctl({"facility", "edit", "annex", "--name", "wing"}).status == 0);
  auto text = metrics();
  CHECK_FALSE(metric(text, series("annex", annex)));
  CHECK(metric(text, series("wing", annex)) == 0);

  REQUIRE(f.ctl({"facility", "remove", "wing"}).status == 0);
  text = metrics();
  CHECK(text.find("facility_id=\"" + annex + "\"") == std::string::npos);
  // The others stay.
  CHECK(metric(text, series("lab", id(f.w.lab))) == 0);
}

TEST_CASE("a wrong or missing token is exit status 3 and says where") {
  fixture f;
  auto wrong = write_file(f.env.home(), "wrong-token", "not-the-token\n");
  auto r = run_ctl_raw(f.env, {"--port", id(f.server.admin_port()),
                               "--token-file", wrong, "status"});
  CHECK(r.status == 3);
  CHECK(has(r.err, "refused the admin token"));

  auto missing = f.env.home() + "/no-such-token";
  r = run_ctl_raw(f.env, {"--port", id(f.server.admin_port()), "--token-file",
                          missing, "status"});
  CHECK(r.status == 3);
  CHECK(has(r.err, "no admin token file at " + missing));
  CHECK(has(r.err, "--token-file"));

  // The default is var/admin-token in the current directory.
  r = run_ctl_raw(f.env, {"--port", id(f.server.admin_port()), "status"});
  CHECK(r.status == 3);
  CHECK(has(r.err, "var/admin-token"));

  // The environment may name the token file and the port.
  f.env.extra = {"FACILITYD_ADMIN_TOKEN_FILE=" + f.server.admin_token_file(),
                 "FACILITYD_ADMIN_PORT=" + id(f.server.admin_port())};
  CHECK(run_ctl_raw(f.env, {"status"}).status == 0);
}

TEST_CASE("facilities lists each facility with who is inside") {
  fixture f;
  REQUIRE(f.scan(W::b_k1) == "checked_in");
  REQUIRE(f.scan(W::b_m1) == "checked_in");
  auto r = f.ctl({"facilities"});
  CHECK(r.status == 0);
  CHECK(cells(r.out.substr(0, r.out.find('\n'))) ==
        std::vector<std::string>{"ID", "NAME", "STATE", "PRESENT", "KEYHOLDERS",
                                 "CAPACITY"});
  CHECK(row(r.out, 1, "lab") ==
        std::vector<std::string>{id(f.w.lab), "lab", "open", "2", "1", "3"});
  CHECK(row(r.out, 1, "shop") == std::vector<std::string>{id(f.w.shop), "shop",
                                                          "closed", "0", "0",
                                                          "-"});

  auto j = json::parse(f.ctl({"--json", "facilities"}).out);
  REQUIRE(j["facilities"].size() == 2);
  CHECK(j["facilities"][0]["name"] == "lab");
  CHECK(j["facilities"][0]["present"] == 2);
  CHECK(j["facilities"][1]["capacity"].is_null());
}

TEST_CASE("who lists the people inside and an unknown facility is status 1") {
  fixture f;
  REQUIRE(f.scan(W::b_k1) == "checked_in");
  REQUIRE(f.scan(W::b_m1) == "checked_in");
  auto r = f.ctl({"who", "lab"});
  CHECK(r.status == 0);
  CHECK(has(r.out, "lab (#" + id(f.w.lab) + ") is open; 2 people inside."));
  auto kim = row(r.out, 1, "Kim Keyholder");
  REQUIRE(kim.size() == 4);
  CHECK(kim[0] == id(f.w.k1));
  CHECK(kim[2] == "yes");
  CHECK(row(r.out, 1, "Mia Member").at(2) == "no");

  // By id too.
  CHECK(f.ctl({"who", id(f.w.lab)}).out == r.out);
  CHECK(has(f.ctl({"who", "shop"}).out, "is closed; nobody is inside."));

  auto missing = f.ctl({"who", "nowhere"});
  CHECK(missing.status == 1);
  CHECK(missing.err == "facilityctl: no facility 'nowhere'\n");
}

TEST_CASE("where finds a person by id or by badge") {
  fixture f;
  REQUIRE(f.scan(W::b_k1) == "checked_in");
  auto by_id = f.ctl({"where", id(f.w.k1)});
  CHECK(by_id.status == 0);
  CHECK(has(by_id.out, "Kim Keyholder (#" + id(f.w.k1) + ")"));
  CHECK(has(by_id.out, "is in lab since"));
  CHECK(f.ctl({"where", W::b_k1}).out == by_id.out);
  CHECK(has(f.ctl({"where", id(f.w.m1)}).out, "not checked in anywhere"));

  auto unknown = f.ctl({"where", "no-such-badge"});
  CHECK(unknown.status == 1);
  CHECK(has(unknown.err, "no-such-badge"));
  auto j = json::parse(f.ctl({"--json", "where", W::b_k1}).out);
  CHECK(j["participant"]["id"] == f.w.k1);
  CHECK(j["visits"][0]["facility"] == "lab");
}

TEST_CASE("history of a facility or a participant or a badge") {
  fixture f;
  REQUIRE(f.scan(W::b_k1) == "checked_in");
  REQUIRE(f.scan(W::b_m1) == "checked_in");
  REQUIRE(f.scan("stranger") == "denied_unknown_badge");
  REQUIRE(f.scan(W::b_k2, W::shop_door) == "checked_in");

  auto lab = f.ctl({"history", "lab"});
  CHECK(lab.status == 0);
  CHECK(lines_in(lab.out) == 4);  // header and three scans, newest first
  auto newest = cells(lab.out.substr(lab.out.find('\n') + 1));
  CHECK(newest.at(4) == "stranger");
  CHECK(newest.at(6) == "denied_unknown_badge");
  CHECK(has(lab.out, "Mia Member (#" + id(f.w.m1) + ")"));

  CHECK(f.ctl({"history", "facility:" + id(f.w.lab)}).out == lab.out);
  auto mia = f.ctl({"history", "participant:" + id(f.w.m1)});
  CHECK(lines_in(mia.out) == 2);
  CHECK(f.ctl({"history", id(f.w.m1)}).out == mia.out);
  CHECK(f.ctl({"history", "badge:" + std::string{W::b_m1}}).out == mia.out);
  CHECK(f.ctl({"history", W::b_m1}).out == mia.out);
  CHECK(lines_in(f.ctl({"history", "lab", "--limit", "1"}).out) == 2);
  CHECK(lines_in(f.ctl({"history", "lab", "--since", "1h"}).out) == 4);
  CHECK(f.ctl({"history", "lab", "--since", "2000-01-01"}).status == 0);
  CHECK(f.ctl({"history", "lab", "--since", "2999-01-01"}).out ==
        "No scans.\n");

  auto j = json::parse(f.ctl({"--json", "history", "lab"}).out);
  REQUIRE(j["scans"].size() == 3);
  CHECK(j["scans"][0]["badge"] == "stranger");
  CHECK(j["scans"][2]["participant"] == f.w.k1);
}

TEST_CASE("history of a facility or participant that does not exist") {
  fixture f;
  auto facility = f.ctl({"history", "facility:nowhere"});
  CHECK(facility.status == 1);
  CHECK(facility.err == "facilityctl: no facility 'nowhere'\n");
  CHECK(f.ctl({"history", "participant:999999"}).status == 1);
}

TEST_CASE("close ends every visit in a facility") {
  fixture f;
  for (auto b : {W::b_k1, W::b_m1, W::b_m2})
    REQUIRE(f.scan(b) == "checked_in");
  auto r = f.ctl({"close", "lab", "--reason", "fire drill"});
  CHECK(r.status == 0);
  CHECK(r.out == "Closed lab: 3 visits ended.\n");
  CHECK(f.open_visits() == 0);
  CHECK(f.db.count("SELECT count(*) FROM visits WHERE close_reason ="
                   " 'admin_close'") == 3);
  CHECK(f.last_audit() == "tester facility.close");
  CHECK(f.scan(W::b_m1) == "denied_closed");
  CHECK(f.ctl({"close", "nowhere", "--reason", "x"}).status == 1);
}

TEST_CASE("checkout ends one visit or all when it was the last keyholder") {
  fixture f;
  for (auto b : {W::b_k1, W::b_m1, W::b_m2})
    REQUIRE(f.scan(b) == "checked_in");
  auto one = f.ctl({"checkout", id(f.w.m1), "lab", "--reason", "left"});
  CHECK(one.status == 0);
  CHECK(one.out == "Checked out participant #" + id(f.w.m1) + " from lab.\n");
  CHECK(f.open_visits("participant_id = " + id(f.w.m1)) == 0);
  CHECK(f.open_visits() == 2);

  auto last = f.ctl({"checkout", id(f.w.k1), "lab", "--reason", "left"});
  CHECK(last.status == 0);
  CHECK(has(last.out, "last keyholder"));
  CHECK(has(last.out, "2 visits ended in all"));
  CHECK(f.open_visits() == 0);
  CHECK(f.db.scalar("SELECT close_reason FROM visits WHERE participant_id = " +
                    id(f.w.m2)) == "force_close");

  auto absent = f.ctl({"checkout", id(f.w.m3), "lab", "--reason", "x"});
  CHECK(absent.status == 1);
  CHECK(has(absent.err, "not checked in"));
}

TEST_CASE("participant commands change the directory and the server at once") {
  fixture f;
  auto add = f.ctl(
      {"participant", "add", "Ada Lovelace", "--keyholder", "--badge", "04A1"});
  CHECK(add.status == 0);
  auto ada = f.db.scalar(
      "SELECT id FROM participants WHERE name ="
      " 'Ada Lovelace' AND is_keyholder");
  REQUIRE_FALSE(ada.empty());
  CHECK(add.out ==
        "Added Ada Lovelace (#" + ada + ") [keyholder; badge 04A1].\n");
  CHECK(f.db.scalar("SELECT participant_id FROM badges WHERE uid = '04A1'") ==
        ada);
  CHECK(f.last_audit() == "tester participant.add");
  // The server knows her at once.
  CHECK(f.scan("04A1") == "checked_in");

  auto taken = f.ctl({"participant", "add", "Ada Again", "--badge", "04A1"});
  CHECK(taken.status == 1);
  CHECK(has(taken.err, "04A1"));
  CHECK(f.db.count("SELECT count(*) FROM participants WHERE name ="
                   " 'Ada Again'") == 0);

  auto edit = f.ctl({"participant", "edit", ada, "--name", "Ada King"});
  CHECK(edit.status == 0);
  CHECK(edit.out == "Participant #" + ada + " is now named Ada King.\n");
  CHECK(f.db.scalar("SELECT name FROM participants WHERE id = " + ada) ==
        "Ada King");

  REQUIRE(f.scan(W::b_m1) == "checked_in");
  auto suspend = f.ctl({"participant", "suspend", id(f.w.m1)});
  CHECK(suspend.status == 0);
  CHECK(suspend.out ==
        "Suspended Mia Member (#" + id(f.w.m1) + "). 1 open visit ended.\n");
  CHECK(f.db.scalar("SELECT suspended FROM participants WHERE id = " +
                    id(f.w.m1)) == "t");
  CHECK(f.open_visits("participant_id = " + id(f.w.m1)) == 0);
  CHECK(f.scan(W::b_m1) == "denied_suspended");

  auto resume = f.ctl({"participant", "resume", id(f.w.m1)});
  CHECK(resume.status == 0);
  CHECK(resume.out == "Mia Member (#" + id(f.w.m1) + ") may enter again.\n");
  CHECK(f.scan(W::b_m1) == "checked_in");

  auto remove = f.ctl({"participant", "remove", id(f.w.m2)});
  CHECK(remove.status == 0);
  CHECK(has(remove.out, "Removed participant #" + id(f.w.m2)));
  CHECK(f.db.count("SELECT count(*) FROM participants WHERE removed_at IS"
                   " NOT NULL AND id = " +
                   id(f.w.m2)) == 1);
  CHECK(f.db.count("SELECT count(*) FROM badges WHERE participant_id = " +
                   id(f.w.m2)) == 0);
  CHECK(f.scan(W::b_m2) == "denied_unknown_badge");
  CHECK(f.ctl({"where", id(f.w.m2)}).status == 1);
  CHECK(f.ctl({"participant", "suspend", "999999"}).status == 1);
}

TEST_CASE("revoking the last keyholder inside closes the facility") {
  fixture f;
  for (auto b : {W::b_k1, W::b_m1, W::b_m2})
    REQUIRE(f.scan(b) == "checked_in");
  auto r = f.ctl({"keyholder", "revoke", id(f.w.k1)});
  CHECK(r.status == 0);
  CHECK(has(r.out,
            "Kim Keyholder (#" + id(f.w.k1) + ") is no longer a keyholder."));
  CHECK(has(r.out, "open visits ended."));
  CHECK(f.db.scalar("SELECT is_keyholder FROM participants WHERE id = " +
                    id(f.w.k1)) == "f");
  CHECK(f.open_visits("facility_id = " + id(f.w.lab)) == 0);
  CHECK(f.db.invariant_violations().empty());
  CHECK(has(f.ctl({"facilities"}).out, "closed"));
  // Without the role Kim no longer opens the lab.
  CHECK(f.scan(W::b_k1) == "denied_closed");

  auto grant = f.ctl({"keyholder", "grant", id(f.w.m1)});
  CHECK(grant.status == 0);
  CHECK(grant.out == "Mia Member (#" + id(f.w.m1) + ") is now a keyholder.\n");
  CHECK(f.scan(W::b_m1) == "checked_in");
}

TEST_CASE("suspending the last keyholder inside closes the facility") {
  fixture f;
  for (auto b : {W::b_k1, W::b_m1, W::b_m2})
    REQUIRE(f.scan(b) == "checked_in");
  auto r = f.ctl({"participant", "suspend", id(f.w.k1)});
  CHECK(r.status == 0);
  CHECK(f.open_visits("facility_id = " + id(f.w.lab)) == 0);
  // Kim's own visit ends as staff's doing, the others' as a force-close.
  CHECK(f.db.scalar("SELECT close_reason FROM visits WHERE participant_id = " +
                    id(f.w.k1)) == "admin_close");
  CHECK(f.db.count("SELECT count(*) FROM visits WHERE close_reason ="
                   " 'force_close' AND facility_id = " +
                   id(f.w.lab)) == 2);
  CHECK(f.db.invariant_violations().empty());
  CHECK(f.scan(W::b_k1) == "denied_suspended");
  CHECK(f.scan(W::b_m1) == "denied_closed");
}

TEST_CASE("revoking a keyholder with another one inside closes nothing") {
  fixture f;
  for (auto b : {W::b_k1, W::b_k2, W::b_m1})
    REQUIRE(f.scan(b) == "checked_in");
  auto r = f.ctl({"keyholder", "revoke", id(f.w.k1)});
  CHECK(r.status == 0);
  CHECK(f.open_visits("facility_id = " + id(f.w.lab)) == 3);
  CHECK(f.db.invariant_violations().empty());
}

TEST_CASE("badge add and remove") {
  fixture f;
  auto add = f.ctl({"badge", "add", id(f.w.m1), "new-badge"});
  CHECK(add.status == 0);
  CHECK(add.out ==
        "Badge new-badge now belongs to participant #" + id(f.w.m1) + ".\n");
  CHECK(f.db.scalar("SELECT participant_id FROM badges WHERE uid ="
                    " 'new-badge'") == id(f.w.m1));
  REQUIRE(f.scan(W::b_k1) == "checked_in");
  CHECK(f.scan("new-badge") == "checked_in");

  CHECK(f.ctl({"badge", "add", id(f.w.m2), "new-badge"}).status == 1);
  CHECK(f.ctl({"badge", "add", "999999", "other"}).status == 1);

  auto remove = f.ctl({"badge", "remove", "new-badge"});
  CHECK(remove.status == 0);
  CHECK(remove.out == "Removed badge new-badge.\n");
  CHECK(f.db.count("SELECT count(*) FROM badges WHERE uid = 'new-badge'") == 0);
  CHECK(f.scan("new-badge") == "denied_unknown_badge");
  CHECK(f.ctl({"badge", "remove", "new-badge"}).status == 1);
}

TEST_CASE("facility and reader commands change where scans go") {
  fixture f;
  auto add = f.ctl({"facility", "add", "wood", "--capacity", "5"});
  CHECK(add.status == 0);
  auto wood = f.db.scalar("SELECT id FROM facilities WHERE name = 'wood'");
  REQUIRE_FALSE(wood.empty());
  CHECK(add.out == "Added facility wood (#" + wood + "), capacity 5.\n");
  CHECK(f.ctl({"facility", "add", "wood"}).status == 1);

  auto edit = f.ctl(
      {"facility", "edit", "wood", "--name", "woodshop", "--capacity", "none"});
  CHECK(edit.status == 0);
  CHECK(edit.out == "Facility #" + wood +
                        " is now woodshop, no capacity"
                        " limit.\n");
  CHECK(f.db.scalar("SELECT name || ' ' || coalesce(capacity::text, 'none')"
                    " FROM facilities WHERE id = " +
                    wood) == "woodshop none");

  auto reader = f.ctl({"reader", "add", "wood-door", "woodshop", "gw-1"});
  CHECK(reader.status == 0);
  CHECK(reader.out ==
        "Reader wood-door now belongs to woodshop, wired to gateway gw-1.\n");
  CHECK(f.db.scalar("SELECT facility_id || ' ' || gateway_id FROM readers"
                    " WHERE id = 'wood-door'") == wood + " gw-1");
  CHECK(f.ctl({"reader", "add", "side-door", "woodshop", "gw-nope"}).status ==
        1);
  CHECK(f.ctl({"reader", "add", "side-door", "woodshop"}).status == 2);
  CHECK(f.scan(W::b_k1, "wood-door") == "checked_in");
  CHECK(has(f.ctl({"who", "woodshop"}).out, "Kim Keyholder"));

  // Not while someone is inside, nor while a reader points at it.
  CHECK(f.ctl({"facility", "remove", "woodshop"}).status == 1);
  REQUIRE(f.scan(W::b_k1, "wood-door") == "checked_out_closed");
  CHECK(f.ctl({"facility", "remove", "woodshop"}).status == 1);

  auto move = f.ctl({"reader", "move", "wood-door", "lab"});
  CHECK(move.status == 0);
  CHECK(f.db.scalar("SELECT facility_id FROM readers WHERE id ="
                    " 'wood-door'") == id(f.w.lab));
  CHECK(f.scan(W::b_k1, "wood-door") == "checked_in");
  CHECK(f.open_visits("facility_id = " + id(f.w.lab)) == 1);

  CHECK(f.ctl({"reader", "remove", "wood-door"}).status == 0);
  CHECK(f.db.count("SELECT count(*) FROM readers WHERE id = 'wood-door'") == 0);
  CHECK(f.scan(W::b_k1, "wood-door") == "denied_unknown_reader");
  CHECK(f.ctl({"reader", "remove", "wood-door"}).status == 1);

  auto remove = f.ctl({"facility", "remove", "woodshop"});
  CHECK(remove.status == 0);
  CHECK(remove.out == "Removed facility woodshop (#" + wood + ").\n");
  // Its row stays for the history, marked removed.
  CHECK(f.db.count("SELECT count(*) FROM facilities WHERE removed_at IS NULL"
                   " AND id = " +
                   wood) == 0);
  CHECK(f.ctl({"who", "woodshop"}).status == 1);
}

TEST_CASE("reader assign rewires a door: only its gateway's scans count") {
  fixture f;
  auto added = f.ctl({"--json", "gateway", "add", "gw-7"});
  REQUIRE(added.status == 0);
  auto token = json::parse(added.out)["token"].get<std::string>();
  gateway_client gw7{f.server.port()};
  gw7.login("gw-7", token);

  // lab-door hangs on gw-1: gw-7's scans there are an unknown reader's.
  CHECK(f.scan(W::b_k1) == "checked_in");
  gw7.send("SCAN 1 lab-door badge-m1\n");
  CHECK(gw7.line() == "ACK 1 denied_unknown_reader");
  CHECK(f.open_visits("facility_id = " + id(f.w.lab)) == 1);

  auto list = f.ctl({"readers"});
  CHECK(list.status == 0);
  CHECK(has(list.out, "READER     FACILITY  GATEWAY\n"));
  CHECK(has(list.out, "lab-door   lab       gw-1\n"));

  // A gateway with doors cannot go until they hang elsewhere.
  auto refused = f.ctl({"gateway", "remove", "gw-1"});
  CHECK(refused.status == 1);
  CHECK(has(refused.err, "still serves reader(s) lab-door, shop-door"));

  auto assign = f.ctl({"reader", "assign", "lab-door", "gw-7"});
  CHECK(assign.status == 0);
  CHECK(assign.out == "Reader lab-door is now wired to gateway gw-7.\n");
  CHECK(f.db.scalar("SELECT gateway_id FROM readers WHERE id = 'lab-door'") ==
        "gw-7");
  gw7.send("SCAN 2 lab-door badge-k1\n");
  auto ack = gw7.line();
  REQUIRE(ack);
  CHECK(ack->rfind("ACK 2 checked_out_closed", 0) == 0);
  CHECK(f.scan(W::b_k1) == "denied_unknown_reader");
  CHECK(f.open_visits("facility_id = " + id(f.w.lab)) == 0);

  CHECK(f.ctl({"reader", "assign", "lab-door", "gw-nope"}).status == 1);
  CHECK(f.ctl({"reader", "assign", "no-such-door", "gw-7"}).status == 1);
  CHECK(f.db.scalar("SELECT gateway_id FROM readers WHERE id = 'lab-door'") ==
        "gw-7");
}

TEST_CASE("gateway add shows a token once and rotate or remove ends it") {
  fixture f;
  auto shown = f.ctl({"gateway", "add", "gw-8"});
  CHECK(shown.status == 0);
  CHECK(has(shown.out, "Added gateway gw-8. Its token, shown only this once"));
  CHECK(f.db.count("SELECT count(*) FROM gateways WHERE id = 'gw-8'") == 1);

  auto add = f.ctl({"--json", "gateway", "add", "gw-9"});
  CHECK(add.status == 0);
  auto token = json::parse(add.out)["token"].get<std::string>();
  CHECK(f.db.scalar("SELECT token_hash FROM gateways WHERE id = 'gw-9'") ==
        hash_token(token));
  {
    gateway_client gw9{f.server.port()};
    CHECK_NOTHROW(gw9.login("gw-9", token));
  }

  auto rotate = f.ctl({"gateway", "rotate-token", "gw-9"});
  CHECK(rotate.status == 0);
  auto line_after = rotate.out.substr(rotate.out.find("\n\n    ") + 6);
  auto fresh = line_after.substr(0, line_after.find('\n'));
  CHECK(f.db.scalar("SELECT token_hash FROM gateways WHERE id = 'gw-9'") ==
        hash_token(fresh));
  {
    gateway_client old{f.server.port()};
    CHECK_THROWS(old.login("gw-9", token));
  }
  {
    gateway_client now{f.server.port()};
    CHECK_NOTHROW(now.login("gw-9", fresh));
  }

  CHECK(f.ctl({"gateway", "add", "gw-9"}).status == 1);
  CHECK(f.ctl({"gateway", "remove", "gw-9"}).status == 0);
  CHECK(f.db.count("SELECT count(*) FROM gateways WHERE id = 'gw-9'") == 0);
  gateway_client gone{f.server.port()};
  CHECK_THROWS(gone.login("gw-9", fresh));
  CHECK(f.ctl({"gateway", "rotate-token", "gw-9"}).status == 1);
}

TEST_CASE("import participants adds every row or none") {
  fixture f;
  auto good = write_file(f.env.home(), "people.csv",
                         "name,badge,keyholder,suspended\n"
                         "Ada Lovelace,04A1,true,false\n"
                         "\"Turing, Alan\",04A2,false,false\n"
                         "Grace Hopper,,yes,no\n");
  auto r = f.ctl({"import", "participants", good});
  CHECK(r.status == 0);
  CHECK(r.out == "Imported 3 participants.\n");
  CHECK(f.db.count("SELECT count(*) FROM participants WHERE name IN"
                   " ('Ada Lovelace', 'Turing, Alan', 'Grace Hopper')") == 3);
  CHECK(f.db.scalar("SELECT p.name FROM badges b JOIN participants p"
                    " ON p.id = b.participant_id WHERE b.uid = '04A2'") ==
        "Turing, Alan");
  CHECK(f.db.scalar("SELECT is_keyholder FROM participants WHERE name ="
                    " 'Grace Hopper'") == "t");
  CHECK(f.scan("04A1") == "checked_in");

  // A badge already taken: the server refuses the file, naming the line.
  auto count_before = f.db.count("SELECT count(*) FROM participants");
  auto taken = write_file(f.env.home(), "taken.csv",
                          "name,badge\n"
                          "New One,05B1\n"
                          "New Two,04A1\n");
  auto refused = f.ctl({"import", "participants", taken});
  CHECK(refused.status == 1);
  CHECK(has(refused.err, "nothing was imported"));
  CHECK(has(refused.err, "line 3: badge 04A1 is already assigned"));
  CHECK(f.db.count("SELECT count(*) FROM participants") == count_before);

  // A row the console cannot read: nothing is sent.
  auto bad = write_file(f.env.home(), "bad.csv",
                        "name,keyholder\n"
                        "Okay Person,false\n"
                        "Odd Person,perhaps\n");
  auto local = f.ctl({"import", "participants", bad});
  CHECK(local.status == 1);
  CHECK(has(local.err, "line 3: keyholder must be true or false"));
  CHECK(f.db.count("SELECT count(*) FROM participants") == count_before);
}

TEST_CASE("verify finds a visit closed behind the server's back") {
  fixture f;
  REQUIRE(f.scan(W::b_k1) == "checked_in");
  REQUIRE(f.scan(W::b_m1) == "checked_in");
  auto clean = f.ctl({"verify"});
  CHECK(clean.status == 0);
  CHECK(clean.out == "Checked 2 facilities: memory and database agree.\n");

  f.db.exec(
      "UPDATE visits SET checked_out_at = now(), close_reason ="
      " 'admin_close' WHERE checked_out_at IS NULL AND participant_id = " +
      id(f.w.m1));
  auto diff = f.ctl({"verify"});
  CHECK(diff.status == 1);
  CHECK(has(diff.out, "1 difference"));
  CHECK(has(diff.out, "participant " + id(f.w.m1)));
  auto j = json::parse(f.ctl({"--json", "verify"}).out);
  CHECK(j["differences"].size() == 1);
}

TEST_CASE("the audit trail names the user given with --user") {
  fixture f;
  auto r = run_ctl_raw(f.env, {"--port", id(f.server.admin_port()),
                               "--token-file", f.server.admin_token_file(),
                               "--user", "alice", "facility", "add", "attic"});
  CHECK(r.status == 0);
  CHECK(f.last_audit() == "alice facility.add");
  f.env.extra = {"USER=bob"};
  r = run_ctl_raw(f.env,
                  {"--port", id(f.server.admin_port()), "--token-file",
                   f.server.admin_token_file(), "facility", "remove", "attic"});
  CHECK(r.status == 0);
  CHECK(f.last_audit() == "bob facility.remove");
}
