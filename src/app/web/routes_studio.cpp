// The studio's routes: its page, and a JSON API over Studio (datasets, jobs, reports,
// publishing). Every route here is behind the admin password (see admit() in server.cpp).
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "assets.hpp"
#include "routes.hpp"
#include "util/file_util.hpp"
#include "xraykit/error.hpp"

namespace xraykit::web {

using nlohmann::json;

namespace {

// Errors from the library about what was asked (bad choices, unreadable data, a model that
// does not load) are the admin's to fix: 400 with the reason. Anything else is the exception
// handler's 500.
template <typename Handler>
auto guarded(Handler handler) {
  return [handler](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res);
    } catch (const Error& e) {
      json_error(res, 400, e.reason());
    }
  };
}

int int_param(const httplib::Request& req, const char* name, int fallback) {
  if (!req.has_param(name)) return fallback;
  try {
    return std::stoi(req.get_param_value(name));
  } catch (const std::exception&) {
    throw InvalidArgument(fmt::format("{} must be a whole number", name));
  }
}

// The choices the page offers, with the library's defaults.
json choices() {
  const JobRequest defaults;
  return {{"archs", {"resnet18", "resnet34", "resnet50"}},
          {"sizes", {64, 128, 224}},
          {"augment_presets", {"none", "light", "medium", "robust", "strong"}},
          {"defaults", {{"arch", defaults.arch}, {"image_size", defaults.image_size}, {"epochs", defaults.epochs},
                        {"augment", TrainOptions{}.augment}, {"seed", defaults.seed},
                        {"val_fraction", defaults.val_fraction}}}};
}

JobRequest job_request(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object()) throw InvalidArgument("the request body must be a JSON object");
  JobRequest r;
  try {
    r.data = j.at("data").get<std::string>();
    r.arch = j.value("arch", r.arch);
    r.image_size = j.value("image_size", r.image_size);
    r.epochs = j.value("epochs", r.epochs);
    r.augment = j.value("augment", r.augment);
    r.seed = j.value("seed", r.seed);
    r.val_fraction = j.value("val_fraction", r.val_fraction);
    r.auto_select = j.value("auto_select", r.auto_select);
    r.budget_minutes = j.value("budget_minutes", r.budget_minutes);
  } catch (const json::exception&) {
    throw InvalidArgument("a job needs \"data\" (a dataset name) and options of the right types");
  }
  return r;
}

void publish(App& app, const std::string& id, httplib::Response& res) {
  const std::string path = app.studio->model_path(id);
  if (path.empty()) return json_error(res, 404, "no finished job with that id");
  // Loaded before the swap: a model that fails to load leaves the served one in place.
  std::lock_guard<std::mutex> lock(app.publishing);
  app.model.publish(std::make_shared<const ResNetClassifier>(ResNetClassifier::load(path)));
  app.studio->set_published(id);
  json_reply(res, {{"published", id}});
}

double threshold_param(const std::string& text) {
  try {
    std::size_t used = 0;
    const double t = std::stod(text, &used);
    if (used == text.size()) return t;
  } catch (const std::exception&) {
  }
  throw InvalidArgument("the threshold must be a number between 0 and 1");
}

// Saves a threshold into the job's model; a published model is swapped for the saved one.
void save_threshold(App& app, const std::string& id, const std::string& body, httplib::Response& res) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("threshold") || !j["threshold"].is_number())
    throw InvalidArgument("send {\"threshold\": a number between 0 and 1}");
  std::lock_guard<std::mutex> lock(app.publishing);
  app.studio->set_threshold(id, j["threshold"].get<double>());
  if (app.studio->published() == id)
    app.model.publish(std::make_shared<const ResNetClassifier>(ResNetClassifier::load(app.studio->model_path(id))));
  json_reply(res, *app.studio->job(id));
}

// Streams the body to a file in the workspace (a dataset may be gigabytes; it is never held in
// memory), then unpacks it as a dataset.
void upload(App& app, const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
  if (req.is_multipart_form_data()) throw InvalidArgument("send the zip file itself as the body, not a form");
  app.studio->check_upload_name(req.get_param_value("name"));  // before gigabytes arrive
  const std::string path = app.studio->incoming_path();
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove_after{path};
  std::ofstream out(path, std::ios::binary);
  std::uint64_t received = 0;
  const bool whole = read([&](const char* data, std::size_t n) {
    received += n;
    if (received > app.options.max_upload) return false;
    out.write(data, static_cast<std::streamsize>(n));
    return static_cast<bool>(out);
  });
  out.close();
  if (received > app.options.max_upload)
    return json_error(res, 413, fmt::format("the upload is over the limit of {} bytes", app.options.max_upload));
  if (!whole || !out) throw IoError("the upload could not be received whole (connection lost or disk full)");
  json_reply(res, app.studio->add_upload(req.get_param_value("name"), path), 201);
}

