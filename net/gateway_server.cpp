#include "net/gateway_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/all.hpp>

#include "net/gateway_stream.hpp"
#include "net/protocol.hpp"
#include "net/strand_channel.hpp"
#include "net/token.hpp"
#include "persistence/errc.hpp"
#include "util/log.hpp"

namespace facilityd {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// -- credentials
// ----------------------------------------------------------------

gateway_credentials::gateway_credentials(table t)
    : table_(std::make_shared<const table>(std::move(t))) {}

bool gateway_credentials::check(const std::string& id,
                                std::string_view token) const {
  std::shared_ptr<const table> t;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    t = table_;
  }
  auto i = t->find(id);
  // Hash and compare for unknown ids too, so that timing does not tell
  // which gateway ids exist.
  static const std::string nobody = hash_token("no such gateway");
  return token_matches(i == t->end() ? nobody : i->second, token) &&
         i != t->end();
}

bool gateway_credentials::knows(const std::string& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return table_->count(id) > 0;
}

void gateway_credentials::replace(table t) {
  auto fresh = std::make_shared<const table>(std::move(t));
  std::lock_guard<std::mutex> guard{mtx_};
  table_ = std::move(fresh);
}

// -- the way back from the actors
// ------------------------------------------------

/// Carries answers from the scan bridge (an actor) to the session's strand.
/// Once the session has closed, answers are dropped: the scans committed all
/// the same, and the gateway gets them as replays when it resends.
using reply_channel = strand_channel<gateway_session>;

// `received`: when the scan's line was read (steady clock, in its own ticks),
// carried along for the answer's latency.
static void deliver(reply_channel& channel, uint64_t seq, int64_t received,
                    caf::expected<scan_reply> r);

namespace {

caf::behavior scan_bridge(caf::event_based_actor* self, registry_actor registry,
                          std::shared_ptr<reply_channel> channel,
                          caf::timespan timeout,
                          std::shared_ptr<scan_stats> stats) {
  return {
      [=](scan_atom, scan_request& s, int64_t received) {
        auto seq = s.seq;
        auto sent = std::chrono::steady_clock::now();
        self->request(registry, timeout, scan_atom::value, std::move(s))
            .then(
                [=](scan_reply& r) {
                  stats->record(
                      std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - sent));
                  deliver(*channel, seq, received, std::move(r));
                },
                [=](caf::error& e) {
                  deliver(*channel, seq, received, std::move(e));
                });
      },
  };
}

// Every failure tells the gateway to send the scan again; the codes say
// when a resend is worth it. Only `unavailable` may follow a commit whose
// answer was lost, so only it does not claim the scan was not applied.
err_code protocol_code(const caf::error& e) {
  switch (errc_of(e)) {
    case errc::busy:
      return err_code::busy;
    case errc::shutting_down:
      return err_code::shutting_down;
    default:
      return err_code::unavailable;
  }
}

