#pragma once

#include <memory>
#include <mutex>
#include <utility>

#include "net/asio.hpp"

namespace facilityd {

/// The way back from an actor to an Asio session: work posted from any
/// thread runs on the session's strand, with the session alive. Once the
/// session closes the channel, what is posted is dropped, and the channel
/// lets go of the strand at once. It must: actors (and the requests they
/// have in flight) can outlive the io_context, and a strand used or
/// destroyed after its io_context is a use after free.
template <class Session>
class strand_channel {
 public:
  strand_channel(boost::asio::any_io_executor strand,
                 std::weak_ptr<Session> session)
      : strand_(std::move(strand)), session_(std::move(session)) {}

  /// Runs `f(session)` on the strand, unless the channel is closed or the
  /// session gone.
  template <class F>
  void post(F f) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!strand_) return;
    auto s = session_.lock();
    if (!s) return;
    boost::asio::post(strand_, [s, f = std::move(f)]() mutable { f(*s); });
  }

  /// Called by the session as it closes (on its strand or in its
  /// destructor).
  void close() {
    std::lock_guard<std::mutex> guard{mtx_};
    strand_ = boost::asio::any_io_executor{};
  }

 private:
  std::mutex mtx_;
  boost::asio::any_io_executor strand_;  // empty once closed
  std::weak_ptr<Session> session_;
};

}  // namespace facilityd
