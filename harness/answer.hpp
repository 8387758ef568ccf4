#pragma once

// The server's side of protocol v1 as a gateway reads it. The harness keeps
// its own list of outcomes and its own parser rather than the server's, so
// that a change on the server's side shows up here as a failure instead of
// being agreed with.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace facility_sim {

enum class outcome {
  checked_in,
  checked_out,
  checked_out_closed,
  denied_closed,
  denied_full,
  denied_suspended,
  denied_unknown_badge,
  denied_unknown_reader,
};

inline constexpr int outcome_count = 8;

/// The name the protocol and `scans.outcome` use.
std::string_view to_string(outcome x);

/// The outcome called `name`, or nothing.
std::optional<outcome> parse_outcome(std::string_view name);

/// `ACK <seq> <outcome> [visit=<id>] [closed=<count>] [name=<name>]`.
struct ack {
  uint64_t seq = 0;
  outcome result = outcome::denied_unknown_reader;
  int64_t visit = 0;   // 0 when the line has no visit=
  int32_t closed = 0;  // 0 when the line has no closed=
  std::string name;    // as sent, percent-encoded; empty without name=
  std::string line;    // the whole line, to compare answers to resends
};

/// `ERR <seq-or-dash> <code> <words>`.
struct err {
  std::optional<uint64_t> seq;  // none for "-"
  std::string code;
};

/// Parses an ACK line (without "\n"). Nothing when it is not exactly the
/// shape protocol v1 gives the outcome: visit= exactly for the outcomes
/// that open or close a visit, closed= exactly for checked_out_closed,
/// name= exactly when the badge is known, in that order.
std::optional<ack> parse_ack(std::string_view line);

/// Parses an ERR line; nothing when it is not one.
std::optional<err> parse_err(std::string_view line);

/// A seq as protocol v1 writes it: decimal, no sign, no leading zeros.
std::optional<uint64_t> parse_seq(std::string_view text);

/// A name as an ACK carries it: space as %20, '%' as %25, every byte
/// outside '!'..'~' as %XX in upper-case hex.
std::string encode_name(std::string_view name);

}  // namespace facility_sim
