#pragma once

#include <memory>
#include <utility>
#include <variant>

#include "net/asio_ssl.hpp"

namespace facilityd {

/// The byte stream under one gateway connection: the accepted TCP socket
/// itself, or TLS over it. The session speaks the protocol through this
/// and never asks which of the two it has, except to start and end TLS.
///
/// Like the socket it wraps, it is used on the socket's strand only: at
/// most one read and one write at a time, and the handshake and the
/// shutdown while neither is running.
class gateway_stream {
 public:
  using tcp = boost::asio::ip::tcp;
  using tls_stream = boost::asio::ssl::stream<tcp::socket>;

  /// A plain connection.
  explicit gateway_stream(tcp::socket socket) : stream_(std::move(socket)) {}

  /// A TLS connection; `ctx` must outlive the stream.
  gateway_stream(tcp::socket socket, boost::asio::ssl::context& ctx)
      : stream_(std::in_place_type<tls_stream>, std::move(socket), ctx) {}

  bool tls() const { return std::holds_alternative<tls_stream>(stream_); }

  /// The TCP socket underneath, for addresses and socket options.
  tcp::socket& socket() {
    return std::visit([](auto& s) -> tcp::socket& { return lowest(s); },
                      stream_);
  }

  /// Runs the server side of the TLS handshake; only for tls() streams.
  template <class Handler>
  void async_handshake(Handler&& h) {
    std::get<tls_stream>(stream_).async_handshake(
        boost::asio::ssl::stream_base::server, std::forward<Handler>(h));
  }

  template <class Buffer, class Handler>
  void async_read_some(const Buffer& b, Handler&& h) {
    std::visit([&](auto& s) { s.async_read_some(b, std::move(h)); }, stream_);
  }

  /// Writes all of `b`, as boost::asio::async_write does.
  template <class Buffer, class Handler>
  void async_write(const Buffer& b, Handler&& h) {
    std::visit([&](auto& s) { boost::asio::async_write(s, b, std::move(h)); },
               stream_);
  }

  /// Sends TLS's close_notify and waits for the peer's; only for tls()
  /// streams after a completed handshake. May wait forever for a peer
  /// that never answers: bound it with a timer that calls close().
  template <class Handler>
  void async_shutdown(Handler&& h) {
    std::get<tls_stream>(stream_).async_shutdown(std::forward<Handler>(h));
  }

  /// Closes the socket at once; operations still running end with
  /// operation_aborted.
  void close() {
    boost::system::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

 private:
  static tcp::socket& lowest(tcp::socket& s) { return s; }
  static tcp::socket& lowest(tls_stream& s) { return s.next_layer(); }

  std::variant<tcp::socket, tls_stream> stream_;
};

}  // namespace facilityd
