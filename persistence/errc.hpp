#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace facilityd {

/// The failures that cross actor boundaries, sorted by what the receiver can
/// do about them. Registered with CAF under the category `facilityd`.
enum class errc : uint8_t {
  /// The database cannot be reached or keeps failing: retry later. Nothing
  /// was applied.
  unavailable = 1,
  /// The connection broke after the transaction was sent: it may or may not
  /// have committed. Re-read before deciding anything else.
  outcome_unknown,
  /// The facility changed behind this process's back (the version fence),
  /// or a concurrent transaction recorded the same scan: reload and retry.
  conflict,
  /// The request broke a constraint: the caller's input is wrong.
  rejected,
  /// The server cannot take more work right now: retry later.
  busy,
  /// The server is stopping and takes no new work.
  shutting_down,
  /// Anything else: a bug in this program or its SQL.
  internal,
  /// The thing a request names does not exist.
  not_found,
  /// The request itself is wrong: a missing or mistyped argument.
  invalid,
};

inline constexpr caf::atom_value errc_category = caf::atom("facilityd");

std::string_view to_string(errc x);

caf::error make_error(errc x);

caf::error make_error(errc x, std::string what);

/// Returns the errc of `e`, or errc::internal for errors of other
/// categories (CAF's own, such as a request timeout).
errc errc_of(const caf::error& e);

/// A one-line description: the code's name and the context, if any.
std::string describe(const caf::error& e);

}  // namespace facilityd
