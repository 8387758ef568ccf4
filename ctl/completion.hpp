#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace facilityd::ctl {

/// What TAB does: take `erase` characters back from the cursor and put
/// `insert` there; or, when several words fit and nothing more can be
/// added, show `choices`.
struct completion {
  size_t erase = 0;
  std::string insert;
  std::vector<std::string> choices;
};

/// Completes the word before the cursor (`before_cursor` is the line up
/// to it): command names first, then subcommands, option names after
/// "--", facility names from `facilities` where a command takes one, and
/// command names after help. A word completed whole gets a space after
/// it.
completion complete(std::string_view before_cursor,
                    const std::vector<std::string>& facilities);

}  // namespace facilityd::ctl
