// GuardedServer: httplib's server with request deadlines, a header size cap and a thread pool
// that makes room for new connections (see guarded_server.hpp for the rules).
#include "guarded_server.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace xraykit::web {

using Clock = std::chrono::steady_clock;

namespace {

enum class Phase { Header, Body, Answering };

// A connection that began waiting for its header, or sending its body, less than this ago is
// never closed to make room: a client slowed by a busy machine is not taken for an attacker.
constexpr std::chrono::milliseconds kEvictionGrace{250};

// httplib hands the pool closures that hide the socket; run while this is set, a closure only
// names its socket (in t_socket) and serves nothing.
thread_local bool t_probe = false;
thread_local int t_socket = -1;

int millis_until(Clock::time_point t, std::chrono::milliseconds cap) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now());
  return static_cast<int>(std::clamp(left, std::chrono::milliseconds{0}, cap).count());
}

bool poll_for(int sock, short events, int millis) {
  pollfd p{sock, events, 0};
  return ::poll(&p, 1, millis) > 0;
}

// The connection's whole request header is already here: serving it takes no waiting. (Only
// the first 4 KiB are looked at: a longer header counts as not here yet, as nearly none are.)
bool header_waiting(int sock) {
  char buf[4096];
  const ssize_t n = ::recv(sock, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 && std::string_view(buf, static_cast<std::size_t>(n)).find("\r\n\r\n") != std::string_view::npos;
}

}  // namespace

// The open connections, what each is doing and since when, so that a full pool can close the
// one that matters least.
class Connections {
 public:
  void set(int sock, Phase phase) {
    std::lock_guard lock(mutex_);
    auto [it, added] = states_.try_emplace(sock, State{phase, Clock::now()});
    if (!added && it->second.phase != phase) it->second = State{phase, Clock::now()};
  }
  // Called before the socket is closed, so that a reused descriptor is never shut down.
  void forget(int sock) {
    std::lock_guard lock(mutex_);
    states_.erase(sock);
  }
  // Shuts down, of the connections served for longer than the grace, the one longest waiting
  // for its header, else the one longest sending its body; its thread then sees the end of its
  // stream and moves on.
  void evict_one() {
    std::lock_guard lock(mutex_);
    const auto graced = Clock::now() - kEvictionGrace;
    auto victim = states_.end();
    for (auto it = states_.begin(); it != states_.end(); ++it) {
      if (it->second.phase == Phase::Answering || it->second.since > graced) continue;
      if (victim == states_.end() || std::pair(it->second.phase, it->second.since) < std::pair(victim->second.phase, victim->second.since))
        victim = it;
    }
    if (victim == states_.end()) return;
    ::shutdown(victim->first, SHUT_RDWR);
    victim->second.phase = Phase::Answering;  // not chosen twice
  }

 private:
  struct State {
    Phase phase;
    Clock::time_point since;
  };
  std::mutex mutex_;
  std::map<int, State> states_;
};

namespace {

// httplib's TaskQueue: a fixed pool of threads. While connections wait for a thread, one
// holder past the grace is closed at each arrival and every kRoomCheck (Connections::evict_one).
// Waiting connections whose request header is already here go first, else the newest; beyond
// one waiting per thread, the oldest whose header is not here is closed unanswered, so a flood
// of half-sent requests cannot push out a complete one.
class ConnectionPool : public httplib::TaskQueue {
 public:
  ConnectionPool(std::size_t threads, std::shared_ptr<Connections> connections) : connections_(std::move(connections)) {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
    room_maker_ = std::thread([this] { make_room(); });
  }

