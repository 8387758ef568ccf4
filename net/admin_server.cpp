#include "net/admin_server.hpp"

#include <sys/stat.h>

#include <deque>
#include <fstream>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "net/admin_service.hpp"
#include "net/strand_channel.hpp"
#include "net/token.hpp"
#include "persistence/errc.hpp"
#include "util/log.hpp"

namespace facilityd {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using json = nlohmann::json;

namespace {

constexpr size_t max_request = 1 << 20;
constexpr size_t max_queued_events = 1000;
constexpr auto request_timeout = std::chrono::seconds{120};

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r\n");
  auto last = s.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, last - first + 1);
}

}  // namespace

std::string admin_token_from_file(const std::string& path) {
  std::ifstream in{path};
  if (in) {
    std::string token{std::istreambuf_iterator<char>{in}, {}};
    token = trim(token);
    if (token.empty())
      throw std::runtime_error("admin token file " + path + " is empty");
    return token;
  }
  // Created readable by its owner only, before the token goes in.
  auto token = generate_token();
  auto old_mask = ::umask(077);
  std::ofstream out{path};
  ::umask(old_mask);
  if (!out)
    throw std::runtime_error("cannot create admin token file " + path +
                             " (does its folder exist?)");
  out << token << "\n";
  if (!out) throw std::runtime_error("cannot write admin token file " + path);
  LOG_INFO("admin", "created the admin token file " << path);
  return token;
}

// -- sessions
// -----------------------------------------------------------------------

class admin_session;

/// Carries answers and events from the session's actor to its strand.
using admin_channel = strand_channel<admin_session>;

class admin_session : public std::enable_shared_from_this<admin_session> {
 public:
  admin_session(admin_server& server, tcp::socket socket)
      : server_(server),
        socket_(std::move(socket)),
        strand_(socket_.get_executor()) {}

  ~admin_session() { end_channel(); }

  void start() {
    channel_ = std::make_shared<admin_channel>(strand_, weak_from_this());
    bridge_ = server_.system().spawn(
        [ch = channel_, service = server_.service()](
            caf::event_based_actor* self) -> caf::behavior {
          return {
              [=](admin_atom, std::string& user, json& req) {
                auto id = req.contains("id") ? req["id"] : json(nullptr);
                self->request(service, request_timeout, admin_atom::value,
                              std::move(user), std::move(req))
                    .then(
                        [=](json& result) {
                          ch->post([id, result](admin_session& s) {
                            s.answer(json{
                                {"id", id}, {"ok", true}, {"result", result}});
                          });
                        },
                        [=](caf::error& e) {
                          ch->post([id, e](admin_session& s) {
                            s.answer(
                                json{{"id", id},
                                     {"ok", false},
                                     {"error",
                                      {{"code", admin_error_code(e)},
                                       {"message", admin_error_message(e)}}}});
                          });
                        });
              },
              [=](event_atom, json& event) {
                ch->post([event](admin_session& s) { s.event(event); });
              },
          };
        });
    read();
  }

  void close_async() {
    asio::post(strand_, [self = shared_from_this()] { self->close(); });
  }

  // The answer to the request in flight; the next one may go.
  void answer(const json& reply) {
    busy_ = false;
    write(reply.dump() + "\n");
    next_request();
  }

  void event(const json& e) {
    if (queued_ >= max_queued_events) {
      ++dropped_;
      return;
    }
    if (dropped_ > 0) {
      write(json{{"event", "dropped"}, {"count", dropped_}}.dump() + "\n");
      dropped_ = 0;
    }
    write(e.dump() + "\n");
  }

 private:
  void read() {
    socket_.async_read_some(
        asio::buffer(buf_),
        asio::bind_executor(
            strand_, [self = shared_from_this()](error_code ec, size_t n) {
              self->on_read(ec, n);
            }));
  }

