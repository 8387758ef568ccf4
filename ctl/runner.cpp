#include "ctl/runner.hpp"

#include <signal.h>

#include <algorithm>
#include <csignal>

#include "ctl/format.hpp"

namespace facilityd::ctl {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Set by SIGINT while a watch runs.
volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_watch_interrupt(int) {
  interrupted = 1;
}

// The rows an import was refused for: in the error object, or (as the
// store words it) as JSON inside its message.
json rejected_rows(const answer& a) {
  if (a.error.contains("rejected")) return a.error["rejected"];
  auto inner = json::parse(a.message, nullptr, false);
  if (inner.is_object() && inner.contains("rejected")) return inner["rejected"];
  return json::array();
}

int report_refusal(const invocation& inv, const answer& a, size_t not_found,
                   bool as_json, terminal t) {
  if (as_json) t.out << a.error.dump(2) << "\n";
  if (a.code == "auth_required" || a.code == "auth_failed") {
    t.err << "facilityctl: facilityd no longer accepts this login (" << a.code
          << "): " << a.message << "\n";
    return exit_unreachable;
  }
  auto rejected = rejected_rows(a);
  if (inv.command == "import participants" && !rejected.empty()) {
    t.err << "facilityctl: nothing was imported; "
          << (rejected.size() == 1
                  ? "1 row was"
                  : std::to_string(rejected.size()) + " rows were")
          << " refused:\n"
          << format_rejections(inv, rejected);
    return exit_refused;
  }
  std::string message = a.message.empty() ? a.code : a.message;
  if (not_found > 1 && !inv.not_found_message.empty())
    message = inv.not_found_message;
  t.err << "facilityctl: " << message << "\n";
  return exit_refused;
}

int refuse_import_here(const invocation& inv, terminal t) {
  auto n = inv.rejected.size();
  t.err << "facilityctl: nothing was imported; "
        << (n == 1 ? "1 row" : std::to_string(n) + " rows")
        << " of the file cannot be read:\n"
        << format_rejections(inv, json::array());
  return exit_refused;
}

// The attempts worth making: a bare word given to history is a facility
// only if one has that name.
std::vector<request> attempts_for(const invocation& inv, server_link& s) {
  auto attempts = inv.attempts;
  if (inv.facility_probe.empty() || attempts.size() < 2) return attempts;
  auto names = s.facility_names();
  if (std::find(names.begin(), names.end(), inv.facility_probe) == names.end())
    attempts.erase(attempts.begin());
  return attempts;
}

int print_result(const invocation& inv, const json& result, bool as_json,
                 terminal t) {
  if (as_json)
    t.out << result.dump(2) << "\n";
  else
    t.out << format_result(inv, result);
  // verify answers yes even when it finds differences; scripts want to
  // know.
  const auto& diffs =
      result.is_object() ? result.value("differences", json{}) : json{};
  if (inv.command == "verify" && diffs.is_array() && !diffs.empty())
    return exit_refused;
  // health answers yes when it could ask; the answer may be no.
  if (inv.command == "health" && result.is_object() &&
      result.value("database", std::string{}) != "reachable")
    return exit_refused;
  return exit_ok;
}

int unreachable(server_link& s, const connection_error& e, terminal t) {
  s.drop();
  t.err << "facilityctl: " << e.what() << "\n";
  return exit_unreachable;
}

// Ctrl-C ends a watch: SIGINT is caught, and blocked except while the
// watch waits for the server, so it cannot arrive unnoticed.
class sigint_guard {
 public:
  sigint_guard() {
    interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_watch_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_action_);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    ::sigprocmask(SIG_BLOCK, &block, &old_mask_);
    wait_mask_ = old_mask_;
    sigdelset(&wait_mask_, SIGINT);
  }
  ~sigint_guard() {
    ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
    ::sigaction(SIGINT, &old_action_, nullptr);
  }
  sigint_guard(const sigint_guard&) = delete;
  sigint_guard& operator=(const sigint_guard&) = delete;

