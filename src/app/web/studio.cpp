// The studio's jobs and datasets: the library's training flow run in the background, with its
// state kept as files in the workspace (see studio.hpp).
#include "studio.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "util/file_util.hpp"
#include "xraykit/autoselect.hpp"
#include "xraykit/image.hpp"
#include "xraykit/model_card.hpp"
#include "auth.hpp"
#include "zip_archive.hpp"
#include "xraykit/augment.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace xraykit::web {

struct Studio::Job {
  std::string id;
  JobRequest request;
  std::string state = "queued";  // queued, running, done, failed, cancelled
  std::string error;
  json progress = json::object();  // the latest Progress of a running job
  json history = json::array();    // one EpochRecord per finished epoch
  json result = json::object();    // validation figures of a finished job
  json auto_choice;                // what auto-select chose (null: not yet, or not asked for)
  bool cancel = false;
};

namespace {

json request_json(const JobRequest& r) {
  return {{"data", r.data}, {"arch", r.arch}, {"image_size", r.image_size}, {"epochs", r.epochs},
          {"augment", r.augment}, {"seed", r.seed}, {"val_fraction", r.val_fraction},
          {"auto_select", r.auto_select}, {"budget_minutes", r.budget_minutes}};
}

JobRequest request_from(const json& j) {
  JobRequest r;
  r.data = j.at("data").get<std::string>();
  r.arch = j.at("arch").get<std::string>();
  r.image_size = j.at("image_size").get<int>();
  r.epochs = j.at("epochs").get<int>();
  r.augment = j.at("augment").get<std::string>();
  r.seed = j.at("seed").get<std::uint64_t>();
  r.val_fraction = j.at("val_fraction").get<double>();
  r.auto_select = j.value("auto_select", false);
  r.budget_minutes = j.value("budget_minutes", r.budget_minutes);
  return r;
}

json progress_json(const Progress& p) {
  return {{"epoch", p.epoch}, {"epochs", p.epochs}, {"step", p.step}, {"steps", p.steps}, {"loss", p.loss},
          {"learning_rate", p.learning_rate}, {"images_per_second", p.images_per_second},
          {"eta_seconds", p.eta_seconds}};
}

constexpr const char* kValidationSplit = "validation (patient-disjoint)";
constexpr std::size_t kMaxWrongShown = 24;

// The figures the page shows; the report has the rest.
json figures_json(const Evaluation& e) {
  json j = {{"threshold", e.threshold}, {"classes", e.classes}, {"confusion", e.confusion}, {"split", e.split},
            {"images", e.images}, {"patients", e.patients}, {"text", e.to_text()}};
  for (const char* name : {"accuracy", "auc", "sensitivity", "specificity", "precision"}) {
    try {
      const Estimate est = e.figure(name);
      j[name] = {{"value", est.value}, {"low", est.lo}, {"high", est.hi}};
    } catch (const InvalidArgument&) {
      // multi-class evaluations have no single sensitivity/specificity
    }
  }
  return j;
}

// The sizes the studio trains and previews at.
void check_image_size(int size) {
  if (size < 32 || size > 512) throw InvalidArgument(fmt::format("image size must be in [32, 512], not {}", size));
}

std::string new_id() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static std::atomic<unsigned> counter{0};
  return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}-{}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, counter++);
}

}  // namespace

