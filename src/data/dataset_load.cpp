// Building a Dataset: listing a folder tree or a manifest, then decoding every image in
// parallel into one contiguous uint8 buffer.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "data/dataset_storage.hpp"
#include "util/file_util.hpp"
#include "util/threads.hpp"
#include "xraykit/error.hpp"
#include "xraykit/image.hpp"

namespace fs = std::filesystem;

namespace xraykit {
namespace {

struct Candidate {
  std::string path;
  int label = -1;
  std::string patient;  // empty: derive from the file name
};

struct Listing {
  std::vector<std::string> classes;
  std::vector<Candidate> files;
  std::vector<SkippedFile> skipped;
  std::size_t ignored = 0;
};

bool is_hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

void validate(const DatasetOptions& o) {
  if (o.image_size < 8 || o.image_size > 4096)
    throw InvalidArgument(fmt::format("image_size must be in [8, 4096], not {}", o.image_size));
  if (o.channels != 1 && o.channels != 3)
    throw InvalidArgument(fmt::format("channels must be 1 or 3, not {}", o.channels));
  if (o.max_pixels <= 0) throw InvalidArgument("max_pixels must be positive");
  if (o.threads < 0) throw InvalidArgument("threads must be >= 0");
}

// Records a problem: an exception in strict mode, a skipped entry otherwise.
void reject(Listing& listing, const DatasetOptions& o, std::string path, std::string reason) {
  if (o.strict) throw DatasetError(fmt::format("{}: {}", path, reason));
  listing.skipped.push_back({std::move(path), std::move(reason)});
}

// Folders listed or to be listed, by device and inode: a symlink back to a folder above
// (`self -> .`) would otherwise list its images again, or for ever, and one into another
// class's folder would give its images a second label.
using Visited = std::set<std::pair<std::uintmax_t, std::uintmax_t>>;
constexpr int kMaxFolderDepth = 32;

// Marks a folder visited; false if it was already (or cannot be examined).
bool first_visit(const fs::path& dir, Visited& visited) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && visited.insert({st.st_dev, st.st_ino}).second;
}

// Image files below dir (recursively), sorted; unreadable folders are rejected.
void list_images(const fs::path& dir, Listing& listing, const DatasetOptions& o, std::vector<std::string>& out,
                 Visited& visited, int depth = 0) {
  if (depth > kMaxFolderDepth) return reject(listing, o, dir.string(), "folders nested too deep");
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return reject(listing, o, dir.string(), "unreadable folder (" + ec.message() + ")");
  std::vector<fs::path> entries;
  for (; it != end; it.increment(ec)) {
    if (ec) return reject(listing, o, dir.string(), "unreadable folder (" + ec.message() + ")");
    entries.push_back(it->path());
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& p : entries) {
    const fs::file_status st = fs::status(p, ec);
    if (is_hidden(p)) {
      ++listing.ignored;
    } else if (ec) {
      reject(listing, o, p.string(), "unreadable (" + ec.message() + ")");
    } else if (fs::is_directory(st)) {
      if (first_visit(p, visited)) list_images(p, listing, o, out, visited, depth + 1);
      else ++listing.ignored;  // a link to a folder that is listed anyway
    } else if (is_image_file(p.string())) {
      out.push_back(p.string());
    } else {
      ++listing.ignored;
    }
  }
}

Listing list_folder(const std::string& root, const DatasetOptions& o) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw IoError(fmt::format("{}: no such folder", root));
  if (!fs::is_directory(root, ec)) throw IoError(fmt::format("{}: not a folder", root));
  Listing listing;
  std::vector<fs::path> class_dirs;
  fs::directory_iterator it(root, ec), end;
  if (ec) throw IoError(fmt::format("{}: cannot read folder ({})", root, ec.message()));
  for (; it != end; it.increment(ec)) {
    if (ec) throw IoError(fmt::format("{}: cannot read folder ({})", root, ec.message()));
    if (is_hidden(it->path())) ++listing.ignored;
    else if (it->is_directory(ec)) class_dirs.push_back(it->path());
    else ++listing.ignored;  // files beside the class folders (README, CSV, ...)
  }
  std::sort(class_dirs.begin(), class_dirs.end());

