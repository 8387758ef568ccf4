// facilityd as a process under load and abuse from its gateways: long
// pipelines, connections cut mid-batch, gateways that do not read, a
// thousand connections at once, and bytes that are no protocol at all.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "net/token.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;
using namespace std::chrono_literals;

namespace {

using W = small_world;
using steady = std::chrono::steady_clock;
constexpr const char* token = "test-token-1";
constexpr const char* token_2 = "test-token-2";

struct fixture {
  test_db db;
  small_world w{db};
  fixture() {
    db.add_gateway("gw-1", token);
    db.add_gateway("gw-2", token_2);
  }
};

struct scan {
  uint64_t seq;
  std::string reader;
  std::string badge;

  std::string line() const {
    return "SCAN " + std::to_string(seq) + " " + reader + " " + badge + "\n";
  }
};

// `count` scans numbered from 1, spread over the lab and the shop in an
// uneven interleaving, with badges in an order that reaches every kind of
// outcome: entries, refusals, check-outs and closings.
std::vector<scan> mixed_scans(size_t count) {
  static const std::vector<std::string> lab_badges{
      W::b_k1, W::b_m1, W::b_m2,   W::b_m3, W::b_suspended, W::b_k2, W::b_m1,
      W::b_k1, W::b_m2, "badge-x", W::b_k2, W::b_m3,        W::b_k1, W::b_m3};
  static const std::vector<std::string> shop_badges{
      W::b_m1, W::b_k2, W::b_m1, W::b_m2, W::b_k2, W::b_k1, W::b_m2, W::b_k1};
  std::vector<scan> out;
  size_t lab = 0, shop = 0;
  for (uint64_t seq = 1; seq <= count; ++seq) {
    if (seq % 3 == 0 || seq % 7 == 0)
      out.push_back({seq, W::shop_door, shop_badges[shop++ % 8]});
    else
      out.push_back({seq, W::lab_door, lab_badges[lab++ % 14]});
  }
  return out;
}

std::string joined(const std::vector<scan>& scans) {
  std::string out;
  for (const auto& s : scans)
    out += s.line();
  return out;
}

// The seqs of `scans` at `reader`, in the order sent, comma-separated.
std::string seqs_at(const std::vector<scan>& scans, const std::string& reader) {
  std::string out;
  for (const auto& s : scans)
    if (s.reader == reader)
      out += (out.empty() ? "" : ",") + std::to_string(s.seq);
  return out;
}

// The seqs of the scans recorded at `facility`, in the order committed.
std::string seqs_committed(test_db& db, facility_id facility) {
  return db.scalar(
      "SELECT string_agg(gateway_seq::text, ',' ORDER BY id) FROM scans"
      " WHERE facility_id = " +
      std::to_string(facility));
}

// The seq an ACK answers, or nothing for another line.
std::optional<uint64_t> acked_seq(const std::optional<std::string>& line) {
  if (!line || line->rfind("ACK ", 0) != 0) return std::nullopt;
  auto end = line->find(' ', 4);
  return std::stoull(line->substr(4, end - 4));
}

// Reads `count` ACKs, keyed by seq; fails on any other line or a repeat.
std::map<uint64_t, std::string> read_acks(gateway_client& gw, size_t count) {
  std::map<uint64_t, std::string> out;
  for (size_t i = 0; i < count; ++i) {
    auto line = gw.line();
    auto seq = acked_seq(line);
    INFO("line " << i << ": " << line.value_or("(nothing)"));
    REQUIRE(seq);
    CHECK(out.emplace(*seq, *line).second);
  }
  return out;
}

void check_acks_match_db(test_db& db,
                         const std::map<uint64_t, std::string>& acks) {
  for (const auto& [seq, ack] : acks)
    CHECK(ack == ack_in_db(db, "gw-1", seq));
}

bool starts_with(const std::optional<std::string>& line,
                 const std::string& prefix) {
  return line && line->rfind(prefix, 0) == 0;
}

bool pongs(gateway_client& gw, const std::string& word) {
  gw.send("PING " + word + "\n");
  return gw.line() == "PONG " + word;
}

using clients = std::vector<std::unique_ptr<gateway_client>>;

// `count` connections to `port`, all open at once.
clients connect_many(uint16_t port, int count) {
  clients out;
  for (int i = 0; i < count; ++i)
    out.push_back(std::make_unique<gateway_client>(port));
  return out;
}

// Gateways gw-many-1 to gw-many-`count`, all with the token "many-token",
// each wired to a door of the shop of its own, shop-door-1 and so on.
void add_many_gateways(test_db& db, facility_id shop, int count) {
  auto n = std::to_string(count);
  db.exec("INSERT INTO gateways (id, token_hash) SELECT 'gw-many-' || i, '" +
          hash_token("many-token") + "' FROM generate_series(1, " + n + ") i");
  db.exec(
      "INSERT INTO readers (id, facility_id, gateway_id)"
      " SELECT 'shop-door-' || i, " +
      std::to_string(shop) + ", 'gw-many-' || i FROM generate_series(1, " + n +
      ") i");
}

void log_in_many(clients& cs) {
  for (size_t i = 0; i < cs.size(); ++i)
    cs[i]->send("HELLO gw-many-" + std::to_string(i + 1) + " many-token\n");
}

// The next line of every client, "(nothing)" where none came; waits at
// most `timeout` in all, however many stay silent.
std::vector<std::string> next_lines(clients& cs,
                                    std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  std::vector<std::string> out;
  for (auto& c : cs) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - steady::now());
    out.push_back(c->line(std::max(left, 1ms)).value_or("(nothing)"));
  }
  return out;
}