  const sigset_t* wait_mask() const { return &wait_mask_; }

 private:
  struct sigaction old_action_ {};
  sigset_t old_mask_{};
  sigset_t wait_mask_{};
};

int stream_events(admin_client& c, const sigint_guard& guard, bool as_json,
                  terminal t) {
  for (;;) {
    json event;
    switch (c.next_message(event, 1s, guard.wait_mask())) {
      case admin_client::wait_status::interrupted:
        if (interrupted) return exit_ok;
        break;
      case admin_client::wait_status::timeout:
        break;
      case admin_client::wait_status::closed:
        t.err << "facilityctl: facilityd at " << c.endpoint()
              << " closed the connection\n";
        return exit_unreachable;
      case admin_client::wait_status::line:
        if (as_json)
          t.out << event.dump() << "\n";
        else if (event.value("event", "") == "dropped")
          t.err << "facilityctl: " << format_event(event);
        else
          t.out << format_event(event);
        t.out.flush();
        break;
    }
  }
}

}  // namespace

admin_client& server_link::client() {
  // A connection the server closed meanwhile is replaced before use, so
  // a console outlives a server restart without a failed command.
  if (client_ && !client_->alive()) client_.reset();
  if (client_) return *client_;
  client_ = open();
  return *client_;
}

std::unique_ptr<admin_client> server_link::open() {
  auto c = std::make_unique<admin_client>(settings_.host, settings_.port);
  // The server is asked first, so that "not running" wins over a token
  // file that is missing because the server never ran here.
  server_ = c->login(read_token(settings_), settings_.user);
  return c;
}

std::vector<std::string> server_link::facility_names() {
  std::vector<std::string> names;
  try {
    auto a = client().call("facilities");
    if (!a.ok) return names;
    for (const auto& f : a.result.value("facilities", json::array()))
      if (f.contains("name") && f["name"].is_string())
        names.push_back(f["name"].get<std::string>());
  } catch (const connection_error&) {
    drop();
  }
  std::sort(names.begin(), names.end());
  return names;
}

int run(const invocation& inv, server_link& s, bool as_json, terminal t) {
  if (inv.what == invocation::kind::help) {
    t.out << help_text(inv.positional);
    return exit_ok;
  }
  if (!inv.rejected.empty()) return refuse_import_here(inv, t);
  try {
    auto& c = s.client();
    answer a;
    size_t not_found = 0;
    for (const auto& r : attempts_for(inv, s)) {
      a = c.call(r.cmd, r.args);
      if (a.ok || a.code != "not_found") break;
      ++not_found;
    }
    if (a.ok) return print_result(inv, a.result, as_json, t);
    return report_refusal(inv, a, not_found, as_json, t);
  } catch (const connection_error& e) {
    return unreachable(s, e, t);
  }
}

int run_watch(const invocation& inv, server_link& s, bool as_json, terminal t) {
  try {
    sigint_guard guard;
    auto c = s.open();
    auto a = c->call("watch", inv.attempts.at(0).args);
    if (!a.ok) return report_refusal(inv, a, 0, as_json, t);
    if (as_json) {
      t.out << a.result.dump() << "\n";
    } else {
      auto what = a.result.value("watching", std::string{"all"});
      t.out << "Watching " << (what == "all" ? "all facilities" : what)
            << "; Ctrl-C stops.\n";
    }
    t.out.flush();
    return stream_events(*c, guard, as_json, t);
  } catch (const connection_error& e) {
    return unreachable(s, e, t);
  }
}

int report_usage(const usage_error& e, bool console, terminal t) {
  t.err << "facilityctl: " << e.what() << "\n";
  auto usage = usage_of(e.command());
  if (usage.empty()) return exit_usage;
  if (console)
    usage.replace(0, std::string{"usage: facilityctl "}.size(), "usage: ");
  t.err << usage << "\n";
  return exit_usage;
}

}  // namespace facilityd::ctl
