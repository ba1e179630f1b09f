#pragma once
// The HTTP server with the connection limits cpp-httplib 0.11 lacks. It serves each connection
// on a thread with blocking reads and a per-read timeout only, so a client sending half a
// request, a body one byte at a time, or header lines without end could hold a thread (or
// memory) for as long as it liked; 33 such clients once made /healthz time out. Here:
// - a request's header must arrive whole within `header_timeout` (the wait for the next
//   request on a kept-alive connection included) and be at most `max_header_bytes`;
// - its body must arrive at `min_body_rate` bytes/s or faster, after a grace of header_timeout;
// - while connections wait for a thread, each arrival, and every 50 ms, closes the connection
//   that has waited longest for its request header (else the one longest sending its body;
//   never one whose request is being answered, nor one that began waiting for its header, or
//   sending its body, less than 250 ms ago: a client slowed by a busy machine is not taken for
//   an attacker);
// - waiting connections whose whole header (up to 4 KiB) has arrived are served first, else the
//   newest, so
//   /healthz and the login answer within a second under a flood of slow clients;
// - the kernel's queue of connections not yet accepted is widened (widen_accept_queue);
// - at most as many connections wait for a thread as there are threads: beyond that the
//   oldest waiting one whose header is incomplete (else the oldest) is closed unanswered.
// (Once the newest waiting went first and the oldest was closed: a burst of half-sent
// requests could close a /healthz waiting behind them, about once in 20 abuse-test runs.)
// Internal to the web app; thread-safe as httplib::Server is (configure, then listen).
#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <memory>

namespace xraykit::web {

struct ConnectionLimits {
  std::chrono::milliseconds header_timeout{10'000};
  std::size_t max_header_bytes = 64u << 10;
  double min_body_rate = 16u << 10;  ///< bytes per second
};

class Connections;

class GuardedServer : public httplib::Server {
 public:
  GuardedServer(std::size_t threads, ConnectionLimits limits);
  ~GuardedServer() override;

  /// Call after binding: lets the kernel hold `backlog` connections not yet accepted (httplib
  /// asks for 5; beyond that, bursts of connections wait a second for a SYN retransmission).
  void widen_accept_queue(int backlog);

 private:
  bool process_and_close_socket(socket_t sock) override;
  void serve_connection(socket_t sock);

  ConnectionLimits limits_;
  std::shared_ptr<Connections> connections_;
};

}  // namespace xraykit::web
