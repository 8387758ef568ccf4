#include "harness/gateway_link.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace facility_sim {

namespace {

using namespace std::chrono_literals;

constexpr auto first_backoff = 20ms;
constexpr auto max_backoff = 1000ms;
constexpr auto keep_alive_after = 20s;  // well inside the idle timeout
constexpr size_t max_buffered = 64 * 1024;

bool retryable(const std::string& code) {
  return code == "unavailable" || code == "busy" || code == "shutting_down";
}

}  // namespace

const sent_scan* gateway_log::find(uint64_t seq) const {
  uint64_t i = seq - spec.first_seq;  // wraps for seqs below the first
  return seq >= spec.first_seq && i < scans.size() ? &scans[i] : nullptr;
}

sent_scan* gateway_log::find(uint64_t seq) {
  return const_cast<sent_scan*>(std::as_const(*this).find(seq));
}

gateway_link::gateway_link(gateway_spec spec, int pipeline, uint64_t seed,
                           run_stats& stats, violation_log& violations,
                           const tls_client* tls)
    : log_{std::move(spec), {}},
      pipeline_(pipeline),
      rng_(seed),
      stats_(stats),
      violations_(violations),
      tls_client_(tls),
      backoff_(first_backoff) {}

gateway_link::~gateway_link() {
  close();
}

uint64_t gateway_link::add_scan(std::string reader, std::string badge,
                                int person) {
  uint64_t seq = log_.spec.first_seq + log_.scans.size();
  sent_scan s;
  s.seq = seq;
  s.reader = std::move(reader);
  s.badge = std::move(badge);
  s.person = person;
  s.pending = true;
  log_.scans.push_back(std::move(s));
  queue_.insert(seq);
  ++pending_count_;
  return seq;
}

void gateway_link::tick(clock::time_point now, uint16_t port) {
  requeue_due_retries(now);
  if (state_ == link_state::down && port != 0 && now >= reconnect_at_)
    connect(now, port);
  if (state_ != link_state::ready) return;
  fill_pipeline(now);
  if (out_.empty() && now - last_write_ > keep_alive_after)
    out_ += facilityd::format_ping({"facility-sim"});
  write_out(now);
}

pollfd gateway_link::poll_request() const {
  pollfd p{fd_, 0, 0};
  if (fd_ < 0) return p;
  bool write =
      state_ == link_state::connecting || !out_.empty() || tls_wants_write_;
  bool read = state_ != link_state::connecting &&
              (state_ != link_state::handshaking || !tls_wants_write_);
  p.events = static_cast<short>((read ? POLLIN : 0) | (write ? POLLOUT : 0));
  return p;
}

void gateway_link::on_poll(short revents, clock::time_point now,
                           std::vector<uint64_t>& first_acks) {
  if (fd_ < 0 || revents == 0) return;
  if (state_ == link_state::connecting) {
    finish_connect(now);
    return;
  }
  if (state_ == link_state::handshaking) {
    continue_handshake(now);
    return;
  }
  if (revents & (POLLIN | POLLERR | POLLHUP)) read_in(now, first_acks);
  if (fd_ >= 0 && (revents & POLLOUT)) {
    // A TLS read that had to write first goes on at the next POLLIN.
    tls_wants_write_ = false;
    write_out(now);
  }
}

bool gateway_link::cut(clock::time_point now) {
  if (fd_ < 0) return false;
  // A zero linger makes close() send a reset: the link simply failed.
  linger reset{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ++stats_.cuts;
  lose(now, std::chrono::milliseconds{
                std::uniform_int_distribution<int>{5, 50}(rng_)});
  return true;
}

size_t gateway_link::resend_history() {
  size_t n = 0;
  for (auto& s : log_.scans) {
    if (!s.answer || s.pending) continue;
    s.pending = true;
    ++pending_count_;
    queue_.insert(s.seq);
    ++n;
  }
  return n;
}

void gateway_link::close() {
  tls_.reset();
  tls_wants_write_ = false;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  state_ = link_state::down;
}

// -- the connection ----------------------------------------------------------

void gateway_link::connect(clock::time_point now, uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    lose(now, next_backoff());
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  state_ = link_state::connecting;
  connect_started_ = now;
  if (rc != 0 && errno != EINPROGRESS) lose(now, next_backoff());
}

void gateway_link::finish_connect(clock::time_point now) {
  int error = 0;
  socklen_t len = sizeof error;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) {
    lose(now, next_backoff());
    return;
  }
  if (!tls_client_) {
    greet(now);
    return;
  }
  tls_ = std::make_unique<tls_link>(*tls_client_, fd_);
  state_ = link_state::handshaking;
  continue_handshake(now);
}

