#pragma once
// The web app's routes, one named handler each, over what they share (App). serve() wires
// them into the HTTP server; the handlers hold no model logic of their own. Internal.
#include <httplib.h>

#include <string>

#include "auth.hpp"
#include "gate.hpp"
#include "server.hpp"
#include "xraykit/classifier.hpp"

namespace xraykit::web {

struct App {
  const ResNetClassifier& model;
  const ServeOptions& options;
  Auth auth;
  Gate gate;
};

/// A JSON error body {"error": message[, "file": file]} with `status`.
void json_error(httplib::Response& res, int status, const std::string& message, const std::string& file = "");

/// Whether a request carries a live session cookie or the password (Bearer or HTTP Basic).
bool authenticated(App& app, const httplib::Request& req);

/// /healthz, /login (page, style sheet, form), /logout: the routes open without a session.
void add_login_routes(httplib::Server& server, App& app);
/// / (the upload page), /app.js, /model (the model card).
void add_page_routes(httplib::Server& server, App& app);
/// /api/model, /api/predict.
void add_api_routes(httplib::Server& server, App& app);

}  // namespace xraykit::web
