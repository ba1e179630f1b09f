#include "server.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "assets.hpp"
#include "auth.hpp"
#include "xraykit/error.hpp"

namespace xraykit::web {
namespace {

using nlohmann::json;

std::string base64(const std::vector<std::uint8_t>& data) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const unsigned v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == data.size()) {
    const unsigned v = data[i] << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == data.size()) {
    const unsigned v = (data[i] << 16) | (data[i + 1] << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::string base64_decode(const std::string& s) {
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : s) {
    int d;
    if (c >= 'A' && c <= 'Z') d = c - 'A';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
    else if (c >= '0' && c <= '9') d = c - '0' + 52;
    else if (c == '+') d = 62;
    else if (c == '/') d = 63;
    else break;
    v = (v << 6) | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xFF);
    }
  }
  return out;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out += ' ';
    else if (s[i] == '%' && i + 2 < s.size()) out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)), i += 2;
    else out += s[i];
  }
  return out;
}

std::string form_field(const std::string& body, const std::string& name) {
  std::size_t pos = 0;
  while (pos <= body.size()) {
    const std::size_t amp = body.find('&', pos);
    const std::string pair = body.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    const std::size_t eq = pair.find('=');
    if (eq != std::string::npos && url_decode(pair.substr(0, eq)) == name) return url_decode(pair.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return "";
}

std::string cookie(const httplib::Request& req, const std::string& name) {
  const std::string all = req.get_header_value("Cookie");
  std::size_t pos = 0;
  while (pos < all.size()) {
    const std::size_t end = all.find(';', pos);
    std::string part = all.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    part.erase(0, part.find_first_not_of(' '));
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return "";
}

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

void json_error(httplib::Response& res, int status, const std::string& message, const std::string& file = "") {
  json j = {{"error", message}};
  if (!file.empty()) j["file"] = file;
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

// Admission control for predictions: at most `workers` run, at most `queue` wait.
class Gate {
 public:
  Gate(int workers, int queue) : workers_(workers), limit_(workers + queue) {}
  bool enter() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (admitted_ >= limit_) return false;
    ++admitted_;
    cv_.wait(lock, [&] { return running_ < workers_; });
    ++running_;
    return true;
  }
  void leave() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --running_;
      --admitted_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int workers_, limit_, admitted_ = 0, running_ = 0;
};

std::string model_card_html(const ResNetClassifier& m) {
  const json prov = json::parse(m.provenance());
  std::string rows;
  auto row = [&](const std::string& k, const std::string& v) { rows += "<tr><th>" + k + "</th><td>" + v + "</td></tr>"; };
  row("Architecture", escape_html(m.arch()));
  std::string classes;
  for (const auto& c : m.classes()) classes += (classes.empty() ? "" : ", ") + escape_html(c);
  row("Classes", classes);
  row("Input", fmt::format("{}×{} pixels, {} channel(s)", m.image_size(), m.image_size(), m.channels()));
  if (m.classes().size() == 2) row("Decision threshold", fmt::format("{:.4f} on P({})", m.threshold(), escape_html(m.classes()[1])));
  std::string metrics = "<p>No validation metrics recorded in this model.</p>";
  if (prov.contains("validation")) {
    const json& v = prov["validation"];
    metrics = fmt::format("<p>Measured on the <b>{}</b> split: {} images from {} patients. 95% intervals resample patients.</p><table>",
                          escape_html(v.value("split", "")), v.value("images", 0), v.value("patients", 0));
    for (const char* k : {"auc", "accuracy", "sensitivity", "specificity", "precision"}) {
      if (!v.contains(k) || v[k]["value"].is_null()) continue;
      metrics += fmt::format("<tr><th>{}</th><td>{:.3f} ({:.3f} – {:.3f})</td></tr>", k, v[k]["value"].get<double>(),
                             v[k]["lo"].get<double>(), v[k]["hi"].get<double>());
    }
    metrics += "</table>";
  }
  if (prov.contains("data")) row("Training data", escape_html(prov["data"].value("train", "")));
  return "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>xraykit — model card</title>"
         "<link rel=stylesheet href=\"/login/style.css\"></head><body><header><h1>Model card</h1><nav><a href=\"/\">Classify</a></nav></header>"
         "<table>" + rows + "</table><h2>Validation</h2>" + metrics +
         "<h2>Intended use</h2><p class=notice>Decision support for trained clinical staff reading pediatric chest "
         "radiographs. Not a diagnosis, and not validated for adults, other views or other hospitals' equipment: "
         "figures hold for data like the validation split above.</p></body></html>";
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
  Auth auth(o.password, o.session_lifetime, o.max_failed_logins, o.failure_window);
  Gate gate(o.workers, o.queue);
  const bool binary = model.classes().size() == 2;
  const std::string positive = binary ? model.classes()[1] : "";

  httplib::Server svr;
  svr.new_task_queue = [] { return new httplib::ThreadPool(32); };  // connections must not wait behind inference
  svr.set_payload_max_length(o.max_body);
  svr.set_read_timeout(30, 0);

  auto authenticated = [&](const httplib::Request& req) {
    if (auth.session_ok(cookie(req, "xrk_session"))) return true;
    const std::string h = req.get_header_value("Authorization");
    if (h.rfind("Bearer ", 0) == 0) return auth.password_ok(h.substr(7));
    if (h.rfind("Basic ", 0) == 0) {
      const std::string cred = base64_decode(h.substr(6));
      const auto colon = cred.find(':');
      return colon != std::string::npos && auth.password_ok(cred.substr(colon + 1));
    }
    return false;
  };

  svr.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                   "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Cache-Control", "no-store");
    if (req.path == "/healthz" || req.path == "/login" || req.path == "/login/style.css") return httplib::Server::HandlerResponse::Unhandled;
    if (authenticated(req)) return httplib::Server::HandlerResponse::Unhandled;
    if (req.path.rfind("/api/", 0) == 0 || req.method != "GET") {
      res.set_header("WWW-Authenticate", "Basic realm=\"xraykit\", charset=\"UTF-8\"");
      json_error(res, 401, "authentication required: session cookie, Bearer token or HTTP Basic");
    } else {
      res.status = 303;
      res.set_header("Location", "/login");
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  svr.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(json({{"status", "ok"}}).dump(), "application/json");
  });
  svr.Get("/login/style.css", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(assets::style_css, "text/css");
  });
  svr.Get("/login", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(replace_all(assets::login_html, "{{MESSAGE}}", ""), "text/html; charset=utf-8");
  });
  svr.Post("/login", [&](const httplib::Request& req, httplib::Response& res) {
    int retry = 0;
    if (!auth.may_try(req.remote_addr, &retry)) {
      res.status = 429;
      res.set_header("Retry-After", std::to_string(retry));
      res.set_content(replace_all(assets::login_html, "{{MESSAGE}}", "Too many failed attempts. Try again later."),
                      "text/html; charset=utf-8");
      return;
    }
    if (!auth.password_ok(form_field(req.body, "password"))) {
      auth.record_failure(req.remote_addr);
      res.status = 401;
      res.set_content(replace_all(assets::login_html, "{{MESSAGE}}", "Wrong password."), "text/html; charset=utf-8");
      return;
    }
    auth.record_success(req.remote_addr);
    res.set_header("Set-Cookie", "xrk_session=" + auth.open_session() + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                     std::to_string(o.session_lifetime.count()));
    res.status = 303;
    res.set_header("Location", "/");
  });
  svr.Post("/logout", [&](const httplib::Request& req, httplib::Response& res) {
    auth.close_session(cookie(req, "xrk_session"));
    res.set_header("Set-Cookie", "xrk_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    res.status = 303;
    res.set_header("Location", "/login");
  });
  svr.Get("/", [&](const httplib::Request&, httplib::Response& res) {
    std::string page = replace_all(assets::index_html, "{{MODEL}}", escape_html(model.arch()));
    page = replace_all(page, "{{THRESHOLD}}", fmt::format("{:.3f}", model.threshold()));
    page = replace_all(page, "{{POSITIVE}}", escape_html(positive));
    res.set_content(page, "text/html; charset=utf-8");
  });
  svr.Get("/app.js", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(assets::app_js, "application/javascript");
  });
  svr.Get("/model", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_card_html(model), "text/html; charset=utf-8");
  });
  svr.Get("/api/model", [&](const httplib::Request&, httplib::Response& res) {
    json j = {{"arch", model.arch()}, {"classes", model.classes()}, {"image_size", model.image_size()},
              {"channels", model.channels()}, {"threshold", model.threshold()},
              {"provenance", json::parse(model.provenance())},
              {"intended_use", "decision support for trained staff; not a diagnosis"}};
    res.set_content(j.dump(), "application/json");
  });
  svr.Post("/api/predict", [&](const httplib::Request& req, httplib::Response& res) {
    struct Upload {
      std::string name;
      const std::string* bytes;
    };
    std::vector<Upload> uploads;
    if (req.is_multipart_form_data()) {
      for (const auto& [field, file] : req.files) uploads.push_back({file.filename.empty() ? field : file.filename, &file.content});
    } else if (!req.body.empty()) {
      uploads.push_back({req.has_param("name") ? req.get_param_value("name") : "upload", &req.body});
    }
    if (uploads.empty()) return json_error(res, 400, "no image in the request (multipart files or a raw image body)");
    if (static_cast<int>(uploads.size()) > o.max_files)
      return json_error(res, 400, fmt::format("{} files in one request; the limit is {}", uploads.size(), o.max_files));
    std::vector<Image> images;
    DecodeOptions decode = model.decode_options();
    decode.max_pixels = o.max_pixels;
    for (const auto& u : uploads) {
      try {
        images.push_back(decode_image(reinterpret_cast<const std::uint8_t*>(u.bytes->data()), u.bytes->size(), decode));
      } catch (const ImageError& e) {
        return json_error(res, 400, fmt::format("{}: {}", u.name, e.what()), u.name);
      }
    }
    if (!gate.enter()) {
      res.set_header("Retry-After", "1");
      return json_error(res, 503, "busy: too many predictions waiting; retry shortly");
    }
    const bool heatmap = req.has_param("heatmap") && req.get_param_value("heatmap") != "0";
    json results = json::array();
    try {
      const auto preds = model.predict(images);  // one batched forward pass
      for (std::size_t i = 0; i < preds.size(); ++i) {
        json probs;
        for (std::size_t c = 0; c < model.classes().size(); ++c) probs[model.classes()[c]] = preds[i].probabilities[c];
        json r = {{"file", uploads[i].name}, {"label", preds[i].class_name}, {"probabilities", probs}};
        if (binary) r["positive_probability"] = preds[i].probabilities[1];
        if (heatmap) r["heatmap_png"] = "data:image/png;base64," + base64(model.explain(images[i], preds[i].label).overlay_png);
        results.push_back(r);
      }
    } catch (...) {
      gate.leave();
      throw;
    }
    gate.leave();
    res.set_content(json({{"model", model.arch()}, {"threshold", model.threshold()}, {"positive_class", positive},
                          {"results", results}})
                        .dump(),
                    "application/json");
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      json_error(res, 500, std::string("internal error: ") + e.what());
    } catch (...) {
      json_error(res, 500, "internal error");
    }
  });

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
