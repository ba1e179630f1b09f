// The JSON API: what the model is, and predictions for uploaded images.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "codec.hpp"
#include "routes.hpp"
#include "xraykit/error.hpp"

namespace xraykit::web {

using nlohmann::json;

namespace {

struct Upload {
  std::string name;
  const std::string* bytes;
};

// Multipart parts with a file name are images; parts without one are form fields (a
// client's `heatmap=1`), never decoded. A non-multipart body is one raw image.
std::vector<Upload> uploads_of(const httplib::Request& req) {
  std::vector<Upload> uploads;
  if (req.is_multipart_form_data()) {
    for (const auto& [field, part] : req.files)
      if (!part.filename.empty()) uploads.push_back({part.filename, &part.content});
  } else if (!req.body.empty()) {
    uploads.push_back({req.has_param("name") ? req.get_param_value("name") : "upload", &req.body});
  }
  return uploads;
}

bool wants_heatmaps(const httplib::Request& req) {
  if (req.has_param("heatmap")) return req.get_param_value("heatmap") != "0";
  const auto field = req.files.find("heatmap");
  return field != req.files.end() && field->second.filename.empty() && field->second.content != "0";
}

void model_info(const App& app, httplib::Response& res) {
  const auto model = app.model.current();
  const ResNetClassifier& m = *model;
  const bool binary = m.classes().size() == 2;
  const json j = {{"arch", m.arch()},
                  {"classes", m.classes()},
                  {"positive_class", binary ? m.classes()[1] : ""},
                  {"image_size", m.image_size()},
                  {"channels", m.channels()},
                  {"threshold", m.threshold()},
                  {"provenance", json::parse(m.provenance())},
                  {"intended_use", "decision support for trained staff; not a diagnosis"},
                  // What one request may carry: clients split larger batches to fit.
                  {"limits", {{"max_files", app.options.max_files},
                              {"max_body_bytes", app.options.max_body},
                              {"max_pixels", app.options.max_pixels},
                              {"max_request_pixels", app.options.max_request_pixels}}}};
  json_reply(res, j);
}

// One result as the page and API clients see it; `csv_row` is the row `xraykit predict --csv`
// would write, so that a page gathering many requests writes the same CSV.
json result_json(const ResNetClassifier& m, const std::string& file, const Prediction& p) {
  json probs;
  for (std::size_t c = 0; c < m.classes().size(); ++c) probs[m.classes()[c]] = p.probabilities[c];
  FilePrediction row{file, true, p, "", nullptr};
  json r = {{"file", file},
            {"label", p.class_name},
            {"decision", shown_label(p)},
            {"probabilities", probs},
            {"ood_score", p.ood_score},  // NaN (no check in the model) is written as null
            {"out_of_distribution", p.out_of_distribution()},
            {"csv_row", prediction_csv_row(row, m.classes().size())}};
  if (m.classes().size() == 2) r["positive_probability"] = p.probabilities[1];
  return r;
}

void predict(App& app, const httplib::Request& req, httplib::Response& res) {
  const auto model = app.model.current();  // the one model for the whole request, even if one is published meanwhile
  const ResNetClassifier& m = *model;
  const std::vector<Upload> uploads = uploads_of(req);
  if (uploads.empty()) return json_error(res, 400, "no image in the request (multipart files or a raw image body)");
  if (static_cast<int>(uploads.size()) > app.options.max_files)
    return json_error(res, 400, fmt::format("{} files in one request; the limit is {}", uploads.size(), app.options.max_files));
  // Admission before decoding: decoded pixels are what costs memory.
  const auto ticket = app.gate.enter();
  if (!ticket) {
    res.set_header("Retry-After", "1");
    return json_error(res, 503, "busy: too many predictions waiting; retry shortly");
  }
  DecodeOptions decode = m.decode_options();
  decode.max_pixels = app.options.max_pixels;
  // Decoded pixels are what a request holds in memory: at most max_request_pixels, plus the
  // one image (itself within max_pixels) that crosses the limit.
  std::int64_t held = 0;
  std::vector<Image> images;
  for (std::size_t i = 0; i < uploads.size(); ++i) {
    const Upload& u = uploads[i];
    try {
      images.push_back(decode_image(reinterpret_cast<const std::uint8_t*>(u.bytes->data()), u.bytes->size(), decode));
    } catch (const ImageError& e) {
      // The position too: names repeat (two folders' 0001.jpeg) and may not survive as UTF-8.
      return json_reply(res, {{"error", fmt::format("{}: {}", u.name, e.reason())}, {"file", u.name}, {"index", i}}, 400);
    }
    held += static_cast<std::int64_t>(images.back().width) * images.back().height;
    // 413, naming no file: no one image is at fault, the request is too big (send fewer).
    if (held > app.options.max_request_pixels)
      return json_error(res, 413, fmt::format("the request's images together exceed {} pixels; send fewer at once",
                                              app.options.max_request_pixels));
  }
  const bool binary = m.classes().size() == 2;
  const bool heatmaps = wants_heatmaps(req);
  const auto preds = m.predict(images);
  json results = json::array();
  for (std::size_t i = 0; i < preds.size(); ++i) {
    json r = result_json(m, uploads[i].name, preds[i]);
    if (heatmaps) r["heatmap_png"] = "data:image/png;base64," + base64_encode(m.explain(images[i], preds[i].label).overlay_png);
    results.push_back(r);
  }
  json_reply(res, {{"model", m.arch()},
                   {"threshold", m.threshold()},
                   {"positive_class", binary ? m.classes()[1] : ""},
                   {"csv_header", predictions_csv_header(m.classes())},
                   {"results", results}});
}

}  // namespace

void json_reply(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void json_error(httplib::Response& res, int status, const std::string& message, const std::string& file) {
  json j = {{"error", message}};
  if (!file.empty()) j["file"] = file;
  json_reply(res, j, status);
}

void add_api_routes(httplib::Server& server, App& app) {
  server.Get("/api/model", [&app](const httplib::Request&, httplib::Response& res) { model_info(app, res); });
  server.Post("/api/predict", [&app](const httplib::Request& req, httplib::Response& res) { predict(app, req, res); });
}

}  // namespace xraykit::web