Studio::Studio(std::string workspace, std::string data_root)
    : workspace_(std::move(workspace)), data_root_(std::move(data_root)) {
  std::error_code ec;
  fs::create_directories(fs::path(workspace_) / "jobs", ec);
  if (ec) throw IoError(fmt::format("{}: cannot create the studio workspace ({})", workspace_, ec.message()));
  // One server per workspace: a second would train the same jobs into the same files.
  lock_fd_ = ::open((fs::path(workspace_) / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    throw IoError(fmt::format("{}: another xraykit serve is using this studio folder", workspace_));
  }
  std::vector<std::string> ids;
  for (const auto& entry : fs::directory_iterator(fs::path(workspace_) / "jobs", ec)) ids.push_back(entry.path().filename());
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) {
    try {
      const auto bytes = read_file(job_dir(id) + "/job.json");
      const json j = json::parse(bytes.begin(), bytes.end());
      auto job = std::make_unique<Job>();
      job->id = id;
      job->request = request_from(j.at("request"));
      job->state = j.at("state").get<std::string>();
      job->error = j.value("error", "");
      job->history = j.value("history", json::array());
      job->result = j.value("result", json::object());
      job->auto_choice = j.value("auto_choice", json());
      if (!job->history.is_array() || !job->result.is_object() || !(job->auto_choice.is_null() || job->auto_choice.is_object()))
        throw InvalidArgument("job.json has fields of the wrong type");
      for (const json& record : job->history)
        if (!record.is_object() || !record.value("epoch", json()).is_number_integer())
          throw InvalidArgument("job.json has a malformed epoch record");
      // A job that was running when the server stopped runs again, from its checkpoint.
      if (job->state == "running") job->state = "queued";
      if (job->state == "queued") queue_.push_back(id);
      jobs_[id] = std::move(job);
    } catch (const std::exception& e) {
      fmt::print(stderr, "xraykit serve: studio job {} skipped: {}\n", id, e.what());
    }
  }
  try {
    const auto bytes = read_file((fs::path(workspace_) / "published").string());
    published_.assign(bytes.begin(), bytes.end());
    if (!jobs_.count(published_)) published_.clear();
  } catch (const IoError&) {
    // nothing published yet
  }
  worker_ = std::thread([this] { work(); });
}

Studio::~Studio() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
  ::close(lock_fd_);  // releases the lock
}

std::string Studio::job_dir(const std::string& id) const { return (fs::path(workspace_) / "jobs" / id).string(); }

void Studio::save(const Job& job) const {
  const json j = {{"request", request_json(job.request)}, {"state", job.state}, {"error", job.error},
                  {"history", job.history}, {"result", job.result}, {"auto_choice", job.auto_choice}};
  write_file_atomic(job_dir(job.id) + "/job.json", j.dump(1));
}

namespace {
// The folders directly below `root`, sorted; hidden ones (and partial uploads) left out.
std::vector<std::string> folders_in(const std::string& root) {
  std::vector<std::string> names;
  std::error_code ec;
  if (root.empty()) return names;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename();
    if (name.rfind('.', 0) != 0 && entry.is_directory(ec)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A folder holding exactly one CSV file is a manifest dataset; other folders hold class folders.
std::string manifest_or_folder(const fs::path& dir) {
  std::vector<fs::path> csvs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec) && entry.path().extension() == ".csv") csvs.push_back(entry.path());
  return csvs.size() == 1 ? csvs[0].string() : dir.string();
}

// The folder a dataset's file names are shown relative to.
fs::path folder_of(const fs::path& source) { return source.extension() == ".csv" ? source.parent_path() : source; }
}  // namespace

std::vector<std::string> Studio::datasets() const {
  std::vector<std::string> names = folders_in(data_root_);
  for (const auto& name : folders_in((fs::path(workspace_) / "uploads").string()))
    if (!contains(names, name)) names.push_back(name);
  return names;
}

// Only names the listing offers: no path from a request reaches the file system.
std::string Studio::dataset_path(const std::string& name) const {
  if (contains(folders_in(data_root_), name)) return (fs::path(data_root_) / name).string();
  if (contains(folders_in((fs::path(workspace_) / "uploads").string()), name))
    return manifest_or_folder(fs::path(workspace_) / "uploads" / name);
  return {};
}

Dataset Studio::load(const std::string& name, int image_size) {
  const std::string path = dataset_path(name);
  if (path.empty()) throw InvalidArgument(fmt::format("no dataset named '{}'", name));
  DatasetOptions o;
  o.image_size = image_size;
  o.manifest_paths_inside = true;  // an uploaded manifest may not reach other files
  return Dataset::load(path, o);
}

