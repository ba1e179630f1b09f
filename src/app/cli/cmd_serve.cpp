// `xraykit serve model.xrk`: the password-protected web app and JSON API.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "app/web/server.hpp"
#include "commands.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/error.hpp"

namespace xraykit::cli {

namespace {

// A secret from the first line of `file`, else from the environment variable `env`, which
// is then scrubbed where it lies (what /proc/PID/environ shows) and removed, so that nothing
// started later inherits it. Never from the command line: that shows in the process list.
std::string read_secret(const std::string& file, const char* env, const char* what, const char* option) {
  std::string secret;
  if (!file.empty()) {
    std::ifstream f(file);
    if (!f) throw IoError(fmt::format("{}: cannot read the {} file", file, what));
    std::getline(f, secret);
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.empty()) throw InvalidArgument(fmt::format("{}: the {} file's first line is empty", file, what));
  } else if (char* value = std::getenv(env); value && *value) {
    secret = value;
    std::memset(value, 0, std::strlen(value));
    ::unsetenv(env);
  } else {
    throw InvalidArgument(fmt::format("no {}: use {} FILE or set {}", what, option, env));
  }
  return secret;
}

// One token per line; blank lines and lines starting with # are left out.
std::vector<std::string> read_tokens(const std::string& file) {
  std::ifstream f(file);
  if (!f) throw IoError(fmt::format("{}: cannot read the API tokens file", file));
  std::vector<std::string> tokens;
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#') tokens.push_back(line);
  }
  if (tokens.empty()) throw InvalidArgument(fmt::format("{}: the API tokens file holds no token", file));
  return tokens;
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  struct Args {
    std::string model, host = "127.0.0.1", password_file, api_tokens_file, trusted_proxy, shipped, studio, admin_password_file, data_root;
    int port = 8080, workers = 2, queue = 16, max_files = 16;
    double max_body_mb = 32, max_upload_mb = 2048, header_timeout = 10;
    std::int64_t max_pixels = 40'000'000, max_request_pixels = 64'000'000;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("serve", "Serve a model as a password-protected web page and JSON API");
  cmd->footer(
      "Examples:\n"
      "  XRAYKIT_PASSWORD=... xraykit serve                  # the shipped pneumonia model\n"
      "  XRAYKIT_PASSWORD=... xraykit serve pneumonia.xrk\n"
      "  xraykit serve pneumonia.xrk --password-file /etc/xraykit/password --host 0.0.0.0 --port 8443\n"
      "  XRAYKIT_PASSWORD=... XRAYKIT_ADMIN_PASSWORD=... xraykit serve --studio /var/lib/xraykit --data-root /srv/xrays\n"
      "Passwords are never taken on the command line (they would show in the process list).\n"
      "API: curl -H \"Authorization: Bearer $XRAYKIT_PASSWORD\" -F files=@scan.jpeg http://127.0.0.1:8080/api/predict\n"
      "     (or a token from --api-tokens-file instead of the password)");
  cmd->add_option("MODEL", a->model, "Model file (default: the pneumonia model shipped with xraykit)");
  cmd->add_option("--shipped", a->shipped,
                  "Which shipped model to serve when no model file is given: pneumonia (default) or "
                  "pneumonia-kinds");
  cmd->add_option("--host", a->host, "Address to bind (loopback unless you mean otherwise)")->capture_default_str();
  cmd->add_option("--port", a->port, "Port (0 = any free port)")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--password-file", a->password_file, "File whose first line is the password (else $XRAYKIT_PASSWORD)");
  cmd->add_option("--api-tokens-file", a->api_tokens_file,
                  "File of API tokens for programs (one per line, at least 32 characters; # starts a comment), "
                  "accepted as Authorization: Bearer only");
  cmd->add_option("--workers", a->workers, "Predictions at once")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--queue", a->queue, "Predictions waiting before 503")->check(CLI::Range(0, 256))->capture_default_str();
  cmd->add_option("--max-files", a->max_files, "Images per request")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--max-body-mb", a->max_body_mb, "Request body limit in MiB")->check(CLI::Range(0.01, 4096.0))->capture_default_str();
  cmd->add_option("--max-pixels", a->max_pixels, "Pixels per image")->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000'000}))
      ->capture_default_str();
  cmd->add_option("--max-request-pixels", a->max_request_pixels, "Pixels of all images in one request together")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{4'000'000'000}))->capture_default_str();
  cmd->add_option("--header-timeout", a->header_timeout,
                  "Seconds a client has to send a request's header (its body then at 16 KiB/s or faster)")
      ->check(CLI::Range(0.1, 600.0))->capture_default_str();
  cmd->add_option("--trusted-proxy", a->trusted_proxy,
                  "Address of a reverse proxy in front; its X-Forwarded-For then names the client for the login limit");
  cmd->add_option("--studio", a->studio,
                  "Turn on the studio (train, evaluate and publish from the browser at /studio), keeping its jobs "
                  "and models in this folder");
  cmd->add_option("--admin-password-file", a->admin_password_file,
                  "File whose first line is the studio's admin password (else $XRAYKIT_ADMIN_PASSWORD); it must "
                  "differ from the classify password");
  cmd->add_option("--data-root", a->data_root, "Folder whose subfolders the studio offers as datasets");
  cmd->add_option("--max-upload-mb", a->max_upload_mb, "Size limit of a dataset zip uploaded to the studio, in MiB")
      ->check(CLI::Range(1.0, 65536.0))->capture_default_str();
  return [a] {
    web::block_shutdown_signals();  // before the model load starts Torch's threads
    web::ServeOptions o;
    o.password = read_secret(a->password_file, "XRAYKIT_PASSWORD", "password", "--password-file");
    if (!a->api_tokens_file.empty()) o.api_tokens = read_tokens(a->api_tokens_file);
    if (!a->studio.empty()) {
      o.studio_dir = a->studio;
      o.data_root = a->data_root;
      o.max_upload = static_cast<std::uint64_t>(a->max_upload_mb * 1024 * 1024);
      o.admin_password = read_secret(a->admin_password_file, "XRAYKIT_ADMIN_PASSWORD", "studio admin password",
                                     "--admin-password-file");
    } else if (!a->data_root.empty() || !a->admin_password_file.empty()) {
      throw InvalidArgument("--data-root and --admin-password-file belong to the studio: add --studio DIR");
    }
    if (!a->model.empty() && !a->shipped.empty()) throw InvalidArgument("give a model file or --shipped, not both");
    if (a->model.empty()) a->model = shipped_model_path(a->shipped.empty() ? "pneumonia" : a->shipped);
    auto model = std::make_shared<const ResNetClassifier>(ResNetClassifier::load(a->model));
    o.host = a->host;
    o.port = a->port;
    o.workers = a->workers;
    o.queue = a->queue;
    o.max_files = a->max_files;
    o.max_body = static_cast<std::size_t>(a->max_body_mb * 1024 * 1024);
    o.max_pixels = a->max_pixels;
    o.max_request_pixels = std::max(a->max_request_pixels, a->max_pixels);
    o.trusted_proxy = a->trusted_proxy;
    o.header_timeout = std::chrono::milliseconds(static_cast<long>(a->header_timeout * 1000));
    o.on_listening = [&](int port) {
      fmt::print("xraykit serve: {} on http://{}:{}/ (Ctrl-C to stop)\n", a->model, a->host, port);
      std::fflush(stdout);
    };
    return web::serve(std::move(model), o);
  };
}

}  // namespace xraykit::cli