// Counts a failed scan under the code it failed with; a request the
// bridge gave up waiting for is CAF's timeout, not one of ours.
void count_failure(server_metrics& m, const caf::error& e) {
  if (e.category() == caf::atom("system") &&
      e.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    m.scan_timed_out();
  else
    m.scan_failed(errc_of(e));
}

std::atomic<uint64_t> next_connection_id{1};

// How long a closing TLS connection waits for the gateway's close_notify.
constexpr auto tls_shutdown_limit = std::chrono::seconds{1};

// A write buffer that grew past this during a burst is given back after.
constexpr size_t keep_write_buffer = 16 * 1024;

// A gateway ends its sending side with a TCP FIN (eof) or, over TLS, with
// close_notify (eof) or a bare FIN (stream_truncated).
bool sending_side_ended(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

}  // namespace

// -- sessions
// ---------------------------------------------------------------------

/// One gateway connection. Every member is touched only on the strand.
class gateway_session : public std::enable_shared_from_this<gateway_session> {
 public:
  gateway_session(gateway_server& server, gateway_stream stream)
      : server_(server),
        stream_(std::move(stream)),
        strand_(stream_.socket().get_executor()),
        timer_(strand_),
        id_(next_connection_id++) {}

  ~gateway_session() {
    if (channel_) channel_->close();
    if (bridge_) caf::anon_send_exit(bridge_, caf::exit_reason::user_shutdown);
  }

  void start() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->begin(); });
  }

  void close_async(std::string reason) {
    asio::post(strand_,
               [self = shared_from_this(), reason] { self->close(reason); });
  }

  void drain_async() {
    asio::post(strand_, [self = shared_from_this()] { self->drain(); });
  }

  // The gateway hears what it can act on; the details (which may name
  // database hosts) stay in the log.
  void on_failure(uint64_t seq, const caf::error& e) {
    auto code = protocol_code(e);
    LOG_DEBUG("gateway", label()
                             << " scan " << seq << " failed: " << describe(e));
    switch (code) {
      case err_code::busy:
        send(format_err(seq, code, "server busy, not applied; send again"));
        break;
      case err_code::shutting_down:
        send(format_err(seq, code, "server shutting down, not applied"));
        break;
      default:
        send(format_err(seq, code, "database unavailable; send again"));
    }
  }

  void on_reply(uint64_t seq, int64_t received, caf::expected<scan_reply> r) {
    --inflight_;
    if (r)
      send(format_ack(seq, *r));
    else
      on_failure(seq, r.error());
    if (auto* m = server_.metrics()) {
      if (r)
        m->scan_answered(r->result, r->replayed);
      else
        count_failure(*m, r.error());
      using clock = std::chrono::steady_clock;
      m->scan_acknowledged(clock::now() -
                           clock::time_point{clock::duration{received}});
    }
    maybe_finish();
  }

 private:
  // handshake: TLS handshake running; hello: waiting for HELLO; ready:
  // taking commands; finishing: after QUIT, waiting for the answers of
  // scans in flight; lingering: writing the last lines before closing;
  // closed.
  enum class phase { handshake, hello, ready, finishing, lingering, closed };

  std::string label() const {
    auto out = "conn=" + std::to_string(id_);
    if (!gateway_.empty()) out += " gateway=" + gateway_;
    return out;
  }

  void begin() {
    error_code ec;
    auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_address_ = peer.address().to_string();
    LOG_INFO_LIMITED("gateway", label()
                                    << " connected from "
                                    << (ec ? std::string{"?"}
                                           : peer.address().to_string() + ":" +
                                                 std::to_string(peer.port())));
    stream_.socket().set_option(tcp::no_delay{true}, ec);
    last_activity_ = std::chrono::steady_clock::now();
    arm_timer(server_.options().hello_timeout);
    if (!stream_.tls()) {
      greet();
      return;
    }
    phase_ = phase::handshake;
    stream_.async_handshake(asio::bind_executor(
        strand_,
        [self = shared_from_this()](error_code e) { self->on_handshake(e); }));
  }

  // A failed handshake counts as a failed login: a client that cannot
  // speak TLS here gets no more tries than one with a wrong token.
  void on_handshake(error_code ec) {
    if (phase_ != phase::handshake) return;
    if (ec) {
      server_.login_failed(peer_address_);
      close("TLS handshake failed: " + ec.message());
      return;
    }
    tls_ready_ = true;
    phase_ = phase::hello;
    greet();
  }

  // Over TLS the refusal below can only be heard after the handshake.
  void greet() {
    if (server_.connections() > server_.options().max_connections) {
      send(format_err(std::nullopt, err_code::busy, "too many connections"));
      close_after_flush("too many connections");
      return;
    }
    read();
  }

  // -- reading ---------------------------------------------------------------

  void read() {
    stream_.async_read_some(
        asio::buffer(buffer_),
        asio::bind_executor(
            strand_, [self = shared_from_this()](error_code ec, size_t n) {
              self->on_read(ec, n);
            }));
  }

  void on_read(error_code ec, size_t n) {
    if (phase_ != phase::hello && phase_ != phase::ready) return;
    if (sending_side_ended(ec) && phase_ == phase::ready) {
      // A gateway that closes its sending side (as `nc -N` does) still
      // gets the answers of the scans it sent, then the close.
      phase_ = phase::finishing;
      said_bye_ = true;
      maybe_finish();
      return;
    }
    if (ec) {
      close(sending_side_ended(ec) ? "closed by the gateway" : ec.message());
      return;
    }
    reader_.feed({buffer_.data(), n});
    // Only whole lines count as activity: a client that trickles a byte at
    // a time and never ends a line is idle.
    bool got_line = false;
    while (phase_ == phase::hello || phase_ == phase::ready) {
      auto line = reader_.next_line();
      if (!line) break;
      got_line = true;
      handle(*line);
    }
    if (got_line) last_activity_ = std::chrono::steady_clock::now();
    if (reader_.too_long() &&
        (phase_ == phase::hello || phase_ == phase::ready)) {
      send(format_err(std::nullopt, err_code::line_too_long,
                      "lines are limited to 512 bytes"));
      close_after_flush("line too long");
      return;
    }
    if (phase_ == phase::hello || phase_ == phase::ready) read();
  }

  void handle(const std::string& line) {
    auto cmd = parse_line(line);
    if (phase_ == phase::hello) {
      on_first_line(line, cmd);
      return;
    }
    std::visit([this](auto& c) { on_command(c); }, cmd);
  }

  // -- commands
  // ----------------------------------------------------------------

  void on_first_line(const std::string& line, command& cmd) {
    if (auto hello = std::get_if<hello_cmd>(&cmd)) {
      // An address that failed too often lately is not even heard: no
      // token guessing at the rate of connections.
      if (server_.login_blocked(peer_address_)) {
        send(format_err(std::nullopt, err_code::auth_failed,
                        "too many failed logins from this address, wait"));
        close_after_flush("failed logins from this address");
        return;
      }
      if (server_.credentials().check(hello->gateway, hello->token)) {
        authenticate(hello->gateway);
        return;
      }
      // The id is logged only if it is one: a gateway that swapped id and
      // token would otherwise write its token into the log.
      if (server_.credentials().knows(hello->gateway))
        LOG_WARNING_LIMITED("gateway", label()
                                           << " authentication failed: wrong "
                                              "token for gateway '"
                                           << hello->gateway << "'");
      else
        LOG_WARNING_LIMITED(
            "gateway", label() << " authentication failed: unknown gateway id");
      server_.login_failed(peer_address_);
      send(format_err(std::nullopt, err_code::auth_failed,
                      "unknown gateway or wrong token"));
      close_after_flush("authentication failed");
      return;
    }
    // A HELLO of the wrong shape is a failed login, anything else a line
    // sent before logging in.
    bool said_hello = line.rfind("HELLO", 0) == 0;
    send(
        format_err(std::nullopt,
                   said_hello ? err_code::auth_failed : err_code::auth_required,
                   said_hello ? "HELLO <gateway-id> <token>"
                              : "say HELLO <gateway-id> <token> first"));
    close_after_flush(said_hello ? "authentication failed" : "no HELLO first");
  }

  void authenticate(const std::string& gateway) {
    gateway_ = gateway;
    phase_ = phase::ready;
    channel_ = std::make_shared<reply_channel>(strand_, weak_from_this());
    bridge_ = server_.system().spawn(
        scan_bridge, server_.registry(), channel_,
        caf::timespan{server_.options().scan_timeout}, server_.stats());
    server_.claim(gateway_, shared_from_this());
    if (auto* m = server_.metrics()) m->gateway_logged_in();
    LOG_INFO_LIMITED("gateway", label() << " authenticated");
    send(format_welcome(server_.options().server_name));
    arm_timer(server_.options().idle_timeout);
  }

  void on_command(const hello_cmd&) {
    malformed(std::nullopt, "already authenticated");
  }

  void on_command(const scan_cmd& c) {
    malformed_in_a_row_ = 0;
    auto* m = server_.metrics();
    if (draining_ || server_.stopping()) {
      send(format_err(c.seq, err_code::shutting_down,
                      "server shutting down, send again later"));
      if (m) m->scan_failed(errc::shutting_down);
      return;
    }
    if (inflight_ >= server_.options().max_inflight) {
      send(format_err(c.seq, err_code::busy, "too many scans in flight"));
      if (m) m->scan_failed(errc::busy);
      return;
    }
    ++inflight_;
    LOG_DEBUG("gateway", label() << " SCAN " << c.seq << " " << c.reader << " "
                                 << c.badge);
    int64_t received =
        std::chrono::steady_clock::now().time_since_epoch().count();
    caf::anon_send(bridge_, scan_atom::value,
                   scan_request{gateway_, c.seq, c.reader, c.badge}, received);
  }

  void on_command(const ping_cmd& c) {
    malformed_in_a_row_ = 0;
    send(format_pong(c.word));
  }

  void on_command(const quit_cmd&) {
    phase_ = phase::finishing;
    maybe_finish();
  }

  void on_command(const malformed_cmd& c) { malformed(c.seq, c.reason); }

  void malformed(std::optional<uint64_t> seq, const std::string& reason) {
    send(format_err(seq, err_code::malformed, reason));
    if (++malformed_in_a_row_ > server_.options().max_malformed)
      close_after_flush("too many malformed lines");
  }

  // -- writing
  // -----------------------------------------------------------------

  void send(std::string line) {
    if (phase_ == phase::closed) return;
    if (pending_.size() + in_write_.size() + line.size() >
        server_.options().max_write_queue) {
      close("the gateway does not read its answers");
      return;
    }
    pending_ += line;
    if (!writing_) write_next();
  }

  // Answers that arrive while a write runs collect in pending_ and go out
  // together in the next one: one system call (and one TLS record) for
  // many lines, and no allocation per line.
  void write_next() {
    writing_ = true;
    in_write_.swap(pending_);
    pending_.clear();
    stream_.async_write(
        asio::buffer(in_write_),
        asio::bind_executor(strand_,
                            [self = shared_from_this()](error_code ec, size_t) {
                              self->on_written(ec);
                            }));
  }

  void on_written(error_code ec) {
    writing_ = false;
    if (phase_ == phase::closed) return;
    if (ec) {
      close("write failed: " + ec.message());
      return;
    }
    in_write_.clear();
    if (in_write_.capacity() > keep_write_buffer) {
      // A burst is over; do not hold its high-water mark per connection.
      in_write_.shrink_to_fit();
    }
    if (!pending_.empty())
      write_next();
    else if (phase_ == phase::lingering)
      close(linger_reason_);
  }

  // -- ending
  // ------------------------------------------------------------------

  void drain() {
    draining_ = true;
    maybe_finish();
  }

  // Ends the connection once no scan awaits its answer, if it should end.
  void maybe_finish() {
    if (inflight_ > 0) return;
    if (phase_ == phase::finishing) {
      if (!said_bye_) send(format_bye());
      close_after_flush(said_bye_ ? "closed by the gateway" : "QUIT");
    } else if (draining_) {
      close_after_flush("server shutting down");
    }
  }

  // Stops reading and closes once every queued line is written, or after
  // a short grace for a peer that does not read.
  void close_after_flush(std::string reason) {
    if (phase_ == phase::closed || phase_ == phase::lingering) return;
    phase_ = phase::lingering;
    linger_reason_ = std::move(reason);
    if (!writing_ && pending_.empty()) {
      close(linger_reason_);
      return;
    }
    arm_timer(std::chrono::seconds{2});
  }

  void close(const std::string& reason) {
    if (phase_ == phase::closed) return;
    phase_ = phase::closed;
    LOG_INFO_LIMITED("gateway", label() << " disconnected: " << reason);
    timer_.cancel();
    end_stream();
    if (channel_) channel_->close();
    if (bridge_) caf::anon_send_exit(bridge_, caf::exit_reason::user_shutdown);
    bridge_ = nullptr;
    if (!gateway_.empty()) {
      server_.release(gateway_, this);
      if (auto* m = server_.metrics()) m->gateway_left();
    }
    server_.session_closed();
  }

  // Over TLS, close_notify tells the gateway that the answers end here
  // rather than being cut off. The socket is closed when the gateway
  // answers it, or after a moment when it does not; at once when a write
  // is still running, as TLS allows no close_notify in its middle.
  void end_stream() {
    if (!tls_ready_ || writing_) {
      stream_.close();
      return;
    }
    timer_.expires_after(tls_shutdown_limit);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->stream_.close();
    });
    stream_.async_shutdown(
        asio::bind_executor(strand_, [self = shared_from_this()](error_code) {
          self->timer_.cancel();
          self->stream_.close();
        }));
  }

  // One timer serves the TLS handshake and HELLO deadline, the idle timeout and
  // the linger deadline; it checks the time of the last line rather than being
  // reset for every line.
  void arm_timer(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->on_timer();
    });
  }

  void on_timer() {
    using namespace std::chrono;
    switch (phase_) {
      case phase::closed:
        return;
      case phase::lingering:
        close(linger_reason_ + " (answers not read)");
        return;
      case phase::handshake:
        close("no TLS handshake within " +
              std::to_string(server_.options().hello_timeout.count()) + " ms");
        return;
      case phase::hello:
        close("no HELLO within " +
              std::to_string(server_.options().hello_timeout.count()) + " ms");
        return;
      case phase::ready:
      case phase::finishing: {
        auto idle = server_.options().idle_timeout;
        auto quiet =
            duration_cast<milliseconds>(steady_clock::now() - last_activity_);
        if (quiet >= idle)
          close("idle for " + std::to_string(quiet.count()) + " ms");
        else
          arm_timer(idle - quiet);
        return;
      }
    }
  }

  gateway_server& server_;
  gateway_stream stream_;
  // The socket's executor is a strand of its own (see accept()), so every
  // handler bound to it runs one at a time.
  asio::any_io_executor strand_;
  asio::steady_timer timer_;
  uint64_t id_;
  phase phase_ = phase::hello;
  std::string gateway_;
  std::array<char, 4096> buffer_{};
  line_reader reader_;
  // Answers not yet written, bounded together by gateway.max-write-queue.
  std::string pending_;
  std::string in_write_;
  bool writing_ = false;
  bool tls_ready_ = false;  // handshake done: close_notify can be sent
  size_t inflight_ = 0;
  size_t malformed_in_a_row_ = 0;
  bool draining_ = false;
  bool said_bye_ = false;  // the gateway ended its side without QUIT
  std::string linger_reason_;
  std::string peer_address_;
  std::chrono::steady_clock::time_point last_activity_;
  std::shared_ptr<reply_channel> channel_;
  caf::actor bridge_;
};

