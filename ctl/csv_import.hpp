#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/commands.hpp"

namespace facilityd::ctl {

/// One record of a CSV file and the line it starts on (1-based).
struct csv_record {
  size_t line = 0;
  std::vector<std::string> fields;
};

/// Cuts RFC 4180 CSV into records: commas between fields, "..." around a
/// field that holds commas, quotes ("" for one) or line breaks, CRLF or LF
/// line ends. Blank lines are skipped. Throws usage_error
/// (ctl/settings.hpp) naming `file` and the line of a quote left open.
std::vector<csv_record> parse_csv(std::string_view text,
                                  const std::string& file);

/// The rows of a participants import, ready for import.participants.
struct participant_rows {
  nlohmann::json rows = nlohmann::json::array();
  std::vector<size_t> lines;  // the file's line of each row in `rows`
  /// Rows that cannot be sent as they are, with the reason.
  std::vector<rejected_row> rejected;
};

/// Reads a CSV file whose header names the columns name, badge,
/// keyholder and suspended (any order; only name is required). Each row
/// becomes {"name", "badge" (null when empty), "keyholder", "suspended"}.
/// Throws usage_error for a missing or unknown column, or no rows at all.
participant_rows parse_participants_csv(std::string_view text,
                                        const std::string& file);

}  // namespace facilityd::ctl
