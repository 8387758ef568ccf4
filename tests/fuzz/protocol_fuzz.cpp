// Feeds arbitrary bytes through the gateway protocol the way a session does
// (line_reader, parse_line, a reply) and aborts when something that must
// hold for every input does not. Built with clang's libFuzzer by
// scripts/fuzz.sh; the regular build leaves it out.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "net/protocol.hpp"

using namespace facilityd;

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "protocol invariant broken: %s\n", what);
  std::abort();
}

bool is_clean_line(std::string_view line) {
  if (line.empty() || line.back() != '\n') return false;
  line.remove_suffix(1);
  if (line.empty() || line.size() > max_line_length) return false;
  if (line.front() == ' ' || line.back() == ' ') return false;
  if (line.find("  ") != line.npos) return false;
  for (char c : line)
    if (c < 0x20 || c > 0x7E) return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Undoes percent_encode; nothing when `text` is not a valid encoding.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return {};
    int hi = hex_value(text[i + 1]);
    int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return {};
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string_view without_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string_view without_newline(std::string_view line) {
  line.remove_suffix(1);
  return line;
}

// Valid commands have exactly one spelling, so formatting one gives back
// the very line it was parsed from.
struct command_checker {
  std::string_view line;  // without "\r"

  void operator()(const hello_cmd& cmd) const {
    require(without_newline(format_hello(cmd)) == line, "HELLO round trip");
  }

  void operator()(const scan_cmd& cmd) const {
    auto text = format_scan(cmd);
    require(without_newline(text) == line, "SCAN round trip");
    require(parse_line(without_newline(text)) == command{cmd}, "SCAN reparse");
  }

  void operator()(const ping_cmd& cmd) const {
    require(without_newline(format_ping(cmd)) == line, "PING round trip");
    require(format_pong(cmd.word) == "PONG " + cmd.word + "\n", "PONG echo");
  }

  void operator()(const quit_cmd&) const {
    require(without_newline(format_quit()) == line, "QUIT round trip");
    require(format_bye() == "BYE\n", "BYE");
  }

  void operator()(const malformed_cmd& cmd) const {
    require(!cmd.reason.empty(), "malformed reason empty");
    auto err = format_err(cmd.seq, err_code::malformed, cmd.reason);
    require(is_clean_line(err), "ERR line clean");
    require(err.find(cmd.reason) != err.npos, "ERR keeps the reason");
    if (!cmd.seq) return;

    // The seq comes from the second token of a SCAN line.
    auto head = "SCAN " + std::to_string(*cmd.seq);
    require(line.starts_with(head), "malformed seq from the SCAN line");
    auto rest = line.substr(head.size());
    require(rest.empty() || rest.front() == ' ', "malformed seq is a token");
  }
};

void check_line(std::string_view line) {
  auto cmd = parse_line(line);
  std::visit(command_checker{without_cr(line)}, cmd);
}

// What line_reader must decide for `input` as a whole: whether some line,
// finished or not, is longer than the protocol allows.
bool too_long_reference(std::string_view input) {
  for (;;) {
    auto newline = input.find('\n');
    if (newline == input.npos) break;
    if (without_cr(input.substr(0, newline)).size() > max_line_length)
      return true;
    input.remove_prefix(newline + 1);
  }
  if (input.size() > max_line_length + 1) return true;
  return input.size() == max_line_length + 1 && input.back() != '\r';
}

// The first byte picks the size of the feeds, so lines arrive in pieces.
void check_reader(std::string_view input, size_t step) {
  line_reader reader;
  std::string joined;  // every line taken, each with its "\n" put back
  for (size_t at = 0; at < input.size(); at += step) {
    reader.feed(input.substr(at, step));
    while (auto line = reader.next_line()) {
      require(line->find('\n') == line->npos, "line holds a newline");
      require(without_cr(*line).size() <= max_line_length, "line too long");
      check_line(*line);
      (joined += *line) += '\n';
    }
    require(reader.buffered() <= max_line_length + 1, "reader holds too much");
  }
  require(input.starts_with(joined), "lines are the input in order");
  require(reader.too_long() == too_long_reference(input), "too long verdict");
  if (!reader.too_long())
    require(joined.size() + reader.buffered() == input.size(), "bytes lost");
}

void check_formatters(std::string_view bytes, uint8_t pick) {
  auto encoded = percent_encode(bytes);
  for (char c : encoded)
    require(c >= 0x21 && c <= 0x7E, "encoding one token");
  require(percent_decode(encoded) == std::string{bytes}, "encoding reversible");

  scan_reply reply;
  reply.result = all_outcomes[pick % std::size(all_outcomes)];
  reply.visit = pick % 3 == 0 ? 0 : -static_cast<visit_id>(pick) * 1000003;
  reply.closed = pick % 5;
  reply.name = std::string{bytes};
  auto ack = format_ack(UINT64_MAX - pick, reply);
  require(is_clean_line(ack), "ACK line clean");
  auto name_at = ack.find(" name=");
  if (name_at != ack.npos) {
    auto name = percent_decode(without_newline(ack).substr(name_at + 6));
    require(name && bytes.starts_with(*name), "ACK name a prefix");
  }

  auto code = static_cast<err_code>(pick % 7);  // one of the seven codes
  require(is_clean_line(format_err(pick, code, bytes)), "ERR clean");
  require(is_clean_line(format_welcome(bytes)), "WELCOME clean");
  require(is_clean_line(format_pong(bytes)), "PONG clean");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto pick = data[0];
  std::string_view input{reinterpret_cast<const char*>(data + 1), size - 1};

  check_line(input);
  check_reader(input, pick == 0 ? input.size() + 1 : pick);
  check_formatters(input, pick);
  return 0;
}
