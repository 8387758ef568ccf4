#include "actors/registry.hpp"

#include <memory>
#include <unordered_map>

#include <caf/all.hpp>

#include "persistence/errc.hpp"

namespace facilityd {

namespace {

struct registry_state {
  std::shared_ptr<const directory> dir;
  std::unordered_map<facility_id, facility_actor> facilities;
  facility_actor nowhere;  // takes scans at unknown readers
  // How long one facility may take over a change: each attempt may wait
  // for a re-read and a write.
  caf::timespan change_timeout{};
  db_actor db;
  facility_options opts;
};

using self_pointer = registry_actor::stateful_pointer<registry_state>;

// A reader counts only for the gateway it is wired to: a scan at another
// gateway's reader (or at none) goes where unknown readers go.
const facility_actor& route(const registry_state& st, const scan_request& s) {
  if (auto where = st.dir->facility_for(s.reader, s.gateway)) {
    auto i = st.facilities.find(*where);
    if (i != st.facilities.end()) return i->second;
  }
  return st.nowhere;
}

caf::expected<facility_actor> find(const registry_state& st, facility_id id) {
  auto i = st.facilities.find(id);
  if (i == st.facilities.end())
    return make_error(errc::rejected, "no facility " + std::to_string(id));
  return i->second;
}

// Routes by the new directory from now on, and hands it to every facility
// actor; answers once all of them have brought their visits in line.
caf::result<int32_t> publish(self_pointer self, directory_ptr dir,
                             audit_entry audit) {
  auto& st = self->state;
  st.dir = dir;
  auto rp = self->make_response_promise<int32_t>();
  struct tally {
    size_t waiting = 0;
    int32_t closed = 0;
    caf::error first_error;
  };
  auto t = std::make_shared<tally>();
  t->waiting = st.facilities.size() + 1;
  auto done = [t, rp]() mutable {
    if (--t->waiting > 0) return;
    if (t->first_error)
      rp.deliver(t->first_error);
    else
      rp.deliver(t->closed);
  };
  auto send = [&](const facility_actor& f) {
    self->request(f, st.change_timeout, directory_atom::value, dir, audit)
        .then(
            [t, done](int32_t n) mutable {
              t->closed += n;
              done();
            },
            [t, done](caf::error& e) mutable {
              if (!t->first_error) t->first_error = std::move(e);
              done();
            });
  };
  for (const auto& [id, f] : st.facilities)
    send(f);
  send(st.nowhere);
  return rp;
}

registry_actor::behavior_type registry(self_pointer self, world w,
                                       store_factory make_store,
                                       server_options opts) {
  auto& st = self->state;
  st.change_timeout =
      opts.facility.db_timeout * (2 * opts.facility.max_attempts + 1);
  auto pool = spawn_db_pool(self->system(), opts.pool, std::move(make_store));
  self->link_to(pool);
  auto db = caf::actor_cast<db_actor>(pool);
  st.db = db;
  st.opts = opts.facility;
  st.dir = std::make_shared<const directory>(std::move(w.dir));
  for (auto& f : w.facilities) {
    auto id = f.id;
    st.facilities.emplace(
        id, self->spawn<caf::linked>(facility, std::optional{std::move(f)},
                                     st.dir, db, opts.facility));
  }
  st.nowhere = self->spawn<caf::linked>(facility, std::nullopt, st.dir, db,
                                        opts.facility);
  return {
      [self](scan_atom, scan_request& s) {
        const auto& target = route(self->state, s);
        return self->delegate(target, scan_atom::value, std::move(s));
      },
      [self](state_atom, facility_id id) -> caf::result<facility_state> {
        auto i = self->state.facilities.find(id);
        if (i == self->state.facilities.end())
          return make_error(errc::rejected,
                            "no facility " + std::to_string(id));
        return self->delegate(i->second, state_atom::value);
      },
      [self](close_atom, facility_id id, close_reason why,
             audit_entry& audit) -> caf::result<int32_t> {
        auto target = find(self->state, id);
        if (!target) return target.error();
        return self->delegate(*target, close_atom::value, why,
                              std::move(audit));
      },
      [self](checkout_atom, facility_id id, participant_id who,
             audit_entry& audit) -> caf::result<int32_t> {
        auto target = find(self->state, id);
        if (!target) return target.error();
        return self->delegate(*target, checkout_atom::value, who,
                              std::move(audit));
      },
      [self](directory_atom, directory_ptr dir,
             audit_entry& audit) -> caf::result<int32_t> {
        return publish(self, std::move(dir), std::move(audit));
      },
      [self](put_atom, facility_state& f) -> caf::result<facility_id> {
        auto& st = self->state;
        auto id = f.id;
        if (st.facilities.count(id) == 0)
          st.facilities.emplace(id, self->spawn<caf::linked>(
                                        facility, std::optional{std::move(f)},
                                        st.dir, st.db, st.opts));
        return id;
      },
      [self](edit_atom, facility_id id, facility_edit& e,
             audit_entry& audit) -> caf::result<int32_t> {
        auto target = find(self->state, id);
        if (!target) return target.error();
        return self->delegate(*target, edit_atom::value, std::move(e),
                              std::move(audit));
      },
      [self](remove_atom, facility_id id,
             audit_entry& audit) -> caf::result<int32_t> {
        auto target = find(self->state, id);
        if (!target) return target.error();
        auto rp = self->make_response_promise<int32_t>();
        auto actor = *target;
        self->request(actor, self->state.change_timeout, remove_atom::value,
                      std::move(audit))
            .then(
                [self, id, actor, rp](int32_t n) mutable {
                  // Gone from the database: scans at its readers (there are
                  // none left) would go to the unknown-reader actor.
                  self->state.facilities.erase(id);
                  self->unlink_from(actor);
                  self->send_exit(actor, caf::exit_reason::user_shutdown);
                  rp.deliver(n);
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [self](list_atom) {
        std::vector<facility_id> ids;
        for (const auto& kv : self->state.facilities)
          ids.push_back(kv.first);
        return ids;
      },
  };
}

}  // namespace

registry_actor spawn_registry(caf::actor_system& sys, world w,
                              store_factory make_store, server_options opts) {
  return sys.spawn(registry, std::move(w), std::move(make_store), opts);
}

}  // namespace facilityd
