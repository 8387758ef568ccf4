#include "harness/simulation.hpp"

#include <poll.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace facility_sim {

namespace {

using namespace std::chrono_literals;

constexpr auto server_poll_every = 20ms;
constexpr auto progress_every = 1s;
constexpr auto start_limit = 90s;
constexpr auto stop_grace = 20s;
constexpr auto max_poll_wait = 5ms;

double seconds(clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string replace_all(std::string text, const std::string& from,
                        const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// "[12.3s] ", the time into the run that starts a line about an event.
std::string stamp(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "[%.1fs] ", s);
  return buf;
}

std::string plural(int64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::vector<planned_fault> plan_faults(const options& opts,
                                       std::mt19937_64& rng) {
  std::uniform_real_distribution<double> when{0.1, 0.9};
  std::vector<planned_fault> out;
  auto add = [&](int n, fault_kind kind) {
    for (int i = 0; i < n; ++i)
      out.push_back({when(rng), kind});
  };
  add(opts.kill_server, fault_kind::kill_server);
  add(opts.restart_db, fault_kind::restart_db);
  add(opts.cut_connections, fault_kind::cut_connection);
  add(opts.resend_history ? 1 : 0, fault_kind::resend_history);
  std::sort(out.begin(), out.end(),
            [](auto& a, auto& b) { return a.at < b.at; });
  return out;
}

simulation::simulation(const options& opts, const world& w,
                       std::string server_dsn, const std::string& dir,
                       violation_log& violations)
    : opts_(opts),
      world_(w),
      violations_(violations),
      rng_(opts.seed ^ 0x9e3779b97f4a7c15),
      tls_(opts.tls
               ? std::make_unique<tls_client>(opts.tls_ca_file, "localhost")
               : nullptr),
      server_(opts.facilityd, std::move(server_dsn), opts.server_args, dir),
      db_restart_log_(dir + "/db-restart.log"),
      people_(w, opts, opts.seed + 1) {
  for (size_t g = 0; g < w.gateways.size(); ++g)
    gateways_.push_back(std::make_unique<gateway_link>(
        w.gateways[g], opts.pipeline, opts.seed + 100 + g, stats_, violations_,
        tls_.get()));
  faults_ = plan_faults(opts, rng_);
}

void simulation::run() {
  start_server();
  start_ = clock::now();
  next_progress_ = start_ + progress_every;
  people_.start(start_);
  for (;;) {
    auto now = clock::now();
    step(now);
    if (finished(now)) break;
  }
  end_ = clock::now();
  print_progress(end_);
  for (auto& g : gateways_)
    g->close();

  auto status = server_.stop(stop_grace);
  if (!status)
    violations_.add("facilityd did not stop within 20 s of SIGTERM");
  else if (*status != 0)
    violations_.add("facilityd exited with status " + std::to_string(*status) +
                    " after SIGTERM");
}

std::vector<const gateway_log*> simulation::logs() const {
  std::vector<const gateway_log*> out;
  for (auto& g : gateways_)
    out.push_back(&g->log());
  return out;
}

std::string simulation::faults_done() const {
  std::string modes;
  for (auto& m : db_modes_)
    if (!m.empty()) modes += (modes.empty() ? "" : ", ") + m;
  std::string out = plural(stats_.server_kills, "server kill") + ", " +
                    plural(stats_.db_restarts, "database restart") +
                    (modes.empty() ? "" : " (" + modes + ")") + ", " +
                    plural(stats_.cuts, "connection cut");
  if (!history_gateway_.empty())
    out += ", " + history_gateway_ + " resent its history (" +
           plural(stats_.history_resent, "scan") + ")";
  if (stats_.server_crashes > 0)
    out += "; " + plural(stats_.server_crashes, "server crash");
  return out;
}

double simulation::traffic_seconds() const {
  return seconds(end_ - start_);
}

double simulation::drain_seconds() const {
  return drain_start_ ? seconds(end_ - *drain_start_) : 0.0;
}

// -- the loop ----------------------------------------------------------------

void simulation::start_server() {
  server_.start();
  auto deadline = clock::now() + start_limit;
  while (server_.port() == 0) {
    if (auto status = server_.poll())
      throw std::runtime_error("facilityd exited with status " +
                               std::to_string(*status) + ":\n" +
                               server_.log_tail(20));
    if (clock::now() > deadline)
      throw std::runtime_error("facilityd did not start listening:\n" +
                               server_.log_tail(20));
    std::this_thread::sleep_for(10ms);
  }
}

bool simulation::sending(clock::time_point now) const {
  if (opts_.scans && created_ >= *opts_.scans) return false;
  if (opts_.duration_s && seconds(now - start_) >= *opts_.duration_s)
    return false;
  return true;
}

double simulation::progress(clock::time_point now) const {
  double p = 0;
  if (opts_.scans)
    p = static_cast<double>(created_) / static_cast<double>(*opts_.scans);
  if (opts_.duration_s)
    p = std::max(p, seconds(now - start_) / *opts_.duration_s);
  return std::min(p, 1.0);
}

bool simulation::send(const scan_intent& s) {
  if (!sending(clock::now())) return false;
  gateways_[s.gateway]->add_scan(s.reader, s.badge, s.person);
  ++created_;
  return true;
}

// Done once nothing more is sent, every scan is answered, every fault
// has happened and the server is up again; or when the drain times out.
bool simulation::finished(clock::time_point now) {
  if (sending(now)) return false;
  if (!drain_start_) drain_start_ = now;
  bool answered = std::all_of(gateways_.begin(), gateways_.end(),
                              [](auto& g) { return g->pending() == 0; });
  bool calm = faults_.empty() && !db_restart_.running() && server_.port();
  if (answered && calm) return true;
  if (seconds(now - *drain_start_) < opts_.drain_timeout_s) return false;
  std::cout << "the drain timed out with scans unanswered" << std::endl;
  return true;
}

void simulation::step(clock::time_point now) {
  watch_server(now);
  watch_db_restart();
  inject_faults(now);
  people_.run_due(now, [this](const scan_intent& s) { return send(s); });
  for (auto& g : gateways_)
    g->tick(now, server_.port());
  poll_sockets(now);
  if (now >= next_progress_) {
    print_progress(now);
    next_progress_ = now + progress_every;
  }
}

// A server that ends without being told to has crashed: that is a
// violation, and the run goes on with a new one.
void simulation::watch_server(clock::time_point now) {
  if (now < next_server_poll_) return;
  next_server_poll_ = now + server_poll_every;
  if (auto status = server_.poll()) {
    ++stats_.server_crashes;
    // 127: the exec failed, as when the binary is being rebuilt.
    violations_.add("facilityd exited on its own with status " +
                    std::to_string(*status) +
                    (*status == 127 ? " (it could not be run)" : ""));
    std::cout << "facilityd exited on its own (status " << *status
              << "); starting it again\n"
              << server_.log_tail(10) << std::flush;
    server_.start();
    return;
  }
  if (server_.port() == 0 && now - server_.started_at() > start_limit)
    throw std::runtime_error("facilityd did not start listening again:\n" +
                             server_.log_tail(20));
}

void simulation::watch_db_restart() {
  if (!db_restart_.running()) return;
  auto status = db_restart_.poll();
  if (!status) return;
  if (*status != 0)
    throw std::runtime_error(
        "the database restart command failed with status " +
        std::to_string(*status) + ":\n" + file_tail(db_restart_log_, 20));
  ++stats_.db_restarts;
  std::cout << "database restarted" << std::endl;
}

// One fault at a time: the next waits until the server listens again and
// the database restart command has finished.
void simulation::inject_faults(clock::time_point now) {
  if (faults_.empty() || db_restart_.running() || server_.port() == 0) return;
  if (progress(now) < faults_.front().at) return;
  if (do_fault(faults_.front().kind, now)) faults_.erase(faults_.begin());
}

bool simulation::do_fault(fault_kind kind, clock::time_point now) {
  switch (kind) {
    case fault_kind::kill_server:
      kill_server(now);
      return true;
    case fault_kind::restart_db:
      restart_db(now);
      return true;
    case fault_kind::cut_connection:
      return cut_a_connection(now);
    case fault_kind::resend_history:
      resend_history(now);
      return true;
  }
  return true;
}

void simulation::kill_server(clock::time_point now) {
  say(now, "fault: kill -9 facilityd and start it again");
  server_.kill9();
  ++stats_.server_kills;
  server_.start();
}

// Fast and immediate shutdowns alternate when the command takes a mode.
void simulation::restart_db(clock::time_point now) {
  std::string mode = db_modes_.size() % 2 == 0 ? "fast" : "immediate";
  auto cmd = replace_all(opts_.db_restart_cmd, "{mode}", mode);
  db_modes_.push_back(cmd != opts_.db_restart_cmd ? mode : "");
  say(now, "fault: restarting the database: " + cmd);
  db_restart_.spawn({"/bin/sh", "-c", cmd}, db_restart_log_,
                    std::filesystem::current_path().string());
}

// Waits for a connection to cut when none is logged in (the gateways
// may still be coming back from a server restart).
bool simulation::cut_a_connection(clock::time_point now) {
  std::vector<gateway_link*> up;
  for (auto& g : gateways_)
    if (g->logged_in()) up.push_back(g.get());
  if (up.empty()) return false;
  auto* g = up[rng_() % up.size()];
  say(now, "fault: cutting the connection of " + g->log().spec.id + " with " +
               std::to_string(g->in_flight()) + " scans in flight");
  g->cut(now);
  return true;
}

void simulation::resend_history(clock::time_point now) {
  auto& g = *gateways_[rng_() % gateways_.size()];
  stats_.history_resent += static_cast<int64_t>(g.resend_history());
  history_gateway_ = g.log().spec.id;
  say(now, "fault: " + history_gateway_ + " resends its history of " +
               std::to_string(stats_.history_resent) + " answered scans");
}

void simulation::say(clock::time_point now, const std::string& what) {
  std::cout << stamp(seconds(now - start_)) << what << std::endl;
}

void simulation::poll_sockets(clock::time_point now) {
  std::vector<pollfd> fds;
  std::vector<gateway_link*> owners;
  for (auto& g : gateways_) {
    auto p = g->poll_request();
    if (p.fd < 0) continue;
    fds.push_back(p);
    owners.push_back(g.get());
  }
  clock::duration wait = max_poll_wait;
  if (auto due = people_.next_due())
    wait = std::clamp<clock::duration>(*due - now, clock::duration{0}, wait);
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  ::poll(fds.data(), fds.size(), static_cast<int>(ms));

  std::vector<uint64_t> first_acks;
  for (size_t i = 0; i < fds.size(); ++i) {
    first_acks.clear();
    owners[i]->on_poll(fds[i].revents, clock::now(), first_acks);
    for (auto seq : first_acks) {
      auto& s = *owners[i]->log().find(seq);
      if (s.person >= 0) people_.on_ack(s.person, *s.answer, clock::now());
    }
  }
  stats_.in_flight = 0;
  for (auto& g : gateways_)
    stats_.in_flight += static_cast<int64_t>(g->in_flight());
}

void simulation::print_progress(clock::time_point now) {
  std::cout << progress_line(seconds(now - start_), stats_, server_state(),
                             violations_.count())
            << std::endl;
}

std::string simulation::server_state() const {
  std::string s = server_.port() != 0 ? "server up"
                  : server_.running() ? "server starting"
                                      : "server down";
  if (db_restart_.running()) s += ", database restarting";
  if (drain_start_) s += ", draining";
  return s;
}

}  // namespace facility_sim
