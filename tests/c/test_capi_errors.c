/* The C ABI's error paths, written in C: NULL handles and pointers, freed handles, wrong
 * sizes, bad arguments, buffer size queries, and the thread-local last error. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xraykit.h"

static int passed = 0, failed = 0;

#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (cond) {                                                        \
      ++passed;                                                        \
    } else {                                                           \
      ++failed;                                                        \
      printf("FAILED line %d: %s (last error: %s)\n", __LINE__, #cond, xrk_last_error()); \
    }                                                                  \
  } while (0)

static int mentions(const char *needle) { return strstr(xrk_last_error(), needle) != NULL; }

static void *other_thread(void *arg) {
  (void)arg;
  /* A fresh thread has no error, whatever happened on the main thread. */
  *(int *)arg = xrk_last_error()[0] == '\0';
  return NULL;
}

static int relog_calls = 0;
static void relog(int32_t level, const char *message, void *user) {
  (void)level, (void)message, (void)user;
  ++relog_calls;
  xrk_set_log_callback(relog, NULL); /* replacing the hook from inside it */
}

static void *free_augmenter(void *handle) {
  xrk_augmenter_free((xrk_augmenter *)handle);
  return NULL;
}

int main(void) {
  xrk_classifier *model = NULL;
  xrk_dataset *data = NULL;
  xrk_augmenter *aug = NULL;
  float probs[2];
  double value = 0;
  size_t n = 0;

  EXPECT(strcmp(xrk_version(), "0.1.0") == 0);
  EXPECT(strcmp(xrk_status_string(XRK_ERR_MODEL), "model error") == 0);

  /* NULL handles and NULL out-pointers. */
  EXPECT(xrk_dataset_size(NULL, &n) == XRK_ERR_INVALID_HANDLE && mentions("dataset handle is NULL"));
  EXPECT(xrk_classifier_threshold(NULL, &value) == XRK_ERR_INVALID_HANDLE);
  EXPECT(xrk_classifier_predict_file(NULL, "x.png", probs, 2, NULL) == XRK_ERR_INVALID_HANDLE);
  EXPECT(xrk_classifier_predict_file(NULL, "x.png", NULL, 2, NULL) == XRK_ERR_INVALID_ARGUMENT && mentions("probs is NULL"));
  EXPECT(xrk_dataset_load("/nonexistent", NULL, NULL) == XRK_ERR_INVALID_ARGUMENT && mentions("out is NULL"));
  EXPECT(xrk_dataset_load(NULL, NULL, &data) == XRK_ERR_INVALID_ARGUMENT && mentions("path is NULL"));
  EXPECT(xrk_classifier_save(NULL, "/tmp/x.xrk") == XRK_ERR_INVALID_HANDLE);

  /* Bad arguments get their own codes and messages naming the problem. */
  EXPECT(xrk_dataset_load("/nonexistent/xrays", NULL, &data) == XRK_ERR_IO && mentions("no such folder") && data == NULL);
  EXPECT(xrk_augmenter_create("rotate=5,wobble=1", &aug) == XRK_ERR_INVALID_ARGUMENT && mentions("wobble") && aug == NULL);
  const char *classes[] = {"NORMAL", "PNEUMONIA"};
  EXPECT(xrk_classifier_create("resnet19", classes, 2, NULL, &model) == XRK_ERR_INVALID_ARGUMENT && mentions("resnet19"));
  EXPECT(xrk_classifier_load("/nonexistent/model.xrk", &model) == XRK_ERR_IO);
  EXPECT(xrk_classifier_load("/etc/hostname", &model) == XRK_ERR_MODEL && mentions("not an xraykit model"));
  const char *bad_names[] = {"a", NULL};
  EXPECT(xrk_classifier_create("resnet18", bad_names, 2, NULL, &model) == XRK_ERR_INVALID_ARGUMENT &&
         mentions("class_names[1] is NULL"));
  xrk_classifier_params unset;
  memset(&unset, 0, sizeof unset);
  EXPECT(xrk_classifier_create("resnet18", classes, 2, &unset, &model) == XRK_ERR_INVALID_ARGUMENT &&
         mentions("struct_size"));

  /* A working classifier; wrong sizes and bad pixels. */
  xrk_classifier_params cp = xrk_classifier_default_params();
  cp.image_size = 64;
  EXPECT(xrk_classifier_create("resnet18", classes, 2, &cp, &model) == XRK_OK && model != NULL);
  unsigned char px[32 * 32];
  memset(px, 100, sizeof px);
  int32_t label = -1;
  EXPECT(xrk_classifier_predict_pixels(model, px, 32, 32, 1, probs, 1, &label) == XRK_ERR_BUFFER_TOO_SMALL);
  EXPECT(xrk_classifier_predict_pixels(model, px, 32, 32, 2, probs, 2, &label) == XRK_ERR_INVALID_ARGUMENT);
  EXPECT(xrk_classifier_predict_pixels(model, px, 32, 32, 1, probs, 2, &label) == XRK_OK);
  EXPECT(fabs(probs[0] + probs[1] - 1.0) < 1e-5 && (label == 0 || label == 1));
  EXPECT(xrk_classifier_set_threshold(model, 2.0) == XRK_ERR_INVALID_ARGUMENT);
  EXPECT(xrk_classifier_predict_file(model, "/nonexistent.png", probs, 2, &label) == XRK_ERR_IO);
  float ood = 0;
  EXPECT(xrk_classifier_predict_file_ood(model, "/nonexistent.png", probs, 2, &label, &ood) == XRK_ERR_IO &&
         mentions("nonexistent.png"));
  EXPECT(xrk_classifier_predict_file_ood(NULL, "x.png", probs, 2, &label, &ood) == XRK_ERR_INVALID_HANDLE);
  EXPECT(xrk_classifier_save(model, "/nonexistent-dir/m.xrk") == XRK_ERR_IO);
  EXPECT(xrk_classifier_fit(model, NULL, NULL, NULL, NULL) == XRK_ERR_INVALID_HANDLE);
  EXPECT(xrk_train_default_params().mixup == 0.0); /* off unless asked for, as TrainOptions */
  EXPECT(xrk_train_default_params().ema == 0.0);
  EXPECT(xrk_train_default_params().cutmix == 0.0);
  EXPECT(xrk_train_default_params().stochastic_depth == 0.0);

  /* The shipped model loads by name; a missing one names where it looked. */
  xrk_classifier *shipped = NULL;
  EXPECT(xrk_classifier_load_shipped(NULL, &shipped) == XRK_OK && shipped != NULL);
  xrk_classifier_free(shipped);
  EXPECT(xrk_classifier_load_shipped("nosuchmodel", &shipped) == XRK_ERR_IO && mentions("XRAYKIT_MODELS") && shipped == NULL);
  EXPECT(xrk_classifier_load_shipped("../etc", &shipped) == XRK_ERR_INVALID_ARGUMENT);

  int32_t input = 0;
  EXPECT(xrk_classifier_input_size(model, &input) == XRK_OK && input == 64);
  EXPECT(xrk_classifier_explain_file(model, "/nonexistent.png", -1, NULL, NULL, 0, NULL, 0, NULL) == XRK_ERR_IO);

  /* Buffers: a size query, a too-small buffer (truncated, NUL-terminated), an exact one. */
  size_t needed = 0;
  EXPECT(xrk_classifier_describe(model, NULL, 0, &needed) == XRK_OK && needed > 10);
  char small[8];
  EXPECT(xrk_classifier_describe(model, small, sizeof small, NULL) == XRK_ERR_BUFFER_TOO_SMALL && strlen(small) == 7);
  char big[4096];
  EXPECT(xrk_classifier_describe(model, big, sizeof big, NULL) == XRK_OK && strstr(big, "resnet18") != NULL);

  /* Augmenter: output buffer checks. */
  EXPECT(xrk_augmenter_create("medium", &aug) == XRK_OK);
  unsigned char out[32 * 32];
  EXPECT(xrk_augmenter_apply(aug, px, 32, 1, 7, out, 10) == XRK_ERR_BUFFER_TOO_SMALL);
  EXPECT(xrk_augmenter_apply(aug, px, 32, 1, 7, out, sizeof out) == XRK_OK);
  EXPECT(xrk_augmenter_apply(aug, px, 32, 1, 7, px, sizeof px) == XRK_ERR_INVALID_ARGUMENT);

  /* A handle of another kind is refused, not used as the wrong object; freeing it as the
   * wrong kind does nothing (issue 12, item 12). */
  EXPECT(xrk_classifier_threshold((const xrk_classifier *)aug, &value) == XRK_ERR_INVALID_HANDLE &&
         mentions("another kind"));
  xrk_classifier_free((xrk_classifier *)aug);
  EXPECT(xrk_augmenter_apply(aug, px, 32, 1, 7, out, sizeof out) == XRK_OK);

  /* A log callback may replace itself without deadlocking. */
  char dir[] = "/tmp/xrk_capi_XXXXXX";
  EXPECT(mkdtemp(dir) != NULL);
  char saved[64];
  snprintf(saved, sizeof saved, "%s/m.xrk", dir);
  xrk_set_log_callback(relog, NULL);
  EXPECT(xrk_classifier_save(model, saved) == XRK_OK);
  EXPECT(xrk_classifier_save(model, saved) == XRK_OK);
  EXPECT(relog_calls == 2);
  xrk_set_log_callback(NULL, NULL);
  remove(saved);
  rmdir(dir);

  /* Two threads freeing one handle delete it once. */
  for (int round = 0; round < 50; ++round) {
    xrk_augmenter *shared = NULL;
    EXPECT(xrk_augmenter_create("light", &shared) == XRK_OK);
    pthread_t a, b;
    pthread_create(&a, NULL, free_augmenter, shared);
    pthread_create(&b, NULL, free_augmenter, shared);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
  }

  /* Freed handles are refused, not used; _free accepts NULL and double frees. */
  xrk_classifier_free(model);
  EXPECT(xrk_classifier_threshold(model, &value) == XRK_ERR_INVALID_HANDLE && mentions("not live"));
  xrk_classifier_free(model);
  xrk_augmenter_free(aug);
  EXPECT(xrk_augmenter_apply(aug, px, 32, 1, 7, out, sizeof out) == XRK_ERR_INVALID_HANDLE);
  xrk_classifier_free(NULL);
  xrk_dataset_free(NULL);
  xrk_augmenter_free(NULL);
  xrk_evaluation_free(NULL);
  /* A pointer that never was a handle. */
  EXPECT(xrk_dataset_size((const xrk_dataset *)&value, &n) == XRK_ERR_INVALID_HANDLE);

  /* The last error is per thread. */
  EXPECT(xrk_last_error()[0] != '\0');
  int clean = 0;
  pthread_t t;
  pthread_create(&t, NULL, other_thread, &clean);
  pthread_join(t, NULL);
  EXPECT(clean == 1);
  /* And a successful call clears it. */
  EXPECT(xrk_augmenter_create("none", &aug) == XRK_OK && xrk_last_error()[0] == '\0');
  xrk_augmenter_free(aug);

  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
