/* xraykit C ABI: a stable C99 interface to the xraykit library.
 *
 * Conventions (as in SQLite and llama.cpp):
 * - Objects are opaque handles created by xrk_*_create/_load and released by xrk_*_free.
 *   Every _free accepts NULL. A handle that was freed, or was never one, is answered with
 *   XRK_ERR_INVALID_HANDLE, not a crash (handles are checked against a registry).
 * - Every call that can fail returns an xrk_status. On failure, xrk_last_error() gives a
 *   message for the calling thread; it stays valid until that thread's next xrk_ call.
 * - No C++ exception ever crosses this boundary.
 * - Params structs begin with `struct_size`: fill them from xrk_*_default_params(), which sets
 *   it, then change fields. Later versions add fields at the end and read only as many bytes
 *   as the caller's struct_size says, so old callers keep working.
 * - Strings and buffers returned to the caller go into caller-owned buffers: pass a buffer
 *   and its size; `needed` (optional) receives the size required, including the final NUL.
 *   With a buffer too small the call returns XRK_ERR_BUFFER_TOO_SMALL and writes what fits.
 * - Thread safety: a classifier may serve xrk_classifier_predict_* from several threads at
 *   once. Training (xrk_classifier_fit), loading weights into it and freeing it need the
 *   caller to ensure no other call on the same classifier is running. Datasets, augmenters and
 *   evaluations are immutable once made: any number of threads may read them.
 */
#ifndef XRAYKIT_H
#define XRAYKIT_H

#include <stddef.h>
#include <stdint.h>

#define XRK_VERSION_MAJOR 0
#define XRK_VERSION_MINOR 1
#define XRK_VERSION_PATCH 0

#if defined(_WIN32)
#define XRK_API __declspec(dllexport)
#else
#define XRK_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum xrk_status {
  XRK_OK = 0,
  XRK_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad value or spec */
  XRK_ERR_INVALID_HANDLE = 2,   /* NULL, freed or foreign handle */
  XRK_ERR_IO = 3,               /* file cannot be read or written */
  XRK_ERR_IMAGE = 4,            /* bytes are not an accepted image */
  XRK_ERR_DATASET = 5,          /* dataset cannot be built or used as asked */
  XRK_ERR_MODEL = 6,            /* not a model file, truncated, or weights that do not fit */
  XRK_ERR_CANCELLED = 7,        /* training stopped by the progress callback */
  XRK_ERR_BUFFER_TOO_SMALL = 8, /* see `needed` */
  XRK_ERR_INTERNAL = 99
} xrk_status;

typedef struct xrk_dataset xrk_dataset;
typedef struct xrk_augmenter xrk_augmenter;
typedef struct xrk_classifier xrk_classifier;
typedef struct xrk_evaluation xrk_evaluation;

/* "MAJOR.MINOR.PATCH" of the library; static storage. */
XRK_API const char *xrk_version(void);
/* The calling thread's last error message ("" if none); owned by the library. */
XRK_API const char *xrk_last_error(void);
/* A fixed English name for a status; static storage. */
XRK_API const char *xrk_status_string(xrk_status status);

/* Logging hook: the library reports notable events (datasets loaded, epochs finished, models
 * saved). level: 0 debug, 1 info, 2 warning. The message is valid during the call only.
 * NULL restores silence. The hook may be called from any thread that calls into xraykit, and
 * may itself call xrk_set_log_callback (a hook being replaced may still see one last call). */
typedef void (*xrk_log_fn)(int32_t level, const char *message, void *user_data);
XRK_API void xrk_set_log_callback(xrk_log_fn fn, void *user_data);

