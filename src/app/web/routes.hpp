#pragma once
// The web app's routes, one named handler each, over what they share (App). serve() wires
// them into the HTTP server; the handlers hold no model logic of their own. Internal.
#include <httplib.h>

#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "auth.hpp"
#include "gate.hpp"
#include "model_slot.hpp"
#include "studio.hpp"
#include "server.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/model_card.hpp"

namespace xraykit::web {

struct App {
  ModelSlot model;
  const ServeOptions& options;
  Auth auth;
  Gate gate;
  std::unique_ptr<Auth> admin_auth;  ///< the studio's own password; null without --studio
  std::unique_ptr<Studio> studio;    ///< null without --studio
  std::mutex publishing;             ///< one publish (load, swap, record) at a time
};

/// One password's part of the site: its sessions cookie, its login page and where a login
/// leads. The classify pages and API are one realm, the studio (admin password) the other.
struct Realm {
  Auth* auth;
  const char* cookie;
  const char* login_path;
  const char* home;
};
/// The realm a path belongs to (/studio... and /api/studio... are the studio's).
bool is_studio_path(const std::string& path);
/// The one route whose body may exceed ServeOptions::max_body (up to max_upload): it streams
/// to a file instead of memory.
inline constexpr const char* kUploadPath = "/api/studio/uploads";
Realm realm_of(App& app, const std::string& path);

/// A JSON body; text that is not valid UTF-8 (a client's file name) is replaced, not an error.
void json_reply(httplib::Response& res, const nlohmann::json& body, int status = 200);
/// A JSON error body {"error": message[, "file": file]} with `status`.
void json_error(httplib::Response& res, int status, const std::string& message, const std::string& file = "");

/// Who is asking: the peer's address, or behind ServeOptions::trusted_proxy the last address
/// in its X-Forwarded-For header (the one that proxy added).
std::string client_of(const App& app, const httplib::Request& req);

enum class Access { Granted, Missing, Wrong, Throttled };
/// A live session cookie, or the password as Bearer token or HTTP Basic (checked under the
/// one limiter; `retry_after_seconds` set when Throttled).
Access access(App& app, const Realm& realm, const httplib::Request& req, int* retry_after_seconds);

/// /healthz, /login (page, style sheet, form), /logout, and the studio's /studio/login and
/// /studio/logout: the routes open without a session.
void add_login_routes(httplib::Server& server, App& app);
/// / (the upload page), /app.js, /model (the model card).
void add_page_routes(httplib::Server& server, App& app);
/// A model card as a page of the site, with a link back.
std::string model_card_page(const ModelCard& card, const std::string& back, const std::string& back_label);
/// /api/model, /api/predict.
void add_api_routes(httplib::Server& server, App& app);
/// /studio (page, script), /api/studio/...: datasets, jobs, reports, publishing.
void add_studio_routes(httplib::Server& server, App& app);

}  // namespace xraykit::web
