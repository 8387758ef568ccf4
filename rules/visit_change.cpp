#include "rules/visit_change.hpp"

#include <algorithm>
#include <set>

namespace facilityd {

std::string_view to_string(close_reason x) {
  switch (x) {
    case close_reason::checked_out:
      return "checked_out";
    case close_reason::force_close:
      return "force_close";
    case close_reason::admin_close:
      return "admin_close";
  }
  return "admin_close";
}

namespace {

visit_change change_for(const facility_state& f) {
  visit_change c;
  c.facility = f.id;
  c.expected_version = f.version;
  return c;
}

bool is_closed(const visit_change& c, visit_id v) {
  return std::any_of(c.closes.begin(), c.closes.end(),
                     [v](const auto& x) { return x.first == v; });
}

// After `c`'s own closes and role flips: if people remain inside and none
// of them is a keyholder, close the rest with force_close.
void close_if_no_keyholder(const facility_state& f, visit_change& c) {
  bool anyone = false, keyholder = false;
  for (const auto& [who, v] : f.visits) {
    if (is_closed(c, v.id)) continue;
    anyone = true;
    bool role = v.keyholder;
    for (const auto& [id, flag] : c.roles)
      if (id == v.id) role = flag;
    keyholder = keyholder || role;
  }
  if (!anyone || keyholder) return;
  for (const auto& [who, v] : f.visits)
    if (!is_closed(c, v.id))
      c.closes.emplace_back(v.id, close_reason::force_close);
  // Roles of visits that are closing no longer matter.
  c.roles.clear();
}

}  // namespace

visit_change decide_close_all(const facility_state& f, close_reason why) {
  auto c = change_for(f);
  for (const auto& [who, v] : f.visits)
    c.closes.emplace_back(v.id, why);
  return c;
}

std::optional<visit_change> decide_check_out(const facility_state& f,
                                             participant_id who,
                                             close_reason why) {
  auto own = f.visits.find(who);
  if (own == f.visits.end()) return std::nullopt;
  auto c = change_for(f);
  c.closes.emplace_back(own->second.id, why);
  close_if_no_keyholder(f, c);
  return c;
}

visit_change decide_reconcile(const facility_state& f, const directory& dir) {
  auto c = change_for(f);
  for (const auto& [who, v] : f.visits) {
    const auto* p = dir.find(who);
    if (p == nullptr || p->suspended)
      c.closes.emplace_back(v.id, close_reason::admin_close);
    else if (p->keyholder != v.keyholder)
      c.roles.emplace_back(v.id, p->keyholder);
  }
  if (!c.empty()) close_if_no_keyholder(f, c);
  return c;
}

void apply(facility_state& f, const visit_change& c, int64_t new_version) {
  std::set<visit_id> closed;
  for (const auto& [id, why] : c.closes)
    closed.insert(id);
  for (auto i = f.visits.begin(); i != f.visits.end();) {
    if (closed.count(i->second.id) > 0) {
      i = f.visits.erase(i);
      continue;
    }
    for (const auto& [id, flag] : c.roles)
      if (id == i->second.id) i->second.keyholder = flag;
    ++i;
  }
  f.version = new_version;
}

}  // namespace facilityd
