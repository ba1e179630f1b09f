// libFuzzer target: the web app's request handling end to end. Each input is sent as raw bytes
// (request line, headers, body: one request or several) over loopback to a server running in
// this process: the real routes (the login, the predict upload, the pages and the API) over a
// small untrained model. A 5xx reply, a crash or a server that stops answering is a failure.
// Seeds (scripts/fuzz.sh) carry the password, so inputs get past the login.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "server.hpp"
#include "xraykit/classifier.hpp"

namespace {

int g_port = 0;

void start_server() {
  static std::mutex m;
  static std::condition_variable cv;
  std::thread([] {
    xraykit::ClassifierOptions model_options;
    model_options.image_size = 32;
    auto model = std::make_shared<const xraykit::ResNetClassifier>("resnet18", std::vector<std::string>{"NORMAL", "PNEUMONIA"}, model_options);
    xraykit::web::ServeOptions o;
    o.port = 0;
    o.password = "fuzzing-password-123";
    o.workers = 1;
    o.queue = 4;
    o.max_body = 1 << 20;
    o.max_pixels = 1 << 20;
    o.max_request_pixels = 1 << 21;
    o.header_timeout = std::chrono::milliseconds(2000);
    // Guessing is tested elsewhere; here it would soon lock the fuzzer out.
    o.max_failed_logins = 100'000;
    o.failure_window = std::chrono::seconds(1);
    o.on_listening = [](int port) {
      std::lock_guard lock(m);
      g_port = port;
      cv.notify_all();
    };
    xraykit::web::serve(model, o);
  }).detach();
  std::unique_lock lock(m);
  cv.wait(lock, [] { return g_port != 0; });
}

// A connect interrupted by a signal goes on in the background: wait for its outcome.
bool connected(int s) {
  pollfd p{s, POLLOUT, 0};
  while (::poll(&p, 1, 10'000) < 0)
    if (errno != EINTR) return false;
  int error = 0;
  socklen_t len = sizeof error;
  return ::getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0 && (p.revents & POLLOUT);
}

// Why the last exchange's reply ended, for the report of a failure.
std::string g_ending;

// Sends the bytes, closes the sending side, and returns everything the server replied.
std::string exchange(const std::uint8_t* data, std::size_t size) {
  const auto start = std::chrono::steady_clock::now();
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(g_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && !(errno == EINTR && connected(s))) {
    std::perror("the server does not take connections");
    std::abort();
  }
  timeval tv{10, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  for (std::size_t sent = 0; sent < size;) {
    const ssize_t n = ::send(s, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may close early (a refused request)
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(s, SHUT_WR);
  std::string reply;
  char buf[4096];
  ssize_t n = 0;
  // libFuzzer's timer (SIGALRM, for -timeout) interrupts a waiting recv now and then.
  while ((n = ::recv(s, buf, sizeof buf, 0)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) reply.append(buf, static_cast<std::size_t>(n));
  const int error = n < 0 ? errno : 0;
  ::close(s);
  g_ending = (n == 0 ? std::string("closed by the server") : std::string("recv: ") + std::strerror(error)) + " after " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()) + " ms";
  return reply;
}

bool server_error(const std::string& reply) {
  for (std::size_t at = reply.find("HTTP/1.1 5"); at != std::string::npos; at = reply.find("HTTP/1.1 5", at + 1))
    if (reply.compare(at + 9, 3, "503") != 0) return true;  // 503 (busy) is an answer, not a fault
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  start_server();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string reply = exchange(data, size);
  if (server_error(reply)) {
    std::fprintf(stderr, "server error for this input:\n%s\n", reply.substr(0, 2000).c_str());
    std::abort();
  }
  static const char health[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string answer = exchange(reinterpret_cast<const std::uint8_t*>(health), sizeof health - 1);
  if (answer.rfind("HTTP/1.1 200", 0) != 0) {
    std::fprintf(stderr, "/healthz after this input answered (%s):\n%s\n", g_ending.c_str(), answer.substr(0, 500).c_str());
    std::abort();
  }
  return 0;
}
