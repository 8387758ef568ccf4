#include "rules/facility_state.hpp"

#include <algorithm>

namespace facilityd {

size_t facility_state::keyholders_present() const {
  return static_cast<size_t>(
      std::count_if(visits.begin(), visits.end(),
                    [](const auto& kv) { return kv.second.keyholder; }));
}

namespace {

bool is_full(const facility_state& f) {
  return f.capacity && f.visits.size() >= static_cast<size_t>(*f.capacity);
}

decision decide_check_out(const facility_state& f, decision d,
                          const open_visit& own) {
  d.closes = own.id;
  // The last keyholder leaving takes everyone else out with them.
  if (own.keyholder && f.keyholders_present() == 1) {
    d.result = outcome::checked_out_closed;
    for (const auto& [who, visit] : f.visits)
      if (who != own.who) d.force_closed.push_back(visit.id);
  } else {
    d.result = outcome::checked_out;
  }
  return d;
}

decision decide_check_in(const facility_state& f, decision d) {
  if (d.keyholder)
    d.result = outcome::checked_in;
  else if (!f.is_open())
    d.result = outcome::denied_closed;
  else if (is_full(f))
    d.result = outcome::denied_full;
  else
    d.result = outcome::checked_in;
  return d;
}

}  // namespace

decision decide(const facility_state& f, const participant* who) {
  decision d;
  d.facility = f.id;
  d.expected_version = f.version;
  if (who == nullptr) {
    d.result = outcome::denied_unknown_badge;
    return d;
  }
  d.who = who->id;
  d.keyholder = who->keyholder;
  if (who->suspended) {
    d.result = outcome::denied_suspended;
    return d;
  }
  auto own = f.visits.find(who->id);
  if (own != f.visits.end()) return decide_check_out(f, d, own->second);
  return decide_check_in(f, d);
}

decision decide_unknown_reader() {
  return decision{};
}

void apply(facility_state& f, const decision& d, const commit& c) {
  switch (d.result) {
    case outcome::checked_in:
      f.visits[*d.who] = open_visit{c.visit, *d.who, d.keyholder, c.at_us};
      break;
    case outcome::checked_out:
      f.visits.erase(*d.who);
      break;
    case outcome::checked_out_closed:
      f.visits.clear();
      break;
    default:
      break;
  }
  if (d.facility) f.version = c.version;
}

}  // namespace facilityd