  void enqueue(std::function<void()> fn) override {
    t_probe = true;
    t_socket = -1;
    fn();
    t_probe = false;
    if (t_socket < 0) {  // httplib no longer hands its sockets to process_and_close_socket
      std::fputs("xraykit: the web server's connection pool cannot learn its connections' sockets\n", stderr);
      std::abort();
    }
    int refused = -1;
    bool full = false;
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(Job{t_socket, false, std::move(fn)});
      full = busy_ + jobs_.size() > threads_.size();
      if (jobs_.size() > threads_.size()) {
        const auto it = std::find_if(jobs_.begin(), jobs_.end(), [](Job& j) { return !j.header_here(); });
        const auto drop = it == jobs_.end() ? jobs_.begin() : it;
        refused = drop->sock;
        jobs_.erase(drop);
      }
    }
    cond_.notify_one();
    room_cond_.notify_one();
    if (full) connections_->evict_one();
    if (refused >= 0) {
      ::shutdown(refused, SHUT_RDWR);
      ::close(refused);
    }
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cond_.notify_all();
    room_cond_.notify_all();
    for (auto& t : threads_) t.join();
    room_maker_.join();
  }

 private:
  // Arrivals alone cannot be relied on to make room: the clients waiting send nothing new.
  static constexpr std::chrono::milliseconds kRoomCheck{50};

  struct Job {
    int sock;
    bool complete;                ///< its whole header was seen (what has arrived stays)
    std::function<void()> serve;  ///< serves the connection, then closes it
    bool header_here() { return complete = complete || header_waiting(sock); }
  };

  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        cond_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, nothing left
        const auto ready = std::find_if(jobs_.rbegin(), jobs_.rend(), [](Job& j) { return j.header_here(); });
        const auto next = ready == jobs_.rend() ? std::prev(jobs_.end()) : std::prev(ready.base());
        fn = std::move(next->serve);
        jobs_.erase(next);
        ++busy_;
      }
      fn();
      std::lock_guard lock(mutex_);
      --busy_;
    }
  }

  void make_room() {
    std::unique_lock lock(mutex_);
    for (;;) {
      room_cond_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (room_cond_.wait_for(lock, kRoomCheck, [this] { return stopping_; })) return;
      if (jobs_.empty() || busy_ < threads_.size()) continue;
      lock.unlock();
      connections_->evict_one();
      lock.lock();
    }
  }

  std::shared_ptr<Connections> connections_;
  std::vector<std::thread> threads_;
  std::thread room_maker_;
  std::mutex mutex_;
  std::condition_variable cond_;       ///< a job waits, or stopping
  std::condition_variable room_cond_;  ///< the room maker's own (so no worker's wake-up is lost to it)
  std::deque<Job> jobs_;
  std::size_t busy_ = 0;
  bool stopping_ = false;
};

