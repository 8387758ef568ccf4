#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace facilityd {

/// What a scan did. The names are part of the gateway protocol and of the
/// database schema (`scans.outcome`), so they never change.
enum class outcome : uint8_t {
  checked_in,
  checked_out,
  checked_out_closed,
  denied_closed,
  denied_full,
  denied_suspended,
  denied_unknown_badge,
  denied_unknown_reader,
};

inline constexpr outcome all_outcomes[] = {
    outcome::checked_in,           outcome::checked_out,
    outcome::checked_out_closed,   outcome::denied_closed,
    outcome::denied_full,          outcome::denied_suspended,
    outcome::denied_unknown_badge, outcome::denied_unknown_reader,
};

std::string_view to_string(outcome x);

/// Returns the outcome named `name`, or nothing for an unknown name.
std::optional<outcome> parse_outcome(std::string_view name);

/// True for the outcomes that leave every visit as it was.
bool is_denied(outcome x);

}  // namespace facilityd
