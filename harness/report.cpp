#include "harness/report.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace facility_sim {

namespace {

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::string ms(int64_t us) {
  return fixed(static_cast<double>(us) / 1000.0, 2) + " ms";
}

std::string outcomes_line(const run_stats& s) {
  std::string out;
  for (int i = 0; i < outcome_count; ++i) {
    auto n = s.by_outcome[static_cast<size_t>(i)];
    if (n == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::string{to_string(static_cast<outcome>(i))} + " " +
           std::to_string(n);
  }
  return out.empty() ? "none" : out;
}

std::string errors_line(const run_stats& s) {
  std::string out;
  for (auto& [code, n] : s.errors) {
    if (!out.empty()) out += ", ";
    out += code + " " + std::to_string(n);
  }
  return out.empty() ? "none" : out;
}

std::string latency_line(run_stats& s) {
  auto& xs = s.latency_us;
  if (xs.empty()) return "no scan was answered at its first send";
  return "p50 " + ms(percentile(xs, 0.5)) + ", p99 " +
         ms(percentile(xs, 0.99)) + ", p999 " + ms(percentile(xs, 0.999)) +
         ", max " + ms(percentile(xs, 1.0)) + " (" + std::to_string(xs.size()) +
         " scans answered at their first send)";
}

std::string connections_line(run_stats& s) {
  auto out = std::to_string(s.logins) + " logins, " +
             std::to_string(s.connection_losses) + " lost";
  auto& xs = s.login_us;
  if (xs.empty()) return out;
  return out + ", set-up (connect to WELCOME) p50 " + ms(percentile(xs, 0.5)) +
         ", max " + ms(percentile(xs, 1.0));
}

}  // namespace

void violation_log::add(std::string what) {
  ++count_;
  if (kept_.size() < kept_limit_) kept_.push_back(std::move(what));
}

int64_t run_stats::error_count() const {
  int64_t n = 0;
  for (auto& [code, count] : errors)
    n += count;
  return n;
}

int64_t percentile(std::vector<int64_t>& xs, double p) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<size_t>(p * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(rank, xs.size() - 1)];
}

std::string progress_line(double seconds, const run_stats& s,
                          const std::string& server_state, size_t violations) {
  std::ostringstream out;
  out << "[" << fixed(seconds, 1) << "s] sent " << s.first_sends << " acked "
      << s.acked << " resent " << s.resends << " errors " << s.error_count()
      << " in flight " << s.in_flight << " | " << server_state;
  if (violations > 0) out << " | violations " << violations;
  return out.str();
}

std::string summary(run_stats& s, const summary_input& in,
                    const violation_log& v) {
  double rate =
      in.traffic_s > 0 ? static_cast<double>(s.acked) / in.traffic_s : 0.0;
  std::ostringstream out;
  out << "summary\n"
      << "  world        " << in.world << "\n"
      << "  faults       " << in.faults << "\n"
      << "  scans        " << s.first_sends << " sent, " << s.resends
      << " resent, " << s.acked << " acknowledged, " << s.replays_compared
      << " repeated answers compared\n"
      << "  outcomes     " << outcomes_line(s) << "\n"
      << "  errors       " << errors_line(s) << "\n"
      << "  connections  " << connections_line(s) << "\n"
      << "  time         " << fixed(in.traffic_s, 1) << " s of traffic, "
      << fixed(in.drain_s, 1) << " s of it draining\n"
      << "  throughput   " << fixed(rate, 0) << " acknowledged scans/s\n"
      << "  latency      " << latency_line(s) << "\n"
      << "  database     " << in.db.scans << " scans, " << in.db.visits
      << " visits (" << in.db.open_visits << " open)\n"
      << "  violations   " << v.count() << "\n";
  for (auto& text : v.kept())
    out << "    - " << text << "\n";
  if (v.count() > v.kept().size())
    out << "    ... and " << (v.count() - v.kept().size()) << " more\n";
  return out.str();
}

}  // namespace facility_sim