// Raises this process's limit on open files to at least `wanted` where the
// hard limit allows; a forked server inherits it. Returns the limit now.
rlim_t raise_open_files(rlim_t wanted) {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  if (r.rlim_cur < wanted) {
    r.rlim_cur = std::min(wanted, r.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &r);
    ::getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur;
}

}  // namespace

TEST_CASE("pipelined scans apply in arrival order per facility, each ACKed") {
  fixture f;
  server_process server{f.db, {"--gateway.max-inflight=256"}};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);

  // 200 scans in one write, without waiting for any answer.
  auto scans = mixed_scans(200);
  gw.send(joined(scans));
  auto acks = read_acks(gw, scans.size());
  REQUIRE(acks.size() == scans.size());
  CHECK(acks.begin()->first == 1);
  CHECK(acks.rbegin()->first == 200);

  // Each facility committed its scans in the order they were sent, and
  // every ACK says what was committed.
  CHECK(seqs_committed(f.db, f.w.lab) == seqs_at(scans, W::lab_door));
  CHECK(seqs_committed(f.db, f.w.shop) == seqs_at(scans, W::shop_door));
  check_acks_match_db(f.db, acks);
  CHECK(f.db.count("SELECT count(DISTINCT outcome) FROM scans") >= 6);
  CHECK(f.db.invariant_violations().empty());
}

TEST_CASE("scans resent after a cut connection apply exactly once") {
  fixture f;
  server_process server{f.db, {"--gateway.max-inflight=256"}};
  auto scans = mixed_scans(120);
  std::map<uint64_t, std::string> before_cut;
  {
    gateway_client gw{server.port()};
    gw.login("gw-1", token);
    gw.send(joined(scans));
    before_cut = read_acks(gw, 10);

    // Holding the commits makes sure the cut comes in the middle of the
    // batch: the rest are in flight or not yet read when it happens.
    f.db.exec("BEGIN");
    f.db.exec("LOCK TABLE scans IN ACCESS EXCLUSIVE MODE");
    CHECK(f.db.count("SELECT count(*) FROM scans") <
          static_cast<int64_t>(scans.size()));
    gw.abort();
    f.db.exec("COMMIT");
  }

  // The gateway resends everything it has sent, ACKed or not.
  gateway_client again{server.port()};
  again.login("gw-1", token);
  again.send(joined(scans));
  auto acks = read_acks(again, scans.size());
  REQUIRE(acks.size() == scans.size());

  CHECK(f.db.count("SELECT count(*) FROM scans WHERE gateway_id = 'gw-1'") ==
        static_cast<int64_t>(scans.size()));
  CHECK(f.db.count("SELECT count(*) FROM visits") ==
        f.db.count("SELECT count(*) FROM scans WHERE outcome = 'checked_in'"));
  check_acks_match_db(f.db, acks);
  for (const auto& [seq, ack] : before_cut)
    CHECK(acks[seq] == ack);
  CHECK(f.db.invariant_violations().empty());
}

