#include "ctl/csv_import.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "ctl/settings.hpp"

namespace facilityd::ctl {

namespace {

using nlohmann::json;

bool blank(const csv_record& r) {
  return r.fields.size() == 1 && r.fields[0].empty();
}

std::string trimmed(std::string_view s) {
  auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  auto last = s.find_last_not_of(" \t");
  return std::string{s.substr(first, last - first + 1)};
}

std::string lowered(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::optional<bool> parse_bool(const std::string& text) {
  auto t = lowered(trimmed(text));
  if (t.empty() || t == "false" || t == "no" || t == "n" || t == "0")
    return false;
  if (t == "true" || t == "yes" || t == "y" || t == "1") return true;
  return std::nullopt;
}

constexpr std::array<const char*, 4> columns{"name", "badge", "keyholder",
                                             "suspended"};

// The position of each known column in the header, -1 when absent.
std::array<int, 4> read_header(const csv_record& header,
                               const std::string& file) {
  std::array<int, 4> at{-1, -1, -1, -1};
  for (size_t i = 0; i < header.fields.size(); ++i) {
    auto name = lowered(trimmed(header.fields[i]));
    auto known = std::find(columns.begin(), columns.end(), name);
    if (known == columns.end())
      throw usage_error(file + ": unknown column '" + header.fields[i] +
                        "' in the header; the columns are name, badge,"
                        " keyholder and suspended");
    auto& slot = at[static_cast<size_t>(known - columns.begin())];
    if (slot >= 0)
      throw usage_error(file + ": the column '" + name + "' appears twice");
    slot = static_cast<int>(i);
  }
  if (at[0] < 0)
    throw usage_error(file + ": the header (line 1) has no 'name' column;" +
                      " it should be name,badge,keyholder,suspended");
  return at;
}

std::string field(const csv_record& r, int at) {
  if (at < 0 || static_cast<size_t>(at) >= r.fields.size()) return {};
  return r.fields[static_cast<size_t>(at)];
}

// One row as the server takes it, or the reason it cannot be sent.
std::optional<std::string> read_row(const csv_record& r,
                                    const std::array<int, 4>& at, size_t width,
                                    json& out) {
  if (r.fields.size() != width)
    return "has " + std::to_string(r.fields.size()) + " fields, the header " +
           std::to_string(width);
  auto name = trimmed(field(r, at[0]));
  if (name.empty()) return "the name is empty";
  auto keyholder = parse_bool(field(r, at[2]));
  if (!keyholder)
    return "keyholder must be true or false, not '" + field(r, at[2]) + "'";
  auto suspended = parse_bool(field(r, at[3]));
  if (!suspended)
    return "suspended must be true or false, not '" + field(r, at[3]) + "'";
  auto badge = trimmed(field(r, at[1]));
  out = {{"name", name},
         {"badge", badge.empty() ? json(nullptr) : json(badge)},
         {"keyholder", *keyholder},
         {"suspended", *suspended}};
  return std::nullopt;
}

}  // namespace

std::vector<csv_record> parse_csv(std::string_view text,
                                  const std::string& file) {
  // A byte order mark, as spreadsheets like to write.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<csv_record> out;
  csv_record record{1, {""}};
  size_t line = 1;
  size_t quote_line = 0;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        record.fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        record.fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
      quote_line = line;
    } else if (c == ',') {
      record.fields.emplace_back();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (!blank(record)) out.push_back(std::move(record));
      record = csv_record{++line, {""}};
    } else {
      record.fields.back() += c;
    }
  }
  if (quoted)
    throw usage_error(file + ": the quote opened on line " +
                      std::to_string(quote_line) + " is never closed");
  if (!blank(record)) out.push_back(std::move(record));
  return out;
}

participant_rows parse_participants_csv(std::string_view text,
                                        const std::string& file) {
  auto records = parse_csv(text, file);
  if (records.empty())
    throw usage_error(file +
                      " is empty; it needs the header"
                      " name,badge,keyholder,suspended and a row per person");
  auto at = read_header(records[0], file);
  if (records.size() == 1)
    throw usage_error(file + " has a header but no rows to import");

  participant_rows out;
  for (size_t i = 1; i < records.size(); ++i) {
    json row;
    if (auto why = read_row(records[i], at, records[0].fields.size(), row)) {
      out.rejected.push_back({records[i].line, *why});
      continue;
    }
    out.rows.push_back(std::move(row));
    out.lines.push_back(records[i].line);
  }
  return out;
}

}  // namespace facilityd::ctl