  if (o.classes.empty()) {
    for (const auto& d : class_dirs) listing.classes.push_back(d.filename().string());
  } else {
    listing.classes = o.classes;
  }
  Visited visited;
  for (const auto& d : class_dirs) first_visit(d, visited);
  for (const auto& d : class_dirs) {
    const std::string name = d.filename().string();
    const auto pos = std::find(listing.classes.begin(), listing.classes.end(), name);
    if (pos == listing.classes.end()) {
      reject(listing, o, d.string(), "folder is not one of the requested classes");
      continue;
    }
    std::vector<std::string> files;
    list_images(d, listing, o, files, visited);
    const int label = static_cast<int>(pos - listing.classes.begin());
    for (auto& f : files) listing.files.push_back({std::move(f), label, {}});
  }
  return listing;
}

// Splits one CSV line; fields may be double-quoted ("" is a literal quote).
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else fields.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  for (auto& f : fields) {
    const auto b = f.find_first_not_of(" \t"), e = f.find_last_not_of(" \t");
    f = b == std::string::npos ? "" : f.substr(b, e - b + 1);
  }
  return fields;
}

// Whether a relative path climbs above where it starts ("a/../../b").
bool escapes(const fs::path& relative) {
  int depth = 0;
  for (const auto& part : relative.lexically_normal()) {
    if (part == "..") --depth;
    else if (part != "." && !part.empty()) ++depth;
    if (depth < 0) return true;
  }
  return false;
}

Listing list_manifest(const std::string& csv_path, const DatasetOptions& o) {
  std::error_code ec;
  if (fs::is_directory(csv_path, ec)) throw IoError(fmt::format("{}: is a folder, not a CSV file", csv_path));
  std::ifstream in(csv_path);
  if (!in) throw IoError(fmt::format("{}: cannot open manifest", csv_path));
  const fs::path base = fs::path(csv_path).parent_path();
  Listing listing;
  struct Row { std::string path, label, patient; };
  std::vector<Row> rows;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    auto f = split_csv_line(line);
    if (f.size() == 1 && f[0].empty()) continue;
    if (lineno == 1 && (f[0] == "path" || f[0] == "file" || f[0] == "filename")) continue;
    if (f.size() < 2 || f.size() > 3 || f[0].empty() || f[1].empty()) {
      reject(listing, o, fmt::format("{}:{}", csv_path, lineno), "expected `path,label[,patient]`");
      continue;
    }
    fs::path p(f[0]);
    if (o.manifest_paths_inside && (p.is_absolute() || escapes(p))) {
      reject(listing, o, fmt::format("{}:{}", csv_path, lineno), "the path leads out of the manifest's folder");
      continue;
    }
    if (p.is_relative()) p = base / p;
    rows.push_back({p.string(), f[1], f.size() == 3 ? f[2] : ""});
  }
  if (o.classes.empty()) {
    std::set<std::string> labels;
    for (const auto& r : rows) labels.insert(r.label);
    listing.classes.assign(labels.begin(), labels.end());
  } else {
    listing.classes = o.classes;
  }
  for (auto& r : rows) {
    const auto pos = std::find(listing.classes.begin(), listing.classes.end(), r.label);
    if (pos == listing.classes.end()) {
      reject(listing, o, r.path, fmt::format("unknown label '{}'", r.label));
      continue;
    }
    listing.files.push_back({r.path, static_cast<int>(pos - listing.classes.begin()), r.patient});
  }
  return listing;
}

std::optional<std::regex> patient_rule(const DatasetOptions& o) {
  if (o.patient_regex.empty()) return std::nullopt;
  try {
    return std::regex(o.patient_regex);
  } catch (const std::regex_error& e) {
    throw InvalidArgument(fmt::format("patient_regex '{}' is not a valid regex ({})", o.patient_regex, e.what()));
  }
}

// Fills in patient ids that the source did not give, in this order: the user's regex, else
// DICOM's PatientID (hashed, from `tags`, one per file), else the Kermany file-name rules;
// counts the fallbacks.
std::size_t assign_patients(std::vector<Candidate>& files, const std::vector<DicomTags>& tags,
                            const std::optional<std::regex>& user) {
  std::size_t fallbacks = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    Candidate& c = files[i];
    if (!c.patient.empty()) continue;
    const std::string name = fs::path(c.path).filename().string();
    std::smatch m;
    if (user) {
      if (std::regex_search(name, m, *user)) c.patient = m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
    } else {
      c.patient = tags[i].patient;
      if (c.patient.empty()) c.patient = patient_from_filename(name);
    }
    if (c.patient.empty()) {
      c.patient = fs::path(c.path).stem().string();
      ++fallbacks;
    }
  }
  return fallbacks;
}