std::string Studio::incoming_path() const {
  const fs::path uploads = fs::path(workspace_) / "uploads";
  fs::create_directories(uploads);
  return (uploads / (".incoming-" + random_token().substr(0, 16) + ".zip")).string();
}

void Studio::check_upload_name(const std::string& name) const {
  const bool plain = !name.empty() && name.size() <= 64 && name[0] != '.' &&
                     name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == std::string::npos;
  if (!plain) throw InvalidArgument("a dataset name is 1-64 letters, digits, '-', '_' or '.', not starting with '.'");
  std::lock_guard<std::mutex> lock(mutex_);
  if (uploading_.count(name) || contains(datasets(), name))
    throw InvalidArgument(fmt::format("a dataset named '{}' exists already", name));
}

json Studio::add_upload(const std::string& name, const std::string& zip_path) {
  check_upload_name(name);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!uploading_.insert(name).second) throw InvalidArgument(fmt::format("a dataset named '{}' exists already", name));
  }
  struct Release {
    Studio& studio;
    const std::string& name;
    ~Release() {
      std::lock_guard<std::mutex> lock(studio.mutex_);
      studio.uploading_.erase(name);
    }
  } release{*this, name};
  const fs::path uploads = fs::path(workspace_) / "uploads";
  fs::create_directories(uploads);
  const fs::path partial = uploads / (".partial-" + random_token().substr(0, 16));
  ZipExtraction x;
  try {
    x = extract_zip(zip_path, partial.string(), ZipLimits{}, [](const std::string& path) {
      return is_image_file(path) || fs::path(path).extension() == ".csv";
    });
    if (x.files == 0) throw InvalidArgument("the zip holds no images");
    // One folder at the top (a zipped "chest_xray" folder): that folder is the dataset.
    fs::path top = partial;
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(partial)) entries.push_back(e.path());
    if (entries.size() == 1 && fs::is_directory(entries[0])) top = entries[0];
    fs::rename(top, uploads / name);
    fs::remove_all(partial);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(partial, ec);
    throw;
  }
  json skipped = json::array();
  for (const auto& [entry, reason] : x.skipped) skipped.push_back({{"entry", entry}, {"reason", reason}});
  return {{"name", name}, {"files", x.files}, {"bytes", x.bytes}, {"skipped", skipped}};
}

json Studio::dataset_summary(const std::string& name, double val_fraction, std::uint64_t seed) {
  const Dataset data = load(name, 32);  // counts and unreadable files do not depend on the size
  json skipped = json::array();
  const fs::path root = folder_of(dataset_path(name));
  for (const auto& s : data.skipped()) skipped.push_back({{"path", fs::path(s.path).lexically_relative(root).string()}, {"reason", s.reason}});
  json j = {{"name", name}, {"classes", data.classes()}, {"class_counts", data.class_counts()},
            {"patient_counts", data.patient_counts()}, {"images", data.size()}, {"patients", data.num_patients()},
            {"skipped", skipped}, {"ignored", data.ignored()}, {"warnings", data.warnings()}};
  try {
    j["split"] = describe_split(data.split(val_fraction, seed));
  } catch (const Error& e) {
    j["split_error"] = e.reason();
  }
  return j;
}

std::vector<std::uint8_t> Studio::augment_sheet(const std::string& name, const std::string& augment, int image_size,
                                                std::uint64_t seed) {
  check_image_size(image_size);
  const Augmenter augmenter(augment.empty() ? TrainOptions{}.augment : augment);
  // Only the images the sheet shows are read at the size asked for: the whole dataset at
  // 512 px would take gigabytes.
  const Dataset listing = load(name, 32);
  const std::size_t n = std::min<std::size_t>(listing.size(), 12);
  std::vector<Image> images;
  std::vector<int> labels;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = k * listing.size() / n;
    images.push_back(load_image(listing.path(i)));
    labels.push_back(listing.label(i));
  }
  DatasetOptions o;
  o.image_size = image_size;
  const Dataset sample = Dataset::from_images(images, labels, listing.classes(), {}, o);
  return encode_png(augmenter.contact_sheet(sample, 3, 4, seed));
}

