// serve(): the HTTP server around the routes, its admission filter, and clean shutdown.
#include "server.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "routes.hpp"
#include "xraykit/error.hpp"

namespace xraykit::web {
namespace {

void add_security_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                 "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

// Every route but the login routes needs a session or the password: API clients get a 401,
// browsers are sent to the login page.
httplib::Server::HandlerResponse admit(App& app, const httplib::Request& req, httplib::Response& res) {
  add_security_headers(res);
  const bool open = req.path == "/healthz" || req.path == "/login" || req.path == "/login/style.css";
  if (open || authenticated(app, req)) return httplib::Server::HandlerResponse::Unhandled;
  if (req.path.rfind("/api/", 0) == 0 || req.method != "GET") {
    res.set_header("WWW-Authenticate", "Basic realm=\"xraykit\", charset=\"UTF-8\"");
    json_error(res, 401, "authentication required: session cookie, Bearer token or HTTP Basic");
  } else {
    res.status = 303;
    res.set_header("Location", "/login");
  }
  return httplib::Server::HandlerResponse::Handled;
}

void internal_error(const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    json_error(res, 500, std::string("internal error: ") + e.what());
  } catch (...) {
    json_error(res, 500, "internal error");
  }
}

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void block_shutdown_signals() {
  const sigset_t set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int serve(const ResNetClassifier& model, const ServeOptions& o) {
  if (o.password.empty()) throw InvalidArgument("serve needs a non-empty password");
  if (o.workers < 1 || o.queue < 0 || o.max_files < 1) throw InvalidArgument("bad worker, queue or file limits");
  App app{model, o, Auth(o.password, o.session_lifetime, o.max_failed_logins, o.failure_window), Gate(o.workers, o.queue)};

  httplib::Server svr;
  svr.new_task_queue = [] { return new httplib::ThreadPool(32); };  // connections must not wait behind inference
  svr.set_payload_max_length(o.max_body);
  svr.set_read_timeout(30, 0);
  svr.set_pre_routing_handler([&app](const httplib::Request& req, httplib::Response& res) { return admit(app, req, res); });
  add_login_routes(svr, app);
  add_page_routes(svr, app);
  add_api_routes(svr, app);
  svr.set_exception_handler(internal_error);

  // Clean shutdown: SIGINT/SIGTERM are blocked in every thread and taken by one that stops
  // the server, so no handler runs in the middle of a request.
  block_shutdown_signals();
  sigset_t signals = shutdown_signals();
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!done) fmt::print("\nxraykit serve: {} received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    svr.stop();
  });

  const int port = o.port == 0 ? svr.bind_to_any_port(o.host) : (svr.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) {
    done = true;
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
    throw IoError(fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", o.host, o.port));
  }
  if (o.on_listening) o.on_listening(port);
  const bool ok = svr.listen_after_bind();
  done = true;
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return ok ? 0 : 1;
}

}  // namespace xraykit::web
