#include "app/demo_world.hpp"

#include "net/token.hpp"
#include "persistence/errc.hpp"

namespace facilityd {

namespace {

constexpr const char* demo_gateway = "demo-gw";

// Facilities, readers (all wired to the demo gateway), people and badges of
// the demo. The keyholders (Ada, Grace) open rooms; the others get in only
// while one is there.
constexpr const char* seed_sql = R"sql(
INSERT INTO facilities (name, capacity) VALUES
  ('workshop', 8), ('electronics-lab', 3), ('wood-shop', NULL);
INSERT INTO readers (id, facility_id, gateway_id)
  SELECT r.id, f.id, 'demo-gw' FROM (VALUES
    ('workshop-door', 'workshop'),
    ('lab-door', 'electronics-lab'),
    ('wood-door', 'wood-shop'),
    ('wood-back-door', 'wood-shop')) AS r (id, facility)
  JOIN facilities f ON f.name = r.facility;
INSERT INTO participants (name, is_keyholder, suspended) VALUES
  ('Ada Lovelace', true, false),
  ('Grace Hopper', true, false),
  ('Alan Turing', false, false),
  ('Katherine Johnson', false, false),
  ('Linus Pauling', false, false),
  ('Edsger Dijkstra', false, true);
INSERT INTO badges (uid, participant_id)
  SELECT b.uid, p.id FROM (VALUES
    ('04A1B2C3', 'Ada Lovelace'),
    ('04D4E5F6', 'Grace Hopper'),
    ('04112233', 'Alan Turing'),
    ('04445566', 'Katherine Johnson'),
    ('04778899', 'Linus Pauling'),
    ('04AABBCC', 'Edsger Dijkstra')) AS b (uid, name)
  JOIN participants p ON p.name = b.name;
)sql";

constexpr const char* add_gateway_sql =
    "INSERT INTO gateways (id, token_hash) VALUES ($1, $2)";

caf::expected<std::optional<demo_world>> seed_if_empty(pg_connection& c) {
  // Serializes two servers seeding the same empty database.
  if (auto r = c.exec("LOCK TABLE facilities IN EXCLUSIVE MODE"); !r)
    return r.error();
  auto existing = c.exec("SELECT count(*) FROM facilities");
  if (!existing) return existing.error();
  if (existing->i64(0, 0) > 0) return std::optional<demo_world>{};
  demo_world w{demo_gateway, generate_token()};
  if (auto r = c.exec(add_gateway_sql, {w.gateway, hash_token(w.token)}); !r)
    return r.error();
  if (auto r = c.exec(seed_sql); !r) return r.error();
  return std::optional<demo_world>{std::move(w)};
}

}  // namespace

caf::expected<std::optional<demo_world>> seed_demo_world(pg_connection& c) {
  if (auto r = c.exec("BEGIN"); !r) return r.error();
  auto seeded = seed_if_empty(c);
  auto end = c.exec(seeded ? "COMMIT" : "ROLLBACK");
  if (!seeded) return seeded.error();
  if (!end) return end.error();
  return seeded;
}

std::string demo_instructions(const demo_world& w, uint16_t port,
                              const std::string& tls_cert_file) {
  auto p = std::to_string(port);
  auto client = tls_cert_file.empty()
                    ? "nc 127.0.0.1 " + p
                    : "openssl s_client -quiet -connect 127.0.0.1:" + p +
                          " -CAfile " + tls_cert_file;
  return "\n"
         "A demo world was created: three facilities (workshop, "
         "electronics-lab,\n"
         "wood-shop), keyholders Ada (badge 04A1B2C3) and Grace (04D4E5F6),\n"
         "members Alan (04112233), Katherine (04445566), Linus (04778899),\n"
         "and Edsger (04AABBCC), who is suspended.\n"
         "\n"
         "The token of gateway " +
         w.gateway + " is shown only now:\n\n    " + w.token +
         "\n\nTry it from another terminal:\n\n"
         "    " +
         client + "\n    HELLO " + w.gateway + " " + w.token +
         "\n    SCAN 1 lab-door 04112233     (denied_closed: no keyholder)\n"
         "    SCAN 2 lab-door 04A1B2C3     (Ada opens the lab)\n"
         "    SCAN 3 lab-door 04112233     (Alan checks in)\n"
         "    SCAN 4 lab-door 04A1B2C3     (Ada leaves: the lab closes)\n"
         "\n";
}

}  // namespace facilityd