TEST_CASE("a gateway that never reads is closed and others are still served") {
  fixture f;
  server_process server{f.db, {"--gateway.max-write-queue=2048"}};
  gateway_client other{server.port()};
  other.login("gw-1", token);
  gateway_client deaf{server.port()};
  deaf.login("gw-2", token_2);

  // PINGs with long words, never reading a PONG, until the server gives
  // up on the connection. The socket buffers on both sides take hundreds
  // of kilobytes or more first, depending on the kernel.
  std::string pings;
  for (int i = 0; i < 1000; ++i)
    pings += "PING " + std::string(64, static_cast<char>('a' + i % 26)) + "\n";
  auto deadline = steady::now() + 30s;
  size_t sent = 0, rounds = 0;
  while (steady::now() < deadline && sent < (256u << 20)) {
    if (!deaf.send_within(pings, 5s)) break;
    sent += pings.size();
    // Meanwhile another gateway gets its answers.
    CHECK(pongs(other, "r" + std::to_string(++rounds)));
  }
  INFO("sent " << sent << " bytes of PINGs");
  CHECK(server.wait_for_log(
      "gateway=gw-2 disconnected: the gateway does not read its answers", 10s));
  CHECK(deaf.closed_by_server(20s));

  CHECK(pongs(other, "after"));
  other.send("SCAN 1 lab-door badge-k1\n");
  auto ack = other.line();
  CHECK(starts_with(ack, "ACK 1 checked_in"));
  gateway_client later{server.port()};
  later.login("gw-2", token_2);
  CHECK(pongs(later, "later"));
}

TEST_CASE("a thousand gateways connected at once are all served") {
  constexpr int gateways = 1000;
  auto limit = raise_open_files(4096);
  INFO("the limit on open files is " << limit);
  // Both this process and the server hold one descriptor per connection.
  REQUIRE(limit >= 1200);
  fixture f;
  add_many_gateways(f.db, f.w.shop, gateways);
  server_process server{f.db};

  // All connected first, then all logged in, then one request each, so
  // that every connection is open for the whole test.
  auto cs = connect_many(server.port(), gateways);
  log_in_many(cs);
  auto welcomes = next_lines(cs, 20s);
  CHECK(std::count(welcomes.begin(), welcomes.end(),
                   "WELCOME 1 facilityd-test") == gateways);

  // Odd ones scan, even ones ping.
  for (int i = 0; i < gateways; ++i)
    cs[i]->send(i % 2 ? "SCAN 1 shop-door-" + std::to_string(i + 1) +
                            " badge-m1\n"
                      : "PING p" + std::to_string(i) + "\n");
  auto answers = next_lines(cs, 20s);
  int answered = 0;
  for (int i = 0; i < gateways; ++i) {
    auto expected = i % 2 ? std::string{"ACK 1 denied_closed name=Mia%20Member"}
                          : "PONG p" + std::to_string(i);
    answered += answers[i] == expected;
  }
  CHECK(answered == gateways);
  CHECK(f.db.count("SELECT count(DISTINCT gateway_id) FROM scans"
                   " WHERE outcome = 'denied_closed'") == gateways / 2);
  CHECK(server.running());
}

TEST_CASE(
    "garbage, NUL bytes and invalid UTF-8 get ERR malformed and close "
    "nothing") {
  fixture f;
  server_process server{f.db, {"--gateway.max-malformed=1000"}};
  gateway_client other{server.port()};
  other.login("gw-2", token_2);
  gateway_client gw{server.port()};
  gw.login("gw-1", token);

  std::vector<std::string> lines{
      std::string(3, '\0'),
      "\xff\xfe\xfd\xfc",
      std::string{"PING a\0b", 8},
      std::string{"SCAN 7 lab-door badge-k1\0", 25},
      "SCAN 8 lab-door badge-\xc3\x28",      // a broken two-byte sequence
      "SCAN 9 lab-door badge-\xed\xa0\x80",  // a UTF-16 surrogate
      "PING caf\xc3\xa9",                    // valid UTF-8, but not ASCII
      "\x7f",
      "\x1b[2J\x1b[H",
  };
  // Random bytes, cut into lines of up to 100 bytes.
  std::mt19937 random{20240601};
  std::uniform_int_distribution<int> byte{0, 255}, length{0, 100};
  for (int i = 0; i < 50; ++i) {
    std::string garbage;
    for (int n = length(random); n > 0; --n) {
      char c = static_cast<char>(byte(random));
      garbage += c == '\n' ? '\0' : c;
    }
    lines.push_back(garbage);
  }

  std::string all;
  for (const auto& l : lines)
    all += l + "\n";
  gw.send(all);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto reply = gw.line();
    INFO("line " << i);
    CHECK((starts_with(reply, "ERR - malformed ") ||
           starts_with(reply, "ERR 7 malformed ") ||
           starts_with(reply, "ERR 8 malformed ") ||
           starts_with(reply, "ERR 9 malformed ")));
  }
  CHECK(f.db.count("SELECT count(*) FROM scans") == 0);

  // The connection goes on, and so does everyone else's.
  CHECK(pongs(gw, "still-here"));
  gw.send("SCAN 1 lab-door badge-k1\n");
  auto ack = gw.line();
  CHECK(ack == ack_in_db(f.db, "gw-1", 1));
  CHECK(starts_with(ack, "ACK 1 checked_in"));
  CHECK(pongs(other, "other"));
}

