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
};

using self_pointer = registry_actor::stateful_pointer<registry_state>;

const facility_actor& route(const registry_state& st, const std::string& r) {
  if (auto where = st.dir->facility_of(r)) {
    auto i = st.facilities.find(*where);
    if (i != st.facilities.end()) return i->second;
  }
  return st.nowhere;
}

registry_actor::behavior_type registry(self_pointer self, world w,
                                       store_factory make_store,
                                       server_options opts) {
  auto& st = self->state;
  auto pool = spawn_db_pool(self->system(), opts.pool, std::move(make_store));
  self->link_to(pool);
  auto db = caf::actor_cast<db_actor>(pool);
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
        const auto& target = route(self->state, s.reader);
        return self->delegate(target, scan_atom::value, std::move(s));
      },
      [self](state_atom, facility_id id) -> caf::result<facility_state> {
        auto i = self->state.facilities.find(id);
        if (i == self->state.facilities.end())
          return make_error(errc::rejected,
                            "no facility " + std::to_string(id));
        return self->delegate(i->second, state_atom::value);
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
