#include "actors/db_pool.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "persistence/errc.hpp"

namespace facilityd {

namespace {

// -- workers ------------------------------------------------------------------

struct worker_state {
  std::unique_ptr<store> db;
  std::shared_ptr<server_metrics> metrics;
};

using worker_pointer = db_actor::stateful_pointer<worker_state>;

// Runs one store call, timing it when there are metrics to tell.
template <class F>
auto timed(worker_pointer self, db_kind kind, F&& call) {
  auto& m = self->state.metrics;
  if (!m) return call(*self->state.db);
  auto start = std::chrono::steady_clock::now();
  auto res = call(*self->state.db);
  m->db_transaction(kind, std::chrono::steady_clock::now() - start);
  return res;
}

db_actor::behavior_type db_worker(worker_pointer self, db_pool_actor pool,
                                  store_factory make,
                                  std::shared_ptr<server_metrics> metrics) {
  self->state.db = make();
  self->state.metrics = std::move(metrics);
  // Telling the pool first is safe: the reply leaves when the handler
  // returns, before the pool's next request can arrive.
  auto done = [self, pool] {
    self->send(pool, idle_atom::value, caf::actor_cast<db_actor>(self));
  };
  return {
      [self, done](record_atom, const scan_request& s,
                   const decision& d) -> caf::result<recorded_scan> {
        auto res = timed(self, db_kind::record_scan,
                         [&](store& db) { return db.record_scan(s, d); });
        done();
        return res;
      },
      [self, done](load_atom, facility_id id) -> caf::result<facility_state> {
        auto res = timed(self, db_kind::load_facility,
                         [&](store& db) { return db.load_facility(id); });
        done();
        return res;
      },
      [self, done](change_atom, const visit_change& c,
                   const audit_entry& why) -> caf::result<commit> {
        auto res = timed(self, db_kind::change_visits,
                         [&](store& db) { return db.change_visits(c, why); });
        done();
        return res;
      },
      [self, done](edit_atom, const facility_state& f, const facility_edit& e,
                   const audit_entry& why) -> caf::result<commit> {
        auto res = timed(self, db_kind::edit_facility, [&](store& db) {
          return db.edit_facility(f, e, why);
        });
        done();
        return res;
      },
      [self, done](remove_atom, const facility_state& f,
                   const audit_entry& why) -> caf::result<commit> {
        auto res = timed(self, db_kind::remove_facility,
                         [&](store& db) { return db.remove_facility(f, why); });
        done();
        return res;
      },
  };
}

// -- the pool -----------------------------------------------------------------

struct pending {
  std::function<void(const db_actor&)> run;
  std::function<void(caf::error)> fail;
};

struct pool_state {
  std::vector<db_actor> idle;
  std::deque<pending> queue;
  size_t queue_limit = 0;
  size_t workers = 0;
  std::shared_ptr<server_metrics> metrics;
};

using pool_pointer = db_pool_actor::stateful_pointer<pool_state>;

void report(const pool_state& st) {
  if (st.metrics)
    st.metrics->db_pool(st.queue.size(), st.workers - st.idle.size());
}

template <class T, class... Ts>
caf::result<T> dispatch(pool_pointer self, Ts... args) {
  auto& st = self->state;
  auto rp = self->make_response_promise<T>();
  if (!st.idle.empty()) {
    auto worker = st.idle.back();
    st.idle.pop_back();
    rp.delegate(worker, args...);
  } else if (st.queue.size() >= st.queue_limit) {
    rp.deliver(make_error(errc::busy, "database queue full"));
  } else {
    st.queue.push_back(pending{
        [rp, args...](const db_actor& w) mutable { rp.delegate(w, args...); },
        [rp](caf::error e) mutable { rp.deliver(std::move(e)); }});
  }
  report(st);
  return rp;
}

db_pool_actor::behavior_type db_pool(pool_pointer self, db_pool_options opts,
                                     store_factory make) {
  auto& st = self->state;
  st.queue_limit = opts.queue_limit;
  st.workers = opts.workers;
  st.metrics = opts.metrics;
  if (st.metrics) st.metrics->db_connections(opts.workers);
  auto me = caf::actor_cast<db_pool_actor>(self);
  for (size_t i = 0; i < opts.workers; ++i)
    st.idle.push_back(self->spawn<caf::detached + caf::linked>(
        db_worker, me, make, opts.metrics));
  report(st);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& p : self->state.queue)
      p.fail(make_error(errc::shutting_down, "database pool stopped"));
    self->state.queue.clear();
    self->quit(msg.reason);
  });
  return {
      [self](record_atom, scan_request& s,
             decision& d) -> caf::result<recorded_scan> {
        return dispatch<recorded_scan>(self, record_atom::value, std::move(s),
                                       std::move(d));
      },
      [self](load_atom, facility_id id) -> caf::result<facility_state> {
        return dispatch<facility_state>(self, load_atom::value, id);
      },
      [self](change_atom, visit_change& c,
             audit_entry& why) -> caf::result<commit> {
        return dispatch<commit>(self, change_atom::value, std::move(c),
                                std::move(why));
      },
      [self](edit_atom, facility_state& f, facility_edit& e,
             audit_entry& why) -> caf::result<commit> {
        return dispatch<commit>(self, edit_atom::value, std::move(f),
                                std::move(e), std::move(why));
      },
      [self](remove_atom, facility_state& f,
             audit_entry& why) -> caf::result<commit> {
        return dispatch<commit>(self, remove_atom::value, std::move(f),
                                std::move(why));
      },
      [self](idle_atom, db_actor& worker) {
        auto& st = self->state;
        if (st.queue.empty()) {
          st.idle.push_back(std::move(worker));
          report(st);
          return;
        }
        auto next = std::move(st.queue.front());
        st.queue.pop_front();
        report(st);
        next.run(worker);
      },
  };
}

}  // namespace

db_pool_actor spawn_db_pool(caf::actor_system& sys, db_pool_options opts,
                            store_factory make_store) {
  return sys.spawn(db_pool, opts, std::move(make_store));
}

}  // namespace facilityd
