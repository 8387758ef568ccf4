#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace facilityd::ctl {

/// A time the server sent (ISO 8601, UTC) as the console shows it: local
/// time, "2026-12-03 18:30:00", in the zone TZ names. Text that does not
/// parse comes back as it is.
std::string local_time(std::string_view iso);

/// What the user may type after --since, turned into the ISO 8601 UTC
/// time the server takes ("2026-12-03T17:00:00Z"):
/// - an ISO time with a zone (Z or +01:00), kept as that instant;
/// - a date, or a date and time without a zone, in local time;
/// - an age: a whole number and s, m, h or d, counted back from `now`.
/// Nothing when the text is none of these.
std::optional<std::string> since_to_iso(std::string_view text,
                                        std::time_t now = std::time(nullptr));

/// A number of seconds as "3d 4h", "2h 03m", "5m 09s" or "42s".
std::string duration_text(int64_t seconds);

}  // namespace facilityd::ctl