// A server that closes during the handshake may just be restarting; one
// that fails verification is not the server it should be.
void gateway_link::continue_handshake(clock::time_point now) {
  auto step = tls_->handshake();
  tls_wants_write_ = step == tls_step::want_write;
  if (step == tls_step::done) {
    greet(now);
  } else if (step == tls_step::failed) {
    report("TLS handshake failed: " + tls_->failure());
    lose(now, next_backoff());
  } else if (step == tls_step::closed) {
    lose(now, next_backoff());
  }
}

void gateway_link::greet(clock::time_point now) {
  state_ = link_state::greeting;
  out_ = facilityd::format_hello({log_.spec.id, log_.spec.token});
  write_out(now);
}

// Bytes written; 0 when the socket would block; -1 when the connection
// is gone.
long gateway_link::send_some(const char* data, size_t len) {
  if (!tls_) {
    auto n = ::send(fd_, data, len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return n <= 0 ? -1 : n;
  }
  size_t n = 0;
  auto step = tls_->write(data, len, n);
  tls_wants_write_ = step == tls_step::want_write;
  if (step == tls_step::done) return static_cast<long>(n);
  return step == tls_step::want_read || step == tls_step::want_write ? 0 : -1;
}

// Bytes read; 0 when nothing is there yet; -1 when the connection is gone.
long gateway_link::recv_some(char* buf, size_t cap) {
  if (!tls_) {
    auto n = ::recv(fd_, buf, cap, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return n <= 0 ? -1 : n;
  }
  size_t n = 0;
  auto step = tls_->read(buf, cap, n);
  if (step == tls_step::want_write) tls_wants_write_ = true;
  if (step == tls_step::done) return static_cast<long>(n);
  return step == tls_step::want_read || step == tls_step::want_write ? 0 : -1;
}

// Everything in flight on the lost connection may or may not have been
// applied; the resend after the next login settles it either way.
void gateway_link::lose(clock::time_point now,
                        clock::duration reconnect_after) {
  if (state_ == link_state::ready) ++stats_.connection_losses;
  close();
  queue_.insert(in_flight_.begin(), in_flight_.end());
  in_flight_.clear();
  out_.clear();
  in_ = facilityd::line_reader{};
  reconnect_at_ = now + reconnect_after;
}

clock::duration gateway_link::next_backoff() {
  auto base = backoff_;
  backoff_ = std::min<clock::duration>(backoff_ * 2, max_backoff);
  // Jitter, so that gateways do not all come back in the same instant.
  std::uniform_real_distribution<double> jitter{0.5, 1.5};
  return std::chrono::duration_cast<clock::duration>(base * jitter(rng_));
}

// -- sending -----------------------------------------------------------------

void gateway_link::requeue_due_retries(clock::time_point now) {
  while (!retries_.empty() && retries_.begin()->first <= now) {
    queue_.insert(retries_.begin()->second);
    retries_.erase(retries_.begin());
  }
}

void gateway_link::fill_pipeline(clock::time_point now) {
  while (!queue_.empty() &&
         in_flight_.size() < static_cast<size_t>(pipeline_) &&
         out_.size() < max_buffered) {
    auto& s = *log_.find(*queue_.begin());
    queue_.erase(queue_.begin());
    out_ += facilityd::format_scan({s.seq, s.reader, s.badge});
    in_flight_.insert(s.seq);
    ++scans_written_;
    if (s.sends++ == 0) {
      s.first_sent = now;
      s.first_login = logins_;
      s.first_position = scans_written_;
      ++stats_.first_sends;
    } else {
      ++stats_.resends;
    }
  }
}

void gateway_link::write_out(clock::time_point now) {
  while (fd_ >= 0 && !out_.empty()) {
    auto n = send_some(out_.data(), out_.size());
    if (n == 0) return;
    if (n < 0) {
      lose(now, next_backoff());
      return;
    }
    out_.erase(0, static_cast<size_t>(n));
    last_write_ = now;
  }
}

// -- receiving ---------------------------------------------------------------

void gateway_link::read_in(clock::time_point now,
                           std::vector<uint64_t>& first_acks) {
  char buf[65536];
  auto n = recv_some(buf, sizeof buf);
  if (n == 0) return;
  if (n < 0) {
    lose(now, next_backoff());
    return;
  }
  in_.feed({buf, static_cast<size_t>(n)});
  while (fd_ >= 0) {
    auto line = in_.next_line();
    if (!line) break;
    if (!line->empty() && line->back() == '\r') line->pop_back();
    take_line(*line, now, first_acks);
  }
  if (fd_ >= 0 && in_.too_long()) {
    report("a line from the server is longer than the protocol allows");
    lose(now, next_backoff());
    return;
  }
  // Poll cannot see what TLS has decrypted already.
  if (fd_ >= 0 && tls_ && tls_->pending() > 0) read_in(now, first_acks);
}

void gateway_link::take_line(std::string_view line, clock::time_point now,
                             std::vector<uint64_t>& first_acks) {
  if (state_ == link_state::greeting)
    take_greeting(line, now);
  else if (line.starts_with("ACK "))
    take_ack(line, first_acks);
  else if (line.starts_with("ERR "))
    take_err(line, now);
  else if (!line.starts_with("PONG "))
    report("unexpected line from the server: " + std::string{line});
}

void gateway_link::take_greeting(std::string_view line, clock::time_point now) {
  if (line.starts_with("WELCOME 1 ")) {
    stats_.login_us.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(now -
                                                              connect_started_)
            .count());
    state_ = link_state::ready;
    ++logins_;
    backoff_ = first_backoff;
    ++stats_.logins;
    return;
  }
  // A server at its connection limit or stopping may turn us away;
  // anything else means our credentials were refused.
  auto e = parse_err(line);
  if (e) ++stats_.errors[e->code];
  if (!e || !retryable(e->code)) report("login refused: " + std::string{line});
  lose(now, next_backoff());
}

void gateway_link::take_ack(std::string_view line,
                            std::vector<uint64_t>& first_acks) {
  auto a = parse_ack(line);
  if (!a) {
    report("malformed ACK: " + std::string{line});
    return;
  }
  auto* s = answered_in_flight(a->seq, line);
  if (!s) return;
  if (!s->answer) {
    record_first_ack(*s, std::move(*a), first_acks);
  } else {
    ++stats_.replays_compared;
    if (a->line != s->answer->line)
      report("seq " + std::to_string(s->seq) + " answered \"" + a->line +
             "\" when sent again, but \"" + s->answer->line + "\" before");
  }
  settle(*s);
}

void gateway_link::record_first_ack(sent_scan& s, ack a,
                                    std::vector<uint64_t>& first_acks) {
  ++stats_.acked;
  ++stats_.by_outcome[static_cast<size_t>(a.result)];
  // Only a scan sent once has a meaningful latency: a resent one spent
  // part of its time waiting for a reconnect.
  if (s.sends == 1)
    stats_.latency_us.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(clock::now() -
                                                              s.first_sent)
            .count());
  s.answer = std::move(a);
  first_acks.push_back(s.seq);
}

