#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/timespan.hpp>

#include "actors/messages.hpp"
#include "metrics/metrics.hpp"
#include "rules/directory.hpp"
#include "rules/facility_state.hpp"

namespace facilityd {

struct facility_options {
  /// How long the actor waits for one database request. Keep it above the
  /// database's statement timeout: a request that times out here may still
  /// commit there, so the actor re-reads its facility before going on.
  caf::timespan db_timeout = std::chrono::seconds{10};
  /// How often one scan is decided again after a conflict (the version
  /// fence) or a commit of unknown outcome, before it fails as unavailable.
  int max_attempts = 4;
  /// Messages waiting in one facility actor's mailbox beyond which a new
  /// scan is refused with errc::busy instead of queueing without bound.
  size_t queue_limit = 1000;
  /// Gets (event_atom, scan_event) for each scan committed while
  /// `*watchers` is above zero; events are not sent when either is unset.
  caf::actor events;
  std::shared_ptr<const std::atomic<int>> watchers;
  /// Where the actor reports its open visits and mailbox depth; none: not
  /// reported.
  std::shared_ptr<server_metrics> metrics;
};

struct facility_actor_state {
  std::optional<facility_state> facility;
  std::shared_ptr<const directory> dir;
  db_actor db;
  facility_options opts;
  /// Memory may differ from the database (a conflict, or a commit whose
  /// outcome is unknown): re-read before deciding the next scan.
  bool stale = false;
  /// The facility was removed; the registry stops this actor.
  bool removed = false;
  /// This facility's series in the metrics; empty without metrics.
  facility_gauges gauges;
};

/// The behavior of a facility actor: owns `initial` (none: the actor for
/// scans at unknown readers), decides each scan against it, writes the
/// decision through `db` and applies it once committed. While a scan's
/// request is out, every other message waits in the mailbox.
facility_actor::behavior_type facility(
    facility_actor::stateful_pointer<facility_actor_state> self,
    std::optional<facility_state> initial, std::shared_ptr<const directory> dir,
    db_actor db, facility_options opts);

/// Builds the reply for a recorded scan, naming the participant if known.
scan_reply make_reply(const recorded_scan& r, const directory& dir);

}  // namespace facilityd
