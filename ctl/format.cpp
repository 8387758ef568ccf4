#include "ctl/format.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "ctl/times.hpp"

namespace facilityd::ctl {

namespace {

using nlohmann::json;

const json null_json;

// result[key], or null when result is not an object or lacks the key.
const json& at(const json& result, const char* key) {
  if (!result.is_object()) return null_json;
  auto it = result.find(key);
  return it == result.end() ? null_json : *it;
}

int64_t count(const json& result, const char* key) {
  const auto& v = at(result, key);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

bool flag(const json& result, const char* key) {
  const auto& v = at(result, key);
  return v.is_boolean() && v.get<bool>();
}

std::string plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string time_cell(const json& v) {
  return v.is_string() ? local_time(v.get<std::string>()) : text_of(v);
}

// The positional argument `i` as typed, for sentences.
std::string typed(const invocation& inv, size_t i) {
  return i < inv.positional.size() ? inv.positional[i] : "";
}

// " 3 open visits ended." after a change that closed visits; empty when
// none did.
std::string closed_sentence(const json& result) {
  auto n = count(result, "closed");
  if (n == 0) return "";
  return " " + plural(n, "open visit", "open visits") + " ended.";
}

std::string facility_label(const json& f) {
  return text_of(at(f, "name")) + " (#" + text_of(at(f, "id")) + ")";
}

std::string capacity_text(const json& capacity) {
  return capacity.is_number() ? "capacity " + text_of(capacity)
                              : "no capacity limit";
}

std::string roles(const json& p) {
  std::vector<std::string> tags;
  if (flag(p, "keyholder")) tags.push_back("keyholder");
  if (flag(p, "suspended")) tags.push_back("suspended");
  const auto& badges = at(p, "badges");
  if (badges.is_array() && !badges.empty()) {
    std::string list;
    for (const auto& b : badges)
      list += (list.empty() ? "" : ", ") + text_of(b);
    tags.push_back((badges.size() == 1 ? "badge " : "badges ") + list);
  }
  std::string out;
  for (const auto& t : tags)
    out += (out.empty() ? "" : "; ") + t;
  return out.empty() ? "" : " [" + out + "]";
}

// -- reading -----------------------------------------------------------------

std::string status_text(const invocation&, const json& r) {
  std::string p99 = at(r, "p99_scan_ms").is_number()
                        ? text_of(at(r, "p99_scan_ms")) + " ms"
                        : "-";
  std::string up = at(r, "uptime_s").is_number()
                       ? duration_text(at(r, "uptime_s").get<int64_t>())
                       : "-";
  std::string database = text_of(at(r, "database"));
  if (at(r, "database_error").is_string())
    database += " (" + at(r, "database_error").get<std::string>() + ")";
  std::vector<std::vector<std::string>> rows{
      {"version", text_of(at(r, "version"))},
      {"uptime", up},
      {"database", database},
      {"gateways connected", text_of(at(r, "gateways_connected"))},
      {"scans per second", text_of(at(r, "scans_per_second"))},
      {"p99 scan time", p99},
      {"facilities", text_of(at(r, "facilities"))},
      {"open visits", text_of(at(r, "open_visits"))}};
  // A table without a header: the titles are the first column.
  std::string table = format_table({{""}, {""}}, rows);
  return table.substr(table.find('\n') + 1);
}

std::string health_text(const invocation&, const json& r) {
  if (text_of(at(r, "database")) == "reachable") {
    std::string rtt =
        at(r, "round_trip_ms").is_number()
            ? " (round trip " + text_of(at(r, "round_trip_ms")) + " ms)"
            : "";
    return "The database is reachable" + rtt + ".\n";
  }
  auto why = at(r, "error");
  return "The database is unreachable" +
         (why.is_string() ? ": " + why.get<std::string>() : "") + ".\n";
}

std::string facilities_text(const invocation&, const json& r) {
  const auto& list = at(r, "facilities");
  if (!list.is_array() || list.empty()) return "No facilities.\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : list)
    rows.push_back(
        {text_of(at(f, "id")), text_of(at(f, "name")),
         flag(f, "open") ? "open" : "closed", text_of(at(f, "present")),
         text_of(at(f, "keyholders_present")), text_of(at(f, "capacity"))});
  return format_table({{"ID", true},
                       {"NAME"},
                       {"STATE"},
                       {"PRESENT", true},
                       {"KEYHOLDERS", true},
                       {"CAPACITY", true}},
                      rows);
}

std::string who_text(const invocation&, const json& r) {
  const auto& f = at(r, "facility");
  const auto& present = at(r, "present");
  size_t n = present.is_array() ? present.size() : 0;
  std::string out =
      facility_label(f) + " is " + (flag(f, "open") ? "open" : "closed") +
      "; " +
      (n == 0 ? "nobody is inside.\n"
              : plural(static_cast<int64_t>(n), "person", "people") +
                    " inside.\n");
  if (n == 0) return out;
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : present)
    rows.push_back({text_of(at(p, "participant")), text_of(at(p, "name")),
                    flag(p, "keyholder") ? "yes" : "no",
                    time_cell(at(p, "since"))});
  return out + "\n" +
         format_table({{"ID", true}, {"NAME"}, {"KEYHOLDER"}, {"SINCE"}}, rows);
}

std::string where_text(const invocation&, const json& r) {
  const auto& p = at(r, "participant");
  std::string who = person(at(p, "name"), at(p, "id")) + roles(p);
  const auto& visits = at(r, "visits");
  if (!visits.is_array() || visits.empty())
    return who + " is not checked in anywhere.\n";
  if (visits.size() == 1) {
    const auto& v = visits[0];
    return who + " is in " + text_of(at(v, "facility")) + " since " +
           time_cell(at(v, "since")) + ".\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : visits)
    rows.push_back({text_of(at(v, "facility")), time_cell(at(v, "since"))});
  return who + " is in " + std::to_string(visits.size()) + " facilities:\n\n" +
         format_table({{"FACILITY"}, {"SINCE"}}, rows);
}

std::string history_text(const invocation&, const json& r) {
  const auto& scans = at(r, "scans");
  if (!scans.is_array() || scans.empty()) return "No scans.\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : scans) {
    const auto& who = at(s, "participant");
    rows.push_back({text_of(at(s, "id")), time_cell(at(s, "at")),
                    text_of(at(s, "facility")), text_of(at(s, "reader")),
                    text_of(at(s, "badge")),
                    who.is_null() ? "-" : person(at(s, "name"), who),
                    text_of(at(s, "outcome")), text_of(at(s, "visit"))});
  }
  return format_table({{"ID", true},
                       {"AT"},
                       {"FACILITY"},
                       {"READER"},
                       {"BADGE"},
                       {"PARTICIPANT"},
                       {"OUTCOME"},
                       {"VISIT", true}},
                      rows);
}

std::string verify_text(const invocation&, const json& r) {
  std::string checked = "Checked " + plural(count(r, "facilities_checked"),
                                            "facility", "facilities");
  const auto& diffs = at(r, "differences");
  if (!diffs.is_array() || diffs.empty())
    return checked + ": memory and database agree.\n";
  std::string out =
      checked + "; " +
      plural(static_cast<int64_t>(diffs.size()), "difference", "differences") +
      " between memory and database:\n";
  for (const auto& d : diffs)
    out += "  - " + text_of(d) + "\n";
  return out;
}

// -- changing state ----------------------------------------------------------

std::string close_text(const invocation& inv, const json& r) {
  auto n = count(r, "closed");
  return "Closed " + typed(inv, 0) + ": " +
         (n == 0 ? std::string{"nobody was inside."}
                 : plural(n, "visit", "visits") + " ended.") +
         "\n";
}

std::string checkout_text(const invocation& inv, const json& r) {
  auto n = count(r, "closed");
  auto who = typed(inv, 0);
  if (!who.empty() && who[0] == '#') who.erase(0, 1);
  std::string out =
      "Checked out participant #" + who + " from " + typed(inv, 1) + ".";
  if (n > 1)
    out += " They were the last keyholder inside, so " + typed(inv, 1) +
           " closed: " + std::to_string(n) + " visits ended in all.";
  return out + "\n";
}

std::string participant_text(const invocation& inv, const json& r) {
  const auto& p = at(r, "participant");
  auto who = person(at(p, "name"), at(p, "id"));
  auto sub = inv.command.substr(inv.command.find(' ') + 1);
  std::string out;
  if (sub == "add")
    out = "Added " + who + roles(p) + ".";
  else if (sub == "edit")
    out = "Participant #" + text_of(at(p, "id")) + " is now named " +
          text_of(at(p, "name")) + ".";
  else if (sub == "suspend")
    out = "Suspended " + who + "." + closed_sentence(r);
  else if (sub == "resume")
    out = who + " may enter again.";
  else if (sub == "grant")
    out = who + " is now a keyholder.";
  else if (sub == "revoke")
    out = who + " is no longer a keyholder." + closed_sentence(r);
  return out + "\n";
}

std::string participant_remove_text(const invocation&, const json& r) {
  return "Removed participant #" + text_of(at(r, "removed")) +
         " and their badges; their history stays." + closed_sentence(r) + "\n";
}

std::string badge_text(const invocation& inv, const json& r) {
  if (inv.command == "badge add")
    return "Badge " + text_of(at(r, "badge")) +
           " now belongs to participant #" + text_of(at(r, "participant")) +
           ".\n";
  return "Removed badge " + text_of(at(r, "badge")) + ".\n";
}

std::string facility_text(const invocation& inv, const json& r) {
  if (inv.command == "facility remove")
    return "Removed facility " + typed(inv, 0) + " (#" +
           text_of(at(r, "removed")) + ").\n";
  const auto& f = at(r, "facility");
  if (inv.command == "facility add")
    return "Added facility " + facility_label(f) + ", " +
           capacity_text(at(f, "capacity")) + ".\n";
  return "Facility #" + text_of(at(f, "id")) + " is now " +
         text_of(at(f, "name")) + ", " + capacity_text(at(f, "capacity")) +
         ".\n";
}

std::string reader_text(const invocation& inv, const json& r) {
  if (inv.command == "reader remove")
    return "Removed reader " + text_of(at(r, "reader")) + ".\n";
  if (inv.command == "reader assign")
    return "Reader " + text_of(at(r, "reader")) + " is now wired to gateway " +
           text_of(at(r, "gateway")) + ".\n";
  std::string out =
      "Reader " + text_of(at(r, "reader")) + " now belongs to " + typed(inv, 1);
  if (inv.command == "reader add")
    out += ", wired to gateway " + text_of(at(r, "gateway"));
  return out + ".\n";
}

std::string readers_text(const invocation&, const json& r) {
  const auto& list = at(r, "readers");
  if (!list.is_array() || list.empty()) return "No readers.\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : list) {
    const auto& name = at(x, "facility_name");
    const auto& gateway = at(x, "gateway");
    rows.push_back(
        {text_of(at(x, "reader")),
         name.is_null() ? text_of(at(x, "facility")) : text_of(name),
         gateway.is_null() ? "(none: scans denied)" : text_of(gateway)});
  }
  return format_table({{"READER"}, {"FACILITY"}, {"GATEWAY"}}, rows);
}

// A new token is shown once only, so it stands apart where nobody can
// miss it.
std::string gateway_text(const invocation& inv, const json& r) {
  auto id = text_of(at(r, "gateway"));
  if (inv.command == "gateway remove")
    return "Removed gateway " + id +
           "; its connection, if it had one, is closed.\n";
  std::string what =
      inv.command == "gateway add"
          ? "Added gateway " + id + "."
          : "Gave gateway " + id + " a new token; the old one no longer works.";
  return what +
         " Its token, shown only this once:\n"
         "\n"
         "    " +
         text_of(at(r, "token")) +
         "\n"
         "\n"
         "Configure the gateway with it now: it cannot be shown again\n"
         "('gateway rotate-token " +
         id + "' makes a new one).\n";
}

std::string import_text(const invocation&, const json& r) {
  return "Imported " +
         plural(count(r, "imported"), "participant", "participants") + ".\n";
}

using formatter = std::function<std::string(const invocation&, const json&)>;

const std::map<std::string, formatter>& formatters() {
  static const std::map<std::string, formatter> all{
      {"status", status_text},
      {"health", health_text},
      {"facilities", facilities_text},
      {"who", who_text},
      {"where", where_text},
      {"history", history_text},
      {"verify", verify_text},
      {"close", close_text},
      {"checkout", checkout_text},
      {"participant add", participant_text},
      {"participant edit", participant_text},
      {"participant suspend", participant_text},
      {"participant resume", participant_text},
      {"participant remove", participant_remove_text},
      {"keyholder grant", participant_text},
      {"keyholder revoke", participant_text},
      {"badge add", badge_text},
      {"badge remove", badge_text},
      {"facility add", facility_text},
      {"facility edit", facility_text},
      {"facility remove", facility_text},
      {"reader add", reader_text},
      {"reader move", reader_text},
      {"reader assign", reader_text},
      {"readers", readers_text},
      {"reader remove", reader_text},
      {"gateway add", gateway_text},
      {"gateway remove", gateway_text},
      {"gateway rotate-token", gateway_text},
      {"import participants", import_text},
  };
  return all;
}

}  // namespace

