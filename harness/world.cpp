#include "harness/world.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "net/token.hpp"
#include "persistence/errc.hpp"

namespace facility_sim {

namespace {

// A few names outside plain ASCII, and one with a quote, so that the
// percent-encoding of names and the SQL quoting are exercised.
constexpr const char* first_names[] = {
    "Ada",  "Grace", "Alan",  "Zoë",   "José", "Björn",     "Ngozi",  "Mei",
    "Ravi", "Ines",  "Linus", "Chidi", "Åsa",  "Katherine", "Edsger", "Yuki"};
constexpr const char* last_names[] = {
    "Lovelace", "Hopper",   "Turing",  "Okafor", "Núñez", "O'Neil",
    "Tanaka",   "Dijkstra", "Lamport", "Müller", "Singh", "Kowalski"};

template <class T, size_t N>
const T& pick(const T (&xs)[N], std::mt19937_64& rng) {
  return xs[std::uniform_int_distribution<size_t>{0, N - 1}(rng)];
}

int uniform(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>{lo, hi}(rng);
}

bool chance(std::mt19937_64& rng, double p) {
  return std::bernoulli_distribution{p}(rng);
}

std::string hex(std::mt19937_64& rng, int digits) {
  static constexpr char alphabet[] = "0123456789ABCDEF";
  std::string out;
  for (int i = 0; i < digits; ++i)
    out += alphabet[uniform(rng, 0, 15)];
  return out;
}

std::string two_digits(int i) {
  return (i < 9 ? "0" : "") + std::to_string(i + 1);
}

void add_facilities(world& w, const options& opts, std::mt19937_64& rng) {
  for (int i = 0; i < opts.facilities; ++i) {
    facility_spec f{i + 1, "room-" + two_digits(i), std::nullopt, {}};
    if (chance(rng, 0.5)) f.capacity = uniform(rng, 2, 24);
    w.facilities.push_back(f);
  }
}

// Readers are wired to gateways in turn, so the two doors of a facility
// usually hang on different gateways and their scans race each other.
void add_readers(world& w, const options& opts, std::mt19937_64& rng) {
  int next_gateway = uniform(rng, 0, opts.gateways - 1);
  for (int f = 0; f < opts.facilities; ++f) {
    int doors = std::max(chance(rng, 0.5) ? 2 : 1, opts.min_doors);
    for (int d = 0; d < doors; ++d) {
      auto& fac = w.facilities[f];
      fac.readers.push_back(static_cast<int>(w.readers.size()));
      auto name = d == 0   ? fac.name + "-front"
                  : d == 1 ? fac.name + "-back"
                           : fac.name + "-door-" + std::to_string(d);
      w.readers.push_back({name, f, next_gateway++ % opts.gateways});
    }
  }
  for (int g = 0; g < opts.gateways; ++g)
    w.unknown_readers.push_back({"ghost-door-" + two_digits(g), -1, g});
}

std::string fresh_badge(std::set<std::string>& used, std::mt19937_64& rng) {
  for (;;) {
    auto uid = hex(rng, 8);
    if (used.insert(uid).second) return uid;
  }
}

// Haunts: where each person goes. Members roam more than keyholders.
void add_haunts(world& w, std::mt19937_64& rng) {
  int f_count = static_cast<int>(w.facilities.size());
  for (auto& p : w.participants) {
    int n = std::min(f_count,
                     p.keyholder ? uniform(rng, 1, 2) : uniform(rng, 1, 3));
    while (static_cast<int>(p.haunts.size()) < n) {
      int f = uniform(rng, 0, f_count - 1);
      if (std::find(p.haunts.begin(), p.haunts.end(), f) == p.haunts.end())
        p.haunts.push_back(f);
    }
  }

  // Every facility gets a keyholder who can open it.
  std::vector<participant_spec*> openers;
  for (auto& p : w.participants)
    if (p.keyholder && !p.suspended) openers.push_back(&p);
  if (openers.empty()) return;
  for (int f = 0; f < f_count; ++f) {
    auto& h = openers[static_cast<size_t>(f) % openers.size()]->haunts;
    if (std::find(h.begin(), h.end(), f) == h.end()) h.push_back(f);
  }
}

void add_participants(world& w, const options& opts, std::mt19937_64& rng) {
  int n = opts.participants;
  auto count_of = [n](double share) {
    int c = static_cast<int>(share * n + 0.5);
    return share > 0 ? std::max(c, 1) : 0;
  };
  std::vector<int> order(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    order[static_cast<size_t>(i)] = i;
  w.participants.resize(static_cast<size_t>(n));
  std::shuffle(order.begin(), order.end(), rng);
  for (int i = 0; i < count_of(opts.keyholder_share); ++i)
    w.participants[static_cast<size_t>(order[i])].keyholder = true;
  std::shuffle(order.begin(), order.end(), rng);
  for (int i = 0; i < count_of(opts.suspended_share); ++i)
    w.participants[static_cast<size_t>(order[i])].suspended = true;

  std::set<std::string> used;
  for (int i = 0; i < n; ++i) {
    auto& p = w.participants[static_cast<size_t>(i)];
    p.id = i + 1;
    p.name = std::string{pick(first_names, rng)} + " " + pick(last_names, rng);
    p.badges.push_back(fresh_badge(used, rng));
    if (chance(rng, 0.1)) p.badges.push_back(fresh_badge(used, rng));
  }
  for (int i = 0; i < 64; ++i)
    w.unknown_badges.push_back(fresh_badge(used, rng));
  add_haunts(w, rng);
}

// Half the gateways count from just below 2^64, so that seqs beyond the
// range of a signed 64-bit integer go through every layer.
void add_gateways(world& w, const options& opts, std::mt19937_64& rng) {
  for (int g = 0; g < opts.gateways; ++g) {
    uint64_t first = g % 2 == 0 ? 1 : ~uint64_t{0} - (uint64_t{1} << 40);
    w.gateways.push_back({"sim-gw-" + two_digits(g), hex(rng, 64), first});
  }
}

void index(world& w) {
  for (size_t i = 0; i < w.participants.size(); ++i)
    for (auto& b : w.participants[i].badges)
      w.badge_index[b] = static_cast<int>(i);
  for (size_t i = 0; i < w.readers.size(); ++i)
    w.reader_index[w.readers[i].id] = static_cast<int>(i);
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// INSERT INTO `table` VALUES (row), (row), ...
std::string insert(const std::string& table,
                   const std::vector<std::string>& rows) {
  std::string sql = "INSERT INTO " + table + " VALUES ";
  for (size_t i = 0; i < rows.size(); ++i)
    sql += (i ? ", (" : "(") + rows[i] + ")";
  return sql + ";\n";
}

std::string world_sql(const world& w) {
  std::vector<std::string> facilities, readers, people, badges, gateways;
  for (auto& f : w.facilities)
    facilities.push_back(
        std::to_string(f.id) + ", " + quote(f.name) + ", " +
        (f.capacity ? std::to_string(*f.capacity) : std::string{"NULL"}));
  for (auto& r : w.readers)
    readers.push_back(quote(r.id) + ", " +
                      std::to_string(w.facilities[r.facility].id) + ", " +
                      quote(w.gateways[r.gateway].id));
  for (auto& p : w.participants) {
    people.push_back(std::to_string(p.id) + ", " + quote(p.name) + ", " +
                     (p.keyholder ? "true" : "false") + ", " +
                     (p.suspended ? "true" : "false"));
    for (auto& b : p.badges)
      badges.push_back(quote(b) + ", " + std::to_string(p.id));
  }
  for (auto& g : w.gateways)
    gateways.push_back(quote(g.id) + ", " +
                       quote(facilityd::hash_token(g.token)));
  return "BEGIN;\n" + insert("facilities (id, name, capacity)", facilities) +
         insert("gateways (id, token_hash)", gateways) +
         insert("readers (id, facility_id, gateway_id)", readers) +
         insert("participants (id, name, is_keyholder, suspended)", people) +
         insert("badges (uid, participant_id)", badges) + "COMMIT;";
}

}  // namespace

const participant_spec* world::owner_of(const std::string& badge) const {
  auto it = badge_index.find(badge);
  return it == badge_index.end() ? nullptr : &participants[it->second];
}

const reader_spec* world::reader(const std::string& id) const {
  auto it = reader_index.find(id);
  return it == reader_index.end() ? nullptr : &readers[it->second];
}

const reader_spec* world::reader_of(const std::string& gateway,
                                    const std::string& id) const {
  auto* r = reader(id);
  return r && gateways[r->gateway].id == gateway ? r : nullptr;
}

const participant_spec* world::participant(int64_t id) const {
  if (id < 1 || id > static_cast<int64_t>(participants.size())) return nullptr;
  return &participants[static_cast<size_t>(id - 1)];
}

int world::keyholder_count() const {
  return static_cast<int>(
      std::count_if(participants.begin(), participants.end(),
                    [](const participant_spec& p) { return p.keyholder; }));
}

int world::suspended_count() const {
  return static_cast<int>(
      std::count_if(participants.begin(), participants.end(),
                    [](const participant_spec& p) { return p.suspended; }));
}

world make_world(const options& opts, std::mt19937_64& rng) {
  world w;
  add_facilities(w, opts, rng);
  add_readers(w, opts, rng);
  add_participants(w, opts, rng);
  add_gateways(w, opts, rng);
  index(w);
  return w;
}

void create_world(facilityd::pg_connection& conn, const world& w) {
  auto sql = world_sql(w);
  if (auto r = conn.exec(sql.c_str()); !r)
    throw std::runtime_error("cannot create the world: " +
                             facilityd::describe(r.error()));
}

}  // namespace facility_sim