// Reads a file once: its pixels and, for DICOM, its tags from the same parse.
Image read_image(const std::string& path, const DecodeOptions& options, DicomTags& tags) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return decode_image(bytes.data(), bytes.size(), options, &tags);
}

Dataset decode_all(Listing listing, const std::string& source, const DatasetOptions& o) {
  Dataset::Storage s;
  s.source = source;
  s.classes = listing.classes;
  s.image_size = o.image_size;
  s.channels = o.channels;
  s.ignored = listing.ignored;
  s.skipped = std::move(listing.skipped);

  const std::optional<std::regex> user_rule = patient_rule(o);
  const std::size_t n = listing.files.size();
  const std::size_t bytes = s.image_bytes();
  s.pixels.resize(n * bytes);
  std::vector<std::string> errors(n);
  std::vector<DicomTags> tags(n);
  std::atomic<std::size_t> next{0};
  const DecodeOptions dec{o.channels, o.max_pixels, o.image_size};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        const Image img = fit_square(read_image(listing.files[i].path, dec, tags[i]), o.image_size, o.geometry);
        std::copy(img.pixels.begin(), img.pixels.end(), s.pixels.begin() + i * bytes);
      } catch (const Error& e) {
        errors[i] = e.reason();  // the listing shows the path beside it
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  const std::size_t nthreads = std::min<std::size_t>(threads_or_default(o.threads), std::max<std::size_t>(n, 1));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < nthreads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();

  const std::size_t fallbacks = assign_patients(listing.files, tags, user_rule);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Candidate& c = listing.files[i];
    if (!errors[i].empty()) {
      if (o.strict) throw DatasetError(fmt::format("{}: {}", c.path, errors[i]));
      s.skipped.push_back({c.path, errors[i]});
      continue;
    }
    if (kept != i)
      std::copy_n(s.pixels.begin() + i * bytes, bytes, s.pixels.begin() + kept * bytes);
    s.paths.push_back(c.path);
    s.labels.push_back(c.label);
    s.patients.push_back(c.patient);
    s.views.push_back(tags[i].view_position);
    ++kept;
  }
  s.pixels.resize(kept * bytes);
  s.pixels.shrink_to_fit();

  if (kept == 0)
    throw DatasetError(fmt::format("{}: no usable images found ({} files skipped, {} ignored)", source,
                                   s.skipped.size(), s.ignored));
  if (fallbacks > 0)
    s.warnings.push_back(fmt::format(
        "{} image(s) had no recognisable patient id in their name; each is treated as its own patient",
        fallbacks));
  std::vector<std::int64_t> counts(s.classes.size(), 0);
  for (int l : s.labels) ++counts[l];
  int present = 0;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] > 0) ++present;
    else s.warnings.push_back(fmt::format("class '{}' has no images", s.classes[c]));
  }
  if (present < 2) {
    const std::string msg = fmt::format("{}: only one class with images ('{}'); a classifier needs at least two",
                                        source, s.classes[std::max_element(counts.begin(), counts.end()) - counts.begin()]);
    if (o.strict) throw DatasetError(msg);
    s.warnings.push_back(msg);
  }
  return DatasetBuilder::make(std::move(s));
}

