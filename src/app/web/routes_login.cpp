// The routes open without a session: health check, login and logout.
#include <nlohmann/json.hpp>

#include "assets.hpp"
#include "codec.hpp"
#include "routes.hpp"

namespace xraykit::web {

namespace {

constexpr const char* kSessionCookie = "xrk_session";

void login_page(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(replace_all(assets::login_html, "{{MESSAGE}}", message), "text/html; charset=utf-8");
}

void health(const httplib::Request&, httplib::Response& res) {
  res.set_content(nlohmann::json({{"status", "ok"}}).dump(), "application/json");
}

void login(App& app, const httplib::Request& req, httplib::Response& res) {
  int retry = 0;
  if (!app.auth.may_try(req.remote_addr, &retry)) {
    res.set_header("Retry-After", std::to_string(retry));
    return login_page(res, 429, "Too many failed attempts. Try again later.");
  }
  const auto password = form_field(req.body, "password");
  if (!password) return login_page(res, 400, "The form could not be read.");
  if (!app.auth.password_ok(*password)) {
    app.auth.record_failure(req.remote_addr);
    return login_page(res, 401, "Wrong password.");
  }
  app.auth.record_success(req.remote_addr);
  res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + app.auth.open_session() +
                                   "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                   std::to_string(app.options.session_lifetime.count()));
  res.status = 303;
  res.set_header("Location", "/");
}

void logout(App& app, const httplib::Request& req, httplib::Response& res) {
  app.auth.close_session(cookie_value(req.get_header_value("Cookie"), kSessionCookie));
  res.set_header("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  res.status = 303;
  res.set_header("Location", "/login");
}

}  // namespace

bool authenticated(App& app, const httplib::Request& req) {
  if (app.auth.session_ok(cookie_value(req.get_header_value("Cookie"), kSessionCookie))) return true;
  const std::string h = req.get_header_value("Authorization");
  if (h.rfind("Bearer ", 0) == 0) return app.auth.password_ok(h.substr(7));
  if (h.rfind("Basic ", 0) == 0) {
    const auto credentials = base64_decode(h.substr(6));
    if (!credentials) return false;
    const auto colon = credentials->find(':');
    return colon != std::string::npos && app.auth.password_ok(credentials->substr(colon + 1));
  }
  return false;
}

void add_login_routes(httplib::Server& server, App& app) {
  server.Get("/healthz", health);
  server.Get("/login/style.css", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(assets::style_css, "text/css");
  });
  server.Get("/login", [](const httplib::Request&, httplib::Response& res) { login_page(res, 200, ""); });
  server.Post("/login", [&app](const httplib::Request& req, httplib::Response& res) { login(app, req, res); });
  server.Post("/logout", [&app](const httplib::Request& req, httplib::Response& res) { logout(app, req, res); });
}

}  // namespace xraykit::web
