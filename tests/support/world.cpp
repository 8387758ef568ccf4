#include "tests/support/world.hpp"

namespace facilityd::test {

small_world::small_world(test_db& db) {
  lab = db.add_facility("lab", 3);
  shop = db.add_facility("shop");
  k1 = db.add_participant("Kim Keyholder", true);
  k2 = db.add_participant("Kai Keyholder", true);
  m1 = db.add_participant("Mia Member", false);
  m2 = db.add_participant("Max Member", false);
  m3 = db.add_participant("Mo Member", false);
  suspended = db.add_participant("Sam Suspended", false, true);
  db.add_badge(b_k1, k1);
  db.add_badge(b_k2, k2);
  db.add_badge(b_m1, m1);
  db.add_badge(b_m2, m2);
  db.add_badge(b_m3, m3);
  db.add_badge(b_suspended, suspended);
  db.add_reader(lab_door, lab, gateway);
  db.add_reader(shop_door, shop, gateway);
}

}  // namespace facilityd::test
