#include "harness/answer.hpp"

#include <array>
#include <charconv>
#include <vector>

namespace facility_sim {

namespace {

constexpr std::array<std::string_view, outcome_count> outcome_names = {
    "checked_in",           "checked_out",           "checked_out_closed",
    "denied_closed",        "denied_full",           "denied_suspended",
    "denied_unknown_badge", "denied_unknown_reader",
};

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto end = line.find(' ', start);
    out.push_back(line.substr(start, end == line.npos ? end : end - start));
    if (end == line.npos) return out;
    start = end + 1;
  }
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return {};
  T value{};
  auto end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return {};
  return value;
}

bool opens_or_closes(outcome x) {
  return x == outcome::checked_in || x == outcome::checked_out ||
         x == outcome::checked_out_closed;
}

bool names_someone(outcome x) {
  return x != outcome::denied_unknown_badge &&
         x != outcome::denied_unknown_reader;
}

// Takes the detail `key`=value at `tokens[i]` when the outcome calls for
// it; false when it is missing where required or present where not.
bool take_detail(const std::vector<std::string_view>& tokens, size_t& i,
                 std::string_view key, bool wanted, std::string_view& value) {
  bool present = i < tokens.size() && tokens[i].starts_with(key);
  if (present != wanted) return false;
  if (present) value = tokens[i++].substr(key.size());
  return true;
}

}  // namespace

std::string_view to_string(outcome x) {
  return outcome_names[static_cast<size_t>(x)];
}

std::optional<outcome> parse_outcome(std::string_view name) {
  for (size_t i = 0; i < outcome_names.size(); ++i)
    if (outcome_names[i] == name) return static_cast<outcome>(i);
  return {};
}

std::optional<uint64_t> parse_seq(std::string_view text) {
  return parse_number<uint64_t>(text);
}

std::optional<ack> parse_ack(std::string_view line) {
  auto tokens = split(line);
  if (tokens.size() < 3 || tokens[0] != "ACK") return {};
  auto seq = parse_seq(tokens[1]);
  auto result = parse_outcome(tokens[2]);
  if (!seq || !result) return {};

  ack a{*seq, *result, 0, 0, {}, std::string{line}};
  size_t i = 3;
  std::string_view visit, closed, name;
  if (!take_detail(tokens, i, "visit=", opens_or_closes(*result), visit) ||
      !take_detail(tokens, i, "closed=", *result == outcome::checked_out_closed,
                   closed) ||
      !take_detail(tokens, i, "name=", names_someone(*result), name) ||
      i != tokens.size())
    return {};

  if (!visit.empty()) {
    auto v = parse_number<int64_t>(visit);
    if (!v || *v <= 0) return {};
    a.visit = *v;
  }
  if (!closed.empty()) {
    auto c = parse_number<int32_t>(closed);
    if (!c) return {};
    a.closed = *c;
  }
  a.name = std::string{name};
  return a;
}

std::optional<err> parse_err(std::string_view line) {
  auto tokens = split(line);
  if (tokens.size() < 3 || tokens[0] != "ERR") return {};
  err e;
  if (tokens[1] != "-") {
    e.seq = parse_seq(tokens[1]);
    if (!e.seq) return {};
  }
  e.code = std::string{tokens[2]};
  return e;
}

std::string encode_name(std::string_view name) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : name) {
    auto b = static_cast<unsigned char>(c);
    if (b >= 0x21 && b <= 0x7E && c != '%') {
      out += c;
    } else {
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 0xF];
    }
  }
  return out;
}

}  // namespace facility_sim