  void on_read(error_code ec, size_t n) {
    if (closed_) return;
    if (ec) {
      close();
      return;
    }
    pending_.append(buf_.data(), n);
    size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      requests_.push_back(pending_.substr(0, nl));
      pending_.erase(0, nl + 1);
    }
    if (pending_.size() > max_request) {
      refuse(nullptr, "bad_request", "request longer than 1 MiB");
      return;
    }
    next_request();
    if (!closed_) read();
  }

  void next_request() {
    while (!busy_ && !requests_.empty() && !closed_) {
      auto line = std::move(requests_.front());
      requests_.pop_front();
      handle(line);
    }
  }

  void handle(const std::string& line) {
    json req;
    try {
      req = json::parse(line);
    } catch (const json::exception&) {
      if (!user_) return refuse(nullptr, "auth_required", "log in first");
      write(json{{"id", nullptr},
                 {"ok", false},
                 {"error",
                  {{"code", "bad_request"}, {"message", "not a JSON object"}}}}
                .dump() +
            "\n");
      return;
    }
    auto id = req.is_object() && req.contains("id") ? req["id"] : json(nullptr);
    if (!req.is_object()) return refuse(id, "bad_request", "not an object");
    if (!user_) return login(id, req);
    if (req.value("cmd", "") == "watch") return watch(id, req);
    busy_ = true;
    caf::anon_send(bridge_, admin_atom::value, *user_, std::move(req));
  }

  void login(const json& id, const json& req) {
    auto token = req.value("token", std::string{});
    bool ok = req.value("cmd", "") == "auth" &&
              token_matches(hash_token(server_.options().token), token);
    if (!ok) {
      LOG_WARNING_LIMITED("admin",
                          "login refused: " << (req.value("cmd", "") == "auth"
                                                    ? "wrong token"
                                                    : "no auth request first"));
      return refuse(
          id, req.value("cmd", "") == "auth" ? "auth_failed" : "auth_required",
          "log in with the admin token first");
    }
    user_ = req.value("user", std::string{"unknown"});
    LOG_INFO("admin", "console logged in for user " << *user_);
    write(json{{"id", id},
               {"ok", true},
               {"result",
                {{"server", "facilityd"},
                 {"version", server_.options().version}}}}
              .dump() +
          "\n");
  }

  void watch(const json& id, const json& req) {
    std::string facility;
    if (req.contains("args") && req["args"].contains("facility")) {
      const auto& f = req["args"]["facility"];
      facility = f.is_string() ? f.get<std::string>() : f.dump();
    }
    caf::anon_send(server_.service(), watch_atom::value, bridge_, facility);
    write(json{{"id", id},
               {"ok", true},
               {"result", {{"watching", facility.empty() ? "all" : facility}}}}
              .dump() +
          "\n");
  }

  void refuse(const json& id, const std::string& code,
              const std::string& message) {
    write(json{{"id", id},
               {"ok", false},
               {"error", {{"code", code}, {"message", message}}}}
              .dump() +
          "\n");
    closing_ = true;
  }

  void write(std::string line) {
    if (closed_) return;
    outbox_.push_back(std::move(line));
    ++queued_;
    if (!writing_) write_next();
  }

  void write_next() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(outbox_.front()),
                      asio::bind_executor(strand_, [self = shared_from_this()](
                                                       error_code ec, size_t) {
                        self->on_written(ec);
                      }));
  }

  void on_written(error_code ec) {
    writing_ = false;
    if (closed_) return;
    outbox_.pop_front();
    --queued_;
    if (ec) return close();
    if (!outbox_.empty()) return write_next();
    if (closing_) close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    end_channel();
  }

  void end_channel() {
    if (channel_) channel_->close();
    if (bridge_) caf::anon_send_exit(bridge_, caf::exit_reason::user_shutdown);
    bridge_ = nullptr;
  }

  admin_server& server_;
  tcp::socket socket_;
  asio::any_io_executor strand_;
  std::array<char, 8192> buf_{};
  std::string pending_;
  std::deque<std::string> requests_;
  std::deque<std::string> outbox_;
  size_t queued_ = 0;
  size_t dropped_ = 0;
  bool writing_ = false;
  bool busy_ = false;
  bool closing_ = false;
  bool closed_ = false;
  std::optional<std::string> user_;
  std::shared_ptr<admin_channel> channel_;
  caf::actor bridge_;
};

// -- the server
// -------------------------------------------------------------------

admin_server::admin_server(asio::io_context& io, caf::actor_system& sys,
                           caf::actor service, admin_options opts)
    : io_(io),
      sys_(sys),
      service_(std::move(service)),
      opts_(std::move(opts)),
      acceptor_(asio::make_strand(io)),
      stopped_(std::make_shared<std::atomic<bool>>(false)) {}

admin_server::~admin_server() = default;

void admin_server::start() {
  tcp::endpoint ep{asio::ip::make_address(opts_.host), opts_.port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  LOG_INFO("admin", "listening on " << local_endpoint().address().to_string()
                                    << ":" << local_endpoint().port());
  accept();
}

void admin_server::stop() {
  *stopped_ = true;
  asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
  });
}

tcp::endpoint admin_server::local_endpoint() const {
  return acceptor_.local_endpoint();
}

void admin_server::accept() {
  acceptor_.async_accept(
      asio::make_strand(io_), [this](error_code ec, tcp::socket socket) {
        if (*stopped_ || ec == asio::error::operation_aborted) return;
        if (!ec)
          std::make_shared<admin_session>(*this, std::move(socket))->start();
        accept();
      });
}

}  // namespace facilityd
