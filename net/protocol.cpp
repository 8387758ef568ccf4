#include "net/protocol.hpp"

#include <array>
#include <charconv>

namespace facilityd {

namespace {

constexpr bool is_token_byte(char c) {
  auto b = static_cast<unsigned char>(c);
  return b >= 0x21 && b <= 0x7E;
}

constexpr bool is_line_byte(char c) {
  return c == ' ' || is_token_byte(c);
}

constexpr bool is_utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// -- parsing -----------------------------------------------------------------

// The space-separated tokens of a line. No command has more than four, so
// only the first five are kept: enough to tell that there are too many.
struct token_list {
  std::array<std::string_view, 5> at;
  size_t count = 0;
  bool has_empty = false;  // from a leading, trailing or doubled space
};

token_list split(std::string_view line) {
  token_list t;
  size_t start = 0;
  for (;;) {
    size_t end = line.find(' ', start);
    auto token = line.substr(start, end == line.npos ? end : end - start);
    if (token.empty()) t.has_empty = true;
    if (t.count < t.at.size()) t.at[t.count] = token;
    ++t.count;
    if (end == line.npos) return t;
    start = end + 1;
  }
}

// Leading zeros are refused so that each seq has a single spelling: the
// ACK then repeats the gateway's text exactly, and no two lines that differ
// only in zeros can be taken for different scans.
std::optional<uint64_t> parse_seq(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return {};
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return {};
  return value;
}

// A SCAN line names its seq even when something else in it is wrong, so
// the gateway learns which scan was refused.
std::optional<uint64_t> seq_of(const token_list& t) {
  if (t.count < 2 || t.at[0] != "SCAN") return {};
  return parse_seq(t.at[1]);
}

// The remaining parsers run on lines of printable ASCII with exactly one
// space between nonempty tokens.

command parse_hello(const token_list& t) {
  if (t.count != 3)
    return malformed_cmd{{}, "HELLO takes a gateway id and a token"};
  if (t.at[1].size() > max_id_length)
    return malformed_cmd{{}, "gateway id too long"};
  if (t.at[2].size() > max_token_length)
    return malformed_cmd{{}, "token too long"};
  return hello_cmd{std::string{t.at[1]}, std::string{t.at[2]}};
}

command parse_scan(const token_list& t) {
  auto seq = seq_of(t);
  if (t.count != 4)
    return malformed_cmd{seq, "SCAN takes a seq, a reader id and a badge uid"};
  if (!seq) return malformed_cmd{{}, "invalid seq"};
  if (t.at[2].size() > max_id_length)
    return malformed_cmd{seq, "reader id too long"};
  if (t.at[3].size() > max_id_length)
    return malformed_cmd{seq, "badge uid too long"};
  return scan_cmd{*seq, std::string{t.at[2]}, std::string{t.at[3]}};
}

command parse_ping(const token_list& t) {
  if (t.count != 2) return malformed_cmd{{}, "PING takes one word"};
  if (t.at[1].size() > max_word_length)
    return malformed_cmd{{}, "word too long"};
  return ping_cmd{std::string{t.at[1]}};
}

command parse_command(const token_list& t) {
  auto name = t.at[0];
  if (name == "HELLO") return parse_hello(t);
  if (name == "SCAN") return parse_scan(t);
  if (name == "PING") return parse_ping(t);
  if (name == "QUIT") {
    if (t.count != 1) return malformed_cmd{{}, "QUIT takes no arguments"};
    return quit_cmd{};
  }
  return malformed_cmd{{}, "unknown command"};
}

// -- formatting --------------------------------------------------------------

void append_encoded(std::string& out, char c) {
  static constexpr char hex[] = "0123456789ABCDEF";
  if (is_token_byte(c) && c != '%') {
    out += c;
    return;
  }
  auto b = static_cast<unsigned char>(c);
  out += '%';
  out += hex[b >> 4];
  out += hex[b & 0xF];
}

size_t encoded_size(std::string_view text) {
  size_t size = 0;
  for (char c : text)
    size += is_token_byte(c) && c != '%' ? 1 : 3;
  return size;
}

// Percent-encodes the longest prefix of `text` whose encoding fits in
// `budget` bytes without splitting a UTF-8 character (a lead byte and at
// most three continuation bytes), so a cut name still decodes cleanly.
std::string encode_within(std::string_view text, size_t budget) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = i + 1;
    while (end < text.size() && end - i < 4 && is_utf8_continuation(text[end]))
      ++end;
    auto unit = text.substr(i, end - i);
    if (out.size() + encoded_size(unit) > budget) break;
    for (char c : unit)
      append_encoded(out, c);
    i = end;
  }
  return out;
}

