#include "harness/model.hpp"

namespace facility_sim {

namespace {

rule_result result_of(outcome x, int64_t visit = 0) {
  rule_result r;
  r.result = x;
  r.visit = visit;
  return r;
}

}  // namespace

rule_result reference_facility::scan(const person_facts* who,
                                     int64_t new_visit) {
  if (who == nullptr) return result_of(outcome::denied_unknown_badge);
  if (who->suspended) return result_of(outcome::denied_suspended);
  if (inside_.contains(who->id)) return leave(*who);
  return enter(*who, new_visit);
}

std::map<int64_t, int64_t> reference_facility::open_visits() const {
  std::map<int64_t, int64_t> out;
  for (const auto& [who, s] : inside_)
    out[who] = s.visit;
  return out;
}

int reference_facility::keyholders_inside() const {
  int n = 0;
  for (const auto& [who, s] : inside_)
    n += s.keyholder ? 1 : 0;
  return n;
}

// Capacity counts everyone present, keyholders included.
bool reference_facility::is_full() const {
  return capacity_ && static_cast<int64_t>(inside_.size()) >= *capacity_;
}

rule_result reference_facility::leave(const person_facts& who) {
  auto own = inside_.at(who.id);
  bool last_keyholder = own.keyholder && keyholders_inside() == 1;
  inside_.erase(who.id);
  if (!last_keyholder) return result_of(outcome::checked_out, own.visit);

  // The last keyholder closes the facility: everyone else leaves too.
  auto r = result_of(outcome::checked_out_closed, own.visit);
  for (const auto& [other, s] : inside_)
    r.force_closed.push_back(s.visit);
  r.closed = static_cast<int32_t>(r.force_closed.size());
  inside_.clear();
  return r;
}

rule_result reference_facility::enter(const person_facts& who,
                                      int64_t new_visit) {
  // Keyholders open the facility and are never refused for capacity.
  if (!who.keyholder) {
    if (!is_open()) return result_of(outcome::denied_closed);
    if (is_full()) return result_of(outcome::denied_full);
  }
  inside_[who.id] = stay{new_visit, who.keyholder};
  return result_of(outcome::checked_in, new_visit);
}

}  // namespace facility_sim
