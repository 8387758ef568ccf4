// Unit tests for the gateway protocol: parsing client lines, formatting
// server lines, and cutting a byte stream into lines.

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "net/protocol.hpp"

using namespace facilityd;
using namespace std::string_literals;

namespace {

template <class T>
T parse_as(std::string_view line) {
  auto cmd = parse_line(line);
  REQUIRE(std::holds_alternative<T>(cmd));
  return std::get<T>(cmd);
}

malformed_cmd malformed(std::string_view line) {
  return parse_as<malformed_cmd>(line);
}

bool is_malformed(std::string_view line) {
  return std::holds_alternative<malformed_cmd>(parse_line(line));
}

bool is_printable(std::string_view text) {
  for (char c : text)
    if (c < 0x20 || c > 0x7E) return false;
  return true;
}

// True for one line: printable ASCII, no stray spaces, one "\n" at the
// end, and no longer than the protocol allows.
bool is_clean_line(std::string_view line) {
  if (line.empty() || line.back() != '\n') return false;
  line.remove_suffix(1);
  return !line.empty() && line.size() <= max_line_length &&
         is_printable(line) && line.front() != ' ' && line.back() != ' ' &&
         line.find("  ") == line.npos;
}

std::vector<std::string> drain(line_reader& reader) {
  std::vector<std::string> lines;
  while (auto line = reader.next_line())
    lines.push_back(*line);
  return lines;
}

scan_reply reply(outcome result, visit_id visit = 0, int32_t closed = 0,
                 std::string name = {}) {
  scan_reply r;
  r.result = result;
  r.visit = visit;
  r.closed = closed;
  r.name = std::move(name);
  return r;
}

constexpr uint64_t max_seq = std::numeric_limits<uint64_t>::max();

}  // namespace

// -- HELLO -------------------------------------------------------------------

TEST_CASE("a HELLO line gives the gateway id and the token") {
  auto cmd = parse_as<hello_cmd>("HELLO gw-1 s3cr3t!");
  CHECK(cmd.gateway == "gw-1");
  CHECK(cmd.token == "s3cr3t!");
}

TEST_CASE("a HELLO gateway id takes up to 64 bytes and a token up to 128") {
  auto id64 = std::string(64, 'g');
  auto token128 = std::string(128, 't');
  auto cmd = parse_as<hello_cmd>("HELLO " + id64 + " " + token128);
  CHECK(cmd.gateway == id64);
  CHECK(cmd.token == token128);
  CHECK(is_malformed("HELLO " + id64 + "g " + token128));
  CHECK(is_malformed("HELLO " + id64 + " " + token128 + "t"));
}

TEST_CASE("a HELLO line with too few or too many tokens is malformed") {
  CHECK(is_malformed("HELLO"));
  CHECK(is_malformed("HELLO gw-1"));
  CHECK(is_malformed("HELLO gw-1 token extra"));
  CHECK_FALSE(malformed("HELLO gw-1").seq);
}

// -- SCAN --------------------------------------------------------------------

TEST_CASE("a SCAN line gives the seq, the reader id and the badge uid") {
  auto cmd = parse_as<scan_cmd>("SCAN 42 door-1 04:A2:3F:1B");
  CHECK(cmd.seq == 42);
  CHECK(cmd.reader == "door-1");
  CHECK(cmd.badge == "04:A2:3F:1B");
}

TEST_CASE("the largest 64-bit seq is accepted and one more is refused") {
  CHECK(parse_as<scan_cmd>("SCAN 18446744073709551615 r b").seq == max_seq);

  auto m = malformed("SCAN 18446744073709551616 r b");
  CHECK_FALSE(m.seq);
  CHECK(is_malformed("SCAN 99999999999999999999 r b"));
  CHECK(is_malformed("SCAN 100000000000000000000000000000 r b"));
}

