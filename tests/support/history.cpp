#include "tests/support/history.hpp"

#include <map>
#include <set>

#include "persistence/errc.hpp"
#include "rules/facility_state.hpp"

namespace facilityd::test {

std::vector<std::string> replay_history(test_db& db) {
  std::vector<std::string> out;
  auto store = make_pg_store(db.store_options());
  std::map<facility_id, facility_state> facilities;
  auto w = store->load_world();
  if (!w) return {"cannot load the world: " + describe(w.error())};
  for (auto& f : w->facilities) {
    facility_state fresh;
    fresh.id = f.id;
    fresh.capacity = f.capacity;
    facilities.emplace(f.id, fresh);
  }
  auto scans = db.conn().exec(
      "SELECT facility_id, badge_uid, outcome, visit_id FROM scans"
      " WHERE facility_id IS NOT NULL ORDER BY id");
  if (!scans) return {"cannot read scans: " + describe(scans.error())};
  for (int i = 0; i < scans->rows(); ++i) {
    auto& f = facilities.at(scans->i64(i, 0));
    auto d = decide(f, w->dir.find_by_badge(scans->text(i, 1)));
    auto stored = std::string{scans->text(i, 2)};
    if (to_string(d.result) != stored) {
      out.push_back("facility " + std::to_string(f.id) + " scan " +
                    std::to_string(i) + ": rules say " +
                    std::string{to_string(d.result)} + ", recorded " + stored);
      break;
    }
    apply(f, d, commit{scans->opt_i64(i, 3).value_or(0), 0, f.version + 1});
  }
  // The open visits the replay ends with are the ones in the database.
  for (auto& loaded : w->facilities) {
    std::set<participant_id> replayed, stored;
    for (auto& [who, v] : facilities.at(loaded.id).visits)
      replayed.insert(who);
    for (auto& [who, v] : loaded.visits)
      stored.insert(who);
    if (replayed != stored)
      out.push_back("facility " + std::to_string(loaded.id) +
                    ": replay ends with other open visits than stored");
  }
  return out;
}

}  // namespace facilityd::test
