#pragma once
// Dataset: labelled chest X-rays, decoded once into an in-memory uint8 cache.
//
// What it is for: turning a folder tree (one subfolder per class) or a CSV manifest into
// fixed-size images with labels and patient identities, splitting them by patient, and
// serving normalised float batches to training and evaluation.
//
// Ownership: a Dataset is a cheap, copyable view (a list of indices) over immutable,
// shared pixel storage; subsets and splits share the pixels of the dataset they come from,
// which stay alive as long as any view does.
// Thread safety: all const member functions may be called from any number of threads.
// Errors: DatasetError (empty tree, strict-mode rejects, bad split arguments),
// InvalidArgument (bad options), IoError (manifest or root cannot be read); in non-strict
// mode bad image files are skipped and listed in skipped() with a reason.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xraykit/export.hpp"
#include "xraykit/image.hpp"

namespace xraykit {

struct DatasetOptions {
  int image_size = 224;  ///< images are brought to image_size x image_size
  int channels = 1;      ///< 1 = grey (default), 3 = RGB
  Geometry geometry = Geometry::Squash;
  std::int64_t max_pixels = 64'000'000;  ///< per source image; larger ones are refused
  int threads = 0;                       ///< decoding threads; 0 = OMP_NUM_THREADS if set, else all cores
  /// Strict mode: the first bad file, unreadable folder or unknown label throws
  /// DatasetError naming it, and a one-class dataset is refused. Otherwise they are
  /// skipped and reported.
  bool strict = false;
  /// ECMAScript regex applied to the file name; its first capture group (or the whole
  /// match) is the patient id. Empty: the built-in rules of patient_from_filename().
  std::string patient_regex;
  /// Allowed class names, in label order. Empty: the sorted folder names / manifest labels.
  std::vector<std::string> classes;
  /// Three classes from Kermany's two: PNEUMONIA images become BACTERIAL or VIRAL by
  /// `_bacteria` / `_virus` in their file names; the classes are then NORMAL, BACTERIAL,
  /// VIRAL (unless `classes` names others). A PNEUMONIA image whose name says neither is
  /// skipped with that reason; DatasetError when the data has no PNEUMONIA class.
  bool pneumonia_kinds = false;
  /// Manifests from elsewhere (an uploaded zip): a row whose path is absolute or leads out
  /// of the manifest's folder (`..`) is skipped with that reason instead of read, so that a
  /// manifest cannot make xraykit read other files on the machine.
  bool manifest_paths_inside = false;
};

/// A file that was not loaded, and why.
struct SkippedFile {
  std::string path;
  std::string reason;
};

/// Per-channel normalisation applied when pixels become floats: (x/255 - mean) / std.
/// One value is used for every channel.
struct Normalization {
  std::vector<float> mean{0.449f};
  std::vector<float> stddev{0.226f};
};

/// A batch in NCHW layout, ready for a network.
struct Batch {
  int n = 0, channels = 0, height = 0, width = 0;
  std::vector<float> images;          ///< n*channels*height*width, normalised
  std::vector<std::int64_t> labels;   ///< n
  std::vector<std::size_t> ids;       ///< n sample ids (see Dataset::id)
};

struct Split;

class XRAYKIT_API Dataset {
 public:
  /// An empty dataset (no classes, no images).
  Dataset();

  /// Reads ROOT/<class>/<image>. Class order is the sorted folder names. Hidden files and
  /// files without an image extension (.jpg .jpeg .png .bmp) are ignored and counted.
  static Dataset from_folder(const std::string& root, const DatasetOptions& options = {});

  /// Reads a CSV manifest with rows `path,label[,patient]` (an optional header row), paths
  /// relative to the CSV's folder. Without a patient column, ids come from file names.
  static Dataset from_csv(const std::string& csv_path, const DatasetOptions& options = {});

  /// from_csv when the path ends in ".csv", from_folder otherwise.
  static Dataset load(const std::string& path, const DatasetOptions& options = {});