TEST_CASE("a seq of zero is accepted but a seq with leading zeros is not") {
  CHECK(parse_as<scan_cmd>("SCAN 0 r b").seq == 0);
  CHECK(is_malformed("SCAN 00 r b"));
  CHECK(is_malformed("SCAN 007 r b"));
  CHECK_FALSE(malformed("SCAN 007 r b").seq);
}

TEST_CASE("a seq with a sign or anything but digits is refused") {
  for (std::string seq : {"+5", "-5", "5a", "a5", "0x10", "1e3", "1.0", "5!"}) {
    CAPTURE(seq);
    auto m = malformed("SCAN "s + seq + " r b");
    CHECK_FALSE(m.seq);
  }
}

TEST_CASE("reader ids and badge uids take 1 to 64 bytes") {
  auto id64 = std::string(64, 'x');
  auto cmd = parse_as<scan_cmd>("SCAN 1 " + id64 + " " + id64);
  CHECK(cmd.reader == id64);
  CHECK(cmd.badge == id64);
  CHECK(malformed("SCAN 1 " + id64 + "x b").seq == 1);
  CHECK(malformed("SCAN 1 r " + id64 + "x").seq == 1);
}

TEST_CASE("ids may hold any printable ASCII except space") {
  std::string all;
  for (char c = 0x21; c <= 0x7E; ++c)
    all += c;
  auto cmd =
      parse_as<scan_cmd>("SCAN 1 " + all.substr(0, 64) + " " + all.substr(64));
  CHECK(cmd.reader + cmd.badge == all);
}

TEST_CASE("a malformed SCAN line with a valid seq names that seq") {
  for (std::string line :
       {"SCAN 5", "SCAN 5 r", "SCAN 5 r b extra", "SCAN 5  r b", "SCAN 5 r b ",
        "SCAN 5 r\tb", "SCAN 5 r b\x01", "SCAN 5 r caf\xC3\xA9"}) {
    CAPTURE(line);
    CHECK(malformed(line).seq == 5);
  }
  CHECK(malformed("SCAN 5 r b\0"s).seq == 5);
}

TEST_CASE("a malformed line without a valid seq carries no seq") {
  for (std::string line :
       {"SCAN", "SCAN x r b", "SCAN  5 r b", " SCAN 5 r b", "SCAN\t5 r b",
        "scan 5 r b", "PING 5 r b", "SCAN 05 r b", "SCAN 5x r b"}) {
    CAPTURE(line);
    CHECK_FALSE(malformed(line).seq);
  }
}

// -- PING and QUIT -----------------------------------------------------------

TEST_CASE("PING is answered with PONG and the same word") {
  auto cmd = parse_as<ping_cmd>("PING hello-42");
  CHECK(cmd.word == "hello-42");
  CHECK(format_pong(cmd.word) == "PONG hello-42\n");
}

TEST_CASE("a PING word takes 1 to 64 bytes") {
  auto word64 = std::string(64, 'w');
  CHECK(parse_as<ping_cmd>("PING " + word64).word == word64);
  CHECK(is_malformed("PING " + word64 + "w"));
  CHECK(is_malformed("PING"));
  CHECK(is_malformed("PING "));
  CHECK(is_malformed("PING a b"));
}

TEST_CASE("QUIT takes no arguments and is answered with BYE") {
  CHECK(parse_line("QUIT") == command{quit_cmd{}});
  CHECK(is_malformed("QUIT now"));
  CHECK(is_malformed("QUIT "));
  CHECK(format_bye() == "BYE\n");
}

// -- malformed lines ---------------------------------------------------------

TEST_CASE("commands are uppercase only") {
  for (std::string line :
       {"hello gw t", "Hello gw t", "scan 1 r b", "Scan 1 r b", "ping x",
        "Ping x", "quit", "Quit", "qUIT"}) {
    CAPTURE(line);
    CHECK(is_malformed(line));
  }
}

TEST_CASE("an unknown command is malformed") {
  CHECK(malformed("DELETE everything").reason == "unknown command");
  CHECK(is_malformed("WELCOME 1 x"));
  CHECK(is_malformed("ACK 1 checked_in"));
  CHECK(is_malformed("-"));
}

