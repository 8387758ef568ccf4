#include "tests/support/test_db.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "net/token.hpp"
#include "persistence/errc.hpp"
#include "persistence/migrations.hpp"

namespace facilityd::test {

namespace {

std::atomic<int> schema_counter{0};

std::string base_dsn() {
  const char* dsn = std::getenv("FACILITYD_TEST_DSN");
  return dsn ? dsn : "";
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("test database: " + what);
}

pg_connection connect(const std::string& dsn) {
  auto c = pg_connection::open(dsn, 5);
  if (!c)
    fail(describe(c.error()) +
         " (the test command starts a cluster and sets PGHOST etc.)");
  return std::move(*c);
}

}  // namespace

test_db::test_db() : test_db(base_dsn()) {}

test_db::test_db(std::string base) : base_(std::move(base)) {
  schema_ = "test_" + std::to_string(::getpid()) + "_" +
            std::to_string(++schema_counter);
  auto admin = connect(base_ + " options='-c client_min_messages=warning'");
  auto create =
      "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_;
  if (auto r = admin.exec(create.c_str()); !r) fail(describe(r.error()));
  // The application name marks this test's connections, so that
  // kill_other_connections() leaves tests running in parallel alone.
  dsn_ = base_ + " options='-c search_path=" + schema_ +
         " -c client_min_messages=warning' application_name=" + schema_;
  conn_.emplace(connect(dsn_));
  if (auto applied = apply_migrations(*conn_); !applied)
    fail("migrations: " + describe(applied.error()));
}

test_db::~test_db() {
  conn_.reset();
  try {
    auto admin = connect(base_ + " options='-c client_min_messages=warning'");
    auto drop = "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE";
    (void)admin.exec(drop.c_str());
  } catch (...) {
    // A schema left behind is harmless: the cluster is thrown away.
  }
}

std::string test_db::dsn_via(uint16_t port) const {
  // The password file names the real port, so the password must travel in
  // the connection string itself.
  std::string out = dsn_ + " host=127.0.0.1 port=" + std::to_string(port);
  const char* file = std::getenv("PGPASSFILE");
  std::ifstream in{file ? file : ""};
  auto real = ":" + std::to_string(server_port()) + ":";
  for (std::string line; std::getline(in, line);)
    if (line.find(real) != std::string::npos)
      return out + " password=" + line.substr(line.rfind(':') + 1);
  return out;
}

uint16_t test_db::server_port() {
  const char* port = std::getenv("PGPORT");
  return static_cast<uint16_t>(port ? std::stoi(port) : 5432);
}

pg_store_options test_db::store_options() const {
  pg_store_options opts;
  opts.dsn = dsn_;
  opts.min_backoff = std::chrono::milliseconds{20};
  opts.max_backoff = std::chrono::milliseconds{200};
  return opts;
}

facility_id test_db::add_facility(const std::string& name,
                                  std::optional<int32_t> capacity) {
  auto r = conn_->exec(
      "INSERT INTO facilities (name, capacity) VALUES ($1, $2) RETURNING id",
      {name, capacity ? pg_param{std::to_string(*capacity)} : std::nullopt});
  if (!r) fail(describe(r.error()));
  return r->i64(0, 0);
}

participant_id test_db::add_participant(const std::string& name, bool keyholder,
                                        bool suspended) {
  auto r = conn_->exec(
      "INSERT INTO participants (name, is_keyholder, suspended)"
      " VALUES ($1, $2, $3) RETURNING id",
      {name, keyholder ? "true" : "false", suspended ? "true" : "false"});
  if (!r) fail(describe(r.error()));
  return r->i64(0, 0);
}

void test_db::add_badge(const std::string& uid, participant_id owner) {
  auto r = conn_->exec(
      "INSERT INTO badges (uid, participant_id)"
      " VALUES ($1, $2)",
      {uid, std::to_string(owner)});
  if (!r) fail(describe(r.error()));
}

void test_db::add_reader(const std::string& id, facility_id where,
                         const std::string& gateway) {
  // The gateway may get its token later (add_gateway); until then no token
  // opens it, as no token hashes to an empty string.
  auto g = conn_->exec(
      "INSERT INTO gateways (id, token_hash) VALUES ($1, '')"
      " ON CONFLICT (id) DO NOTHING",
      {gateway});
  if (!g) fail(describe(g.error()));
  auto r = conn_->exec(
      "INSERT INTO readers (id, facility_id, gateway_id) VALUES ($1, $2, $3)",
      {id, std::to_string(where), gateway});
  if (!r) fail(describe(r.error()));
}

void test_db::add_gateway(const std::string& id, const std::string& token) {
  auto r = conn_->exec(
      "INSERT INTO gateways (id, token_hash) VALUES ($1, $2)"
      " ON CONFLICT (id) DO UPDATE SET token_hash = EXCLUDED.token_hash",
      {id, hash_token(token)});
  if (!r) fail(describe(r.error()));
}

std::string test_db::scalar(const std::string& sql) {
  auto r = conn_->exec(sql.c_str());
  if (!r) fail(sql + ": " + describe(r.error()));
  if (r->rows() == 0 || r->is_null(0, 0)) return {};
  return std::string{r->text(0, 0)};
}

int64_t test_db::count(const std::string& sql) {
  auto s = scalar(sql);
  return s.empty() ? 0 : std::stoll(s);
}

void test_db::exec(const std::string& sql) {
  if (auto r = conn_->exec(sql.c_str()); !r)
    fail(sql + ": " + describe(r.error()));
}

std::vector<std::string> test_db::invariant_violations() {
  std::vector<std::string> out;
  // I1: every facility with an open visit has an open keyholder visit.
  auto i1 = conn_->exec(
      "SELECT v.facility_id, count(*) FROM visits v"
      " WHERE v.checked_out_at IS NULL GROUP BY v.facility_id"
      " HAVING NOT bool_or(v.as_keyholder)");
  if (!i1) fail(describe(i1.error()));
  for (int i = 0; i < i1->rows(); ++i)
    out.push_back("I1: facility " + std::string{i1->text(i, 0)} + " has " +
                  std::string{i1->text(i, 1)} +
                  " open visits and no keyholder");
  // I2: at most one open visit per participant and facility.
  auto i2 = conn_->exec(
      "SELECT participant_id, facility_id FROM visits"
      " WHERE checked_out_at IS NULL GROUP BY participant_id, facility_id"
      " HAVING count(*) > 1");
  if (!i2) fail(describe(i2.error()));
  for (int i = 0; i < i2->rows(); ++i)
    out.push_back("I2: participant " + std::string{i2->text(i, 0)} +
                  " has several open visits in facility " +
                  std::string{i2->text(i, 1)});
  return out;
}

void test_db::kill_other_connections() {
  exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
      " WHERE application_name = '" +
      schema_ + "' AND pid <> pg_backend_pid()");
}

}  // namespace facilityd::test
