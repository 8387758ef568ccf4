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

// Tells the metrics how many people are inside, after memory changed.
void report_visits(facility_actor_state& st) {
  if (st.facility) st.gauges.open_visits(st.facility->visits.size());
}

// Tells the metrics how many messages wait behind the current one.
void report_queue(self_pointer self) {
  self->state.gauges.queue_depth(self->mailbox().size());
}

void tell_watchers(const facility_actor_state& st, const scan_request& s,
                   const recorded_scan& r, const scan_reply& reply) {
  const auto& o = st.opts;
  if (!o.events || !o.watchers || o.watchers->load() <= 0) return;
  scan_event e;
  e.at_us = r.committed.at_us;
  if (st.facility) {
    e.facility = st.facility->id;
    e.facility_name = st.facility->name;
  }
  e.scan = s;
  e.reply = reply;
  e.who = r.who;
  caf::anon_send(o.events, event_atom::value, std::move(e));
}

// Re-reads the facility from the database, replacing memory, then calls
// `next`; on failure calls `fail` and memory stays stale.
template <class Next, class Fail>
void reread(self_pointer self, Next next, Fail fail) {
  auto& st = self->state;
  self->request(st.db, st.opts.db_timeout, load_atom::value, st.facility->id)
      .await(
          [self, next](facility_state& fresh) mutable {
            LOG_INFO_LIMITED("facility",
                             facility_label(self->state)
                                 << " re-read from the database at version "
                                 << fresh.version);
            self->state.facility = std::move(fresh);
            self->state.stale = false;
            report_visits(self->state);
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

// After a failed write: when the database may now hold something memory
// does not (a conflict, an unknown outcome), marks memory stale and calls
// `retry`, which re-reads and decides again; gives up as unavailable after
// max_attempts. Otherwise memory is right and `fail` gets the error.
template <class Retry, class Fail>
void on_failure(self_pointer self, int attempt, const caf::error& e,
                const std::string& what, Retry retry, Fail fail) {
  auto& st = self->state;
  if (!needs_reread(e)) {
    fail(e);
    return;
  }
  st.stale = st.facility.has_value();
  LOG_DEBUG("facility", facility_label(st) << " " << what << " attempt "
                                           << attempt << ": " << describe(e));
  if (attempt + 1 >= st.opts.max_attempts) {
    fail(make_error(errc::unavailable, "gave up after " +
                                           std::to_string(attempt + 1) +
                                           " attempts: " + describe(e)));
    return;
  }
  retry();
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
          [self, s, d, rp](recorded_scan& r) mutable {
            auto& st = self->state;
            // A replay changed nothing; a fresh commit is exactly `d`.
            if (!r.replayed && st.facility) {
              apply(*st.facility, d, r.committed);
              report_visits(st);
            }
            auto reply = make_reply(r, *st.dir);
            if (!r.replayed) tell_watchers(st, s, r, reply);
            rp.deliver(std::move(reply));
            report_queue(self);
          },
          [self, s, rp, attempt](caf::error& e) mutable {
            on_failure(
                self, attempt, e,
                "scan " + s.gateway + "/" + std::to_string(s.seq),
                [self, s, rp, attempt] { run_scan(self, s, rp, attempt + 1); },
                [self, rp](const caf::error& err) mutable {
                  rp.deliver(err);
                  report_queue(self);
                });
          });
}

using count_promise = caf::typed_response_promise<int32_t>;

// Decides a visit change against the current state: the change, or an
// error when it cannot apply (such as checking out someone not inside).
using change_decider =
    std::function<caf::expected<visit_change>(const facility_state&)>;

// Like run_scan, for a visit change: decide, write, apply, answer with the
// number of visits closed.
void run_change(self_pointer self, change_decider decide_change,
                audit_entry why, count_promise rp, int attempt) {
  auto& st = self->state;
  if (st.stale) {
    reread(
        self, [=] { run_change(self, decide_change, why, rp, attempt); },
        [rp](caf::error e) mutable { rp.deliver(std::move(e)); });
    return;
  }
  auto c = decide_change(*st.facility);
  if (!c) {
    rp.deliver(c.error());
    return;
  }
  if (c->empty()) {
    rp.deliver(int32_t{0});
    return;
  }
  self->request(st.db, st.opts.db_timeout, change_atom::value, *c, why)
      .await(
          [self, c = *c, rp](commit& k) mutable {
            apply(*self->state.facility, c, k.version);
            report_visits(self->state);
            rp.deliver(static_cast<int32_t>(c.closes.size()));
          },
          [=](caf::error& e) mutable {
            on_failure(
                self, attempt, e, "change " + why.action,
                [=] { run_change(self, decide_change, why, rp, attempt + 1); },
                [rp](const caf::error& err) mutable { rp.deliver(err); });
          });
}

// Writes a change of the facility's own settings (or its removal), fenced
// on its version; re-reads once after a conflict.
void run_settings(self_pointer self, facility_edit e, audit_entry why,
                  bool remove, count_promise rp, int attempt) {
  auto& st = self->state;
  if (st.stale) {
    reread(
        self, [=] { run_settings(self, e, why, remove, rp, attempt); },
        [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
    return;
  }
  auto on_ok = [self, e, remove, rp](commit& k) mutable {
    auto& st = self->state;
    auto& f = *st.facility;
    f.version = k.version;
    if (e.name) {
      f.name = *e.name;
      st.gauges.rename(f.name);
    }
    if (e.set_capacity) f.capacity = e.capacity;
    if (remove) {
      st.removed = true;
      st.gauges.clear();
    }
    rp.deliver(int32_t{0});
  };
  auto on_error = [=](caf::error& err) mutable {
    on_failure(
        self, attempt, err, "settings " + why.action,
        [=] { run_settings(self, e, why, remove, rp, attempt + 1); },
        [rp](const caf::error& x) mutable { rp.deliver(x); });
  };
  if (remove)
    self->request(st.db, st.opts.db_timeout, remove_atom::value, *st.facility,
                  why)
        .await(on_ok, on_error);
  else
    self->request(st.db, st.opts.db_timeout, edit_atom::value, *st.facility, e,
                  why)
        .await(on_ok, on_error);
}

caf::result<int32_t> write_settings(self_pointer self, facility_edit e,
                                    audit_entry why, bool remove) {
  auto rp = self->make_response_promise<int32_t>();
  if (!self->state.facility) {
    rp.deliver(make_error(errc::rejected, "this actor owns no facility"));
    return rp;
  }
  run_settings(self, std::move(e), std::move(why), remove, rp, 0);
  return rp;
}

// Starts a visit change for a handler and returns its promise.
caf::result<int32_t> start_change(self_pointer self,
                                  change_decider decide_change,
                                  audit_entry why) {
  auto rp = self->make_response_promise<int32_t>();
  if (!self->state.facility) {
    rp.deliver(make_error(errc::rejected, "this actor owns no facility"));
    return rp;
  }
  run_change(self, std::move(decide_change), std::move(why), rp, 0);
  return rp;
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
  if (st.facility && st.opts.metrics) {
    st.gauges =
        facility_gauges{st.opts.metrics, st.facility->id, st.facility->name};
    report_visits(st);
  }
  return {
      [self](scan_atom, scan_request& s) -> caf::result<scan_reply> {
        report_queue(self);
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
      [self](close_atom, close_reason why,
             audit_entry& audit) -> caf::result<int32_t> {
        return start_change(
            self,
            [why](const facility_state& f) -> caf::expected<visit_change> {
              return decide_close_all(f, why);
            },
            std::move(audit));
      },
      [self](checkout_atom, participant_id who,
             audit_entry& audit) -> caf::result<int32_t> {
        return start_change(
            self,
            [who](const facility_state& f) -> caf::expected<visit_change> {
              auto c = decide_check_out(f, who, close_reason::admin_close);
              if (!c)
                return make_error(errc::rejected,
                                  "participant " + std::to_string(who) +
                                      " is not checked in to " + f.name);
              return *c;
            },
            std::move(audit));
      },
      [self](edit_atom, facility_edit& e,
             audit_entry& audit) -> caf::result<int32_t> {
        return write_settings(self, std::move(e), std::move(audit), false);
      },
      [self](remove_atom, audit_entry& audit) -> caf::result<int32_t> {
        return write_settings(self, facility_edit{}, std::move(audit), true);
      },
      [self](directory_atom, directory_ptr dir,
             audit_entry& audit) -> caf::result<int32_t> {
        // Later scans decide with the new directory; the people already
        // inside are brought in line with it now.
        self->state.dir = dir;
        if (!self->state.facility) return int32_t{0};
        return start_change(
            self,
            [dir](const facility_state& f) -> caf::expected<visit_change> {
              return decide_reconcile(f, *dir);
            },
            std::move(audit));
      },
  };
}

}  // namespace facilityd