TEST_CASE("an empty line is malformed") {
  CHECK(malformed("").reason == "empty line");
  CHECK(malformed("\r").reason == "empty line");
}

TEST_CASE("leading, trailing and doubled spaces are malformed") {
  for (std::string line : {" QUIT", "QUIT ", "PING  x", " PING x", "PING x ",
                           "HELLO gw  t", "SCAN 1 r  b", " ", "  "}) {
    CAPTURE(line);
    CHECK(is_malformed(line));
  }
}

TEST_CASE("tabs are malformed wherever they are") {
  for (std::string line :
       {"PING\tx", "PING x\t", "\tQUIT", "QUIT\t", "SCAN 1\tr b"}) {
    CAPTURE(line);
    CHECK(is_malformed(line));
  }
}

TEST_CASE("one carriage return before the line end is dropped") {
  CHECK(parse_line("QUIT\r") == command{quit_cmd{}});
  CHECK(parse_as<scan_cmd>("SCAN 3 r b\r").badge == "b");
  CHECK(is_malformed("QUIT\r\r"));
  CHECK(is_malformed("QU\rIT"));
  CHECK(is_malformed("\rQUIT"));
  CHECK(malformed("SCAN 3 r b\r\r").seq == 3);
}

TEST_CASE("NUL bytes are malformed") {
  CHECK(is_malformed("\0"s));
  CHECK(is_malformed("QUIT\0"s));
  CHECK(is_malformed("PING a\0b"s));
  CHECK(is_malformed("\0QUIT"s));
}

TEST_CASE("bytes outside printable ASCII are malformed, valid UTF-8 or not") {
  for (std::string line :
       {"PING caf\xC3\xA9", "PING \xFF", "PING \x80", "PING a\x7F", "PING \xC3",
        "HELLO gw t\xE2\x82\xAC", "QUIT\x1B", "PING a\nb"}) {
    CAPTURE(line);
    CHECK(is_malformed(line));
  }
}

TEST_CASE("a line of 512 bytes is parsed on its merits and 513 is too long") {
  // No valid command is that long, so the 512-byte line fails for its badge.
  auto line = "SCAN 9 r " + std::string(512 - 9, 'b');
  REQUIRE(line.size() == 512);
  CHECK(malformed(line).reason == "badge uid too long");
  CHECK(malformed(line + "\r").reason == "badge uid too long");

  auto m = malformed(line + "b");
  CHECK(m.reason == "line too long");
  CHECK(m.seq == 9);
  CHECK(malformed(std::string(513, 'Q')).reason == "line too long");
}

TEST_CASE("a line of a megabyte is refused without harm") {
  auto m = malformed("PING " + std::string(1 << 20, 'x'));
  CHECK(m.reason == "line too long");
  CHECK(is_malformed(std::string(1 << 20, '\0')));
}

TEST_CASE("every reason for a malformed line fits an ERR line as it is") {
  for (std::string line : {"", "nope", "PING", "PING a b", "QUIT x", "HELLO a",
                           "SCAN x r", "SCAN x r b", "PING \xFF", "PING  a"}) {
    CAPTURE(line);
    auto m = malformed(line);
    CHECK_FALSE(m.reason.empty());
    CHECK(is_printable(m.reason));
    CHECK(format_err(m.seq, err_code::malformed, m.reason) ==
          "ERR - malformed " + m.reason + "\n");
  }
}

// -- server lines ------------------------------------------------------------

TEST_CASE("WELCOME names protocol version 1 and the server") {
  CHECK(format_welcome("facilityd") == "WELCOME 1 facilityd\n");
  CHECK(format_welcome("lab server") == "WELCOME 1 lab%20server\n");
  CHECK(format_welcome("") == "WELCOME 1 -\n");
}