static void deliver(reply_channel& channel, uint64_t seq, int64_t received,
                    caf::expected<scan_reply> r) {
  channel.post([seq, received, r = std::move(r)](gateway_session& s) mutable {
    s.on_reply(seq, received, std::move(r));
  });
}

// -- the server
// -------------------------------------------------------------------

gateway_server::gateway_server(boost::asio::io_context& io,
                               caf::actor_system& sys, registry_actor registry,
                               std::shared_ptr<gateway_credentials> credentials,
                               gateway_options opts,
                               std::shared_ptr<server_metrics> metrics)
    : io_(io),
      sys_(sys),
      registry_(std::move(registry)),
      credentials_(std::move(credentials)),
      opts_(std::move(opts)),
      acceptor_(asio::make_strand(io)),
      accept_timer_(acceptor_.get_executor()),
      grace_timer_(io),
      metrics_(std::move(metrics)) {}

gateway_server::~gateway_server() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void gateway_server::start() {
  tcp::endpoint ep{asio::ip::make_address(opts_.host), opts_.port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  LOG_INFO("gateway", "listening on " << local_endpoint().address().to_string()
                                      << ":" << local_endpoint().port()
                                      << (opts_.tls ? " (TLS only)" : ""));
  accept();
}

tcp::endpoint gateway_server::local_endpoint() const {
  return acceptor_.local_endpoint();
}

void gateway_server::accept() {
  acceptor_.async_accept(
      asio::make_strand(io_), [this](error_code ec, tcp::socket socket) {
        if (stopping_) return;
        if (ec) {
          // Other failures (the network stack out of memory and the
          // like): keep accepting, but give the system a moment instead of
          // spinning.
          if (ec == asio::error::operation_aborted) return;
          if (ec == asio::error::no_descriptors) {
            refuse_one_without_descriptors();
            accept();
            return;
          }
          LOG_WARNING_LIMITED("gateway", "accept failed: " << ec.message());
          accept_timer_.expires_after(std::chrono::milliseconds{100});
          accept_timer_.async_wait([this](error_code e) {
            if (!e && !stopping_) accept();
          });
          return;
        } else {
          ++sessions_;
          if (metrics_) metrics_->connection_opened();
          auto s = std::make_shared<gateway_session>(
              *this, opts_.tls ? gateway_stream{std::move(socket), *opts_.tls}
                               : gateway_stream{std::move(socket)});
          {
            std::lock_guard<std::mutex> guard{mtx_};
            all_.push_back(s);
          }
          s->start();
        }
        accept();
      });
}

void gateway_server::refuse_one_without_descriptors() {
  // Free the spare descriptor, take the waiting connection with it, say
  // why it cannot be served, and take the spare back. The warning is
  // rate-limited: under a flood it would repeat for every connection.
  static log_limiter warnings{1, std::chrono::seconds{10}};
  uint64_t held_back = 0;
  if (warnings.allow(log_limiter::clock::now(), held_back))
    LOG_WARNING("gateway",
                "out of file descriptors: refusing connections "
                "(raise the open files limit or lower "
                "gateway.max-connections)");
  if (spare_fd_ >= 0) ::close(spare_fd_);
  int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) {
    auto line = format_err(std::nullopt, err_code::busy,
                           "server out of connections, try again later");
    (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
  }
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void gateway_server::claim(const std::string& id,
                           const std::shared_ptr<gateway_session>& s) {
  std::shared_ptr<gateway_session> old;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& slot = by_gateway_[id];
    old = slot.lock();
    slot = s;
  }
  if (old && old != s) old->close_async("replaced by a new connection");
}

bool gateway_server::login_blocked(const std::string& address) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = failed_logins_.find(address);
  if (i == failed_logins_.end()) return false;
  if (std::chrono::steady_clock::now() - i->second.since >
      std::chrono::minutes{1}) {
    failed_logins_.erase(i);
    return false;
  }
  return i->second.count >= opts_.max_login_failures;
}

