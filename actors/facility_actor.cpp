#include "actors/facility_actor.hpp"

#include <caf/all.hpp>

#include "persistence/errc.hpp"
#include "util/log.hpp"

namespace facilityd {

namespace {

using self_pointer = facility_actor::stateful_pointer<facility_actor_state>;
using reply_promise = caf::typed_response_promise<scan_reply>;

bool is_timeout(const caf::error& e) {
  return e.category() == caf::atom("system") &&
         e.code() == static_cast<uint8_t>(caf::sec::request_timeout);
}

// Failures after which the database may hold something memory does not:
// decide again from a fresh read.
bool needs_reread(const caf::error& e) {
  if (is_timeout(e)) return true;
  auto code = errc_of(e);
  return code == errc::conflict || code == errc::outcome_unknown;
}

std::string facility_label(const facility_actor_state& st) {
  return st.facility ? "facility=" + std::to_string(st.facility->id)
                     : std::string{"facility=none"};
}

decision decide_scan(const facility_actor_state& st, const scan_request& s) {
  if (!st.facility) return decide_unknown_reader();
  return decide(*st.facility, st.dir->find_by_badge(s.badge));
}

void run_scan(self_pointer self, scan_request s, reply_promise rp, int attempt);

// Re-reads the facility from the database, replacing memory, then calls
// `next`; on failure calls `fail` and memory stays stale.
template <class Next, class Fail>
void reread(self_pointer self, Next next, Fail fail) {
  auto& st = self->state;
  self->request(st.db, st.opts.db_timeout, load_atom::value, st.facility->id)
      .await(
          [self, next](facility_state& fresh) mutable {
            LOG_INFO("facility", facility_label(self->state)
                                     << " re-read from the database at version "
                                     << fresh.version);
            self->state.facility = std::move(fresh);
            self->state.stale = false;
            next();
          },
          [self, fail](caf::error& e) mutable {
            // The store already logged the outage once; this would repeat
            // it for every scan.
            LOG_DEBUG("facility", facility_label(self->state)
                                      << " cannot re-read: " << describe(e));
            fail(make_error(errc::unavailable, describe(e)));
          });
}

void on_failure(self_pointer self, scan_request s, reply_promise rp,
                int attempt, const caf::error& e) {
  auto& st = self->state;
  if (!needs_reread(e)) {
    // Nothing reached the database, or it rolled back: memory is right.
    rp.deliver(e);
    return;
  }
  st.stale = st.facility.has_value();
  LOG_DEBUG("facility", facility_label(st)
                            << " scan " << s.gateway << "/" << s.seq
                            << " attempt " << attempt << ": " << describe(e));
  if (attempt + 1 >= st.opts.max_attempts) {
    rp.deliver(make_error(errc::unavailable, "gave up after " +
                                                 std::to_string(attempt + 1) +
                                                 " attempts: " + describe(e)));
    return;
  }
  run_scan(self, std::move(s), rp, attempt + 1);
}

void run_scan(self_pointer self, scan_request s, reply_promise rp,
              int attempt) {
  auto& st = self->state;
  if (st.stale) {
    reread(
        self, [self, s, rp, attempt] { run_scan(self, s, rp, attempt); },
        [rp](caf::error e) mutable { rp.deliver(std::move(e)); });
    return;
  }
  auto d = decide_scan(st, s);
  self->request(st.db, st.opts.db_timeout, record_atom::value, s, d)
      .await(
          [self, d, rp](recorded_scan& r) mutable {
            auto& st = self->state;
            // A replay changed nothing; a fresh commit is exactly `d`.
            if (!r.replayed && st.facility) apply(*st.facility, d, r.committed);
            rp.deliver(make_reply(r, *st.dir));
          },
          [self, s, rp, attempt](caf::error& e) mutable {
            on_failure(self, std::move(s), rp, attempt, e);
          });
}

}  // namespace

scan_reply make_reply(const recorded_scan& r, const directory& dir) {
  scan_reply out;
  out.result = r.result;
  out.replayed = r.replayed;
  out.visit = r.visit;
  out.closed = r.closed;
  if (r.who && r.result != outcome::denied_unknown_reader)
    if (auto p = dir.find(*r.who)) out.name = p->name;
  return out;
}

facility_actor::behavior_type facility(self_pointer self,
                                       std::optional<facility_state> initial,
                                       std::shared_ptr<const directory> dir,
                                       db_actor db, facility_options opts) {
  auto& st = self->state;
  st.facility = std::move(initial);
  st.dir = std::move(dir);
  st.db = std::move(db);
  st.opts = opts;
  return {
      [self](scan_atom, scan_request& s) -> caf::result<scan_reply> {
        // Scans that waited this long behind others would be answered too
        // late to be of use at a door; refusing at once lets the gateway
        // decide.
        if (self->mailbox().size() > self->state.opts.queue_limit)
          return make_error(errc::busy, "facility queue full");
        auto rp = self->make_response_promise<scan_reply>();
        run_scan(self, std::move(s), rp, 0);
        return rp;
      },
      [self](state_atom) -> caf::result<facility_state> {
        auto& st = self->state;
        if (!st.facility)
          return make_error(errc::rejected, "this actor owns no facility");
        if (!st.stale) return *st.facility;
        auto rp = self->make_response_promise<facility_state>();
        reread(
            self, [self, rp]() mutable { rp.deliver(*self->state.facility); },
            [rp](caf::error e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
  };
}

}  // namespace facilityd