std::string Studio::submit(const JobRequest& request) {
  resnet_parameter_count(request.arch, 1, 2);  // unknown architectures fail now
  check_image_size(request.image_size);
  if (request.epochs < 1 || request.epochs > 200)
    throw InvalidArgument(fmt::format("epochs must be in [1, 200], not {}", request.epochs));
  if (!(request.val_fraction >= 0.05 && request.val_fraction <= 0.5))
    throw InvalidArgument("validation fraction must be in [0.05, 0.5]");
  if (request.auto_select && (request.budget_minutes < 1 || request.budget_minutes > 24 * 60))
    throw InvalidArgument(fmt::format("the time budget must be 1 to 1440 minutes, not {}", request.budget_minutes));
  if (!request.augment.empty()) Augmenter{request.augment};  // a bad spec fails now
  if (dataset_path(request.data).empty()) throw InvalidArgument(fmt::format("no dataset named '{}'", request.data));

  auto job = std::make_unique<Job>();
  job->request = request;
  std::lock_guard<std::mutex> lock(mutex_);
  do job->id = new_id();
  while (jobs_.count(job->id));
  fs::create_directories(job_dir(job->id));
  save(*job);
  const std::string id = job->id;
  jobs_[id] = std::move(job);
  queue_.push_back(id);
  wake_.notify_all();
  return id;
}

bool Studio::cancel(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  Job& job = *it->second;
  if (job.state == "running") {
    job.cancel = true;
    return true;
  }
  if (job.state != "queued") return false;
  queue_.erase(std::remove(queue_.begin(), queue_.end(), id), queue_.end());
  job.state = "cancelled";
  save(job);
  return true;
}

// A job as the API shows it: the list gives the last epoch, one job its whole history.
json Studio::view(const Job& j, bool history) const {
  json v = {{"id", j.id}, {"request", request_json(j.request)}, {"state", j.state}, {"error", j.error},
            {"progress", j.progress}, {"epochs_done", j.history.size()}, {"result", j.result},
            {"auto_choice", j.auto_choice}, {"published", published_ == j.id}};
  if (history) v["history"] = j.history;
  else v["last_epoch"] = j.history.empty() ? json() : j.history.back();
  return v;
}

json Studio::jobs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  json list = json::array();
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) list.push_back(view(*it->second, false));
  return list;
}

std::optional<json> Studio::job(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return view(*it->second, true);
}

std::string Studio::model_path(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  return it != jobs_.end() && it->second->state == "done" ? job_dir(id) + "/model.xrk" : "";
}

std::string Studio::report_path(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  return it != jobs_.end() && it->second->state == "done" ? job_dir(id) + "/report.html" : "";
}

void Studio::set_published(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  write_file_atomic((fs::path(workspace_) / "published").string(), id);
  published_ = id;
}

std::string Studio::published() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return published_;
}

void Studio::work() {
  for (;;) {
    std::string id;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      id = queue_.front();
      queue_.pop_front();
      Job& job = *jobs_.at(id);
      job.state = "running";
      job.cancel = false;
    }
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      save(*jobs_.at(id));
    } catch (const std::exception& e) {
      fmt::print(stderr, "xraykit serve: studio job {}: cannot save its state: {}\n", id, e.what());
    }
    try {
      run(id);
    } catch (const std::exception& e) {
      fail(id, dynamic_cast<const Error*>(&e) ? static_cast<const Error&>(e).reason() : e.what());
    } catch (...) {
      fail(id, "unknown error");
    }
  }
}