// A buffered socket stream whose reads end at the request's deadline and whose header may
// not exceed its size limit; it tells Connections what the connection is doing.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(int sock, const ConnectionLimits& limits, Connections& connections, std::chrono::milliseconds read_timeout,
                 std::chrono::milliseconds write_timeout)
      : sock_(sock), limits_(limits), connections_(connections), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  // The wait for the next request (and its header) starts.
  void expect_header() {
    enter(Phase::Header);
    deadline_ = Clock::now() + limits_.header_timeout;
    header_bytes_ = 0;
  }

  // The header has been read: the body, if any, follows at the minimum rate.
  void header_read(const httplib::Request& req) {
    const std::string length = req.get_header_value("Content-Length");
    const bool number = !length.empty() && length.size() <= 18 && length.find_first_not_of("0123456789") == std::string::npos;
    body_left_ = number ? std::stoull(length) : 0;
    // Capped: an 18-digit length at the minimum rate is more seconds than a clock can count
    // (found by fuzz_http). A body over the size limit is refused long before a day is up.
    constexpr double kLongestBody = 24 * 3600.0;
    const auto allowance = std::chrono::duration<double>(std::min(static_cast<double>(body_left_) / limits_.min_body_rate, kLongestBody));
    deadline_ = Clock::now() + limits_.header_timeout + std::chrono::duration_cast<Clock::duration>(allowance);
    enter(body_left_ > 0 ? Phase::Body : Phase::Answering);
  }

  // The next request's first byte arrived in time (false: deadline, closed, or `stop()` true).
  template <class Stop>
  bool wait_for_request(Stop stop) {
    if (off_ < len_) return true;
    for (;;) {
      if (stop()) return false;
      const int millis = millis_until(deadline_, std::chrono::milliseconds{100});
      if (poll_for(sock_, POLLIN, millis)) return true;
      if (Clock::now() >= deadline_) return false;
    }
  }

  bool is_readable() const override { return off_ < len_ || poll_for(sock_, POLLIN, millis_until(deadline_, read_timeout_)); }
  bool is_writable() const override { return poll_for(sock_, POLLOUT, static_cast<int>(write_timeout_.count())); }

  // A read failed for lateness, size or the end of the stream: the connection is not reused.
  bool broken() const { return broken_; }

  ssize_t read(char* ptr, std::size_t size) override {
    if (off_ == len_ && !fill()) {
      broken_ = true;
      return -1;
    }
    std::size_t n = std::min(size, len_ - off_);
    if (phase_ == Phase::Header && (header_bytes_ += n) > limits_.max_header_bytes) {
      broken_ = true;
      return -1;
    }
    if (phase_ == Phase::Body) {
      n = static_cast<std::size_t>(std::min<std::uint64_t>(n, body_left_));
      if ((body_left_ -= n) == 0) enter(Phase::Answering);
    }
    std::memcpy(ptr, buf_ + off_, n);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (!is_writable()) return -1;
    return ::send(sock_, ptr, size, MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(::getpeername, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(::getsockname, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  void enter(Phase phase) {
    phase_ = phase;
    connections_.set(sock_, phase);
  }

  bool fill() {
    if (!poll_for(sock_, POLLIN, millis_until(deadline_, read_timeout_))) return false;
    const ssize_t n = ::recv(sock_, buf_, sizeof buf_, 0);
    if (n <= 0) return false;
    off_ = 0;
    len_ = static_cast<std::size_t>(n);
    return true;
  }

  void address(int (*query)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    char host[NI_MAXHOST] = "";
    char serv[NI_MAXSERV] = "";
    if (query(sock_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        ::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
      return;
    ip = host;
    port = std::atoi(serv);
  }

  int sock_;
  const ConnectionLimits& limits_;
  Connections& connections_;
  std::chrono::milliseconds read_timeout_, write_timeout_;
  Clock::time_point deadline_;
  Phase phase_ = Phase::Header;
  std::size_t header_bytes_ = 0;
  std::uint64_t body_left_ = 0;
  bool broken_ = false;
  char buf_[4096];
  std::size_t off_ = 0, len_ = 0;
};

}  // namespace

GuardedServer::GuardedServer(std::size_t threads, ConnectionLimits limits)
    : limits_(limits), connections_(std::make_shared<Connections>()) {
  new_task_queue = [threads, connections = connections_] { return new ConnectionPool(threads, connections); };
}

GuardedServer::~GuardedServer() = default;

void GuardedServer::widen_accept_queue(int backlog) { ::listen(svr_sock_, backlog); }

bool GuardedServer::process_and_close_socket(socket_t sock) {
  if (t_probe) {
    t_socket = sock;
    return true;
  }
  serve_connection(sock);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

void GuardedServer::serve_connection(socket_t sock) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const auto read_timeout = std::chrono::duration_cast<milliseconds>(seconds(read_timeout_sec_)) + milliseconds(read_timeout_usec_ / 1000);
  const auto write_timeout = std::chrono::duration_cast<milliseconds>(seconds(write_timeout_sec_)) + milliseconds(write_timeout_usec_ / 1000);
  DeadlineStream stream(sock, limits_, *connections_, read_timeout, write_timeout);
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    stream.expect_header();
    if (!stream.wait_for_request([this] { return svr_sock_ == INVALID_SOCKET; })) break;
    bool closed = false;
    const bool ok = process_request(stream, left == 1, closed, [&stream](httplib::Request& req) { stream.header_read(req); });
    if (!ok || closed || stream.broken()) break;
  }
  connections_->forget(sock);
}

}  // namespace xraykit::web
