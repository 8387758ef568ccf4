#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "harness/answer.hpp"
#include "harness/report.hpp"
#include "harness/tls_link.hpp"
#include "harness/world.hpp"
#include "net/protocol.hpp"

namespace facility_sim {

using clock = std::chrono::steady_clock;

/// One scan a gateway made, and what it learned about it.
struct sent_scan {
  uint64_t seq = 0;
  std::string reader;
  std::string badge;
  int person = -1;  // the simulated person who scanned; -1: hostile traffic
  int sends = 0;    // times written to a connection
  clock::time_point first_sent{};
  int first_login = 0;          // the gateway's login it was first sent on
  uint64_t first_position = 0;  // its place among the gateway's writes
  std::optional<ack> answer;    // the first ACK; later ones must equal it
  bool pending = false;         // queued, in flight or waiting for a retry
  bool abandoned = false;       // refused for good, reported as a violation
  int refusals = 0;             // ERR answers so far, for the backoff
};

/// Everything one gateway sent, by seq.
struct gateway_log {
  gateway_spec spec;
  std::vector<sent_scan> scans;  // scans[i].seq == spec.first_seq + i

  const sent_scan* find(uint64_t seq) const;
  sent_scan* find(uint64_t seq);
};

/// One simulated gateway box: its connection to facilityd, the scans it
/// has sent, and those waiting to be sent again. It keeps every scan until
/// an ACK arrives, resends everything unanswered after it reconnects, and
/// resends scans refused as unavailable, busy or shutting_down after a
/// pause, always under their original seq.
///
/// Non-blocking sockets; the simulation's single thread polls the
/// descriptor and calls everything here. With a tls_client, every
/// connection speaks TLS, and a server that fails verification is a
/// violation.
class gateway_link {
 public:
  /// `tls` (null: plain TCP) must outlive the link.
  gateway_link(gateway_spec spec, int pipeline, uint64_t seed, run_stats& stats,
               violation_log& violations, const tls_client* tls = nullptr);
  ~gateway_link();
  gateway_link(const gateway_link&) = delete;
  gateway_link& operator=(const gateway_link&) = delete;

  /// Records a new scan and queues it; returns its seq.
  uint64_t add_scan(std::string reader, std::string badge, int person);

  /// Connects when down, past the backoff and the server listens on
  /// `port` (0: the server is not up); queues the retries that are due;
  /// sends as much as the pipeline allows.
  void tick(clock::time_point now, uint16_t port);

  /// What to poll for; fd is -1 when there is no socket.
  pollfd poll_request() const;

  /// Handles poll's `revents` for poll_request()'s descriptor. Appends the
  /// seqs that got their first ACK to `first_acks`.
  void on_poll(short revents, clock::time_point now,
               std::vector<uint64_t>& first_acks);

  /// Resets the connection as a failing link would; reconnects soon.
  /// False when there was no connection.
  bool cut(clock::time_point now);

  /// Queues every answered scan again that is not already on its way;
  /// returns how many. Their answers must equal the first ones.
  size_t resend_history();

  bool logged_in() const { return state_ == link_state::ready; }
  size_t in_flight() const { return in_flight_.size(); }

  /// Scans not yet answered (or resent and not yet answered again).
  size_t pending() const { return pending_count_; }

  void close();

  const gateway_log& log() const { return log_; }

 private:
  enum class link_state { down, connecting, handshaking, greeting, ready };

  void connect(clock::time_point now, uint16_t port);
  void finish_connect(clock::time_point now);
  void continue_handshake(clock::time_point now);
  void greet(clock::time_point now);
  long send_some(const char* data, size_t len);
  long recv_some(char* buf, size_t cap);
  void lose(clock::time_point now, clock::duration reconnect_after);
  clock::duration next_backoff();
  void requeue_due_retries(clock::time_point now);
  void fill_pipeline(clock::time_point now);
  void write_out(clock::time_point now);
  void read_in(clock::time_point now, std::vector<uint64_t>& first_acks);
  void take_line(std::string_view line, clock::time_point now,
                 std::vector<uint64_t>& first_acks);
  void take_greeting(std::string_view line, clock::time_point now);
  void take_ack(std::string_view line, std::vector<uint64_t>& first_acks);
  void record_first_ack(sent_scan& s, ack a, std::vector<uint64_t>& first_acks);
  void take_err(std::string_view line, clock::time_point now);
  void retry_later(sent_scan& s, clock::time_point now);
  void settle(sent_scan& s);
  sent_scan* answered_in_flight(uint64_t seq, std::string_view line);
  void report(const std::string& what);

  gateway_log log_;
  int pipeline_;
  std::mt19937_64 rng_;
  run_stats& stats_;
  violation_log& violations_;

  const tls_client* tls_client_;
  std::unique_ptr<tls_link> tls_;  // while connected over TLS
  bool tls_wants_write_ = false;   // TLS must write before it can go on

  int fd_ = -1;
  link_state state_ = link_state::down;
  clock::time_point connect_started_{};
  clock::time_point reconnect_at_{};
  clock::duration backoff_;
  clock::time_point last_write_{};
  int logins_ = 0;
  uint64_t scans_written_ = 0;

  std::set<uint64_t> queue_;      // to send, lowest seq first
  std::set<uint64_t> in_flight_;  // sent on this connection, unanswered
  std::multimap<clock::time_point, uint64_t> retries_;
  size_t pending_count_ = 0;

  std::string out_;  // bytes not yet written
  facilityd::line_reader in_;
};

}  // namespace facility_sim
