// facilityctl's parts that need no server: cutting console lines into
// words, command lines into requests, results into text, CSV into rows,
// and TAB completion.

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "ctl/commands.hpp"
#include "ctl/completion.hpp"
#include "ctl/csv_import.hpp"
#include "ctl/format.hpp"
#include "ctl/settings.hpp"
#include "ctl/times.hpp"
#include "ctl/words.hpp"

using namespace facilityd::ctl;
using nlohmann::json;

namespace {

// The formatted times below are in UTC.
struct utc {
  utc() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

invocation parse(const std::vector<std::string>& words) {
  return parse_command(words);
}

const json& only_args(const invocation& inv) {
  REQUIRE(inv.attempts.size() == 1);
  return inv.attempts[0].args;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos;
       nl = text.find('\n', start)) {
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("console lines split into words like a shell's") {
  CHECK(words_of("who lab") == std::vector<std::string>{"who", "lab"});
  CHECK(words_of("  participant add \"Ada Lovelace\" --keyholder ") ==
        std::vector<std::string>{"participant", "add", "Ada Lovelace",
                                 "--keyholder"});
  CHECK(words_of("close lab --reason 'fire drill'") ==
        std::vector<std::string>{"close", "lab", "--reason", "fire drill"});
  CHECK(words_of(R"(x "a \"b\" c" d\ e)") ==
        std::vector<std::string>{"x", "a \"b\" c", "d e"});
  CHECK(words_of("x \"\"") == std::vector<std::string>{"x", ""});
  CHECK_THROWS_AS(words_of("who \"lab"), usage_error);
  CHECK(quote_word("lab") == "lab");
  CHECK(quote_word("wood shop") == "\"wood shop\"");
}

TEST_CASE("global options are taken from anywhere before --") {
  environment env;
  env.user = "alice";
  std::vector<std::string> args{"who",    "--json", "lab",
                                "--port", "9000",   "--host=db1"};
  auto s = take_global_options(args, env);
  CHECK(args == std::vector<std::string>{"who", "lab"});
  CHECK(s.json);
  CHECK(s.port == 9000);
  CHECK(s.host == "db1");
  CHECK(s.user == "alice");
  CHECK(s.token_file == "var/admin-token");
}

TEST_CASE(
    "the environment names the endpoint and token file and options override "
    "it") {
  environment env;
  env.admin_host = "10.0.0.5";
  env.admin_port = "7555";
  env.admin_token_file = "/etc/facilityd/token";
  std::vector<std::string> none;
  auto s = take_global_options(none, env);
  CHECK(s.endpoint() == "10.0.0.5:7555");
  CHECK(s.token_file == "/etc/facilityd/token");
  std::vector<std::string> args{"--port=1234", "--token-file", "t"};
  s = take_global_options(args, env);
  CHECK(s.port == 1234);
  CHECK(s.token_file == "t");
  env.admin_port = "seventy";
  CHECK_THROWS_AS(take_global_options(none, env), usage_error);
  std::vector<std::string> bad{"--port", "70000"};
  CHECK_THROWS_AS(take_global_options(bad, environment{}), usage_error);
}

TEST_CASE("a console line may ask for JSON but not for another server") {
  settings s;
  std::vector<std::string> args{"status", "--json"};
  take_line_options(args, s);
  CHECK(s.json);
  std::vector<std::string> other{"status", "--port", "1"};
  CHECK_THROWS_AS(take_line_options(other, s), usage_error);
}

TEST_CASE("a facility is its name or its id when given as a number") {
  CHECK(only_args(parse({"who", "lab"})) == json{{"facility", "lab"}});
  CHECK(only_args(parse({"who", "2"})) == json{{"facility", 2}});
  CHECK(parse({"who", "lab"}).attempts[0].cmd == "who");
}

TEST_CASE("where takes a participant id or a badge") {
  auto by_id = parse({"where", "7"});
  REQUIRE(by_id.attempts.size() == 2);
  CHECK(by_id.attempts[0].args == json{{"participant", 7}});
  CHECK(by_id.attempts[1].args == json{{"badge", "7"}});
  // Badge uids may be all digits, but ids never start with 0.
  CHECK(only_args(parse({"where", "04112233"})) == json{{"badge", "04112233"}});
  CHECK(only_args(parse({"where", "04A1B2C3"})) == json{{"badge", "04A1B2C3"}});
  CHECK(only_args(parse({"where", "badge:12"})) == json{{"badge", "12"}});
  CHECK(only_args(parse({"where", "participant:12"})) ==
        json{{"participant", 12}});
}

TEST_CASE("history says what to look at by prefix or tries each kind") {
  CHECK(only_args(parse({"history", "facility:lab"})) ==
        json{{"facility", "lab"}});
  CHECK(only_args(parse({"history", "participant:3", "--limit", "5"})) ==
        json{{"participant", 3}, {"limit", 5}});
  CHECK(only_args(parse({"history", "badge:04112233"})) ==
        json{{"badge", "04112233"}});

  auto bare = parse({"history", "lab"});
  CHECK(bare.facility_probe == "lab");
  REQUIRE(bare.attempts.size() == 2);
  CHECK(bare.attempts[0].args == json{{"facility", "lab"}});
  CHECK(bare.attempts[1].args == json{{"badge", "lab"}});
  CHECK(parse({"history", "3"}).attempts.size() == 3);

  auto since = parse({"history", "lab", "--since", "2026-12-03T17:00:00Z"});
  CHECK(since.attempts[0].args["since"] == "2026-12-03T17:00:00Z");
  CHECK_THROWS_AS(parse({"history", "lab", "--limit", "0"}), usage_error);
  CHECK_THROWS_AS(parse({"history", "lab", "--limit", "1001"}), usage_error);
  CHECK_THROWS_AS(parse({"history", "lab", "--since", "soon"}), usage_error);
  CHECK_THROWS_AS(parse({"history"}), usage_error);
}

TEST_CASE("changes need their reasons and well-formed arguments") {
  CHECK(only_args(parse({"close", "lab", "--reason", "fire drill"})) ==
        json{{"facility", "lab"}, {"reason", "fire drill"}});
  CHECK_THROWS_AS(parse({"close", "lab"}), usage_error);
  CHECK_THROWS_AS(parse({"close", "lab", "--reason="}), usage_error);
  CHECK(only_args(parse({"checkout", "#4", "lab", "--reason=left"})) ==
        json{{"participant", 4}, {"facility", "lab"}, {"reason", "left"}});
  CHECK_THROWS_AS(parse({"checkout", "Ada", "lab", "--reason", "x"}),
                  usage_error);
  CHECK_THROWS_AS(parse({"close", "lab", "--reason", "x", "--force"}),
                  usage_error);
}

TEST_CASE("directory commands map to their wire commands") {
  auto add = parse(
      {"participant", "add", "Ada Lovelace", "--keyholder", "--badge", "04A1"});
  CHECK(add.attempts[0].cmd == "participant.add");
  CHECK(add.attempts[0].args == json{{"name", "Ada Lovelace"},
                                     {"keyholder", true},
                                     {"suspended", false},
                                     {"badge", "04A1"}});
  CHECK(add.changes);
  CHECK_THROWS_AS(parse({"participant", "add", "Ada", "Lovelace"}),
                  usage_error);

  CHECK(parse({"participant", "suspend", "3"}).attempts[0].cmd ==
        "participant.suspend");
  CHECK(parse({"keyholder", "revoke", "3"}).attempts[0].cmd ==
        "keyholder.revoke");
  CHECK(parse({"gateway", "rotate-token", "gw-1"}).attempts[0].cmd ==
        "gateway.rotate-token");
  CHECK(only_args(parse({"reader", "move", "door", "2"})) ==
        json{{"reader", "door"}, {"facility", 2}});
  CHECK(only_args(parse({"facility", "edit", "lab", "--capacity", "none"})) ==
        json{{"facility", "lab"}, {"capacity", nullptr}});
  CHECK(only_args(parse({"facility", "add", "wood", "--capacity", "4"})) ==
        json{{"name", "wood"}, {"capacity", 4}});
  CHECK_THROWS_AS(parse({"facility", "edit", "lab"}), usage_error);
  CHECK_THROWS_AS(parse({"facility", "add", "12"}), usage_error);
  CHECK_THROWS_AS(parse({"participant"}), usage_error);
  CHECK_THROWS_AS(parse({"frobnicate"}), usage_error);
}

TEST_CASE("quit belongs to the console only") {
  CHECK_THROWS_AS(parse_command({"quit"}), usage_error);
  CHECK(parse_command({"exit"}, true).what == invocation::kind::quit);
}

TEST_CASE("help knows every command and explains how things are named") {
  auto all = help_text({});
  for (const auto& c : command_table())
    CHECK(all.find(std::string{c.name}) != std::string::npos);
  CHECK(all.find("Exit status") != std::string::npos);
  CHECK(help_text({"history"}).find("facility:NAME") != std::string::npos);
  CHECK(help_text({"participant"}).find("participant suspend") !=
        std::string::npos);
  CHECK(help_text({"gateway", "add"}).find("usage: facilityctl gateway add") !=
        std::string::npos);
  CHECK_THROWS_AS(help_text({"nope"}), usage_error);
  for (const auto& line : lines_of(all))
    CHECK_MESSAGE(line.size() <= 80, line);
}

TEST_CASE("tables align their columns and leave no trailing blanks") {
  auto t = format_table({{"ID", true}, {"NAME"}, {"STATE"}},
                        {{"1", "lab", "open"}, {"12", "electronics", "-"}});
  CHECK(t ==
        "ID  NAME         STATE\n"
        " 1  lab          open\n"
        "12  electronics  -\n");
}

TEST_CASE("facilities show as a table where no capacity is a dash") {
  invocation inv;
  inv.command = "facilities";
  json r = {{"facilities",
             {{{"id", 1},
               {"name", "lab"},
               {"open", true},
               {"present", 2},
               {"keyholders_present", 1},
               {"capacity", 3}},
              {{"id", 2},
               {"name", "shop"},
               {"open", false},
               {"present", 0},
               {"keyholders_present", 0},
               {"capacity", nullptr}}}}};
  CHECK(format_result(inv, r) ==
        "ID  NAME  STATE   PRESENT  KEYHOLDERS  CAPACITY\n"
        " 1  lab   open          2           1         3\n"
        " 2  shop  closed        0           0         -\n");
  CHECK(format_result(inv, json{{"facilities", json::array()}}) ==
        "No facilities.\n");
}

TEST_CASE("who and history show times in local time") {
  utc zone;
  invocation who;
  who.command = "who";
  json r = {{"facility", {{"id", 1}, {"name", "lab"}, {"open", true}}},
            {"present",
             {{{"participant", 4},
               {"name", "Ada Lovelace"},
               {"keyholder", true},
               {"since", "2026-12-03T17:30:00.123Z"}}}}};
  CHECK(format_result(who, r) ==
        "lab (#1) is open; 1 person inside.\n"
        "\n"
        "ID  NAME          KEYHOLDER  SINCE\n"
        " 4  Ada Lovelace  yes        2026-12-03 17:30:00\n");

  invocation history;
  history.command = "history";
  json scans = {{"scans",
                 {{{"id", 9},
                   {"at", "2026-12-03T17:31:00Z"},
                   {"gateway", "gw"},
                   {"seq", "3"},
                   {"reader", "lab-door"},
                   {"badge", "b1"},
                   {"facility", "lab"},
                   {"participant", 4},
                   {"name", "Ada Lovelace"},
                   {"outcome", "checked_in"},
                   {"visit", 7}},
                  {{"id", 8},
                   {"at", "2026-12-03T17:29:00Z"},
                   {"gateway", "gw"},
                   {"seq", "2"},
                   {"reader", "lab-door"},
                   {"badge", "zz"},
                   {"facility", "lab"},
                   {"participant", nullptr},
                   {"name", nullptr},
                   {"outcome", "denied_unknown_badge"},
                   {"visit", nullptr}}}}};
  auto lines = lines_of(format_result(history, scans));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("AT") != std::string::npos);
  CHECK(lines[1] ==
        " 9  2026-12-03 17:31:00  lab       lab-door  b1     Ada Lovelace (#4)"
        "  checked_in                7");
  CHECK(lines[2].find("denied_unknown_badge") != std::string::npos);
}

TEST_CASE("a rotated token stands apart and is said to be shown once") {
  invocation inv;
  inv.command = "gateway rotate-token";
  auto text =
      format_result(inv, json{{"gateway", "gw-7"}, {"token", "s3cr3t"}});
  CHECK(text.find("\n    s3cr3t\n") != std::string::npos);
  CHECK(text.find("only this once") != std::string::npos);
}

TEST_CASE("verify lists each difference") {
  invocation inv;
  inv.command = "verify";
  CHECK(format_result(inv, json{{"facilities_checked", 2},
                                {"differences", json::array()}}) ==
        "Checked 2 facilities: memory and database agree.\n");
  auto text = format_result(
      inv, json{{"facilities_checked", 2}, {"differences", {"visit 3 is"}}});
  CHECK(text.find("1 difference") != std::string::npos);
  CHECK(text.find("  - visit 3 is\n") != std::string::npos);
}

TEST_CASE("--since takes ISO times or local times or ages") {
  utc zone;
  std::time_t now = 1796314800;  // 2026-12-03T16:20:00Z
  CHECK(since_to_iso("2026-12-03T17:00:00Z", now) == "2026-12-03T17:00:00Z");
  CHECK(since_to_iso("2026-12-03T17:00:00+01:00", now) ==
        "2026-12-03T16:00:00Z");
  CHECK(since_to_iso("2026-12-03T17:00:00.250Z", now) ==
        "2026-12-03T17:00:00.250Z");
  CHECK(since_to_iso("2026-12-03 18:00", now) == "2026-12-03T18:00:00Z");
  CHECK(since_to_iso("2026-12-03", now) == "2026-12-03T00:00:00Z");
  CHECK(since_to_iso("2h", now) == "2026-12-03T14:20:00Z");
  CHECK(since_to_iso("1d", now) == "2026-12-02T16:20:00Z");
  CHECK_FALSE(since_to_iso("yesterday", now));
  CHECK_FALSE(since_to_iso("2026-13-01", now));
  CHECK(local_time("2026-12-03T17:30:00.5Z") == "2026-12-03 17:30:00");
  CHECK(local_time("not a time") == "not a time");
  CHECK(duration_text(7380) == "2h 03m");
  CHECK(duration_text(42) == "42s");
}

TEST_CASE("CSV follows RFC 4180") {
  auto records = parse_csv(
      "\xEF\xBB\xBFname,badge\r\n\"Lovelace, Ada\",\"a\"\"b\"\r\n\r\n"
      "\"two\nlines\",x\n",
      "f.csv");
  REQUIRE(records.size() == 3);
  CHECK(records[1].fields == std::vector<std::string>{"Lovelace, Ada", "a\"b"});
  CHECK(records[1].line == 2);
  CHECK(records[2].line == 4);
  CHECK(records[2].fields[0] == "two\nlines");
  CHECK_THROWS_AS(parse_csv("a,\"b\n", "f.csv"), usage_error);
}

TEST_CASE("an import file becomes rows and bad rows are named by line") {
  auto rows = parse_participants_csv(
      "name,badge,keyholder,suspended\n"
      "Ada Lovelace,04A1,true,false\n"
      "Alan Turing,,no,\n"
      ",04B2,false,false\n"
      "Grace Hopper,04C3,maybe,false\n",
      "people.csv");
  CHECK(rows.rows == json{{{"name", "Ada Lovelace"},
                           {"badge", "04A1"},
                           {"keyholder", true},
                           {"suspended", false}},
                          {{"name", "Alan Turing"},
                           {"badge", nullptr},
                           {"keyholder", false},
                           {"suspended", false}}});
  CHECK(rows.lines == std::vector<size_t>{2, 3});
  REQUIRE(rows.rejected.size() == 2);
  CHECK(rows.rejected[0].line == 4);
  CHECK(rows.rejected[1].line == 5);
  CHECK(rows.rejected[1].reason.find("maybe") != std::string::npos);

  // Columns in any order; only name is required.
  auto some = parse_participants_csv("badge,name\nb1,Ada\n", "p.csv");
  CHECK(some.rows[0]["name"] == "Ada");
  CHECK(some.rows[0]["badge"] == "b1");
  CHECK_THROWS_AS(parse_participants_csv("badge,keyholder\nb,true\n", "p"),
                  usage_error);
  CHECK_THROWS_AS(parse_participants_csv("name,colour\nAda,red\n", "p"),
                  usage_error);
  CHECK_THROWS_AS(parse_participants_csv("name\n", "p"), usage_error);
}

TEST_CASE("the server's refused rows are named by their line in the file") {
  invocation inv;
  inv.row_lines = {2, 3, 5};
  inv.rejected = {{4, "the name is empty"}};
  auto text = format_rejections(
      inv, json{{{"row", 3}, {"reason", "badge b is already assigned"}}});
  CHECK(text ==
        "  line 4: the name is empty\n"
        "  line 5: badge b is already assigned\n");
}

TEST_CASE("TAB completes every kind of word the console takes") {
  std::vector<std::string> names{"electronics-lab", "lab", "wood shop"};
  CHECK(complete("stat", names).insert == "status ");
  // facilities and facility share "facilit"; a second TAB lists both.
  auto fac = complete("fac", names);
  CHECK(fac.insert == "facilit");
  CHECK(fac.erase == 3);
  CHECK(complete("facilit", names).choices ==
        std::vector<std::string>{"facilities", "facility"});
  CHECK(complete("faciliti", names).insert == "facilities ");
  CHECK(complete("participant su", names).insert == "suspend ");
  CHECK(complete("who l", names).insert == "lab ");
  CHECK(complete("who e", names).insert == "electronics-lab ");
  CHECK(complete("who wo", names).insert == "\"wood shop\" ");
  CHECK(complete("who wo", names).erase == 2);
  CHECK(complete("close lab --r", names).insert == "--reason ");
  CHECK(complete("checkout 4 l", names).insert == "lab ");
  CHECK(complete("checkout l", names).insert.empty());
  CHECK(complete("reader move door l", names).insert == "lab ");
  CHECK(complete("history facility:l", names).insert == "facility:lab ");
  CHECK(complete("history b", names).insert == "badge:");
  CHECK(complete("help participant s", names).insert == "suspend ");
  CHECK(complete("close --reason x l", names).insert == "lab ");
  CHECK(complete("close lab --reason ", names).choices.empty());
}
