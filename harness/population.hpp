#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "harness/answer.hpp"
#include "harness/options.hpp"
#include "harness/world.hpp"

namespace facility_sim {

/// A scan someone makes: at which reader (and so through which gateway),
/// with which badge, by whom.
struct scan_intent {
  int gateway = 0;
  std::string reader;
  std::string badge;
  int person = -1;  // -1: hostile traffic nobody waits for
};

/// Takes a scan for sending; false once the run sends no more.
using scan_sink = std::function<bool(const scan_intent&)>;

/// The people of the world going about their day, in compressed time.
/// Members try their haunts and wait at a closed door; keyholders open up
/// (the members waiting there rush in right behind them) and leave again,
/// closing the facility on whoever is still inside. Each person waits for
/// the answer to their scan before the next, reacts to it as a person
/// would, and is otherwise asleep. A share of the actions also makes
/// hostile traffic: rapid double scans, unknown badges, unknown readers.
///
/// Single-threaded: the simulation's loop calls everything.
class population {
 public:
  using clock = std::chrono::steady_clock;

  population(const world& w, const options& opts, uint64_t seed);

  /// Wakes everyone up over the first moments: members first, so that
  /// they are waiting at the doors when the keyholders come.
  void start(clock::time_point now);

  /// Lets everyone whose time has come make their scan through `send`.
  void run_due(clock::time_point now, const scan_sink& send);

  /// The first ACK of a scan person `person` made.
  void on_ack(int person, const ack& a, clock::time_point now);

  /// When the next person may act (an estimate; never later than that).
  std::optional<clock::time_point> next_due() const;

 private:
  struct person {
    int participant = 0;
    bool inside = false;
    int facility = -1;    // where they are (inside) or are heading; -1: none
    int denials = 0;      // denied_closed in a row at `facility`
    int outstanding = 0;  // scans not yet answered
    uint64_t generation = 0;  // of the wake-up that counts
    bool stopped = false;     // the run sends no more
  };

  struct wakeup {
    clock::time_point at;
    int who = 0;
    uint64_t generation = 0;
    bool operator>(const wakeup& o) const { return at > o.at; }
  };

  void act(int who, clock::time_point now, const scan_sink& send);
  bool scan_at(int who, int facility, clock::time_point now,
               const scan_sink& send);
  void hostile_extra(const scan_intent& own, person& p, const scan_sink& send);
  void react(int who, outcome result, clock::time_point now);
  void step_outside(int who, clock::time_point next);
  void close_on_others(int facility, int keyholder, clock::time_point now);
  void open_doors(int facility, clock::time_point now);
  void schedule(int who, clock::time_point at);

  /// A pause of between `lo` and `hi` think times.
  clock::duration pause(double lo, double hi);
  int any(size_t n);
  bool chance(double p);
  const participant_spec& facts(const person& p) const;

  const world& world_;
  clock::duration think_;
  double hostile_share_;
  std::mt19937_64 rng_;
  std::vector<person> people_;
  std::vector<std::vector<int>> waiting_;  // by facility: at the door
  std::vector<std::set<int>> inside_;      // by facility: think they are in
  std::priority_queue<wakeup, std::vector<wakeup>, std::greater<>> wakeups_;
};

}  // namespace facility_sim