/* ---- Dataset ------------------------------------------------------------------------- */
typedef struct xrk_dataset_params {
  uint32_t struct_size;
  int32_t image_size;     /* default 224 */
  int32_t channels;       /* 1 (default) or 3 */
  int32_t threads;        /* decoding threads; 0 = OMP_NUM_THREADS if set, else all cores */
  int32_t strict;         /* non-zero: the first bad file is an error */
  int64_t max_pixels;     /* per source image */
  const char *patient_regex; /* NULL = built-in rules; copied during the call */
  int32_t pneumonia_kinds;  /* non-zero: PNEUMONIA split into BACTERIAL and VIRAL by file name (NORMAL, BACTERIAL, VIRAL) */
} xrk_dataset_params;

XRK_API xrk_dataset_params xrk_dataset_default_params(void);
/* A folder with one subfolder per class, or a CSV manifest (path ends in .csv).
 * *out receives a new dataset the caller frees with xrk_dataset_free. params may be NULL. */
XRK_API xrk_status xrk_dataset_load(const char *path, const xrk_dataset_params *params, xrk_dataset **out);
/* Patient-disjoint, stratified split. Both outputs are new handles; they share pixels with
 * `data`, which may be freed before them. */
XRK_API xrk_status xrk_dataset_split(const xrk_dataset *data, double val_fraction, uint64_t seed,
                                     xrk_dataset **train, xrk_dataset **val);
XRK_API xrk_status xrk_dataset_size(const xrk_dataset *data, size_t *images);
XRK_API xrk_status xrk_dataset_num_classes(const xrk_dataset *data, size_t *classes);
XRK_API xrk_status xrk_dataset_class_count(const xrk_dataset *data, size_t class_index, size_t *images);
XRK_API xrk_status xrk_dataset_class_name(const xrk_dataset *data, size_t class_index, char *buf, size_t buf_size,
                                          size_t *needed);
/* The detailed summary text (classes, patients, skipped files with reasons). */
XRK_API xrk_status xrk_dataset_summary(const xrk_dataset *data, char *buf, size_t buf_size, size_t *needed);
XRK_API void xrk_dataset_free(xrk_dataset *data);

/* ---- Augmenter ----------------------------------------------------------------------- */
/* spec: a preset (none, light, medium, strong) or tokens such as "rotate=10,gamma=0.8:1.25". */
XRK_API xrk_status xrk_augmenter_create(const char *spec, xrk_augmenter **out);
/* Augments a size x size x channels (HWC, uint8) image into out (out_size bytes, at least
 * size*size*channels). The same seed gives the same image. */
XRK_API xrk_status xrk_augmenter_apply(const xrk_augmenter *aug, const uint8_t *pixels, int32_t size, int32_t channels,
                                       uint64_t seed, uint8_t *out, size_t out_size);
XRK_API void xrk_augmenter_free(xrk_augmenter *aug);

/* ---- Classifier ---------------------------------------------------------------------- */
typedef struct xrk_classifier_params {
  uint32_t struct_size;
  int32_t image_size; /* default 224 */
  int32_t channels;   /* 1 (default) or 3 */
  uint64_t seed;      /* weight initialisation */
} xrk_classifier_params;

XRK_API xrk_classifier_params xrk_classifier_default_params(void);
/* arch: "resnet18" ... "resnet152"; class names are copied. params may be NULL. */
XRK_API xrk_status xrk_classifier_create(const char *arch, const char *const *class_names, size_t num_classes,
                                         const xrk_classifier_params *params, xrk_classifier **out);
XRK_API xrk_status xrk_classifier_load(const char *path, xrk_classifier **out);
/* Loads a model shipped with xraykit: name NULL means "pneumonia" (NORMAL/PNEUMONIA). Looks
 * in $XRAYKIT_MODELS, then beside the library, then the install prefix (XRK_ERR_IO naming the
 * places tried when none holds it). */
