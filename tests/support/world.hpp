#pragma once

#include "tests/support/test_db.hpp"

namespace facilityd::test {

/// A small world seeded into a test database: two facilities, the lab with
/// room for three, two keyholders, three members and a suspended member,
/// each with a badge named after them. Both doors are wired to `gateway`.
struct small_world {
  explicit small_world(test_db& db);

  facility_id lab, shop;
  participant_id k1, k2, m1, m2, m3, suspended;

  // The gateway, badges and readers.
  static constexpr const char* gateway = "gw-1";
  static constexpr const char* lab_door = "lab-door";
  static constexpr const char* shop_door = "shop-door";
  static constexpr const char* b_k1 = "badge-k1";
  static constexpr const char* b_k2 = "badge-k2";
  static constexpr const char* b_m1 = "badge-m1";
  static constexpr const char* b_m2 = "badge-m2";
  static constexpr const char* b_m3 = "badge-m3";
  static constexpr const char* b_suspended = "badge-s";
};

}  // namespace facilityd::test
