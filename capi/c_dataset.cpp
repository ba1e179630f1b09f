// C ABI: datasets and augmenters.
#include "handles.hpp"

using xrk::check;
using xrk::guard;
using xrk::need;

extern "C" {

xrk_dataset_params xrk_dataset_default_params(void) {
  const xraykit::DatasetOptions d;
  xrk_dataset_params p{};
  p.struct_size = sizeof p;
  p.image_size = d.image_size;
  p.channels = d.channels;
  p.threads = d.threads;
  p.strict = d.strict;
  p.max_pixels = d.max_pixels;
  p.patient_regex = nullptr;
  p.pneumonia_kinds = d.pneumonia_kinds;
  return p;
}

xrk_status xrk_dataset_load(const char* path, const xrk_dataset_params* params, xrk_dataset** out) {
  return guard([&] {
    need(path, "path");
    need(out, "out");
    *out = nullptr;
    const xrk_dataset_params p = xrk::params_or_default(params, xrk_dataset_default_params());
    xraykit::DatasetOptions o;
    o.image_size = p.image_size;
    o.channels = p.channels;
    o.threads = p.threads;
    o.strict = p.strict != 0;
    o.max_pixels = p.max_pixels;
    if (p.patient_regex) o.patient_regex = p.patient_regex;
    o.pneumonia_kinds = p.pneumonia_kinds != 0;
    auto* h = new xrk_dataset{xraykit::Dataset::load(path, o)};
    xrk::log(1, "loaded " + h->data.summary());
    *out = xrk::make(h);
  });
}

xrk_status xrk_dataset_split(const xrk_dataset* data, double val_fraction, uint64_t seed, xrk_dataset** train,
                             xrk_dataset** val) {
  return guard([&] {
    check(data, "dataset");
    need(train, "train");
    need(val, "val");
    *train = *val = nullptr;
    xraykit::Split s = data->data.split(val_fraction, seed);
    auto* t = new xrk_dataset{std::move(s.train)};
    auto* v = new xrk_dataset{std::move(s.val)};
    *train = xrk::make(t);
    *val = xrk::make(v);
  });
}

xrk_status xrk_dataset_size(const xrk_dataset* data, size_t* images) {
  return guard([&] {
    need(images, "images");
    *images = check(data, "dataset")->data.size();
  });
}

xrk_status xrk_dataset_num_classes(const xrk_dataset* data, size_t* classes) {
  return guard([&] {
    need(classes, "classes");
    *classes = check(data, "dataset")->data.classes().size();
  });
}

xrk_status xrk_dataset_class_count(const xrk_dataset* data, size_t class_index, size_t* images) {
  return guard([&] {
    need(images, "images");
    const auto counts = check(data, "dataset")->data.class_counts();
    if (class_index >= counts.size()) throw xrk::Failure{XRK_ERR_INVALID_ARGUMENT, "class_index out of range"};
    *images = static_cast<size_t>(counts[class_index]);
  });
}

xrk_status xrk_dataset_class_name(const xrk_dataset* data, size_t class_index, char* buf, size_t buf_size,
                                  size_t* needed) {
  return guard([&] {
    const auto& classes = check(data, "dataset")->data.classes();
    if (class_index >= classes.size()) throw xrk::Failure{XRK_ERR_INVALID_ARGUMENT, "class_index out of range"};
    xrk::string_out(classes[class_index], buf, buf_size, needed);
  });
}

xrk_status xrk_dataset_summary(const xrk_dataset* data, char* buf, size_t buf_size, size_t* needed) {
  return guard([&] { xrk::string_out(check(data, "dataset")->data.detailed_summary(), buf, buf_size, needed); });
}

void xrk_dataset_free(xrk_dataset* data) { xrk::release(data); }

xrk_status xrk_augmenter_create(const char* spec, xrk_augmenter** out) {
  return guard([&] {
    need(spec, "spec");
    need(out, "out");
    *out = nullptr;
    *out = xrk::make(new xrk_augmenter{xraykit::Augmenter(std::string(spec))});
  });
}

xrk_status xrk_augmenter_apply(const xrk_augmenter* aug, const uint8_t* pixels, int32_t size, int32_t channels,
                               uint64_t seed, uint8_t* out, size_t out_size) {
  return guard([&] {
    check(aug, "augmenter");
    need(pixels, "pixels");
    need(out, "out");
    if (size < 1 || (channels != 1 && channels != 3))
      throw xrk::Failure{XRK_ERR_INVALID_ARGUMENT, "size must be positive and channels 1 or 3"};
    const size_t n = static_cast<size_t>(size) * size * channels;
    if (out_size < n)
      throw xrk::Failure{XRK_ERR_BUFFER_TOO_SMALL, "out has " + std::to_string(out_size) + " bytes; " + std::to_string(n) + " needed"};
    if (out == pixels) throw xrk::Failure{XRK_ERR_INVALID_ARGUMENT, "out must not be the input buffer"};
    aug->augmenter.apply(pixels, size, channels, seed, out);
  });
}

void xrk_augmenter_free(xrk_augmenter* aug) { xrk::release(aug); }

}  // extern "C"