TEST_CASE("percent-encoding escapes space, percent and non-printable bytes") {
  CHECK(percent_encode("Ada Lovelace") == "Ada%20Lovelace");
  CHECK(percent_encode("100%") == "100%25");
  CHECK(percent_encode("a\tb\nc\rd") == "a%09b%0Ac%0Dd");
  CHECK(percent_encode("\0\x7F\x80\xFF"s) == "%00%7F%80%FF");
  CHECK(percent_encode("!~=:/&+?") == "!~=:/&+?");
  CHECK(percent_encode("") == "");
}

TEST_CASE("percent-encoding writes each byte of a UTF-8 name in upper hex") {
  CHECK(percent_encode("Zoë Ärger") == "Zo%C3%AB%20%C3%84rger");
  CHECK(percent_encode("€") == "%E2%82%AC");
  CHECK(percent_encode("日本") == "%E6%97%A5%E6%9C%AC");
}

TEST_CASE("ACK for a check-in carries the visit and the name") {
  auto r = reply(outcome::checked_in, 42, 0, "Ada Lovelace");
  CHECK(format_ack(7, r) == "ACK 7 checked_in visit=42 name=Ada%20Lovelace\n");
}

TEST_CASE("ACK for a check-out carries the visit it closed") {
  auto r = reply(outcome::checked_out, 42, 0, "Bo");
  CHECK(format_ack(8, r) == "ACK 8 checked_out visit=42 name=Bo\n");
}

TEST_CASE("ACK for a last keyholder leaving adds the count of closed visits") {
  auto r = reply(outcome::checked_out_closed, 42, 3, "Bo");
  CHECK(format_ack(9, r) ==
        "ACK 9 checked_out_closed visit=42 closed=3 name=Bo\n");

  r.closed = 0;
  r.name.clear();
  CHECK(format_ack(9, r) == "ACK 9 checked_out_closed visit=42 closed=0\n");
}

TEST_CASE("ACK for a denial carries no visit, and the name only if known") {
  CHECK(format_ack(1, reply(outcome::denied_full, 0, 0, "Zoë")) ==
        "ACK 1 denied_full name=Zo%C3%AB\n");
  CHECK(format_ack(2, reply(outcome::denied_suspended, 0, 0, "Cy")) ==
        "ACK 2 denied_suspended name=Cy\n");
  CHECK(format_ack(3, reply(outcome::denied_closed, 0, 0, "Di")) ==
        "ACK 3 denied_closed name=Di\n");
  CHECK(format_ack(4, reply(outcome::denied_unknown_badge)) ==
        "ACK 4 denied_unknown_badge\n");
  CHECK(format_ack(5, reply(outcome::denied_unknown_reader)) ==
        "ACK 5 denied_unknown_reader\n");
}

TEST_CASE(
    "ACK details come in the order visit, closed, name for every "
    "outcome") {
  for (auto x : all_outcomes) {
    CAPTURE(to_string(x));
    auto line = format_ack(max_seq, reply(x, 77, 2, "N"));
    auto head = "ACK 18446744073709551615 " + std::string{to_string(x)};
    auto closed = x == outcome::checked_out_closed ? " closed=2" : "";
    CHECK(line == head + " visit=77" + closed + " name=N\n");
  }
}

TEST_CASE("ACK does not mention a replay: it answers as the original did") {
  auto r = reply(outcome::checked_in, 5, 0, "Ed");
  auto first = format_ack(3, r);
  r.replayed = true;
  CHECK(format_ack(3, r) == first);
}

TEST_CASE("ACK cuts a name too long for the line between characters") {
  std::string name;
  for (int i = 0; i < 300; ++i)
    name += "é";
  auto line = format_ack(1, reply(outcome::checked_in, 9, 0, name));
  CHECK(is_clean_line(line));
  CHECK(line.size() > max_line_length - 6);
  CHECK(line.ends_with("%C3%A9\n"));
}

TEST_CASE("ERR without a seq carries a dash") {
  CHECK(format_err(std::nullopt, err_code::malformed, "unknown command") ==
        "ERR - malformed unknown command\n");
  CHECK(format_err(std::nullopt, err_code::line_too_long, "line too long") ==
        "ERR - line_too_long line too long\n");
}

