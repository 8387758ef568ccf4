#include "ctl/times.hpp"

#include <cstdio>

namespace facilityd::ctl {

namespace {

// The parts of "YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|+HH[:MM]|-HH[:MM]]".
struct iso_parts {
  std::tm fields{};
  std::string fraction;  // the digits after the point, if any
  bool has_time = false;
  bool has_zone = false;
  long offset_s = 0;  // east of UTC
};

class reader {
 public:
  explicit reader(std::string_view s) : s_(s) {}

  bool done() const { return i_ == s_.size(); }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool skip(char c) {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }

  // Exactly `n` digits.
  bool number(size_t n, int& out) {
    if (i_ + n > s_.size()) return false;
    out = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s_[i_ + k];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    i_ += n;
    return true;
  }

  std::string digits() {
    auto start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
      ++i_;
    return std::string{s_.substr(start, i_ - start)};
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

bool parse_zone(reader& r, iso_parts& p) {
  if (r.skip('Z') || r.skip('z')) {
    p.has_zone = true;
    return true;
  }
  int sign = r.skip('+') ? 1 : r.skip('-') ? -1 : 0;
  if (sign == 0) return true;
  int hh = 0, mm = 0;
  if (!r.number(2, hh)) return false;
  if (r.skip(':') ? !r.number(2, mm) : !r.done() && !r.number(2, mm))
    return false;
  p.has_zone = true;
  p.offset_s = sign * (hh * 3600L + mm * 60L);
  return true;
}

std::optional<iso_parts> parse_iso(std::string_view text) {
  reader r{text};
  iso_parts p;
  auto& t = p.fields;
  if (!r.number(4, t.tm_year) || !r.skip('-') || !r.number(2, t.tm_mon) ||
      !r.skip('-') || !r.number(2, t.tm_mday))
    return std::nullopt;
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  if (r.skip('T') || r.skip('t') || r.skip(' ')) {
    p.has_time = true;
    if (!r.number(2, t.tm_hour) || !r.skip(':') || !r.number(2, t.tm_min))
      return std::nullopt;
    if (r.skip(':') && !r.number(2, t.tm_sec)) return std::nullopt;
    if (r.skip('.') || r.skip(',')) {
      p.fraction = r.digits();
      if (p.fraction.empty()) return std::nullopt;
    }
    if (!parse_zone(r, p)) return std::nullopt;
  }
  if (!r.done() || t.tm_mon < 0 || t.tm_mon > 11 || t.tm_mday < 1 ||
      t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 || t.tm_sec > 60)
    return std::nullopt;
  return p;
}

// The instant `p` names: UTC less the offset when it has a zone, else the
// local time zone's reading of it.
std::time_t instant_of(iso_parts p) {
  if (p.has_zone) return ::timegm(&p.fields) - p.offset_s;
  p.fields.tm_isdst = -1;
  return std::mktime(&p.fields);
}

std::string utc_iso(std::time_t t, const std::string& fraction) {
  std::tm u{};
  ::gmtime_r(&t, &u);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &u);
  return std::string{buf} + (fraction.empty() ? "" : "." + fraction) + "Z";
}

std::optional<std::string> age_to_iso(std::string_view text, std::time_t now) {
  if (text.size() < 2 || text.size() > 10) return std::nullopt;
  long unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return std::nullopt;
  }
  long n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return utc_iso(now - n * unit, "");
}

}  // namespace

std::string local_time(std::string_view iso) {
  auto p = parse_iso(iso);
  if (!p || !p->has_zone) return std::string{iso};
  auto t = instant_of(*p);
  std::tm local{};
  ::localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

std::optional<std::string> since_to_iso(std::string_view text,
                                        std::time_t now) {
  if (auto age = age_to_iso(text, now)) return age;
  auto p = parse_iso(text);
  if (!p) return std::nullopt;
  return utc_iso(instant_of(*p), p->fraction);
}

std::string duration_text(int64_t s) {
  char buf[48];
  if (s >= 86400)
    std::snprintf(buf, sizeof(buf), "%lldd %lldh",
                  static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  else if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%lldh %02lldm",
                  static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof(buf), "%lldm %02llds",
                  static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  return buf;
}

}  // namespace facilityd::ctl
