// The metrics library on its own: which families exist, that recording
// moves the right series, and what the text exposition says about them.

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "metrics/metrics.hpp"

using namespace facilityd;
using namespace std::chrono_literals;

namespace {

// The samples of a text exposition: "name{labels}" to value. Comment lines
// are checked to be HELP or TYPE lines and left out.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      CHECK_MESSAGE(
          (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0),
          line);
      continue;
    }
    auto space = line.rfind(' ');
    REQUIRE_MESSAGE(space != std::string::npos, line);
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

std::optional<double> sample(const server_metrics& m, const std::string& key) {
  auto all = samples(m.text());
  auto i = all.find(key);
  if (i == all.end()) return std::nullopt;
  return i->second;
}

bool has_type(const std::string& text, const std::string& family,
              const std::string& type) {
  return text.find("# TYPE " + family + " " + type + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("every family is present with its type before anything happens") {
  server_metrics m;
  auto text = m.text();
  CHECK(has_type(text, "facilityd_scans_total", "counter"));
  CHECK(has_type(text, "facilityd_scans_replayed_total", "counter"));
  CHECK(has_type(text, "facilityd_scan_errors_total", "counter"));
  CHECK(has_type(text, "facilityd_scan_ack_seconds", "histogram"));
  CHECK(has_type(text, "facilityd_db_transaction_seconds", "histogram"));
  for (std::string g :
       {"facilityd_db_queue_depth", "facilityd_db_connections_busy",
        "facilityd_db_connections", "facilityd_db_up",
        "facilityd_gateways_connected", "facilityd_connections_open"})
    CHECK_MESSAGE(has_type(text, g, "gauge"), g);
  // The families by facility show once they have a series.
  auto m2 = std::make_shared<server_metrics>();
  facility_gauges lab{m2, 1, "lab"};
  for (std::string g :
       {"facilityd_open_visits", "facilityd_facility_queue_depth"}) {
    CHECK_MESSAGE(!has_type(text, g, "gauge"), g);
    CHECK_MESSAGE(has_type(m2->text(), g, "gauge"), g);
  }

  // Every outcome and every error code is there at zero, so that a rate
  // over them works from the first scrape on.
  auto all = samples(text);
  for (auto o : all_outcomes)
    CHECK(all.at("facilityd_scans_total{outcome=\"" +
                 std::string{to_string(o)} + "\"}") == 0);
  for (auto code : {"unavailable", "busy", "shutting_down", "internal",
                    "outcome_unknown", "timeout"})
    CHECK(all.at(std::string{"facilityd_scan_errors_total{code=\""} + code +
                 "\"}") == 0);
  CHECK(all.at("facilityd_scan_ack_seconds_count") == 0);
  CHECK(
      all.at("facilityd_db_transaction_seconds_count{kind=\"record_scan\"}") ==
      0);
}

TEST_CASE("answered and failed scans count under their own labels") {
  server_metrics m;
  m.scan_answered(outcome::checked_in, false);
  m.scan_answered(outcome::checked_in, true);
  m.scan_answered(outcome::denied_full, false);
  m.scan_failed(errc::busy);
  m.scan_failed(errc::busy);
  m.scan_failed(errc::unavailable);
  m.scan_timed_out();

  auto all = samples(m.text());
  CHECK(all.at("facilityd_scans_total{outcome=\"checked_in\"}") == 2);
  CHECK(all.at("facilityd_scans_total{outcome=\"denied_full\"}") == 1);
  CHECK(all.at("facilityd_scans_total{outcome=\"checked_out\"}") == 0);
  CHECK(all.at("facilityd_scans_replayed_total") == 1);
  CHECK(all.at("facilityd_scan_errors_total{code=\"busy\"}") == 2);
  CHECK(all.at("facilityd_scan_errors_total{code=\"unavailable\"}") == 1);
  CHECK(all.at("facilityd_scan_errors_total{code=\"timeout\"}") == 1);
  CHECK(all.at("facilityd_scan_errors_total{code=\"shutting_down\"}") == 0);
}

TEST_CASE("latencies land in the histogram's buckets in seconds") {
  server_metrics m;
  m.scan_acknowledged(2ms);
  m.scan_acknowledged(300ms);
  m.db_transaction(db_kind::record_scan, 1500us);
  m.db_transaction(db_kind::load_facility, 20ms);

  auto all = samples(m.text());
  CHECK(all.at("facilityd_scan_ack_seconds_count") == 2);
  CHECK(all.at("facilityd_scan_ack_seconds_sum") == doctest::Approx(0.302));
  CHECK(all.at("facilityd_scan_ack_seconds_bucket{le=\"0.001\"}") == 0);
  CHECK(all.at("facilityd_scan_ack_seconds_bucket{le=\"0.0025\"}") == 1);
  CHECK(all.at("facilityd_scan_ack_seconds_bucket{le=\"0.5\"}") == 2);
  CHECK(all.at("facilityd_scan_ack_seconds_bucket{le=\"+Inf\"}") == 2);
  CHECK(
      all.at("facilityd_db_transaction_seconds_count{kind=\"record_scan\"}") ==
      1);
  CHECK(all.at(
            "facilityd_db_transaction_seconds_count{kind=\"load_facility\"}") ==
        1);
  CHECK(all.at(
            "facilityd_db_transaction_seconds_count{kind=\"change_visits\"}") ==
        0);
}

TEST_CASE("pool and connection gauges show the last value set") {
  server_metrics m;
  m.db_connections(4);
  m.db_pool(7, 3);
  m.db_pool(2, 4);
  m.db_up(true);
  m.gateway_logged_in();
  m.gateway_logged_in();
  m.gateway_left();
  m.connection_opened();

  auto all = samples(m.text());
  CHECK(all.at("facilityd_db_connections") == 4);
  CHECK(all.at("facilityd_db_queue_depth") == 2);
  CHECK(all.at("facilityd_db_connections_busy") == 4);
  CHECK(all.at("facilityd_db_up") == 1);
  CHECK(all.at("facilityd_gateways_connected") == 1);
  CHECK(all.at("facilityd_connections_open") == 1);
  m.db_up(false);
  CHECK(sample(m, "facilityd_db_up") == 0);
}

TEST_CASE("a facility's gauges come and go with their owner") {
  auto m = std::make_shared<server_metrics>();
  const std::string lab =
      "facilityd_open_visits{facility=\"lab\",facility_id=\"7\"}";
  {
    facility_gauges g{m, 7, "lab"};
    g.open_visits(3);
    g.queue_depth(5);
    CHECK(sample(*m, lab) == 3);
    CHECK(sample(*m,
                 "facilityd_facility_queue_depth{facility=\"lab\","
                 "facility_id=\"7\"}") == 5);

    // A rename moves the series and keeps the value.
    g.rename("bio lab");
    CHECK_FALSE(sample(*m, lab));
    CHECK(sample(*m,
                 "facilityd_open_visits{facility=\"bio lab\","
                 "facility_id=\"7\"}") == 3);

    // Moved-from gauges own nothing.
    facility_gauges moved = std::move(g);
    moved.open_visits(4);
    CHECK(sample(*m,
                 "facilityd_open_visits{facility=\"bio lab\","
                 "facility_id=\"7\"}") == 4);
  }
  auto text = m->text();
  CHECK(text.find("facility_id=\"7\"") == std::string::npos);

  // Removed at once when asked, and harmless to use afterwards.
  facility_gauges shop{m, 8, "shop"};
  shop.clear();
  shop.open_visits(1);
  CHECK(m->text().find("facility_id=\"8\"") == std::string::npos);

  // Without metrics every call does nothing.
  facility_gauges none;
  none.open_visits(1);
  none.rename("x");
  facility_gauges null_metrics{nullptr, 9, "nine"};
  null_metrics.queue_depth(2);
}
