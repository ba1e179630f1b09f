#pragma once
// `xraykit serve`: a password-protected web app and JSON API over one trained model.
// Routes: /login (form), /logout, / (upload page), /app.js, /model (model card),
// /api/model, /api/predict, /healthz (the only route without authentication besides the
// login pages and their style sheet); with a studio, /studio/... and /api/studio/... behind
// the admin password.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xraykit/classifier.hpp"

namespace xraykit::web {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                      ///< 0: any free port (reported through on_listening)
  std::string password;                 ///< required, at least 12 characters
  /// Secrets for programs, accepted only as `Authorization: Bearer` on the classify pages and
  /// API (not the studio); each at least 32 characters. See Auth::set_api_tokens.
  std::vector<std::string> api_tokens;
  int workers = 2;                      ///< predictions run at once
  int queue = 16;                       ///< predictions waiting; beyond this: 503 + Retry-After
  std::size_t max_body = 32u << 20;     ///< bytes per request (413 beyond)
  int max_files = 16;                   ///< images per request
  std::int64_t max_pixels = 40'000'000; ///< per image, checked before decoding
  /// All images of one request together: with at most `workers` requests decoding at once,
  /// decoded pixels in memory stay below workers x this (plus one image's decoding buffers).
  std::int64_t max_request_pixels = 64'000'000;
  /// A request's header must arrive within this (its body then at 16 KiB/s or faster), so
  /// slow clients cannot hold the server's threads (see guarded_server.hpp).
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::seconds session_lifetime{12 * 3600};
  int max_failed_logins = 5;            ///< per client within failure_window, then 429
  std::chrono::seconds failure_window{60};
  /// Address of a reverse proxy in front: its requests are told apart by X-Forwarded-For
  /// (else every user behind it would share one failed-login limit). Empty: none.
  std::string trusted_proxy;
  std::function<void(int port)> on_listening;  ///< called once the socket is bound
  /// The studio (train, evaluate and publish from the browser): on when studio_dir is set.
  std::string studio_dir;      ///< its workspace: jobs, models, the published model's id
  std::string admin_password;  ///< required with studio_dir; at least 12 characters, not `password`
  std::string data_root;       ///< folders below it are offered as datasets; empty: none
  std::uint64_t max_upload = 2ull << 30;  ///< bytes of one uploaded zip (other requests: max_body)
};

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts later, so that
/// serve() can take them for a clean shutdown. Call it before anything starts threads (loading
/// a model starts Torch's pool): a thread that does not block them would let them kill the
/// process.
void block_shutdown_signals();

/// Serves `model` until SIGINT or SIGTERM; returns the process exit code. Errors that stop it
/// from starting (port in use, bad options) are thrown as xraykit::Error.
int serve(std::shared_ptr<const ResNetClassifier> model, const ServeOptions& options);

}  // namespace xraykit::web