// A finished job's model card, as the classify site's /model page shows the served one.
void card(App& app, const std::string& id, httplib::Response& res) {
  const std::string path = app.studio->model_path(id);
  if (path.empty()) return json_error(res, 404, "no finished job with that id");
  res.set_content(model_card_page(ResNetClassifier::load(path).card(), "/studio", "Studio"), "text/html; charset=utf-8");
}

void report(App& app, const std::string& id, httplib::Response& res) {
  const std::string path = app.studio->report_path(id);
  if (path.empty()) return json_error(res, 404, "no finished job with that id");
  const auto bytes = read_file(path);
  // The report styles itself inline; it runs no script. (Replaces the site-wide policy.)
  res.headers.erase("Content-Security-Policy");
  res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
  res.set_content(std::string(bytes.begin(), bytes.end()), "text/html; charset=utf-8");
}

}  // namespace

void add_studio_routes(httplib::Server& server, App& app) {
  Studio& studio = *app.studio;
  server.Get("/studio", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(assets::studio_html, "text/html; charset=utf-8");
  });
  server.Get("/studio.js", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(assets::studio_js, "application/javascript");
  });
  server.Get("/api/studio/data", guarded([&app](const httplib::Request&, httplib::Response& res) {
    json j = choices();
    j["datasets"] = app.studio->datasets();
    j["max_upload_bytes"] = app.options.max_upload;
    json_reply(res, j);
  }));
  server.Get("/api/studio/data/summary", guarded([&studio](const httplib::Request& req, httplib::Response& res) {
    json_reply(res, studio.dataset_summary(req.get_param_value("name"), JobRequest{}.val_fraction,
                                           static_cast<std::uint64_t>(int_param(req, "seed", 42))));
  }));
  server.Get("/api/studio/data/augment.png", guarded([&studio](const httplib::Request& req, httplib::Response& res) {
    const auto png = studio.augment_sheet(req.get_param_value("name"), req.get_param_value("augment"),
                                          int_param(req, "size", 128), static_cast<std::uint64_t>(int_param(req, "seed", 42)));
    res.set_content(std::string(png.begin(), png.end()), "image/png");
  }));
  server.Post(kUploadPath, [&app](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    guarded([&](const httplib::Request& r, httplib::Response& s) { upload(app, r, s, read); })(req, res);
  });
  server.Get("/api/studio/jobs", [&studio](const httplib::Request&, httplib::Response& res) {
    json_reply(res, {{"jobs", studio.jobs()}, {"published", studio.published()}});
  });
  server.Post("/api/studio/jobs", guarded([&studio](const httplib::Request& req, httplib::Response& res) {
    json_reply(res, {{"id", studio.submit(job_request(req.body))}}, 202);
  }));
  server.Get(R"(/api/studio/jobs/([0-9-]+))", [&studio](const httplib::Request& req, httplib::Response& res) {
    const auto job = studio.job(req.matches[1]);
    job ? json_reply(res, *job) : json_error(res, 404, "no job with that id");
  });
  server.Post(R"(/api/studio/jobs/([0-9-]+)/cancel)", [&studio](const httplib::Request& req, httplib::Response& res) {
    studio.cancel(req.matches[1]) ? json_reply(res, {{"cancelled", req.matches[1].str()}})
                                  : json_error(res, 409, "the job is neither queued nor running");
  });
  server.Post(R"(/api/studio/jobs/([0-9-]+)/publish)", guarded([&app](const httplib::Request& req, httplib::Response& res) {
    publish(app, req.matches[1], res);
  }));
  server.Get(R"(/api/studio/jobs/([0-9-]+)/threshold)", guarded([&studio](const httplib::Request& req, httplib::Response& res) {
    json_reply(res, studio.figures_at(req.matches[1], threshold_param(req.get_param_value("t"))));
  }));
  server.Post(R"(/api/studio/jobs/([0-9-]+)/threshold)", guarded([&app](const httplib::Request& req, httplib::Response& res) {
    save_threshold(app, req.matches[1], req.body, res);
  }));
  server.Get(R"(/studio/jobs/([0-9-]+)/wrong/(\d{1,3})\.png)", [&studio](const httplib::Request& req, httplib::Response& res) {
    const std::string path = studio.wrong_image_path(req.matches[1], std::stoi(req.matches[2]));
    if (path.empty()) return json_error(res, 404, "no such image");
    const auto png = read_file(path);
    res.set_content(std::string(png.begin(), png.end()), "image/png");
  });
  server.Get(R"(/studio/jobs/([0-9-]+)/card)", guarded([&app](const httplib::Request& req, httplib::Response& res) {
    card(app, req.matches[1], res);
  }));
  server.Get(R"(/studio/jobs/([0-9-]+)/report)", guarded([&app](const httplib::Request& req, httplib::Response& res) {
    report(app, req.matches[1], res);
  }));
}

}  // namespace xraykit::web
