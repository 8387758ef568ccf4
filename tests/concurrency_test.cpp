// Many scans at once across facilities, keyholders' force-closes racing
// members' check-ins in the same facility. Afterwards the database must
// hold I1 to I4, every reply must match what was recorded, and replaying
// the recorded scans of each facility in commit order through the rules
// must give the same outcomes: the history is sequential per facility.

#include <doctest/doctest.h>

#include <future>
#include <random>

#include <caf/all.hpp>

#include "persistence/errc.hpp"
#include "tests/support/history.hpp"
#include "tests/support/test_server.hpp"

using namespace facilityd;
using namespace facilityd::test;

namespace {

struct population {
  std::vector<facility_id> facilities;
  // readers[f][g]: the door of facility f wired to gateway "gw-<g>"; every
  // gateway has one at every facility, so all of them race at each.
  std::vector<std::vector<std::string>> readers;
  std::vector<std::string> badges;  // known badges
};

population seed(test_db& db, int facilities, int gateways, int people,
                int keyholders) {
  population p;
  for (int i = 0; i < facilities; ++i) {
    auto id =
        db.add_facility("room-" + std::to_string(i),
                        i % 2 == 0 ? std::optional<int32_t>{6} : std::nullopt);
    p.facilities.push_back(id);
    auto& doors = p.readers.emplace_back();
    for (int g = 0; g < gateways; ++g) {
      doors.push_back("reader-" + std::to_string(i) + "-" + std::to_string(g));
      db.add_reader(doors.back(), id, "gw-" + std::to_string(g));
    }
  }
  for (int i = 0; i < people; ++i) {
    auto id = db.add_participant("person " + std::to_string(i), i < keyholders,
                                 i % 17 == 16);
    p.badges.push_back("badge-" + std::to_string(i));
    db.add_badge(p.badges.back(), id);
  }
  return p;
}

// Fires every request at once from one actor and collects the replies in
// the order of `scans`.
std::vector<caf::expected<scan_reply>> scan_all(
    caf::actor_system& sys, const registry_actor& registry,
    std::vector<scan_request> scans) {
  auto results = std::make_shared<std::vector<caf::expected<scan_reply>>>(
      scans.size(), caf::expected<scan_reply>{caf::sec::request_timeout});
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  sys.spawn([=](caf::event_based_actor* self) {
    auto left = std::make_shared<size_t>(scans.size());
    for (size_t i = 0; i < scans.size(); ++i) {
      auto finish = [=] {
        if (--*left == 0) done->set_value();
      };
      self->request(registry, std::chrono::seconds{60}, scan_atom::value,
                    scans[i])
          .then(
              [=](scan_reply& r) {
                (*results)[i] = std::move(r);
                finish();
              },
              [=](caf::error& e) {
                (*results)[i] = std::move(e);
                finish();
              });
    }
  });
  finished.wait();
  return std::move(*results);
}

}  // namespace

TEST_CASE("concurrent scans with racing force-closes keep every invariant") {
  test_db db;
  constexpr int gateways = 8;
  auto pop = seed(db, 4, gateways, 40, 6);
  test_server server{db};
  std::mt19937_64 rng{20261203};
  constexpr int rounds = 6;
  constexpr int per_round = 250;
  std::vector<uint64_t> next_seq(gateways, 0);
  std::vector<scan_request> sent;
  std::vector<caf::expected<scan_reply>> replies;

  for (int round = 0; round < rounds; ++round) {
    std::vector<scan_request> batch;
    for (int i = 0; i < per_round; ++i) {
      auto g = static_cast<int>(rng() % gateways);
      auto f = rng() % pop.facilities.size();
      // Keyholders (the first six) scan often so that facilities open and
      // force-close while members keep arriving.
      auto who = rng() % 3 == 0 ? rng() % 6 : rng() % pop.badges.size();
      std::string badge = rng() % 50 == 0 ? "stranger" : pop.badges[who];
      std::string reader = rng() % 60 == 0 ? "nowhere" : pop.readers[f][g];
      batch.push_back(
          {"gw-" + std::to_string(g), ++next_seq[g], reader, badge});
    }
    // Every tenth scan of the round is sent twice, as a gateway resending
    // after a lost connection would.
    for (int i = 0; i < per_round; i += 10)
      batch.push_back(batch[i]);
    auto got = scan_all(server.system(), server.registry(), batch);
    sent.insert(sent.end(), batch.begin(), batch.end());
    for (auto& r : got)
      replies.push_back(std::move(r));
  }

  // Every scan was answered; a scan and its resend got the same answer.
  std::map<std::pair<std::string, uint64_t>, scan_reply> by_id;
  for (size_t i = 0; i < sent.size(); ++i) {
    REQUIRE_MESSAGE(replies[i], describe(replies[i].error()));
    auto key = std::make_pair(sent[i].gateway, sent[i].seq);
    auto [it, fresh] = by_id.emplace(key, *replies[i]);
    if (!fresh) {
      CHECK(it->second.result == replies[i]->result);
      CHECK(it->second.visit == replies[i]->visit);
    }
  }
  // Each scan recorded once, with the outcome its reply carried (I3).
  CHECK(db.count("SELECT count(*) FROM scans") ==
        static_cast<int64_t>(by_id.size()));
  auto rows =
      db.conn().exec("SELECT gateway_id, gateway_seq, outcome FROM scans");
  REQUIRE(rows);
  for (int i = 0; i < rows->rows(); ++i) {
    auto key = std::make_pair(std::string{rows->text(i, 0)},
                              static_cast<uint64_t>(rows->i64(i, 1)));
    auto it = by_id.find(key);
    REQUIRE(it != by_id.end());
    CHECK(to_string(it->second.result) == rows->text(i, 2));
  }
  // The mix reached the interesting outcomes.
  std::map<outcome, int> seen;
  for (auto& [key, r] : by_id)
    ++seen[r.result];
  for (auto x : all_outcomes) {
    INFO("outcome " << to_string(x));
    CHECK(seen[x] > 0);
  }
  for (const auto& v : db.invariant_violations())
    FAIL_CHECK(v);  // I1, I2
  for (const auto& d : memory_differences(server, db))
    FAIL_CHECK(d);  // I4
  for (const auto& d : replay_history(db))
    FAIL_CHECK(d);
}