void gateway_link::take_err(std::string_view line, clock::time_point now) {
  auto e = parse_err(line);
  if (!e) {
    report("malformed ERR: " + std::string{line});
    return;
  }
  ++stats_.errors[e->code];
  if (!e->seq) {
    // The server closes after these; the read side will see it.
    if (!retryable(e->code)) report("connection refused: " + std::string{line});
    return;
  }
  auto* s = answered_in_flight(*e->seq, line);
  if (!s) return;
  if (retryable(e->code)) {
    retry_later(*s, now);
    return;
  }
  report("scan refused for good: " + std::string{line});
  s->abandoned = true;
  settle(*s);
}

void gateway_link::retry_later(sent_scan& s, clock::time_point now) {
  auto pause = std::chrono::milliseconds{25 << std::min(s.refusals, 5)};
  ++s.refusals;
  std::uniform_real_distribution<double> jitter{0.5, 1.5};
  retries_.emplace(
      now + std::chrono::duration_cast<clock::duration>(pause * jitter(rng_)),
      s.seq);
}

void gateway_link::settle(sent_scan& s) {
  s.pending = false;
  --pending_count_;
}

// An answer must be for a scan this connection has in flight: anything
// else is an answer the server should not have sent.
sent_scan* gateway_link::answered_in_flight(uint64_t seq,
                                            std::string_view line) {
  auto* s = log_.find(seq);
  if (!s || in_flight_.erase(seq) == 0) {
    report("answer for a scan not in flight: " + std::string{line});
    return nullptr;
  }
  return s;
}

void gateway_link::report(const std::string& what) {
  violations_.add(log_.spec.id + ": " + what);
}

}  // namespace facility_sim
