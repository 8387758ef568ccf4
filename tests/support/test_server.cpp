#include "tests/support/test_server.hpp"

#include <stdexcept>

#include <caf/all.hpp>

#include "persistence/errc.hpp"
#include "persistence/recovery.hpp"

namespace facilityd::test {

namespace {

constexpr auto reply_timeout = std::chrono::seconds{30};

template <class T, class... Ts>
caf::expected<T> ask(caf::actor_system& sys, const registry_actor& dest,
                     Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::expected<T> out{caf::sec::request_timeout};
  self->request(dest, reply_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); },
               [&](caf::error& e) { out = std::move(e); });
  return out;
}

}  // namespace

server_options test_server::default_options() {
  server_options opts;
  opts.pool.workers = 4;
  opts.facility.db_timeout = std::chrono::seconds{10};
  return opts;
}

test_server::test_server(test_db& db, server_options opts) {
  cfg_.set("scheduler.max-threads", 2);
  auto store_opts = db.store_options();
  auto rec = recover(store_opts, std::chrono::seconds{5});
  if (!rec)
    throw std::runtime_error("recovery failed: " + describe(rec.error()));
  recovered_open_visits = rec->w.open_visits;
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  registry_ = spawn_registry(
      *sys_, std::move(rec->w),
      [store_opts] { return make_pg_store(store_opts); }, opts);
}

test_server::~test_server() {
  caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
  registry_ = nullptr;
  sys_->await_all_actors_done();
}

caf::expected<scan_reply> test_server::scan(const std::string& gateway,
                                            uint64_t seq,
                                            const std::string& reader,
                                            const std::string& badge) {
  return ask<scan_reply>(*sys_, registry_, scan_atom::value,
                         scan_request{gateway, seq, reader, badge});
}

caf::expected<facility_state> test_server::state(facility_id id) {
  return ask<facility_state>(*sys_, registry_, state_atom::value, id);
}

std::vector<facility_id> test_server::facilities() {
  auto ids = ask<std::vector<facility_id>>(*sys_, registry_, list_atom::value);
  return ids ? *ids : std::vector<facility_id>{};
}

caf::expected<int32_t> test_server::close(facility_id id,
                                          const std::string& actor) {
  return ask<int32_t>(*sys_, registry_, close_atom::value, id,
                      close_reason::admin_close,
                      audit_entry{actor, "facility.close",
                                  "facility " + std::to_string(id), "", ""});
}

caf::expected<int32_t> test_server::checkout(facility_id id,
                                             participant_id who) {
  return ask<int32_t>(
      *sys_, registry_, checkout_atom::value, id, who,
      audit_entry{"test", "visit.checkout",
                  "participant " + std::to_string(who), "", ""});
}

caf::expected<int32_t> test_server::publish_directory(test_db& db) {
  auto w = make_pg_store(db.store_options())->load_world();
  if (!w) return w.error();
  auto dir = std::make_shared<const directory>(std::move(w->dir));
  return ask<int32_t>(*sys_, registry_, directory_atom::value, dir,
                      audit_entry{"test", "directory.publish", "all", "", ""});
}

std::vector<std::string> memory_differences(test_server& server, test_db& db) {
  std::vector<std::string> out;
  auto store = make_pg_store(db.store_options());
  for (auto id : server.facilities()) {
    auto label = "facility " + std::to_string(id) + ": ";
    auto mem = server.state(id);
    auto disk = store->load_facility(id);
    if (!mem || !disk) {
      out.push_back(
          label + "cannot read: " + describe(mem ? disk.error() : mem.error()));
      continue;
    }
    if (mem->version != disk->version)
      out.push_back(label + "version " + std::to_string(mem->version) +
                    " in memory, " + std::to_string(disk->version) +
                    " in the database");
    if (mem->visits != disk->visits)
      out.push_back(label + std::to_string(mem->visits.size()) +
                    " open visits in memory, " +
                    std::to_string(disk->visits.size()) +
                    " in the database, or they differ");
  }
  return out;
}

}  // namespace facilityd::test