TEST_CASE("a 1 MB line gets line_too_long and a close, others are served") {
  fixture f;
  server_process server{f.db};
  gateway_client other{server.port()};
  other.login("gw-2", token_2);

  std::string huge(1 << 20, 'x');
  huge += "\n";
  SUBCASE("after logging in") {
    gateway_client gw{server.port()};
    gw.login("gw-1", token);
    gw.send_within(huge, 10s);  // the server may close before the end
    CHECK(starts_with(gw.line(), "ERR - line_too_long "));
    CHECK(gw.closed_by_server());
    CHECK(server.wait_for_log("gateway=gw-1 disconnected: line too long", 5s));
  }
  SUBCASE("instead of HELLO") {
    gateway_client gw{server.port()};
    gw.send_within(huge, 10s);
    CHECK(starts_with(gw.line(), "ERR - line_too_long "));
    CHECK(gw.closed_by_server());
    CHECK(server.wait_for_log("disconnected: line too long", 5s));
  }
  CHECK(pongs(other, "other"));
  gateway_client later{server.port()};
  later.login("gw-1", token);
  CHECK(pongs(later, "later"));
}

TEST_CASE("every connection is answered even where open files run out first") {
  // Limits of 1024 open files are common, and max-connections is 1024 by
  // default: the server meets the file limit before its own.
  constexpr int gateways = 200;
  constexpr rlim_t server_files = 128;
  fixture f;
  add_many_gateways(f.db, f.w.shop, gateways);
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  REQUIRE(saved.rlim_max > 2 * gateways);
  std::optional<server_process> server;
  {
    // The server inherits the lower limit; this process gets its own back.
    rlimit low = saved;
    low.rlim_cur = server_files;
    ::setrlimit(RLIMIT_NOFILE, &low);
    try {
      server.emplace(f.db);
    } catch (...) {
      ::setrlimit(RLIMIT_NOFILE, &saved);
      throw;
    }
    ::setrlimit(RLIMIT_NOFILE, &saved);
  }

  // Each gets WELCOME, or is refused with busy; none is left waiting.
  auto cs = connect_many(server->port(), gateways);
  log_in_many(cs);
  auto firsts = next_lines(cs, 5s);
  int answered = 0;
  for (const auto& line : firsts)
    answered +=
        line == "WELCOME 1 facilityd-test" || line.rfind("ERR - busy ", 0) == 0;
  CHECK(answered == gateways);
}

namespace {

// A figure from /proc/<pid>/status in KiB ("VmRSS", "VmHWM"), or -1.
int64_t status_kib(int pid, const std::string& key) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0)
      return std::stoll(line.substr(key.size() + 1));
  return -1;
}

// What a flood's gateways heard back, line by line.
struct flood_answers {
  size_t acks = 0;
  size_t busy = 0;
  size_t other = 0;  // any other line: a defect
  size_t missing = 0;
  std::string first_other;
};

