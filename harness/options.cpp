#include "harness/options.hpp"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <string_view>

namespace facility_sim {

namespace {

constexpr const char* help_text = R"(usage: facility-sim [options]

Creates a world in a schema of its own, starts facilityd on it, drives it
with simulated gateways (optionally killing the server, restarting the
database and cutting connections), then checks the database against what
the gateways were told and against a reference model of the rules.
Exits 0 when everything holds, 1 on any violation, 2 when it cannot run.

database and server:
  --dsn DSN               libpq key=value string (default: PGHOST etc.)
  --schema NAME           schema to create afresh (default: sim_<pid>)
  --keep                  leave the schema (and the server log) behind
  --facilityd PATH        server binary (default: the build's)
  --server-arg ARG        extra facilityd argument; repeatable
  --tls                   gateways speak TLS (give the server its TLS
                          settings with --server-arg)
  --tls-ca-file PEM       with --tls: trust only these certificates; the
                          server's must be made out to localhost
world:
  --facilities N          (20)
  --participants N        (400)
  --keyholder-share X     share of participants who are keyholders (0.1)
  --suspended-share X     share who are suspended (0.03)
  --gateways N            simulated gateways, one connection each (8)
  --min-doors N           readers per facility at least (1; most get 1 or
                          2); with few facilities and many gateways, raise
                          it so that every gateway has doors to scan at
traffic:
  --scans N               scans to send, resends not counted (5000)
  --duration SECONDS      send for this long instead (with --scans: the
                          first limit reached ends the sending)
  --seed N                random seed (default: from the clock; printed)
  --pipeline N            scans in flight per gateway (32)
  --think-ms N            typical pause of a person between scans (200)
  --hostile-share X       share of hostile scans (0.05)
  --drain-timeout SECONDS time for the last answers at the end (60)
faults:
  --kill-server N         kill -9 facilityd N times and restart it
  --restart-db N          restart PostgreSQL N times with:
  --db-restart-cmd CMD    shell command; "{mode}" in it becomes fast,
                          then immediate, alternately
  --cut-connections N     reset N gateway connections
  --resend-history        one gateway resends everything it has sent
checking the checks:
  --inject-violation[=KIND]  corrupt the database before checking: KIND
                          is open-visit (default), duplicate-scan or
                          flip-outcome; the run must then fail
)";

template <class T>
T number(std::string_view flag, std::string_view text) {
  T value{};
  auto end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end)
    throw usage_error("--" + std::string{flag} +
                      ": not a number: " + std::string{text});
  return value;
}

template <class T>
void at_least(std::string_view flag, T value, T low) {
  if (value < low)
    throw usage_error("--" + std::string{flag} + " must be at least " +
                      std::to_string(low));
}

void share(std::string_view flag, double x) {
  if (x < 0 || x > 1)
    throw usage_error("--" + std::string{flag} + " must be within 0..1");
}

using setter = std::function<void(options&, std::string_view)>;

// Options that take a value, by name.
const std::map<std::string_view, setter>& valued() {
  static const std::map<std::string_view, setter> table = {
      {"dsn", [](options& o, std::string_view v) { o.dsn = v; }},
      {"schema", [](options& o, std::string_view v) { o.schema = v; }},
      {"facilityd", [](options& o, std::string_view v) { o.facilityd = v; }},
      {"tls-ca-file",
       [](options& o, std::string_view v) { o.tls_ca_file = v; }},
      {"server-arg",
       [](options& o, std::string_view v) { o.server_args.emplace_back(v); }},
      {"facilities",
       [](options& o, std::string_view v) {
         o.facilities = number<int>("facilities", v);
       }},
      {"participants",
       [](options& o, std::string_view v) {
         o.participants = number<int>("participants", v);
       }},
      {"keyholder-share",
       [](options& o, std::string_view v) {
         o.keyholder_share = number<double>("keyholder-share", v);
       }},
      {"suspended-share",
       [](options& o, std::string_view v) {
         o.suspended_share = number<double>("suspended-share", v);
       }},
      {"gateways",
       [](options& o, std::string_view v) {
         o.gateways = number<int>("gateways", v);
       }},
      {"min-doors",
       [](options& o, std::string_view v) {
         o.min_doors = number<int>("min-doors", v);
       }},
      {"scans",
       [](options& o, std::string_view v) {
         o.scans = number<int64_t>("scans", v);
       }},
      {"duration",
       [](options& o, std::string_view v) {
         o.duration_s = number<double>("duration", v);
       }},
      {"seed",
       [](options& o, std::string_view v) {
         o.seed = number<uint64_t>("seed", v);
       }},
      {"pipeline",
       [](options& o, std::string_view v) {
         o.pipeline = number<int>("pipeline", v);
       }},
      {"think-ms",
       [](options& o, std::string_view v) {
         o.think_ms = number<int>("think-ms", v);
       }},
      {"hostile-share",
       [](options& o, std::string_view v) {
         o.hostile_share = number<double>("hostile-share", v);
       }},
      {"drain-timeout",
       [](options& o, std::string_view v) {
         o.drain_timeout_s = number<double>("drain-timeout", v);
       }},
      {"kill-server",
       [](options& o, std::string_view v) {
         o.kill_server = number<int>("kill-server", v);
       }},
      {"restart-db",
       [](options& o, std::string_view v) {
         o.restart_db = number<int>("restart-db", v);
       }},
      {"db-restart-cmd",
       [](options& o, std::string_view v) { o.db_restart_cmd = v; }},
      {"cut-connections",
       [](options& o, std::string_view v) {
         o.cut_connections = number<int>("cut-connections", v);
       }},
  };
  return table;
}

void set_injection(options& o, std::string_view kind) {
  for (auto k : injection_kinds)
    if (kind == k) {
      o.inject_violation = kind;
      return;
    }
  throw usage_error("--inject-violation: unknown kind " + std::string{kind});
}

// Takes a flag without a value; false when `name` is none.
bool take_flag(options& o, std::string_view name) {
  if (name == "keep")
    o.keep = true;
  else if (name == "tls")
    o.tls = true;
  else if (name == "resend-history")
    o.resend_history = true;
  else if (name == "inject-violation")
    o.inject_violation = injection_kinds[0];
  else
    return false;
  return true;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 63 || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

void validate(const options& o) {
  at_least("facilities", o.facilities, 1);
  at_least("participants", o.participants, 1);
  at_least("gateways", o.gateways, 1);
  at_least("min-doors", o.min_doors, 1);
  if (o.scans) at_least("scans", *o.scans, int64_t{1});
  at_least("pipeline", o.pipeline, 1);
  at_least("think-ms", o.think_ms, 1);
  at_least("kill-server", o.kill_server, 0);
  at_least("restart-db", o.restart_db, 0);
  at_least("cut-connections", o.cut_connections, 0);
  share("keyholder-share", o.keyholder_share);
  share("suspended-share", o.suspended_share);
  share("hostile-share", o.hostile_share);
  if (o.duration_s && *o.duration_s <= 0)
    throw usage_error("--duration must be positive");
  if (o.drain_timeout_s <= 0)
    throw usage_error("--drain-timeout must be positive");
  if (o.tls && o.tls_ca_file.empty())
    throw usage_error("--tls needs --tls-ca-file: the server is verified");
  if (!o.tls && !o.tls_ca_file.empty())
    throw usage_error("--tls-ca-file is only for --tls");
  if (o.restart_db > 0 && o.db_restart_cmd.empty())
    throw usage_error("--restart-db needs --db-restart-cmd");
  if (!is_identifier(o.schema))
    throw usage_error("--schema: lower-case letters, digits and _ only");
}

void apply_defaults(options& o, bool seed_given) {
  if (o.schema.empty()) o.schema = "sim_" + std::to_string(::getpid());
  if (o.facilityd.empty()) o.facilityd = FACILITYD_BINARY;
  if (!o.scans && !o.duration_s) o.scans = 5000;
  if (!seed_given)
    o.seed = static_cast<uint64_t>(
        std::chrono::system_clock::now().time_since_epoch().count());
}

}  // namespace

std::optional<options> parse_options(int argc, char** argv) {
  options o;
  bool seed_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << help_text;
      return {};
    }
    if (!arg.starts_with("--"))
      throw usage_error("unexpected argument: " + std::string{arg});
    arg.remove_prefix(2);
    auto eq = arg.find('=');
    auto name = arg.substr(0, eq);
    if (eq == arg.npos && take_flag(o, name)) continue;
    if (name == "inject-violation") {
      set_injection(o, arg.substr(eq + 1));
      continue;
    }
    auto found = valued().find(name);
    if (found == valued().end())
      throw usage_error("unknown option --" + std::string{name});
    if (eq == arg.npos && i + 1 >= argc)
      throw usage_error("--" + std::string{name} + " needs a value");
    auto value =
        eq == arg.npos ? std::string_view{argv[++i]} : arg.substr(eq + 1);
    found->second(o, value);
    seed_given = seed_given || name == "seed";
  }
  apply_defaults(o, seed_given);
  validate(o);
  return o;
}

}  // namespace facility_sim
