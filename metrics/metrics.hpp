#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "persistence/errc.hpp"
#include "rules/outcome.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace facilityd {

/// The kinds of transaction a database worker runs; a label of
/// facilityd_db_transaction_seconds.
enum class db_kind : uint8_t {
  record_scan,
  load_facility,
  change_visits,
  edit_facility,
  remove_facility,
};

inline constexpr size_t db_kind_count = 5;

std::string_view to_string(db_kind x);

class facility_gauges;

/// The server's Prometheus metrics: one registry and every family in it,
/// with the series that the scan path touches resolved once, here, so that
/// recording one costs an atomic update and no label lookup. Every member
/// function may be called from any thread; prometheus-cpp's metrics are
/// thread-safe and nothing here adds a lock on the scan path.
///
/// The families, and where they are measured:
///
///  - facilityd_scans_total{outcome}: scans answered with an ACK, by the
///    outcome names of rules/outcome.hpp, replays included. Counted by the
///    gateway session when the ACK is queued for writing.
///  - facilityd_scans_replayed_total: the part of those that were replays
///    of a scan recorded before.
///  - facilityd_scan_errors_total{code}: scans answered with an ERR, by
///    the errc name behind it (persistence/errc.hpp: unavailable, busy,
///    shutting_down, ...), or "timeout" when the connection gave up
///    waiting for the actors. Counted by the gateway session, including
///    the scans it refuses itself (too many in flight, shutting down).
///  - facilityd_scan_ack_seconds: for each scan handed to the actors, the
///    time from reading its line to queueing its answer (ACK or ERR).
///  - facilityd_db_transaction_seconds{kind}: one database request as a
///    worker runs it, by db_kind; measured on the worker's thread.
///  - facilityd_db_queue_depth: requests waiting for a database worker.
///  - facilityd_db_connections_busy: workers running a request.
///  - facilityd_db_connections: workers in the pool (db.pool-size).
///  - facilityd_db_up: 1 when the last health check reached PostgreSQL
///    (SELECT 1 on a connection of its own), else 0.
///  - facilityd_gateways_connected: gateway connections logged in.
///  - facilityd_connections_open: gateway connections open, logged in or
///    not.
///  - facilityd_open_visits{facility, facility_id}: people inside each
///    facility, set by its actor after every commit.
///  - facilityd_facility_queue_depth{facility, facility_id}: messages
///    waiting in each facility actor's mailbox, set by the actor when it
///    takes a scan and when it has answered one.
class server_metrics {
 public:
  server_metrics();
  ~server_metrics();
  server_metrics(const server_metrics&) = delete;
  server_metrics& operator=(const server_metrics&) = delete;

  /// Every metric in the Prometheus text exposition format.
  std::string text() const;

  prometheus::Registry& registry() { return *registry_; }

  // -- the gateway side -------------------------------------------------------

  void scan_answered(outcome x, bool replayed);
  void scan_failed(errc code);
  /// A scan the connection stopped waiting for (gateway.scan-timeout).
  void scan_timed_out();
  void scan_acknowledged(std::chrono::steady_clock::duration took);

  void connection_opened();
  void connection_closed();
  void gateway_logged_in();
  /// A logged-in gateway's connection closed.
  void gateway_left();

  // -- the database -----------------------------------------------------------

  void db_transaction(db_kind kind, std::chrono::steady_clock::duration took);
  void db_pool(size_t queued, size_t busy);
  void db_connections(size_t workers);
  void db_up(bool up);

 private:
  friend class facility_gauges;

  std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Counter>* scans_family_;
  prometheus::Family<prometheus::Counter>* errors_family_;
  prometheus::Family<prometheus::Histogram>* db_family_;
  prometheus::Family<prometheus::Gauge>* open_visits_family_;
  prometheus::Family<prometheus::Gauge>* facility_queue_family_;

  // errc values start at 1; slot 0 holds "timeout".
  static constexpr size_t error_slots = 10;

  std::array<prometheus::Counter*, std::size(all_outcomes)> scans_{};
  prometheus::Counter* replayed_;
  std::array<prometheus::Counter*, error_slots> errors_{};
  prometheus::Histogram* ack_;
  std::array<prometheus::Histogram*, db_kind_count> db_transactions_{};
  prometheus::Gauge* db_queue_;
  prometheus::Gauge* db_busy_;
  prometheus::Gauge* db_connections_;
  prometheus::Gauge* db_up_;
  prometheus::Gauge* gateways_connected_;
  prometheus::Gauge* connections_open_;
};

/// One facility's series in facilityd_open_visits and
/// facilityd_facility_queue_depth, added to their families on construction
/// and removed when the object goes. Owned by the facility's actor. The
/// series are labelled with the facility's id as well as its name: ids are
/// never reused, so two owners can never share (and remove) one series.
/// Empty, every call a no-op, when default-constructed or given no
/// metrics, as in tests that run without them.
class facility_gauges {
 public:
  facility_gauges() = default;
  facility_gauges(std::shared_ptr<server_metrics> m, int64_t id,
                  std::string name);
  ~facility_gauges();
  facility_gauges(facility_gauges&& other) noexcept;
  facility_gauges& operator=(facility_gauges&& other) noexcept;

  void open_visits(size_t n);
  void queue_depth(size_t n);

  /// Moves the series to the facility's new name, keeping their values.
  void rename(const std::string& name);

  /// Removes the series now (the facility was removed).
  void clear();

 private:
  void add(const std::string& name);

  std::shared_ptr<server_metrics> metrics_;
  int64_t id_ = 0;
  prometheus::Gauge* open_visits_ = nullptr;
  prometheus::Gauge* queue_depth_ = nullptr;
};

}  // namespace facilityd
