#include "harness/population.hpp"

namespace facility_sim {

population::population(const world& w, const options& opts, uint64_t seed)
    : world_(w),
      think_(std::chrono::milliseconds{opts.think_ms}),
      hostile_share_(opts.hostile_share),
      rng_(seed),
      waiting_(w.facilities.size()),
      inside_(w.facilities.size()) {
  for (size_t i = 0; i < w.participants.size(); ++i)
    people_.push_back(person{static_cast<int>(i)});
}

void population::start(clock::time_point now) {
  for (size_t i = 0; i < people_.size(); ++i) {
    bool keyholder = facts(people_[i]).keyholder;
    schedule(static_cast<int>(i),
             now + (keyholder ? pause(1, 3) : pause(0, 2)));
  }
}

void population::run_due(clock::time_point now, const scan_sink& send) {
  while (!wakeups_.empty() && wakeups_.top().at <= now) {
    auto w = wakeups_.top();
    wakeups_.pop();
    if (people_[w.who].generation == w.generation) act(w.who, now, send);
  }
}

std::optional<population::clock::time_point> population::next_due() const {
  if (wakeups_.empty()) return {};
  return wakeups_.top().at;
}

void population::on_ack(int who, const ack& a, clock::time_point now) {
  auto& p = people_[who];
  --p.outstanding;
  // After a double scan the person goes by the answer that came last.
  if (p.outstanding == 0) react(who, a.result, now);
}

// -- acting ------------------------------------------------------------------

void population::act(int who, clock::time_point now, const scan_sink& send) {
  auto& p = people_[who];
  if (p.outstanding > 0 || p.stopped) return;
  if (p.facility < 0) {
    auto& haunts = facts(p).haunts;
    p.facility = haunts[any(haunts.size())];
  }
  if (!scan_at(who, p.facility, now, send)) p.stopped = true;
}

bool population::scan_at(int who, int facility, clock::time_point now,
                         const scan_sink& send) {
  auto& p = people_[who];
  auto& f = world_.facilities[facility];
  auto& r = world_.readers[f.readers[any(f.readers.size())]];
  auto& badges = facts(p).badges;
  scan_intent own{r.gateway, r.id, badges[any(badges.size())], who};
  if (!send(own)) return false;
  p.outstanding = 1;

  // The members waiting at the door slip in right behind a keyholder.
  if (!p.inside && facts(p).keyholder) open_doors(facility, now);
  if (chance(hostile_share_)) hostile_extra(own, p, send);
  return true;
}

// A rapid double scan of the same badge, an unknown badge at a known
// reader, or a known badge at a reader the server has never heard of.
void population::hostile_extra(const scan_intent& own, person& p,
                               const scan_sink& send) {
  double kind = std::uniform_real_distribution<double>{0, 1}(rng_);
  if (kind < 0.4) {
    if (send(own)) ++p.outstanding;
    return;
  }
  if (kind < 0.75) {
    auto& r = world_.readers[any(world_.readers.size())];
    send({r.gateway, r.id,
          world_.unknown_badges[any(world_.unknown_badges.size())]});
    return;
  }
  auto& someone = world_.participants[any(world_.participants.size())];
  auto gateways = static_cast<int>(world_.gateways.size());
  if (kind < 0.9 && gateways > 1) {
    // A real door, but through a gateway it is not wired to.
    auto& r = world_.readers[any(world_.readers.size())];
    auto other = (r.gateway + 1 + any(gateways - 1)) % gateways;
    send({other, r.id, someone.badges.front()});
    return;
  }
  auto& r = world_.unknown_readers[any(world_.unknown_readers.size())];
  send({r.gateway, r.id, someone.badges.front()});
}

// -- reacting ----------------------------------------------------------------

void population::react(int who, outcome result, clock::time_point now) {
  auto& p = people_[who];
  bool keyholder = facts(p).keyholder;
  int f = p.facility;
  switch (result) {
    case outcome::checked_in:
      p.inside = true;
      p.denials = 0;
      inside_[f].insert(who);
      schedule(who, now + (keyholder ? pause(2, 8) : pause(1, 6)));
      break;
    case outcome::checked_out_closed:
      close_on_others(f, who, now);
      step_outside(who, now + pause(1, 4));
      break;
    case outcome::checked_out:
      step_outside(who, now + pause(1, 4));
      break;
    case outcome::denied_closed:
      // Someone closed the facility on them unnoticed, or it never opened.
      inside_[f].erase(who);
      p.inside = false;
      if (++p.denials >= 3) {
        step_outside(who, now + pause(1, 4));  // gives up on this one
        break;
      }
      waiting_[f].push_back(who);
      schedule(who, now + pause(1, 3));
      break;
    case outcome::denied_suspended:
      step_outside(who, now + pause(5, 15));
      break;
    default:
      step_outside(who, now + pause(1, 4));
      break;
  }
}

void population::step_outside(int who, clock::time_point next) {
  auto& p = people_[who];
  if (p.facility >= 0) inside_[p.facility].erase(who);
  p.inside = false;
  p.facility = -1;
  p.denials = 0;
  schedule(who, next);
}

// Most people leave with the last keyholder; a few stay unaware, and
// their next scan checks them in rather than out.
void population::close_on_others(int facility, int keyholder,
                                 clock::time_point now) {
  auto inside = inside_[facility];
  for (int other : inside) {
    auto& o = people_[other];
    if (other == keyholder || o.outstanding > 0) continue;
    if (chance(0.8)) step_outside(other, now + pause(1, 4));
  }
}

void population::open_doors(int facility, clock::time_point now) {
  for (int who : waiting_[facility]) {
    auto& p = people_[who];
    if (p.outstanding == 0 && !p.inside && p.facility == facility)
      schedule(who, now + pause(0, 0.25));
  }
  waiting_[facility].clear();
}

void population::schedule(int who, clock::time_point at) {
  auto& p = people_[who];
  wakeups_.push({at, who, ++p.generation});
}

// -- chance ------------------------------------------------------------------

population::clock::duration population::pause(double lo, double hi) {
  double k = std::uniform_real_distribution<double>{lo, hi}(rng_);
  return std::chrono::duration_cast<clock::duration>(think_ * k);
}

int population::any(size_t n) {
  return std::uniform_int_distribution<int>{0, static_cast<int>(n) - 1}(rng_);
}

bool population::chance(double p) {
  return std::bernoulli_distribution{p}(rng_);
}

const participant_spec& population::facts(const person& p) const {
  return world_.participants[p.participant];
}

}  // namespace facility_sim