// DatasetOptions::pneumonia_kinds: the PNEUMONIA class split by the kind Kermany's file names
// carry. Listing ran with the original classes; this maps them to the requested ones.
Listing split_pneumonia_kinds(Listing listing, const DatasetOptions& o) {
  const auto pneumonia = std::find(listing.classes.begin(), listing.classes.end(), "PNEUMONIA");
  if (pneumonia == listing.classes.end()) throw DatasetError("pneumonia kinds: the data has no PNEUMONIA class to split");
  std::vector<std::string> classes = o.classes;
  if (classes.empty()) {
    for (const auto& c : listing.classes) {
      if (c != "PNEUMONIA") classes.push_back(c);
      else classes.insert(classes.end(), {"BACTERIAL", "VIRAL"});
    }
  }
  std::vector<Candidate> kept;
  for (Candidate& f : listing.files) {
    std::string name = listing.classes[f.label];
    if (name == "PNEUMONIA") {
      const std::string file = fs::path(f.path).filename().string();
      if (file.find("_bacteria") != std::string::npos) name = "BACTERIAL";
      else if (file.find("_virus") != std::string::npos) name = "VIRAL";
      else {
        reject(listing, o, f.path, "a PNEUMONIA image whose name says neither _bacteria_ nor _virus_");
        continue;
      }
    }
    const auto pos = std::find(classes.begin(), classes.end(), name);
    if (pos == classes.end()) {
      reject(listing, o, f.path, fmt::format("class '{}' is not one of the requested classes", name));
      continue;
    }
    f.label = static_cast<int>(pos - classes.begin());
    kept.push_back(std::move(f));
  }
  listing.files = std::move(kept);
  listing.classes = std::move(classes);
  return listing;
}

// Lists with the classes as they are in the data, then splits PNEUMONIA when asked to.
template <typename List>
Listing list_with_options(List list, const std::string& source, const DatasetOptions& o) {
  if (!o.pneumonia_kinds) return list(source, o);
  DatasetOptions as_stored = o;
  as_stored.classes.clear();
  return split_pneumonia_kinds(list(source, as_stored), o);
}

}  // namespace

Dataset Dataset::from_folder(const std::string& root, const DatasetOptions& options) {
  validate(options);
  return decode_all(list_with_options(list_folder, root, options), root, options);
}

Dataset Dataset::from_csv(const std::string& csv_path, const DatasetOptions& options) {
  validate(options);
  return decode_all(list_with_options(list_manifest, csv_path, options), csv_path, options);
}

Dataset Dataset::load(const std::string& path, const DatasetOptions& options) {
  const bool csv = path.size() > 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  return csv ? from_csv(path, options) : from_folder(path, options);
}

Dataset Dataset::from_images(const std::vector<Image>& images, const std::vector<int>& labels,
                             const std::vector<std::string>& classes,
                             const std::vector<std::string>& patients, const DatasetOptions& options) {
  validate(options);
  if (images.size() != labels.size())
    throw InvalidArgument(fmt::format("from_images: {} images but {} labels", images.size(), labels.size()));
  if (!patients.empty() && patients.size() != images.size())
    throw InvalidArgument(fmt::format("from_images: {} images but {} patient ids", images.size(), patients.size()));
  if (classes.empty()) throw InvalidArgument("from_images: no class names given");
  if (images.empty()) throw DatasetError("from_images: no images given");
  Storage s;
  s.source = "memory";
  s.classes = classes;
  s.image_size = options.image_size;
  s.channels = options.channels;
  s.pixels.reserve(images.size() * s.image_bytes());
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Image& img = images[i];
    if (labels[i] < 0 || labels[i] >= static_cast<int>(classes.size()))
      throw InvalidArgument(fmt::format("from_images: image {} has label {} outside [0, {})", i, labels[i], classes.size()));
    if (img.channels != options.channels)
      throw InvalidArgument(fmt::format("from_images: image {} has {} channel(s), expected {}", i, img.channels, options.channels));
    const Image sized = fit_square(img, options.image_size, options.geometry);
    s.pixels.insert(s.pixels.end(), sized.pixels.begin(), sized.pixels.end());
    s.paths.push_back(fmt::format("memory:{}", i));
    s.labels.push_back(labels[i]);
    s.patients.push_back(patients.empty() ? fmt::format("image{}", i) : patients[i]);
    s.views.emplace_back();
  }
  return DatasetBuilder::make(std::move(s));
}

std::string Dataset::to_csv() const {
  std::string out = "path,label,patient\n";
  for (std::size_t i = 0; i < size(); ++i) {
    if (path(i).rfind("memory:", 0) == 0) throw InvalidArgument("to_csv: the dataset holds images built in memory, which have no file");
    out += csv_field(fs::absolute(path(i)).lexically_normal().string()) + "," + csv_field(classes()[label(i)]) + "," +
           csv_field(patient(i)) + "\n";
  }
  return out;
}

void Dataset::save_csv(const std::string& path) const { write_file_atomic(path, to_csv()); }

}  // namespace xraykit