// Gateways gw-many-1 to gw-many-`gateways` (see add_many_gateways) each log
// in and send `scans` SCAN lines, numbered from `first_seq`, as fast as the
// server takes them, while reading every answer as it comes: a flood that
// outruns the database, not a client that stops reading. Returns once every
// scan is answered or the time is up. One thread and non-blocking sockets, so
// nothing waits on a single connection.
flood_answers flood(uint16_t port, int gateways, int first_seq, int scans,
                    std::chrono::seconds within) {
  struct link {
    int fd = -1;
    std::string out;
    size_t sent = 0;
    std::string in;
    size_t answered = 0;  // lines after WELCOME
    bool welcomed = false;
  };
  flood_answers got;
  std::vector<link> links(gateways);
  for (int i = 0; i < gateways; ++i) {
    auto& l = links[i];
    auto n = std::to_string(i + 1);
    l.out = "HELLO gw-many-" + n + " many-token\n";
    for (int seq = first_seq; seq < first_seq + scans; ++seq)
      l.out += "SCAN " + std::to_string(seq) + " shop-door-" + n +
               (seq % 3 ? " badge-m1\n" : " badge-k1\n");
    l.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(l.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }

  auto take_line = [&got](link& l, std::string_view line) {
    if (!l.welcomed) {
      l.welcomed = line.rfind("WELCOME ", 0) == 0;
      if (!l.welcomed) ++got.other;
      return;
    }
    ++l.answered;
    if (line.rfind("ACK ", 0) == 0) {
      ++got.acks;
    } else if (line.rfind("ERR ", 0) == 0 &&
               line.find(" busy ") != std::string_view::npos) {
      ++got.busy;
    } else {
      if (got.other++ == 0) got.first_other = line;
    }
  };

  auto deadline = steady::now() + within;
  size_t done = 0;
  while (done < links.size() && steady::now() < deadline) {
    std::vector<pollfd> fds;
    for (auto& l : links) {
      short events = l.fd >= 0 ? POLLIN : 0;
      if (l.fd >= 0 && l.sent < l.out.size()) events |= POLLOUT;
      fds.push_back({l.fd, events, 0});
    }
    ::poll(fds.data(), fds.size(), 100);
    for (size_t i = 0; i < links.size(); ++i) {
      auto& l = links[i];
      if (l.fd < 0) continue;
      if (fds[i].revents & POLLOUT) {
        auto w = ::send(l.fd, l.out.data() + l.sent, l.out.size() - l.sent,
                        MSG_NOSIGNAL);
        if (w > 0) l.sent += static_cast<size_t>(w);
      }
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      auto r = ::recv(l.fd, buf, sizeof(buf), 0);
      if (r > 0) {
        l.in.append(buf, static_cast<size_t>(r));
        size_t start = 0;
        for (size_t nl; (nl = l.in.find('\n', start)) != std::string::npos;
             start = nl + 1)
          take_line(l, std::string_view{l.in}.substr(start, nl - start));
        l.in.erase(0, start);
      }
      if (r == 0 || (r < 0 && errno != EAGAIN) ||
          l.answered == static_cast<size_t>(scans)) {
        ::close(l.fd);
        l.fd = -1;
        ++done;
      }
    }
  }
  for (auto& l : links) {
    got.missing += static_cast<size_t>(scans) - l.answered;
    if (l.fd >= 0) ::close(l.fd);
  }
  return got;
}

}  // namespace

TEST_CASE("a flood four times as large takes no more memory than the first") {
  constexpr int gateways = 20;
  constexpr int first_scans = 10'000;  // each gateway's, so 200,000 in all
  fixture f;
  add_many_gateways(f.db, f.w.shop, gateways);
  server_process server{f.db};
  auto base = status_kib(server.pid(), "VmHWM");

  // Past gateway.max-inflight scans per connection and facility.queue-limit
  // at the shop, scans are answered busy at once; what is admitted waits
  // for the database in bounded queues. So the server's memory depends on
  // the number of connections, not on how much they send.
  auto first = flood(server.port(), gateways, 1, first_scans, 60s);
  auto after_first = status_kib(server.pid(), "VmHWM");
  auto second =
      flood(server.port(), gateways, first_scans + 1, 4 * first_scans, 90s);
  auto after_second = status_kib(server.pid(), "VmHWM");

  MESSAGE("flood of " << gateways << " gateways: peak resident memory "
                      << base / 1024 << " MiB at rest, " << after_first / 1024
                      << " MiB after " << gateways * first_scans << " scans ("
                      << first.acks << " ACKed, " << first.busy << " busy), "
                      << after_second / 1024 << " MiB after "
                      << 4 * gateways * first_scans << " more (" << second.acks
                      << " ACKed, " << second.busy << " busy)");
  // Every scan got an answer, each either ACK or busy.
  INFO("first line other than ACK or busy: " << first.first_other
                                             << second.first_other);
  CHECK(first.other + second.other == 0);
  CHECK(first.missing + second.missing == 0);
  CHECK(first.busy > 0);
  CHECK(second.busy > 0);
#if !defined(__SANITIZE_ADDRESS__)
  // The second flood carries 800,000 scans, 26 MB of lines: a server that
  // held on to even one byte per scan would grow past this.
  CHECK(after_second - after_first < 8 * 1024);
#endif

  // What was ACKed is what the database holds, and holds together.
  CHECK(f.db.count("SELECT count(*) FROM scans") ==
        static_cast<int64_t>(first.acks + second.acks));
  CHECK(f.db.invariant_violations().empty());
  CHECK(server.running());
}