TEST_CASE("ERR for a scan names its seq") {
  CHECK(format_err(5, err_code::busy, "try again") == "ERR 5 busy try again\n");
  CHECK(format_err(max_seq, err_code::unavailable, "database down") ==
        "ERR 18446744073709551615 unavailable database down\n");
}

TEST_CASE("every error code has its protocol name") {
  CHECK(to_string(err_code::malformed) == "malformed");
  CHECK(to_string(err_code::unavailable) == "unavailable");
  CHECK(to_string(err_code::busy) == "busy");
  CHECK(to_string(err_code::shutting_down) == "shutting_down");
  CHECK(to_string(err_code::line_too_long) == "line_too_long");
  CHECK(to_string(err_code::auth_failed) == "auth_failed");
  CHECK(to_string(err_code::auth_required) == "auth_required");
}

TEST_CASE("ERR words are cleaned into one line of printable ASCII") {
  CHECK(format_err(1, err_code::busy, "two\nlines\r\n  and\ta tab") ==
        "ERR 1 busy two lines and a tab\n");
  CHECK(format_err(1, err_code::busy, " caf\xC3\xA9 \x7F") ==
        "ERR 1 busy caf??\n");
  CHECK(format_err(1, err_code::busy, "a\0b"s) == "ERR 1 busy a b\n");
  CHECK(format_err(std::nullopt, err_code::shutting_down, "") ==
        "ERR - shutting_down\n");
  CHECK(format_err(std::nullopt, err_code::auth_required, " \n ") ==
        "ERR - auth_required\n");
}

TEST_CASE("ERR words are cut to fit the line") {
  auto line =
      format_err(max_seq, err_code::shutting_down, std::string(2000, 'w'));
  CHECK(is_clean_line(line));
  CHECK(line.size() == max_line_length + 1);
}

TEST_CASE("PONG keeps its word one printable token") {
  CHECK(format_pong("a b\xFF") == "PONG a?b?\n");
  CHECK(format_pong("") == "PONG ?\n");
  CHECK(format_pong(std::string(100, 'w')) ==
        "PONG " + std::string(64, 'w') + "\n");
}

TEST_CASE("client lines read back as the commands they were made from") {
  auto scan = scan_cmd{max_seq, "door-1", "04:A2"};
  auto hello = hello_cmd{"gw", "tok%"};
  auto ping = ping_cmd{"x"};
  CHECK(format_scan(scan) == "SCAN 18446744073709551615 door-1 04:A2\n");
  CHECK(format_hello(hello) == "HELLO gw tok%\n");
  CHECK(format_ping(ping) == "PING x\n");
  CHECK(format_quit() == "QUIT\n");

  auto read_back = [](std::string line) {
    line.pop_back();
    return parse_line(line);
  };
  CHECK(read_back(format_scan(scan)) == command{scan});
  CHECK(read_back(format_hello(hello)) == command{hello});
  CHECK(read_back(format_ping(ping)) == command{ping});
  CHECK(read_back(format_quit()) == command{quit_cmd{}});
}

// -- line_reader -------------------------------------------------------------

TEST_CASE("line reader joins a line split across feeds") {
  line_reader reader;
  reader.feed("SC");
  CHECK_FALSE(reader.next_line());
  reader.feed("AN 1 r");
  CHECK_FALSE(reader.next_line());
  reader.feed(" b\n");
  CHECK(reader.next_line() == "SCAN 1 r b");
  CHECK_FALSE(reader.next_line());
  CHECK_FALSE(reader.too_long());
}

TEST_CASE("line reader returns several lines from one feed in order") {
  line_reader reader;
  reader.feed("PING a\nPING b\n\nQUIT\nPIN");
  CHECK(drain(reader) ==
        std::vector<std::string>{"PING a", "PING b", "", "QUIT"});
  CHECK(reader.buffered() == 3);
  reader.feed("G c\n");
  CHECK(drain(reader) == std::vector<std::string>{"PING c"});
  CHECK(reader.buffered() == 0);
}

