// The routes open without a session: health check, login and logout.
#include <optional>

#include <nlohmann/json.hpp>

#include "assets.hpp"
#include "codec.hpp"
#include "routes.hpp"

namespace xraykit::web {

namespace {

void login_page(const Realm& realm, httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  std::string page = replace_all(assets::login_html, "{{MESSAGE}}", message);
  page = replace_all(page, "{{ACTION}}", realm.login_path);
  page = replace_all(page, "{{WHAT}}", realm.home == std::string("/") ? "Password" : "Studio (admin) password");
  res.set_content(page, "text/html; charset=utf-8");
}

void health(const httplib::Request&, httplib::Response& res) {
  json_reply(res, {{"status", "ok"}});
}

void login(App& app, const Realm& realm, const httplib::Request& req, httplib::Response& res) {
  const auto password = form_field(req.body, "password");
  if (!password) return login_page(realm, res, 400, "The form could not be read.");
  int retry = 0;
  switch (realm.auth->check_password(*password, client_of(app, req), &retry)) {
    case Auth::Check::Throttled:
      res.set_header("Retry-After", std::to_string(retry));
      return login_page(realm, res, 429, "Too many failed attempts. Try again later.");
    case Auth::Check::Wrong:
      return login_page(realm, res, 401, "Wrong password.");
    case Auth::Check::Ok:
      break;
  }
  res.set_header("Set-Cookie", std::string(realm.cookie) + "=" + realm.auth->open_session() +
                                   "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                   std::to_string(app.options.session_lifetime.count()));
  res.status = 303;
  res.set_header("Location", realm.home);
}

void logout(const Realm& realm, const httplib::Request& req, httplib::Response& res) {
  realm.auth->close_session(cookie_value(req.get_header_value("Cookie"), realm.cookie));
  res.set_header("Set-Cookie", std::string(realm.cookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  res.status = 303;
  res.set_header("Location", realm.login_path);
}

// The login and logout routes of one realm.
void add_realm_routes(httplib::Server& server, App& app, const std::string& home) {
  const std::string prefix = home == "/" ? "" : home;
  server.Get(prefix + "/login", [&app, home](const httplib::Request&, httplib::Response& res) {
    login_page(realm_of(app, home), res, 200, "");
  });
  server.Post(prefix + "/login", [&app, home](const httplib::Request& req, httplib::Response& res) {
    login(app, realm_of(app, home), req, res);
  });
  server.Post(prefix + "/logout", [&app, home](const httplib::Request& req, httplib::Response& res) {
    logout(realm_of(app, home), req, res);
  });
}

}  // namespace

std::string client_of(const App& app, const httplib::Request& req) {
  const std::string& proxy = app.options.trusted_proxy;
  if (proxy.empty() || req.remote_addr != proxy || !req.has_header("X-Forwarded-For")) return req.remote_addr;
  std::string forwarded = req.get_header_value("X-Forwarded-For");
  forwarded = forwarded.substr(forwarded.rfind(',') == std::string::npos ? 0 : forwarded.rfind(',') + 1);
  forwarded.erase(0, forwarded.find_first_not_of(' '));
  forwarded.erase(forwarded.find_last_not_of(' ') + 1);
  return forwarded.empty() ? req.remote_addr : "forwarded:" + forwarded;
}

bool is_studio_path(const std::string& path) {
  return path == "/studio" || path.rfind("/studio/", 0) == 0 || path.rfind("/studio.", 0) == 0 ||
         path.rfind("/api/studio/", 0) == 0;
}

Realm realm_of(App& app, const std::string& path) {
  if (is_studio_path(path) && app.admin_auth) return {app.admin_auth.get(), "xrk_admin", "/studio/login", "/studio"};
  return {&app.auth, "xrk_session", "/login", "/"};
}

Access access(App& app, const Realm& realm, const httplib::Request& req, int* retry_after_seconds) {
  if (realm.auth->session_ok(cookie_value(req.get_header_value("Cookie"), realm.cookie))) return Access::Granted;
  const std::string h = req.get_header_value("Authorization");
  std::optional<std::string> password;
  const bool bearer = h.rfind("Bearer ", 0) == 0;
  if (bearer) {
    password = h.substr(7);
  } else if (h.rfind("Basic ", 0) == 0) {
    const auto credentials = base64_decode(h.substr(6));
    const auto colon = credentials ? credentials->find(':') : std::string::npos;
    password = colon == std::string::npos ? std::string() : credentials->substr(colon + 1);
  } else {
    return Access::Missing;
  }
  switch (realm.auth->check_password(*password, client_of(app, req), retry_after_seconds, bearer)) {
    case Auth::Check::Ok: return Access::Granted;
    case Auth::Check::Throttled: return Access::Throttled;
    case Auth::Check::Wrong: break;
  }
  return Access::Wrong;
}

void add_login_routes(httplib::Server& server, App& app) {
  server.Get("/healthz", health);
  server.Get("/login/style.css", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(assets::style_css, "text/css");
  });
  add_realm_routes(server, app, "/");
  if (app.studio) add_realm_routes(server, app, "/studio");
}

}  // namespace xraykit::web