// Records a failure; nothing may leave the worker thread (it would end the process), so a
// failure to save it (a full disk) is only logged.
void Studio::fail(const std::string& id, const std::string& reason) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    Job& job = *jobs_.at(id);
    job.state = "failed";
    job.error = reason;
    save(job);
  } catch (const std::exception& e) {
    fmt::print(stderr, "xraykit serve: studio job {} failed ({}) and could not be saved: {}\n", id, reason, e.what());
  }
}

// fit()'s progress into the job; false (stop) when the job is cancelled or the server stops.
bool Studio::record_progress(const std::string& id, const Progress& p) {
  std::lock_guard<std::mutex> lock(mutex_);
  Job& job = *jobs_.at(id);
  job.progress = progress_json(p);
  if (p.epoch_end) {
    // After a resume the checkpoint may be behind job.json by an epoch (a stop between the
    // two saves): that epoch is trained again and recorded once.
    json& h = job.history;
    h.erase(std::remove_if(h.begin(), h.end(), [&](const json& e) { return e.value("epoch", 0) >= p.record.epoch; }),
            h.end());
    h.push_back(json::parse(to_json(p.record)));
    save(job);
  }
  return !job.cancel && !stopping_;
}

// auto_select()'s choice for a job, measured once: a resumed job keeps the choice its
// checkpoint was made with.
AutoChoice Studio::choose(const std::string& id, const Split& split, const ClassifierOptions& copt, const TrainOptions& base) {
  JobRequest r;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Job& job = *jobs_.at(id);
    if (!job.auto_choice.is_null()) return auto_choice_from_json(job.auto_choice.dump());
    r = job.request;
  }
  AutoSelectOptions ao;
  ao.budget_seconds = r.budget_minutes * 60.0;
  const AutoChoice choice = auto_select(split.train, split.val, copt, base, ao);
  std::lock_guard<std::mutex> lock(mutex_);
  Job& job = *jobs_.at(id);
  job.auto_choice = json::parse(to_json(choice));
  save(job);
  return choice;
}

// One job: the same flow as `xraykit train`, reporting into the job instead of a terminal.
void Studio::run(const std::string& id) {
  JobRequest r;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    r = jobs_.at(id)->request;
  }
  const Dataset data = load(r.data, r.image_size);
  const auto counts = data.class_counts();
  if (counts.size() < 2 || std::count(counts.begin(), counts.end(), 0) > 0)
    throw DatasetError("training needs images of at least two classes, each class non-empty");
  const Split split = data.split(r.val_fraction, r.seed);
  ClassifierOptions copt;
  copt.image_size = r.image_size;
  copt.channels = data.channels();
  copt.seed = r.seed;
  TrainOptions t;
  t.epochs = r.epochs;
  t.seed = r.seed;
  if (!r.augment.empty()) t.augment = r.augment;
  std::string arch = r.arch;
  const std::optional<AutoChoice> choice = r.auto_select ? std::optional(choose(id, split, copt, t)) : std::nullopt;
  if (choice) {
    arch = choice->arch;
    t.epochs = choice->epochs;
    t.augment = choice->augment;
  }
  ResNetClassifier model(arch, data.classes(), copt);
  t.checkpoint = job_dir(id) + "/checkpoint";
  t.resume = fs::exists(t.checkpoint);
  const FitResult fit = model.fit(split.train, split.val, t, [&](const Progress& p) { return record_progress(id, p); });
  if (fit.cancelled) {
    std::lock_guard<std::mutex> lock(mutex_);
    Job& job = *jobs_.at(id);
    // Stopped by the server's shutdown: queued again, to resume from the checkpoint.
    job.state = stopping_ && !job.cancel ? "queued" : "cancelled";
    save(job);
    return;
  }
  if (choice) {
    ModelCard card = model.card();
    card.auto_select = choice;
    model.set_provenance(card.provenance_json());
  }
  model.save(job_dir(id) + "/model.xrk");
  save_html_report(job_dir(id) + "/report.html", fit.validation, fit.history, "xraykit studio: job " + id);
  json result = figures_json(fit.validation);
  result["kept_epoch"] = fit.kept_epoch;
  result["wrong"] = review_validation(id, model, split.val, r.data);
  std::lock_guard<std::mutex> lock(mutex_);
  Job& job = *jobs_.at(id);
  job.result = result;
  job.state = "done";
  job.progress = json::object();
  save(job);
}

