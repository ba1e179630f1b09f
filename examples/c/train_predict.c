/* The xraykit C ABI end to end: load a dataset, split it by patient, train briefly,
 * evaluate, save, reload, predict. Build as C: cc -std=c99 train_predict.c -lxraykit_c
 * usage: train_predict DATA_DIR OUT_DIR [IMAGE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xraykit.h"

#define CHECK(call)                                                                  \
  do {                                                                               \
    xrk_status st_ = (call);                                                         \
    if (st_ != XRK_OK) {                                                             \
      fprintf(stderr, "%s failed: %s: %s\n", #call, xrk_status_string(st_), xrk_last_error()); \
      return 1;                                                                      \
    }                                                                                \
  } while (0)

static int32_t on_progress(const xrk_progress *p, void *user_data) {
  (void)user_data;
  if (p->epoch_end) printf("epoch %d/%d: loss %.3f, validation AUC %.3f\n", p->epoch, p->epochs, p->loss, p->val_auc);
  return 1; /* go on */
}

static void on_log(int32_t level, const char *message, void *user_data) {
  (void)user_data;
  printf("[log %d] %s\n", level, message);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s DATA_DIR OUT_DIR [IMAGE]\n", argv[0]);
    return 2;
  }
  char model_path[4096], report_path[4096];
  snprintf(model_path, sizeof model_path, "%s/model.xrk", argv[2]);
  snprintf(report_path, sizeof report_path, "%s/report.html", argv[2]);
  printf("xraykit %s\n", xrk_version());
  xrk_set_log_callback(on_log, NULL);

  xrk_dataset_params dp = xrk_dataset_default_params();
  dp.image_size = 64;
  xrk_dataset *data = NULL, *train = NULL, *val = NULL;
  CHECK(xrk_dataset_load(argv[1], &dp, &data));
  CHECK(xrk_dataset_split(data, 0.15, 42, &train, &val));

  size_t num_classes = 0;
  CHECK(xrk_dataset_num_classes(data, &num_classes));
  char names[8][64];
  const char *class_names[8];
  for (size_t i = 0; i < num_classes && i < 8; ++i) {
    CHECK(xrk_dataset_class_name(data, i, names[i], sizeof names[i], NULL));
    class_names[i] = names[i];
  }

  xrk_classifier_params cp = xrk_classifier_default_params();
  cp.image_size = 64;
  xrk_classifier *model = NULL;
  CHECK(xrk_classifier_create("resnet18", class_names, num_classes, &cp, &model));

  xrk_train_params tp = xrk_train_default_params();
  tp.epochs = 1;
  tp.max_steps_per_epoch = 40; /* brief: 40 batches */
  tp.bootstrap = 200;
  tp.progress = on_progress;
  xrk_evaluation *validation = NULL;
  CHECK(xrk_classifier_fit(model, train, val, &tp, &validation));

  double auc = 0, lo = 0, hi = 0, sens = 0, spec = 0;
  CHECK(xrk_evaluation_metric(validation, "auc", &auc, &lo, &hi));
  CHECK(xrk_evaluation_metric(validation, "sensitivity", &sens, NULL, NULL));
  CHECK(xrk_evaluation_metric(validation, "specificity", &spec, NULL, NULL));
  printf("validation (patient-disjoint): AUC %.3f (95%% CI %.3f-%.3f), sensitivity %.3f, specificity %.3f\n", auc, lo,
         hi, sens, spec);
  int64_t cm[4];
  CHECK(xrk_evaluation_confusion(validation, cm, 4, NULL));
  printf("confusion [true][predicted]: %lld %lld / %lld %lld\n", (long long)cm[0], (long long)cm[1], (long long)cm[2],
         (long long)cm[3]);
  CHECK(xrk_evaluation_save_html(validation, report_path));

  CHECK(xrk_classifier_save(model, model_path));
  xrk_classifier *reloaded = NULL;
  CHECK(xrk_classifier_load(model_path, &reloaded));

  size_t needed = 0;
  CHECK(xrk_classifier_describe(reloaded, NULL, 0, &needed)); /* size query */
  char *card = malloc(needed);
  CHECK(xrk_classifier_describe(reloaded, card, needed, NULL));
  printf("%s", card);
  free(card);

  float probs[8];
  int32_t label = -1;
  if (argc > 3) {
    CHECK(xrk_classifier_predict_file(reloaded, argv[3], probs, 8, &label));
    printf("%s -> %s (P = %.3f)\n", argv[3], class_names[label], probs[label]);
    /* Why: a Grad-CAM overlay as PNG (a size query first, then the bytes). */
    size_t png_len = 0;
    CHECK(xrk_classifier_explain_file(reloaded, argv[3], -1, NULL, NULL, 0, NULL, 0, &png_len));
    uint8_t *png = malloc(png_len);
    CHECK(xrk_classifier_explain_file(reloaded, argv[3], -1, NULL, NULL, 0, png, png_len, NULL));
    char overlay_path[4096];
    snprintf(overlay_path, sizeof overlay_path, "%s/gradcam.png", argv[2]);
    FILE *f = fopen(overlay_path, "wb");
    if (f) {
      fwrite(png, 1, png_len, f);
      fclose(f);
      printf("Grad-CAM overlay: %s (%zu bytes)\n", overlay_path, png_len);
    }
    free(png);
  }
  uint8_t grey[96 * 80];
  memset(grey, 128, sizeof grey);
  CHECK(xrk_classifier_predict_pixels(reloaded, grey, 96, 80, 1, probs, 8, &label));
  printf("a flat grey 96x80 image -> %s (P = %.3f)\n", class_names[label], probs[label]);

  xrk_evaluation_free(validation);
  xrk_classifier_free(reloaded);
  xrk_classifier_free(model);
  xrk_dataset_free(val);
  xrk_dataset_free(train);
  xrk_dataset_free(data);
  printf("C example OK\n");
  return 0;
}