std::string format_table(const std::vector<column>& columns,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(columns.size());
  for (size_t c = 0; c < columns.size(); ++c)
    width[c] = columns[c].title.size();
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < columns.size(); ++c)
      width[c] = std::max(width[c], row[c].size());

  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
      bool last = c + 1 == columns.size();
      if (c > 0) out += "  ";
      out += columns[c].right ? pad + cell : cell + (last ? "" : pad);
    }
    out.erase(out.find_last_not_of(' ') + 1);
    return out + "\n";
  };

  std::vector<std::string> titles;
  for (const auto& c : columns)
    titles.push_back(c.title);
  std::string out = line(titles);
  for (const auto& row : rows)
    out += line(row);
  return out;
}

std::string text_of(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", v.get<double>());
    return buf;
  }
  return v.dump();
}

std::string person(const json& name, const json& id) {
  if (name.is_null()) return "#" + text_of(id);
  return text_of(name) + " (#" + text_of(id) + ")";
}

std::string format_result(const invocation& inv, const json& result) {
  auto it = formatters().find(inv.command);
  if (it == formatters().end()) return result.dump(2) + "\n";
  return it->second(inv, result);
}

std::string format_event(const json& e) {
  auto kind = text_of(at(e, "event"));
  if (kind == "dropped")
    return "(" + plural(count(e, "count"), "event", "events") +
           " dropped: this console read too slowly)\n";
  if (kind != "scan") return e.dump() + "\n";

  auto pad = [](std::string s, size_t w) {
    if (s.size() < w) s.append(w - s.size(), ' ');
    return s;
  };
  const auto& who = at(e, "participant");
  std::string line =
      time_cell(at(e, "at")) + "  " + pad(text_of(at(e, "facility")), 16) +
      "  " + pad(text_of(at(e, "reader")), 14) + "  " +
      pad(text_of(at(e, "outcome")), 18) + "  " +
      (who.is_null() ? "unknown badge" : person(at(e, "name"), who));
  if (!at(e, "visit").is_null()) line += "  visit " + text_of(at(e, "visit"));
  if (count(e, "closed") > 0) line += "  closed " + text_of(at(e, "closed"));
  return line + "\n";
}

std::string format_rejections(const invocation& inv, const json& server) {
  std::vector<std::pair<size_t, std::string>> lines;
  for (const auto& r : inv.rejected)
    lines.emplace_back(r.line, r.reason);
  if (server.is_array())
    for (const auto& r : server) {
      auto row = count(r, "row");
      size_t line = row >= 1 && static_cast<size_t>(row) <= inv.row_lines.size()
                        ? inv.row_lines[static_cast<size_t>(row) - 1]
                        : 0;
      lines.emplace_back(line, text_of(at(r, "reason")));
    }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& [line, reason] : lines)
    out += "  " + (line > 0 ? "line " + std::to_string(line) : "a row") + ": " +
           reason + "\n";
  return out;
}

}  // namespace facilityd::ctl
