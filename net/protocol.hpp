#pragma once

// Gateway protocol v1: one command or reply per line, tokens separated by
// exactly one space. Everything here is pure: no I/O, no allocation beyond
// the strings returned, no exceptions, so it can be fuzzed on its own.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "actors/messages.hpp"

namespace facilityd {

/// The longest line either side may send, in bytes, without its "\n" or
/// "\r\n" terminator.
inline constexpr size_t max_line_length = 512;

/// Limits on the tokens of client commands. Every token consists of
/// printable ASCII other than space (bytes 0x21..0x7E).
inline constexpr size_t max_id_length = 64;      // gateway, reader, badge
inline constexpr size_t max_token_length = 128;  // the HELLO secret
inline constexpr size_t max_word_length = 64;    // the PING word

// -- client commands ---------------------------------------------------------

/// `HELLO <gateway-id> <token>`
struct hello_cmd {
  std::string gateway;
  std::string token;

  friend bool operator==(const hello_cmd&, const hello_cmd&) = default;
};

/// `SCAN <seq> <reader-id> <badge-uid>`
struct scan_cmd {
  uint64_t seq = 0;
  std::string reader;
  std::string badge;

  friend bool operator==(const scan_cmd&, const scan_cmd&) = default;
};

/// `PING <word>`
struct ping_cmd {
  std::string word;

  friend bool operator==(const ping_cmd&, const ping_cmd&) = default;
};

/// `QUIT`
struct quit_cmd {
  friend bool operator==(const quit_cmd&, const quit_cmd&) = default;
};

/// Any line that is not exactly one of the commands above.
struct malformed_cmd {
  /// The seq of a SCAN line whose second token is a valid seq, so that the
  /// error can name the scan it rejects; nothing otherwise.
  std::optional<uint64_t> seq;

  /// A short explanation in printable ASCII, for the ERR line.
  std::string reason;

  friend bool operator==(const malformed_cmd&, const malformed_cmd&) = default;
};

using command =
    std::variant<hello_cmd, scan_cmd, ping_cmd, quit_cmd, malformed_cmd>;

/// Parses one line received from a gateway. `line` excludes the "\n"; one
/// "\r" right before it is dropped here. Lines longer than max_line_length
/// are malformed (the session normally rejects them before they get here).
///
/// A seq is 1 to 20 decimal digits without sign and without leading zeros
/// ("0" itself is fine) that fit in 64 bits, so every seq has exactly one
/// spelling and an ACK echoes the gateway's own text.
///
/// Never throws, reads only within `line`, runs in O(line.size()).
command parse_line(std::string_view line);

// -- server replies ----------------------------------------------------------

/// Why the server refuses a line or a connection. The names are part of
/// the protocol and never change.
enum class err_code {
  malformed,
  unavailable,
  busy,
  shutting_down,
  line_too_long,
  auth_failed,
  auth_required,
};

std::string_view to_string(err_code x);

// Each formatter in this section returns one complete line ending in "\n",
// at most max_line_length bytes before it, holding only printable ASCII and
// single spaces between tokens, whatever its arguments contain.

/// `WELCOME 1 <server-name>`, the name percent-encoded into one token
/// ("-" when empty).
std::string format_welcome(std::string_view server_name);

/// `ACK <seq> <outcome>` followed by, in this order, ` visit=<id>` when the
/// visit is not 0, ` closed=<count>` for checked_out_closed, and
/// ` name=<name>` percent-encoded when the name is not empty. A name too
/// long for the line is cut at a UTF-8 character boundary. `replayed` is
/// not sent: a replay answers exactly as the original scan did.
std::string format_ack(uint64_t seq, const scan_reply& reply);

/// `ERR <seq-or-dash> <code> <words>`. Runs of spaces and control bytes in
/// `words` become one space, other bytes outside printable ASCII become
/// '?', and the words are cut to fit the line. Without words the line ends
/// after the code.
std::string format_err(std::optional<uint64_t> seq, err_code code,
                       std::string_view words);

/// `PONG <word>`. `word` should be a ping_cmd's word; bytes that could not
/// be in one become '?' and the word is cut at max_word_length.
std::string format_pong(std::string_view word);

/// `BYE`
std::string format_bye();

/// Encodes `text` as one token: space as %20, '%' as %25, and every byte
/// outside 0x21..0x7E as %XX with uppercase hex; other bytes stay as they
/// are.
std::string percent_encode(std::string_view text);

// -- client lines, for tests and tools that play a gateway -------------------

/// Each returns the line, with "\n", that parse_line reads back as the given
/// command. Preconditions: every string field is a token parse_line would
/// accept in its place; nothing here checks or escapes them.
std::string format_hello(const hello_cmd& cmd);
std::string format_scan(const scan_cmd& cmd);
std::string format_ping(const ping_cmd& cmd);
std::string format_quit();

// -- splitting a byte stream into lines --------------------------------------

/// Cuts the bytes a connection receives into lines. Holds at most
/// max_line_length + 1 bytes of an unfinished line (one more for a "\r"
/// whose "\n" has not arrived), plus the complete lines not yet taken.
///
/// Usage after each read:
///
///   reader.feed(bytes);
///   while (auto line = reader.next_line()) handle(parse_line(*line));
///   if (reader.too_long()) { send line_too_long; close; }
///
/// Not thread-safe; one reader per connection.
class line_reader {
 public:
  /// Appends bytes received. Once a line turns out too long, everything
  /// from its start on is dropped, this and later feeds included.
  void feed(std::string_view bytes);

  /// The next complete line without its "\n" (a "\r" before it is kept
  /// for parse_line to drop), or nothing when no complete line is waiting.
  std::optional<std::string> next_line();

  /// True once every line before an overlong one has been taken: a line
  /// longer than max_line_length has started, finished or not. The caller
  /// should then report it and close; the reader yields nothing more.
  bool too_long() const { return too_long_ && ready_.empty(); }

  /// Bytes held, waiting lines and the unfinished one together.
  size_t buffered() const;

 private:
  /// Adds `part` to the unfinished line, finishing it when `complete`.
  void append(std::string_view part, bool complete);

  std::deque<std::string> ready_;
  std::string partial_;
  bool too_long_ = false;
};

}  // namespace facilityd
