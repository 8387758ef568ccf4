#include "rules/outcome.hpp"

namespace facilityd {

std::string_view to_string(outcome x) {
  switch (x) {
    case outcome::checked_in:
      return "checked_in";
    case outcome::checked_out:
      return "checked_out";
    case outcome::checked_out_closed:
      return "checked_out_closed";
    case outcome::denied_closed:
      return "denied_closed";
    case outcome::denied_full:
      return "denied_full";
    case outcome::denied_suspended:
      return "denied_suspended";
    case outcome::denied_unknown_badge:
      return "denied_unknown_badge";
    case outcome::denied_unknown_reader:
      return "denied_unknown_reader";
  }
  return "invalid";
}

std::optional<outcome> parse_outcome(std::string_view name) {
  for (auto x : all_outcomes)
    if (to_string(x) == name) return x;
  return std::nullopt;
}

bool is_denied(outcome x) {
  switch (x) {
    case outcome::checked_in:
    case outcome::checked_out:
    case outcome::checked_out_closed:
      return false;
    default:
      return true;
  }
}

}  // namespace facilityd