XRK_API xrk_status xrk_classifier_load_shipped(const char *name, xrk_classifier **out);
XRK_API xrk_status xrk_classifier_save(const xrk_classifier *model, const char *path);
/* Loads a torchvision state_dict (torch.save(model.state_dict(), path)) for transfer learning. */
XRK_API xrk_status xrk_classifier_load_torchvision(xrk_classifier *model, const char *pth_path);
/* Human-readable model card. */
XRK_API xrk_status xrk_classifier_describe(const xrk_classifier *model, char *buf, size_t buf_size, size_t *needed);
XRK_API xrk_status xrk_classifier_num_classes(const xrk_classifier *model, size_t *classes);
XRK_API xrk_status xrk_classifier_threshold(const xrk_classifier *model, double *threshold);
XRK_API xrk_status xrk_classifier_set_threshold(xrk_classifier *model, double threshold);

typedef struct xrk_progress {
  int32_t epoch, epochs;
  int64_t step, steps;
  double loss, learning_rate, images_per_second, eta_seconds;
  int32_t epoch_end; /* non-zero after an epoch's validation; then the val_ fields are set */
  double val_loss, val_auc, val_accuracy;
} xrk_progress;

/* Called on the training thread after every step and epoch. Return 0 to stop training
 * cleanly (fit then returns XRK_ERR_CANCELLED, keeping the best epoch so far), non-zero to go on. */
typedef int32_t (*xrk_progress_fn)(const xrk_progress *progress, void *user_data);

typedef struct xrk_train_params {
  uint32_t struct_size;
  int32_t epochs;            /* default 10 */
  int32_t batch_size;        /* default 32 */
  const char *optimizer;     /* "adamw" (default) or "sgd" */
  double learning_rate;      /* default 1e-3 */
  double weight_decay;       /* default 1e-4 */
  double warmup_epochs;      /* default 1 */
  double label_smoothing;    /* default 0 */
  int32_t balance;           /* XRK_BALANCE_NONE, _WEIGHTS (default) or _SAMPLER */
  int32_t freeze_epochs;     /* train only fc first */
  int32_t patience;          /* early stopping; 0 = off */
  const char *augment;       /* default "robust,blur=2" */
  int32_t workers;           /* augmentation threads, default 1 */
  int32_t threads;           /* Torch threads; 0 = OMP_NUM_THREADS if set, else all cores */
  uint64_t seed;             /* default 42 */
  const char *checkpoint;    /* NULL = none */
  int32_t resume;            /* non-zero: continue from checkpoint if it exists */
  int32_t bf16;              /* bfloat16 autocast; default 1 where the CPU has AVX512-BF16 */
  int32_t bootstrap;         /* resamples for the final validation intervals, default 1000 */
  int64_t max_steps_per_epoch; /* 0 = whole epochs */
  xrk_progress_fn progress;  /* may be NULL */
  void *user_data;           /* passed to progress */
  /* Since 0.2 (older callers' struct_size leaves these at their defaults): */
  int32_t keep;              /* XRK_KEEP_LAST (default) or XRK_KEEP_BEST: which epoch's weights */
  const char *threshold_rule; /* "balanced" (default: 0.5), "youden" or "target-sensitivity" */
  /* Since 0.3: */
  double mixup;              /* Beta(mixup, mixup) blend of each batch with itself; 0 = off (default), else 0.01-10 */
  double ema;                /* moving average of the weights, kept instead of the last step's; 0 = off (default), else in (0, 1) */
  double cutmix;             /* Beta(cutmix, cutmix) share of each image replaced by a partner's box; 0 = off (default), else 0.01-10; not with mixup */
  double stochastic_depth;   /* share of images skipping the last residual block's branch per step (less for earlier ones); 0 = off (default), at most 0.5 */
} xrk_train_params;

/* Values of xrk_train_params.balance and .keep (the same order as the C++ enums). */
enum { XRK_BALANCE_NONE = 0, XRK_BALANCE_WEIGHTS = 1, XRK_BALANCE_SAMPLER = 2 };
enum { XRK_KEEP_BEST = 0, XRK_KEEP_LAST = 1 };

XRK_API xrk_train_params xrk_train_default_params(void);
/* Trains on `train`, validating each epoch on `val`; keeps the epoch params.keep names (the last
 * by default); sets the decision threshold (params.threshold_rule). validation (may be NULL) receives a new evaluation of the kept model on
 * `val`, freed with xrk_evaluation_free; it is set also when XRK_ERR_CANCELLED is returned after
 * at least one finished epoch. params may be NULL. */
