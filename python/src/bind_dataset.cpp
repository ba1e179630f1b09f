// xraykit.Dataset.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "common.hpp"
#include "xraykit/xraykit.hpp"

namespace xrkpy {

using namespace xraykit;

namespace {

DatasetOptions dataset_options(int image_size, int channels, int threads, bool strict) {
  DatasetOptions o;
  o.image_size = image_size;
  o.channels = channels;
  o.threads = threads;
  o.strict = strict;
  return o;
}

using DatasetClass = py::class_<Dataset>;

// Loading: folders, CSV manifests, arrays.
void add_constructors(DatasetClass& cls) {
  cls
      .def_static(
          "from_folder",
          [](const std::string& root, int image_size, int channels, int threads, bool strict,
             const std::string& patient_regex, bool pneumonia_kinds) {
            must_exist(root);
            DatasetOptions o = dataset_options(image_size, channels, threads, strict);
            o.patient_regex = patient_regex;
            o.pneumonia_kinds = pneumonia_kinds;
            py::gil_scoped_release release;
            return Dataset::from_folder(root, o);
          },
          py::arg("root"), py::arg("image_size") = 224, py::arg("channels") = 1, py::arg("threads") = 0,
          py::arg("strict") = false, py::arg("patient_regex") = "", py::arg("pneumonia_kinds") = false,
          "Reads ROOT/<class>/<image>; class order is the sorted folder names. Bad files are skipped "
          "(see .skipped) unless strict=True. pneumonia_kinds=True splits PNEUMONIA into BACTERIAL and VIRAL "
          "by file name (classes NORMAL, BACTERIAL, VIRAL).")
      .def_static(
          "from_csv",
          [](const std::string& csv, int image_size, int channels, int threads, bool strict, std::vector<std::string> classes,
             bool pneumonia_kinds) {
            must_exist(csv);
            DatasetOptions o = dataset_options(image_size, channels, threads, strict);
            o.classes = std::move(classes);
            o.pneumonia_kinds = pneumonia_kinds;
            py::gil_scoped_release release;
            return Dataset::from_csv(csv, o);
          },
          py::arg("csv"), py::arg("image_size") = 224, py::arg("channels") = 1, py::arg("threads") = 0,
          py::arg("strict") = false, py::arg("classes") = std::vector<std::string>{}, py::arg("pneumonia_kinds") = false,
          "Reads a manifest with rows path,label[,patient]; paths relative to the CSV.")
      .def_static(
          "from_arrays",
          [](const py::object& images, std::vector<int> labels, std::vector<std::string> classes,
             std::vector<std::string> patients, int image_size) {
            auto imgs = to_images(images);
            DatasetOptions o;
            o.image_size = image_size;
            o.channels = imgs.empty() ? 1 : imgs[0].channels;
            return Dataset::from_images(imgs, labels, classes, patients, o);
          },
          py::arg("images"), py::arg("labels"), py::arg("classes"), py::arg("patients") = std::vector<std::string>{},
          py::arg("image_size") = 224, "Builds a dataset from numpy images (N,H,W[,C]) uint8 or float32 in [0,1].");
}

// What is in it, its samples, views and splits.
void add_accessors(DatasetClass& cls) {
  cls
      .def("__len__", &Dataset::size)
      .def_property_readonly("classes", &Dataset::classes)
      .def_property_readonly("image_size", &Dataset::image_size)
      .def_property_readonly("channels", &Dataset::channels)
      .def("class_counts", &Dataset::class_counts, "Images per class.")
      .def("patient_counts", &Dataset::patient_counts, "Distinct patients per class.")
      .def("num_patients", &Dataset::num_patients)
      .def("class_weights", &Dataset::class_weights, "Balanced weights n / (k * count).")
      .def_property_readonly("skipped",
                             [](const Dataset& d) {
                               py::list l;
                               for (const auto& s : d.skipped()) l.append(py::make_tuple(s.path, s.reason));
                               return l;
                             }, "(path, reason) of every file that was not loaded.")
      .def_property_readonly("warnings", &Dataset::warnings)
      .def("summary", &Dataset::summary)
      .def("detailed_summary", &Dataset::detailed_summary)
      .def("path", &Dataset::path, py::arg("i"))
      .def("label", &Dataset::label, py::arg("i"))
      .def("patient", &Dataset::patient, py::arg("i"))
      .def("view_position", &Dataset::view_position, py::arg("i"),
           "DICOM ViewPosition of the file (AP, PA, ...); empty for other formats.")
      .def("image", [](const Dataset& d, std::size_t i) { return to_array(d.image(i)); }, py::arg("i"),
           "The cached image as uint8 (H, W) or (H, W, 3).")
      .def("subset", &Dataset::subset, py::arg("positions"))
      .def(
          "split",
          [](const Dataset& d, double val, std::uint64_t seed) {
            Split s = d.split(val, seed);
            return py::make_tuple(s.train, s.val);
          },
          py::arg("val_fraction") = 0.15, py::arg("seed") = 42,
          "Stratified, patient-disjoint (train, val) split.")
      .def(
          "kfold",
          [](const Dataset& d, int k, std::uint64_t seed) {
            py::list l;
            for (auto& s : d.kfold(k, seed)) l.append(py::make_tuple(s.train, s.val));
            return l;
          },
          py::arg("k") = 5, py::arg("seed") = 42, "k patient-disjoint (train, val) folds.")
      .def(
          "batch",
          [](const Dataset& d, const std::vector<std::size_t>& positions) {
            Batch b = d.batch(positions);
            py::array_t<float> x({b.n, b.channels, b.height, b.width});
            std::copy(b.images.begin(), b.images.end(), x.mutable_data());
            return py::make_tuple(x, py::array_t<std::int64_t>(b.labels.size(), b.labels.data()));
          },
          py::arg("positions"), "Normalised float32 NCHW images and int64 labels.")
      .def("__repr__", [](const Dataset& d) { return "<xraykit.Dataset " + d.summary() + ">"; });
}

}  // namespace

void bind_dataset(py::module_& m) {
  DatasetClass cls(m, "Dataset", "Labelled images decoded once into memory; cheap views share the pixels.");
  add_constructors(cls);
  add_accessors(cls);
}

}  // namespace xrkpy
