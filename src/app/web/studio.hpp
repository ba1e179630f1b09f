#pragma once
// The studio behind `xraykit serve --studio DIR`: datasets the server may read, training jobs
// run one at a time in the background, and the models they made. It composes the library
// (Dataset, Augmenter, ResNetClassifier::fit, Evaluation) and keeps its state as files in
// the workspace DIR, so that a restart finds every job again and resumes an unfinished one
// from its checkpoint:
//   DIR/jobs/<id>/job.json      request, state, epoch history, result figures (atomic saves)
//   DIR/jobs/<id>/checkpoint    fit()'s checkpoint, for resume
//   DIR/jobs/<id>/model.xrk     the trained model;  report.html  its validation report
//   DIR/jobs/<id>/validation.json  each validation image's probabilities, label and patient
//   DIR/jobs/<id>/wrong/<k>.png    Grad-CAM overlays of validation images the model got wrong
//   DIR/published               the id of the job whose model the classify page uses
//   DIR/uploads/<name>/         datasets uploaded as zip files (class folders, or a CSV
//                               manifest with its images), offered beside the data root's
// Thread safety: every member may be called from any thread; one worker thread trains.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "xraykit/autoselect.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/dataset.hpp"

namespace xraykit::web {

/// What to train: a dataset by name (a folder below the data root) and the choices the page
/// offers. InvalidArgument from Studio::submit for anything out of range.
struct JobRequest {
  std::string data;
  std::string arch = "resnet18";
  int image_size = 128;
  int epochs = 3;
  std::string augment;  ///< empty: the library's default
  std::uint64_t seed = 42;
  double val_fraction = 0.15;
  /// Let auto_select() choose network, epochs and augmentation to fit `budget_minutes` (the
  /// three choices above are then ignored); the choice is kept with the job.
  bool auto_select = false;
  int budget_minutes = 10;
};

class Studio {
 public:
  /// Creates DIR/jobs if needed and reads the jobs there; queued and interrupted ones run
  /// again (from their checkpoints). `data_root` may be empty (no folders offered).
  Studio(std::string workspace, std::string data_root);
  /// Stops the running job at its next step; it stays queued for the next start.
  ~Studio();
  Studio(const Studio&) = delete;
  Studio& operator=(const Studio&) = delete;

  /// Datasets offered: the folders directly below the data root, then uploaded ones.
  std::vector<std::string> datasets() const;
  /// Unpacks an uploaded zip (see zip_archive.hpp for what is refused) as dataset `name`
  /// (letters, digits, '-', '_', '.'; not taken yet). A zip holding one folder is read as
  /// that folder. Returns {name, files, skipped: [{entry, reason}]}. InvalidArgument for a
  /// bad name or archive; nothing is left behind then.
  nlohmann::json add_upload(const std::string& name, const std::string& zip_path);
  /// InvalidArgument unless `name` could name a new upload now (checked again by add_upload).
  void check_upload_name(const std::string& name) const;
  /// A fresh path in the workspace for an upload on its way in (removed by the caller).
  std::string incoming_path() const;
  /// Classes, images, patients, skipped files (with reasons, paths below the root) and the
  /// patient-disjoint split the job would use. DatasetError / IoError as Dataset::load.
  nlohmann::json dataset_summary(const std::string& name, double val_fraction, std::uint64_t seed);
  /// A PNG contact sheet: images of the dataset as `augment` changes them.
  std::vector<std::uint8_t> augment_sheet(const std::string& name, const std::string& augment, int image_size,
                                          std::uint64_t seed);

  /// Queues a job; returns its id. InvalidArgument for bad choices or an unknown dataset.
  std::string submit(const JobRequest& request);
  /// Stops a running job after its current step or drops a queued one; false if it is neither.
  bool cancel(const std::string& id);
  nlohmann::json jobs() const;                             ///< newest first
  std::optional<nlohmann::json> job(const std::string& id) const;
  /// A finished job's model or report file; empty if the job has none.
  std::string model_path(const std::string& id) const;
  std::string report_path(const std::string& id) const;

  /// A finished binary job's validation figures at another threshold (with intervals), from
  /// its stored validation predictions: what the threshold slider shows before it is saved.
  /// InvalidArgument for a threshold outside (0, 1), an unknown or unfinished job.
  nlohmann::json figures_at(const std::string& id, double threshold) const;
  /// Saves `threshold` into the job's model file (atomically) and its result figures.
  void set_threshold(const std::string& id, double threshold);
  /// The k-th wrong validation image's overlay (PNG file path); empty if there is none.
  std::string wrong_image_path(const std::string& id, int k) const;

  /// Records `id` as the published model (atomically); the caller swaps the served model.
  void set_published(const std::string& id);
  std::string published() const;  ///< empty when none

 private:
  struct Job;
  std::string job_dir(const std::string& id) const;
  void save(const Job& job) const;  // under mutex_
  nlohmann::json view(const Job& job, bool history) const;  // under mutex_
  void work();
  void run(const std::string& id);
  void fail(const std::string& id, const std::string& reason) noexcept;
  bool record_progress(const std::string& id, const Progress& progress);
  AutoChoice choose(const std::string& id, const Split& split, const ClassifierOptions& copt, const TrainOptions& base);
  nlohmann::json review_validation(const std::string& id, const ResNetClassifier& model, const Dataset& val,
                                   const std::string& data_name);
  Dataset load(const std::string& name, int image_size);  // InvalidArgument for unknown names
  std::string dataset_path(const std::string& name) const;  // folder or manifest; empty if unknown

  const std::string workspace_, data_root_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::unique_ptr<Job>> jobs_;
  std::deque<std::string> queue_;
  std::string published_;
  std::set<std::string> uploading_;  // names of uploads being unpacked
  bool stopping_ = false;
  int lock_fd_ = -1;  // flock on DIR/lock
  std::thread worker_;
};

}  // namespace xraykit::web