  /// This dataset as a manifest that from_csv reads back: `path,label,patient` with a header
  /// row and absolute paths (so a split can be handed to another tool, e.g. a peer script).
  /// InvalidArgument for images built in memory, which have no file.
  std::string to_csv() const;
  /// to_csv() written atomically to `path`. IoError naming the path.
  void save_csv(const std::string& path) const;

  /// Builds a dataset from images already in memory (resized here if needed).
  /// patients may be empty (each image is then its own patient).
  static Dataset from_images(const std::vector<Image>& images, const std::vector<int>& labels,
                             const std::vector<std::string>& classes,
                             const std::vector<std::string>& patients = {},
                             const DatasetOptions& options = {});

  std::size_t size() const { return index_.size(); }
  bool empty() const { return index_.empty(); }
  const std::vector<std::string>& classes() const;
  int num_classes() const { return static_cast<int>(classes().size()); }
  int image_size() const;
  int channels() const;

  /// Per-sample accessors; i < size(), else InvalidArgument.
  const std::string& path(std::size_t i) const;
  int label(std::size_t i) const;
  const std::string& patient(std::size_t i) const;
  /// The DICOM ViewPosition (0018,5101) of the file, "AP", "PA", ...; empty for other
  /// formats and DICOM files without the tag.
  const std::string& view_position(std::size_t i) const;
  /// Stable id of the sample: its position in the dataset that loaded it, shared by
  /// every subset and split of that dataset.
  std::size_t id(std::size_t i) const;
  /// image_size*image_size*channels bytes, HWC; valid while any view of the data lives.
  const std::uint8_t* pixels(std::size_t i) const;
  Image image(std::size_t i) const;

  std::vector<std::int64_t> class_counts() const;    ///< images per class
  std::vector<std::int64_t> patient_counts() const;  ///< distinct patients per class
  std::size_t num_patients() const;
  /// Balanced weights n / (k * count_c), the same as scikit-learn's "balanced";
  /// a class with no images gets weight 0.
  std::vector<float> class_weights() const;

  const std::vector<SkippedFile>& skipped() const;  ///< files of the source that failed
  std::size_t ignored() const;  ///< hidden / non-image files passed over in the source
  std::vector<std::string> warnings() const;  ///< e.g. one class only, id fallbacks
  std::string summary() const;                ///< one line
  std::string detailed_summary() const;       ///< per class, skipped files, warnings

  /// A view of the given positions (of this view).
  Dataset subset(const std::vector<std::size_t>& positions) const;

  /// Stratified, seeded, patient-disjoint split: every patient's images go to one side;
  /// each class puts about val_fraction of its images in validation.
  /// val_fraction in (0,1); DatasetError if a class has too few patients to split.
  Split split(double val_fraction, std::uint64_t seed) const;

  /// k stratified, patient-disjoint folds; fold i validates on the i-th group.
  std::vector<Split> kfold(int k, std::uint64_t seed) const;

  /// Normalised float batch of the given positions, no augmentation.
  Batch batch(const std::vector<std::size_t>& positions, const Normalization& norm = {}) const;

  /// Opaque pixel store shared by views (defined inside the library).
  struct Storage;

 private:
  Dataset(std::shared_ptr<const Storage> storage, std::vector<std::size_t> index);
  std::shared_ptr<const Storage> storage_;
  std::vector<std::size_t> index_;
  friend struct DatasetBuilder;
};

struct Split {
  Dataset train;
  Dataset val;
};

/// Statistics of a split as text: images, patients and class shares on each side, and
/// whether any patient appears on both sides.
XRAYKIT_API std::string describe_split(const Split& split);

/// Patient id from a file name by the built-in rules for the Kermany set:
/// `person123_bacteria_4.jpeg` -> "person123", `IM-0115-0001.jpeg` -> "IM-0115",
/// `NORMAL2-IM-0427-0001.jpeg` -> "NORMAL2-IM-0427". Returns "" when no rule matches.
XRAYKIT_API std::string patient_from_filename(const std::string& filename);

/// Normalises x/255 pixels of an HWC uint8 image into CHW floats at out.
XRAYKIT_API void normalize_into(const std::uint8_t* hwc, int height, int width, int channels,
                                const Normalization& norm, float* chw_out);

}  // namespace xraykit