// Every validation image's prediction, stored for the threshold slider, and Grad-CAM overlays
// of the first kMaxWrongShown it gets wrong at its threshold, for the gallery (their list).
json Studio::review_validation(const std::string& id, const ResNetClassifier& model, const Dataset& val,
                                const std::string& data_name) {
  json images = json::array(), wrong = json::array();
  fs::create_directories(job_dir(id) + "/wrong");
  const fs::path root = folder_of(dataset_path(data_name));
  constexpr std::size_t kBatch = 64;
  for (std::size_t start = 0; start < val.size(); start += kBatch) {
    std::vector<Image> batch;
    for (std::size_t i = start; i < std::min(val.size(), start + kBatch); ++i) batch.push_back(val.image(i));
    const std::vector<Prediction> preds = model.predict(batch);
    for (std::size_t j = 0; j < preds.size(); ++j) {
      const std::size_t i = start + j;
      images.push_back({{"p", preds[j].probabilities}, {"label", val.label(i)}, {"patient", val.patient(i)}});
      if (preds[j].label == val.label(i) || wrong.size() >= kMaxWrongShown) continue;
      const Explanation why = model.explain(batch[j], preds[j].label);
      write_file_atomic(fmt::format("{}/wrong/{}.png", job_dir(id), wrong.size()), why.overlay_png);
      wrong.push_back({{"file", fs::path(val.path(i)).lexically_relative(root).string()}, {"truth", val.classes()[val.label(i)]},
                       {"predicted", preds[j].class_name}, {"probabilities", preds[j].probabilities}});
    }
  }
  write_file_atomic(job_dir(id) + "/validation.json", json{{"classes", val.classes()}, {"images", images}}.dump());
  return wrong;
}

json Studio::figures_at(const std::string& id, double threshold) const {
  if (!(threshold > 0 && threshold < 1)) throw InvalidArgument("the threshold must be between 0 and 1");
  if (model_path(id).empty()) throw InvalidArgument("no finished job with that id");
  const auto bytes = read_file(job_dir(id) + "/validation.json");
  const json stored = json::parse(bytes.begin(), bytes.end());
  EvalOptions o;
  o.split = kValidationSplit;
  o.threshold = threshold;
  o.bootstrap = 300;  // answers a slider: fewer resamples, still a usable interval
  const auto classes = stored.at("classes").get<std::vector<std::string>>();
  if (classes.size() != 2) throw InvalidArgument("a threshold applies to two-class models only");
  Evaluator evaluator(classes, o);
  for (const json& image : stored.at("images"))
    evaluator.add(image.at("p").get<std::vector<float>>(), image.at("label").get<int>(), image.at("patient").get<std::string>());
  return figures_json(evaluator.evaluate());
}

void Studio::set_threshold(const std::string& id, double threshold) {
  json figures = figures_at(id, threshold);  // checks the job and the threshold
  ResNetClassifier model = ResNetClassifier::load(model_path(id));
  model.set_threshold(threshold);
  model.save(model_path(id));
  std::lock_guard<std::mutex> lock(mutex_);
  Job& job = *jobs_.at(id);
  figures["kept_epoch"] = job.result.value("kept_epoch", 0);
  figures["wrong"] = job.result.value("wrong", json::array());
  job.result = figures;
  save(job);
}

std::string Studio::wrong_image_path(const std::string& id, int k) const {
  if (model_path(id).empty() || k < 0 || k >= static_cast<int>(kMaxWrongShown)) return "";
  const std::string path = fmt::format("{}/wrong/{}.png", job_dir(id), k);
  return fs::exists(path) ? path : "";
}

}  // namespace xraykit::web
