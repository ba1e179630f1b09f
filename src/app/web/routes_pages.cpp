// The pages behind the login: the upload page, its script, the model card.
#include <fmt/format.h>

#include "assets.hpp"
#include "codec.hpp"
#include "routes.hpp"
#include "util/html.hpp"
#include "xraykit/model_card.hpp"

namespace xraykit::web {

namespace {

void upload_page(const App& app, httplib::Response& res) {
  const auto model = app.model.current();
  const ResNetClassifier& m = *model;
  std::string page = replace_all(assets::index_html, "{{MODEL}}", escape_html(m.arch()));
  page = replace_all(page, "{{THRESHOLD}}", fmt::format("{:.3f}", m.threshold()));
  page = replace_all(page, "{{POSITIVE}}", escape_html(m.classes().size() == 2 ? m.classes()[1] : ""));
  res.set_content(page, "text/html; charset=utf-8");
}

}  // namespace

std::string model_card_page(const ModelCard& card, const std::string& back, const std::string& back_label) {
  return "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>xraykit — model card</title>"
         "<link rel=stylesheet href=\"/login/style.css\"></head><body><header><h1>Model card</h1><nav><a href=\"" +
         escape_html(back) + "\">" + escape_html(back_label) + "</a></nav></header>" + card.to_html() + "</body></html>";
}

void add_page_routes(httplib::Server& server, App& app) {
  server.Get("/", [&app](const httplib::Request&, httplib::Response& res) { upload_page(app, res); });
  server.Get("/app.js", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(assets::app_js, "application/javascript");
  });
  server.Get("/model", [&app](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_card_page(app.model.current()->card(), "/", "Classify"), "text/html; charset=utf-8");
  });
}

}  // namespace xraykit::web