XRK_API xrk_status xrk_classifier_fit(xrk_classifier *model, const xrk_dataset *train, const xrk_dataset *val,
                                      const xrk_train_params *params, xrk_evaluation **validation);

/* Probabilities for one image file, or for pixels (HWC uint8, 1 or 3 channels, any size).
 * probs receives num_classes floats (probs_len must be at least that); label (may be NULL)
 * receives the predicted class index at the model's threshold. */
XRK_API xrk_status xrk_classifier_predict_file(const xrk_classifier *model, const char *path, float *probs,
                                               size_t probs_len, int32_t *label);
/* xrk_classifier_predict_file with the out-of-distribution check: ood_score (may be NULL)
 * receives how unlike the training X-rays the image is, relative to the model's limit. Above 1
 * the image is not a chest X-ray like those the model knows (a photo, another body part, a
 * blank film): do not use the class then. NaN when the model has no fitted check (files from
 * before it). */
XRK_API xrk_status xrk_classifier_predict_file_ood(const xrk_classifier *model, const char *path, float *probs,
                                                   size_t probs_len, int32_t *label, float *ood_score);
XRK_API xrk_status xrk_classifier_predict_pixels(const xrk_classifier *model, const uint8_t *pixels, int32_t width,
                                                 int32_t height, int32_t channels, float *probs, size_t probs_len,
                                                 int32_t *label);
/* The model's input size in pixels (heatmaps are size x size). */
XRK_API xrk_status xrk_classifier_input_size(const xrk_classifier *model, int32_t *size);
/* Grad-CAM for an image file: class_index -1 explains the predicted class; layer NULL means
 * "layer4". heatmap (may be NULL) receives size*size floats in [0, 1], row-major
 * (heatmap_len >= size*size). png (may be NULL with png_size 0, a size query) receives the
 * overlay (heatmap over the image) as PNG bytes; png_needed (may be NULL) its length. */
XRK_API xrk_status xrk_classifier_explain_file(const xrk_classifier *model, const char *path, int32_t class_index,
                                               const char *layer, float *heatmap, size_t heatmap_len, uint8_t *png,
                                               size_t png_size, size_t *png_needed);
/* Evaluates on a labelled dataset with `bootstrap` patient-level resamples. */
XRK_API xrk_status xrk_classifier_evaluate(const xrk_classifier *model, const xrk_dataset *data, int32_t bootstrap,
                                           xrk_evaluation **out);
XRK_API void xrk_classifier_free(xrk_classifier *model);

/* ---- Evaluation ---------------------------------------------------------------------- */
/* name: "accuracy", "balanced_accuracy", "auc", or for the positive class of a binary model
 * "sensitivity", "specificity", "precision", "f1" (XRK_ERR_INVALID_ARGUMENT on a multi-class one). value, lo, hi: the figure and its 95%
 * interval (NaN when undefined); lo and hi may be NULL. */
XRK_API xrk_status xrk_evaluation_metric(const xrk_evaluation *eval, const char *name, double *value, double *lo,
                                         double *hi);
/* Confusion counts, row-major [true][predicted]; counts_len >= num_classes^2. */
XRK_API xrk_status xrk_evaluation_confusion(const xrk_evaluation *eval, int64_t *counts, size_t counts_len,
                                            size_t *needed);
XRK_API xrk_status xrk_evaluation_json(const xrk_evaluation *eval, char *buf, size_t buf_size, size_t *needed);
/* Writes the self-contained HTML report to a file (atomically). */
XRK_API xrk_status xrk_evaluation_save_html(const xrk_evaluation *eval, const char *path);
XRK_API void xrk_evaluation_free(xrk_evaluation *eval);

#ifdef __cplusplus
}
#endif

#endif /* XRAYKIT_H */