// Makes free text safe for the end of a line: spaces and control bytes
// separate words by one space, other bytes outside ASCII become '?', and
// whole bytes beyond `budget` are dropped.
std::string sanitize_words(std::string_view words, size_t budget) {
  std::string out;
  bool space = false;
  for (char c : words) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7F) {
      space = !out.empty();
      continue;
    }
    if (out.size() + (space ? 2 : 1) > budget) break;
    if (space) out += ' ';
    out += b < 0x7F ? c : '?';
    space = false;
  }
  return out;
}

}  // namespace

command parse_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto tokens = split(line);
  auto seq = seq_of(tokens);
  if (line.size() > max_line_length) return malformed_cmd{seq, "line too long"};
  if (line.empty()) return malformed_cmd{{}, "empty line"};
  for (char c : line)
    if (!is_line_byte(c)) return malformed_cmd{seq, "invalid byte"};
  if (tokens.has_empty) return malformed_cmd{seq, "stray space"};
  return parse_command(tokens);
}

std::string_view to_string(err_code x) {
  switch (x) {
    case err_code::malformed:
      return "malformed";
    case err_code::unavailable:
      return "unavailable";
    case err_code::busy:
      return "busy";
    case err_code::shutting_down:
      return "shutting_down";
    case err_code::line_too_long:
      return "line_too_long";
    case err_code::auth_failed:
      return "auth_failed";
    case err_code::auth_required:
      return "auth_required";
  }
  return "invalid";
}

std::string format_welcome(std::string_view server_name) {
  std::string line = "WELCOME 1 ";
  auto name = encode_within(server_name, max_line_length - line.size());
  line += name.empty() ? "-" : name;
  line += '\n';
  return line;
}

std::string format_ack(uint64_t seq, const scan_reply& reply) {
  std::string line = "ACK " + std::to_string(seq) + ' ';
  line += to_string(reply.result);
  if (reply.visit != 0) line += " visit=" + std::to_string(reply.visit);
  if (reply.result == outcome::checked_out_closed)
    line += " closed=" + std::to_string(reply.closed);

  // The numbers above take at most about a hundred bytes, so the name
  // always has room for most of the line.
  constexpr std::string_view key = " name=";
  if (!reply.name.empty() && line.size() + key.size() < max_line_length) {
    auto budget = max_line_length - line.size() - key.size();
    auto name = encode_within(reply.name, budget);
    if (!name.empty()) (line += key) += name;
  }
  line += '\n';
  return line;
}

std::string format_err(std::optional<uint64_t> seq, err_code code,
                       std::string_view words) {
  std::string line = "ERR ";
  line += seq ? std::to_string(*seq) : "-";
  line += ' ';
  line += to_string(code);
  auto text = sanitize_words(words, max_line_length - line.size() - 1);
  if (!text.empty()) (line += ' ') += text;
  line += '\n';
  return line;
}

std::string format_pong(std::string_view word) {
  std::string line = "PONG ";
  for (char c : word.substr(0, max_word_length))
    line += is_token_byte(c) ? c : '?';
  if (word.empty()) line += '?';
  line += '\n';
  return line;
}

std::string format_bye() {
  return "BYE\n";
}

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(encoded_size(text));
  for (char c : text)
    append_encoded(out, c);
  return out;
}

std::string format_hello(const hello_cmd& cmd) {
  return "HELLO " + cmd.gateway + ' ' + cmd.token + '\n';
}

std::string format_scan(const scan_cmd& cmd) {
  return "SCAN " + std::to_string(cmd.seq) + ' ' + cmd.reader + ' ' +
         cmd.badge + '\n';
}

std::string format_ping(const ping_cmd& cmd) {
  return "PING " + cmd.word + '\n';
}

std::string format_quit() {
  return "QUIT\n";
}

void line_reader::feed(std::string_view bytes) {
  while (!too_long_ && !bytes.empty()) {
    auto newline = bytes.find('\n');
    if (newline == bytes.npos) {
      append(bytes, false);
      return;
    }
    append(bytes.substr(0, newline), true);
    bytes.remove_prefix(newline + 1);
  }
}

std::optional<std::string> line_reader::next_line() {
  if (ready_.empty()) return std::nullopt;
  auto line = std::move(ready_.front());
  ready_.pop_front();
  return line;
}

size_t line_reader::buffered() const {
  size_t size = partial_.size();
  for (const auto& line : ready_)
    size += line.size();
  return size;
}

void line_reader::append(std::string_view part, bool complete) {
  // A line of the greatest length may be followed by the "\r" of a "\r\n",
  // finished or still waiting for its "\n".
  size_t size = partial_.size() + part.size();
  char last = part.empty() ? (size > 0 ? partial_.back() : '\0') : part.back();
  size_t limit = max_line_length + (last == '\r' ? 1 : 0);
  if (size > limit) {
    too_long_ = true;
    partial_.clear();
    return;
  }
  partial_ += part;
  if (complete) {
    ready_.push_back(std::move(partial_));
    partial_.clear();
  }
}

}  // namespace facilityd