void gateway_server::login_failed(const std::string& address) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> guard{mtx_};
  // A flood from many addresses must not grow the table without bound:
  // forget the stale entries, and everything if that is not enough.
  if (failed_logins_.size() > 10'000) {
    std::erase_if(failed_logins_, [now](const auto& kv) {
      return now - kv.second.since > std::chrono::minutes{1};
    });
    if (failed_logins_.size() > 10'000) failed_logins_.clear();
  }
  auto& entry = failed_logins_[address];
  if (entry.count == 0 || now - entry.since > std::chrono::minutes{1})
    entry = {now, 0};
  if (++entry.count == opts_.max_login_failures)
    LOG_WARNING_LIMITED("gateway", "address "
                                       << address << " failed " << entry.count
                                       << " logins within a minute; its "
                                          "logins are refused for a while");
}

void gateway_server::disconnect(const std::string& id) {
  std::shared_ptr<gateway_session> s;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = by_gateway_.find(id); i != by_gateway_.end())
      s = i->second.lock();
  }
  if (s) s->close_async("credentials changed");
}

void gateway_server::release(const std::string& id, const gateway_session* s) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = by_gateway_.find(id);
  if (i == by_gateway_.end()) return;
  auto current = i->second.lock();
  if (!current || current.get() == s) by_gateway_.erase(i);
}