TEST_CASE("line reader leaves a carriage return for parse_line to drop") {
  line_reader reader;
  reader.feed("QUIT\r");
  CHECK_FALSE(reader.next_line());
  reader.feed("\n");
  auto line = reader.next_line();
  REQUIRE(line);
  CHECK(*line == "QUIT\r");
  CHECK(parse_line(*line) == command{quit_cmd{}});
}

TEST_CASE("line reader accepts a line of the maximum length") {
  auto longest = std::string(max_line_length, 'x');
  for (auto end : {"\n", "\r\n"}) {
    line_reader reader;
    reader.feed(longest + end);
    auto line = reader.next_line();
    REQUIRE(line);
    CHECK(parse_as<malformed_cmd>(*line).reason == "unknown command");
    CHECK_FALSE(reader.too_long());
  }

  // The "\r" and the "\n" may arrive apart.
  line_reader reader;
  reader.feed(longest);
  reader.feed("\r");
  CHECK_FALSE(reader.too_long());
  reader.feed("\n");
  CHECK(reader.next_line() == longest + "\r");
  CHECK_FALSE(reader.too_long());
}

TEST_CASE("line reader reports a line one byte too long") {
  auto too_long = std::string(max_line_length + 1, 'x');
  SUBCASE("with its newline") {
    line_reader reader;
    reader.feed(too_long + "\n");
    CHECK_FALSE(reader.next_line());
    CHECK(reader.too_long());
  }
  SUBCASE("before its newline arrives") {
    line_reader reader;
    reader.feed(too_long);
    CHECK(reader.too_long());
  }
  SUBCASE("with a carriage return that is not the line end") {
    line_reader reader;
    reader.feed(std::string(max_line_length, 'x') + "\r");
    CHECK_FALSE(reader.too_long());
    reader.feed("y");
    CHECK(reader.too_long());
  }
  SUBCASE("ending in two carriage returns") {
    line_reader reader;
    reader.feed(std::string(max_line_length, 'x') + "\r\r\n");
    CHECK(reader.too_long());
  }
}

TEST_CASE("line reader hands out the lines before an overlong one first") {
  line_reader reader;
  reader.feed("PING a\nPING b\n" + std::string(600, 'x') + "\nQUIT\n");
  CHECK_FALSE(reader.too_long());
  CHECK(reader.next_line() == "PING a");
  CHECK_FALSE(reader.too_long());
  CHECK(reader.next_line() == "PING b");
  CHECK(reader.too_long());
  CHECK_FALSE(reader.next_line());
}

TEST_CASE("line reader takes nothing more once a line is too long") {
  line_reader reader;
  reader.feed(std::string(max_line_length + 1, 'x'));
  REQUIRE(reader.too_long());
  reader.feed("\nQUIT\nPING a\n");
  CHECK_FALSE(reader.next_line());
  CHECK(reader.too_long());
  CHECK(reader.buffered() == 0);
}

TEST_CASE("line reader holds little of a megabyte without a newline") {
  auto chunk = std::string(4096, 'x');
  line_reader reader;
  for (int i = 0; i < 256; ++i) {
    reader.feed(chunk);
    REQUIRE(reader.buffered() <= max_line_length + 1);
  }
  CHECK(reader.too_long());
  CHECK_FALSE(reader.next_line());

  line_reader at_once;
  at_once.feed(std::string(1 << 20, 'x'));
  CHECK(at_once.too_long());
  CHECK(at_once.buffered() == 0);
}

TEST_CASE("line reader reports too long as soon as the limit is passed") {
  line_reader reader;
  for (size_t i = 0; i < max_line_length; ++i)
    reader.feed("x");
  CHECK_FALSE(reader.too_long());
  CHECK(reader.buffered() == max_line_length);
  reader.feed("x");
  CHECK(reader.too_long());
}
