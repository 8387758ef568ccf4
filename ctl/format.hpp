#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/commands.hpp"

namespace facilityd::ctl {

/// A column of a table: its title and whether its cells align right.
struct column {
  std::string title;
  bool right = false;
};

/// An aligned table: a header of titles, then the rows, columns two
/// spaces apart, no trailing blanks. Rows may be shorter than the header.
std::string format_table(const std::vector<column>& columns,
                         const std::vector<std::vector<std::string>>& rows);

/// A JSON value as a cell: strings as they are, numbers and booleans as
/// written, null or absent as "-".
std::string text_of(const nlohmann::json& v);

/// "Ada Lovelace (#1)" for a participant object or a (name, id) pair.
std::string person(const nlohmann::json& name, const nlohmann::json& id);

/// The text for `result`, the answer to `inv` when the server said yes.
/// Times appear in local time (TZ). Ends with a newline.
std::string format_result(const invocation& inv, const nlohmann::json& result);

/// One line (with newline) for a watch event: a scan, or a notice of
/// events dropped.
std::string format_event(const nlohmann::json& event);

/// The lines that explain why an import was refused: the rows refused
/// here (`inv.rejected`) and those the server refused (`server`, the
/// error's "rejected" list, rows counted from 1 among those sent), each
/// named by its line in the file. Ends with a newline.
std::string format_rejections(const invocation& inv,
                              const nlohmann::json& server);

}  // namespace facilityd::ctl