void gateway_server::session_closed() {
  std::function<void()> done;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    --sessions_;
    if (metrics_) metrics_->connection_closed();
    // Forget sessions that have ended so the list does not grow forever.
    std::erase_if(all_, [](const auto& w) { return w.expired(); });
    if (stopping_ && sessions_ == 0) done = std::exchange(on_drained_, {});
  }
  if (done) asio::post(io_, done);
}

void gateway_server::shutdown(std::chrono::milliseconds grace,
                              std::function<void()> done) {
  asio::post(acceptor_.get_executor(), [this, grace, done] {
    stopping_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    accept_timer_.cancel();
    std::vector<std::shared_ptr<gateway_session>> open;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto& w : all_)
        if (auto s = w.lock()) open.push_back(s);
      if (sessions_ == 0) {
        asio::post(io_, done);
        return;
      }
      on_drained_ = done;
    }
    LOG_INFO("gateway",
             "stopped accepting; draining " << open.size() << " connections");
    for (auto& s : open)
      s->drain_async();
    grace_timer_.expires_after(grace);
    grace_timer_.async_wait([this](error_code ec) {
      if (!ec) close_all();
    });
  });
}

void gateway_server::close_all() {
  std::vector<std::shared_ptr<gateway_session>> open;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& w : all_)
      if (auto s = w.lock()) open.push_back(s);
  }
  for (auto& s : open)
    s->close_async("grace period over");
}

}  // namespace facilityd
