#include "metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <utility>

namespace facilityd {

namespace {

using prometheus::Histogram;

constexpr db_kind all_db_kinds[] = {
    db_kind::record_scan,   db_kind::load_facility,   db_kind::change_visits,
    db_kind::edit_facility, db_kind::remove_facility,
};
static_assert(std::size(all_db_kinds) == db_kind_count);

// From half a millisecond (a scan on an idle server next to its database)
// to a minute (gateway.scan-timeout).
Histogram::BucketBoundaries latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

prometheus::Gauge& gauge(prometheus::Registry& r, const std::string& name,
                         const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

std::string_view to_string(db_kind x) {
  switch (x) {
    case db_kind::record_scan:
      return "record_scan";
    case db_kind::load_facility:
      return "load_facility";
    case db_kind::change_visits:
      return "change_visits";
    case db_kind::edit_facility:
      return "edit_facility";
    case db_kind::remove_facility:
      return "remove_facility";
  }
  return "record_scan";
}

server_metrics::server_metrics()
    : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  scans_family_ =
      &prometheus::BuildCounter()
           .Name("facilityd_scans_total")
           .Help("Scans answered with an ACK, by outcome; replays included")
           .Register(r);
  for (auto o : all_outcomes)
    scans_[static_cast<size_t>(o)] =
        &scans_family_->Add({{"outcome", std::string{to_string(o)}}});
  replayed_ = &prometheus::BuildCounter()
                   .Name("facilityd_scans_replayed_total")
                   .Help(
                       "Scans answered with the stored result of an "
                       "earlier recording of the same scan")
                   .Register(r)
                   .Add({});

  errors_family_ = &prometheus::BuildCounter()
                        .Name("facilityd_scan_errors_total")
                        .Help("Scans answered with an ERR, by error code")
                        .Register(r);
  errors_[0] = &errors_family_->Add({{"code", "timeout"}});
  for (size_t i = 1; i < error_slots; ++i)
    errors_[i] = &errors_family_->Add(
        {{"code", std::string{to_string(static_cast<errc>(i))}}});

  ack_ = &prometheus::BuildHistogram()
              .Name("facilityd_scan_ack_seconds")
              .Help("Time from reading a scan's line to queueing its answer")
              .Register(r)
              .Add({}, latency_buckets());

  db_family_ = &prometheus::BuildHistogram()
                    .Name("facilityd_db_transaction_seconds")
                    .Help("One database request as a worker runs it, by kind")
                    .Register(r);
  for (auto k : all_db_kinds)
    db_transactions_[static_cast<size_t>(k)] = &db_family_->Add(
        {{"kind", std::string{to_string(k)}}}, latency_buckets());

  db_queue_ = &gauge(r, "facilityd_db_queue_depth",
                     "Requests waiting for a database connection");
  db_busy_ = &gauge(r, "facilityd_db_connections_busy",
                    "Database connections running a request");
  db_connections_ = &gauge(r, "facilityd_db_connections",
                           "Database connections in the scan pool");
  db_up_ = &gauge(r, "facilityd_db_up",
                  "1 when the last health check reached the database");
  gateways_connected_ = &gauge(r, "facilityd_gateways_connected",
                               "Gateway connections logged in");
  connections_open_ = &gauge(r, "facilityd_connections_open",
                             "Gateway connections open, logged in or not");

  open_visits_family_ = &prometheus::BuildGauge()
                             .Name("facilityd_open_visits")
                             .Help("People checked in, by facility")
                             .Register(r);
  facility_queue_family_ =
      &prometheus::BuildGauge()
           .Name("facilityd_facility_queue_depth")
           .Help("Messages waiting for a facility's actor, by facility")
           .Register(r);
}

server_metrics::~server_metrics() = default;

std::string server_metrics::text() const {
  return prometheus::TextSerializer{}.Serialize(registry_->Collect());
}

void server_metrics::scan_answered(outcome x, bool replayed) {
  scans_[static_cast<size_t>(x)]->Increment();
  if (replayed) replayed_->Increment();
}

void server_metrics::scan_failed(errc code) {
  auto i = static_cast<size_t>(code);
  errors_[i < error_slots ? i : static_cast<size_t>(errc::internal)]
      ->Increment();
}

void server_metrics::scan_timed_out() {
  errors_[0]->Increment();
}

void server_metrics::scan_acknowledged(
    std::chrono::steady_clock::duration took) {
  ack_->Observe(seconds(took));
}

void server_metrics::connection_opened() {
  connections_open_->Increment();
}

void server_metrics::connection_closed() {
  connections_open_->Decrement();
}

void server_metrics::gateway_logged_in() {
  gateways_connected_->Increment();
}

void server_metrics::gateway_left() {
  gateways_connected_->Decrement();
}

void server_metrics::db_transaction(db_kind kind,
                                    std::chrono::steady_clock::duration took) {
  db_transactions_[static_cast<size_t>(kind)]->Observe(seconds(took));
}

void server_metrics::db_pool(size_t queued, size_t busy) {
  db_queue_->Set(static_cast<double>(queued));
  db_busy_->Set(static_cast<double>(busy));
}

void server_metrics::db_connections(size_t workers) {
  db_connections_->Set(static_cast<double>(workers));
}

void server_metrics::db_up(bool up) {
  db_up_->Set(up ? 1 : 0);
}

// -- facility_gauges ----------------------------------------------------------

facility_gauges::facility_gauges(std::shared_ptr<server_metrics> m, int64_t id,
                                 std::string name)
    : metrics_(std::move(m)), id_(id) {
  if (metrics_) add(name);
}

facility_gauges::~facility_gauges() {
  clear();
}

facility_gauges::facility_gauges(facility_gauges&& other) noexcept
    : metrics_(std::move(other.metrics_)),
      id_(other.id_),
      open_visits_(std::exchange(other.open_visits_, nullptr)),
      queue_depth_(std::exchange(other.queue_depth_, nullptr)) {}

facility_gauges& facility_gauges::operator=(facility_gauges&& other) noexcept {
  if (this != &other) {
    clear();
    metrics_ = std::move(other.metrics_);
    id_ = other.id_;
    open_visits_ = std::exchange(other.open_visits_, nullptr);
    queue_depth_ = std::exchange(other.queue_depth_, nullptr);
  }
  return *this;
}

void facility_gauges::add(const std::string& name) {
  prometheus::Labels labels{{"facility", name},
                            {"facility_id", std::to_string(id_)}};
  open_visits_ = &metrics_->open_visits_family_->Add(labels);
  queue_depth_ = &metrics_->facility_queue_family_->Add(labels);
}

void facility_gauges::open_visits(size_t n) {
  if (open_visits_) open_visits_->Set(static_cast<double>(n));
}

void facility_gauges::queue_depth(size_t n) {
  if (queue_depth_) queue_depth_->Set(static_cast<double>(n));
}

void facility_gauges::rename(const std::string& name) {
  if (!metrics_ || !open_visits_) return;
  auto visits = open_visits_->Value();
  auto queued = queue_depth_->Value();
  clear();
  add(name);
  open_visits_->Set(visits);
  queue_depth_->Set(queued);
}

void facility_gauges::clear() {
  if (!metrics_) return;
  if (open_visits_) metrics_->open_visits_family_->Remove(open_visits_);
  if (queue_depth_) metrics_->facility_queue_family_->Remove(queue_depth_);
  open_visits_ = nullptr;
  queue_depth_ = nullptr;
}

}  // namespace facilityd
