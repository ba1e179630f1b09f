// serve(): the HTTP server around the routes, its admission filter, and clean shutdown.
#include "server.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "guarded_server.hpp"
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

// Bodies are read after this filter: a request that says it is bigger than its route takes
// is refused before a byte of it is read (only uploads may be large, and they go to a file),
// and so is one whose size is not said (no Content-Length, or a Transfer-Encoding), which
// would otherwise be read until the client stops.
httplib::Server::HandlerResponse body_size_check(const App& app, const httplib::Request& req, httplib::Response& res) {
  const bool has_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || req.method == "DELETE";
  if (!has_body) return httplib::Server::HandlerResponse::Unhandled;
  const std::string length = req.get_header_value("Content-Length");
  const bool number = !length.empty() && length.size() <= 18 && length.find_first_not_of("0123456789") == std::string::npos;
  if (req.has_header("Transfer-Encoding") || !number) {
    json_error(res, 411, "send the body with a Content-Length (and no Transfer-Encoding)");
    return httplib::Server::HandlerResponse::Handled;
  }
  const bool upload = app.studio && req.method == "POST" && req.path == kUploadPath;
  const std::uint64_t limit = upload ? app.options.max_upload : app.options.max_body;
  if (std::stoull(length) > limit) {
    json_error(res, 413, fmt::format("the request body is over the limit of {} bytes", limit));
    return httplib::Server::HandlerResponse::Handled;
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

// Every route but the login routes needs a session or the password of its realm (the studio's
// admin password for the studio): API clients get a 401, browsers are sent to the login page.
httplib::Server::HandlerResponse admit(App& app, const httplib::Request& req, httplib::Response& res) {
  add_security_headers(res);
  if (body_size_check(app, req, res) == httplib::Server::HandlerResponse::Handled) return httplib::Server::HandlerResponse::Handled;
  const bool open = req.path == "/healthz" || req.path == "/login" || req.path == "/login/style.css" ||
                    (app.studio && req.path == "/studio/login");
  if (open) return httplib::Server::HandlerResponse::Unhandled;
  if (is_studio_path(req.path) && !app.studio) {
    json_error(res, 404, "the studio is off (start serve with --studio DIR)");
    return httplib::Server::HandlerResponse::Handled;
  }
  const Realm realm = realm_of(app, req.path);
  int retry = 0;
  const Access a = access(app, realm, req, &retry);
  if (a == Access::Granted) return httplib::Server::HandlerResponse::Unhandled;
  if (a == Access::Throttled) {
    res.set_header("Retry-After", std::to_string(retry));
    json_error(res, 429, "too many wrong passwords; try again later");
  } else if (a == Access::Wrong || req.path.rfind("/api/", 0) == 0 || req.method != "GET") {
    // Bearer, not Basic: a Basic challenge makes browsers cache the credentials, and then
    // logging out does not log out.
    res.set_header("WWW-Authenticate", "Bearer realm=\"xraykit\"");
    json_error(res, 401, "authentication required: session cookie, Bearer token or HTTP Basic");
  } else {
    res.status = 303;
    res.set_header("Location", realm.login_path);
  }
  return httplib::Server::HandlerResponse::Handled;
}

// Internals go to the server's log, never to the client.
void internal_error(const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    fmt::print(stderr, "xraykit serve: {} {}: {}\n", req.method, req.path, e.what());
  } catch (...) {
    fmt::print(stderr, "xraykit serve: {} {}: unknown error\n", req.method, req.path);
  }
  json_error(res, 500, "internal error (see the server log)");
}

// The studio's password must differ from the classify password: the people who may only
// classify must not be able to train or publish. A model published earlier is served again.
void open_studio(App& app) {
  const ServeOptions& o = app.options;
  if (o.admin_password == o.password)
    throw InvalidArgument("the studio's admin password must differ from the classify password");
  app.admin_auth = std::make_unique<Auth>(o.admin_password, o.session_lifetime, o.max_failed_logins, o.failure_window);
  app.studio = std::make_unique<Studio>(o.studio_dir, o.data_root);
  const std::string published = app.studio->published();
  if (published.empty()) return;
  app.model.publish(std::make_shared<const ResNetClassifier>(ResNetClassifier::load(app.studio->model_path(published))));
  fmt::print("xraykit serve: serving the studio's published model (job {})\n", published);
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

int serve(std::shared_ptr<const ResNetClassifier> model, const ServeOptions& o) {
  if (o.workers < 1 || o.workers > 64) throw InvalidArgument(fmt::format("workers must be in [1, 64], not {}", o.workers));
  if (o.queue < 0 || o.queue > 256) throw InvalidArgument(fmt::format("queue must be in [0, 256], not {}", o.queue));
  if (o.max_files < 1 || o.max_files > 1024) throw InvalidArgument(fmt::format("max_files must be in [1, 1024], not {}", o.max_files));
  if (o.max_body < 1024) throw InvalidArgument(fmt::format("max_body must be at least 1 KiB, not {} bytes", o.max_body));
  if (o.header_timeout < std::chrono::milliseconds(100) || o.header_timeout > std::chrono::minutes(10))
    throw InvalidArgument(fmt::format("header_timeout must be in [0.1, 600] seconds, not {} ms", o.header_timeout.count()));
  if (o.max_pixels < 1) throw InvalidArgument(fmt::format("max_pixels must be positive, not {}", o.max_pixels));
  if (o.max_request_pixels < o.max_pixels)
    throw InvalidArgument(fmt::format("max_request_pixels ({}) must be at least max_pixels ({})", o.max_request_pixels, o.max_pixels));
  App app{ModelSlot(std::move(model)), o, Auth(o.password, o.session_lifetime, o.max_failed_logins, o.failure_window),
          Gate(o.workers, o.queue), nullptr, nullptr, {}};
  app.auth.set_api_tokens(o.api_tokens);
  if (!o.studio_dir.empty()) open_studio(app);

  // Every admitted prediction holds a thread while it waits; the spare threads keep
  // /healthz and the login answering when the prediction queue is full.
  constexpr int kSpareThreads = 16;
  const std::size_t threads = static_cast<std::size_t>(o.workers + o.queue + kSpareThreads);
  ConnectionLimits limits;
  limits.header_timeout = o.header_timeout;
  GuardedServer svr(threads, limits);
  svr.set_payload_max_length(app.studio ? std::max<std::size_t>(o.max_body, o.max_upload) : o.max_body);
  svr.set_read_timeout(30, 0);
  svr.set_pre_routing_handler([&app](const httplib::Request& req, httplib::Response& res) { return admit(app, req, res); });
  add_login_routes(svr, app);
  add_page_routes(svr, app);
  add_api_routes(svr, app);
  if (app.studio) add_studio_routes(svr, app);
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
  svr.widen_accept_queue(1024);
  if (o.on_listening) o.on_listening(port);
  const bool ok = svr.listen_after_bind();
  done = true;
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return ok ? 0 : 1;
}

}  // namespace xraykit::web
