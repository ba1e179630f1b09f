// Driving libxraykit_c from Node.js with koffi (an FFI package from npm; no compiled glue):
// create a model, save and load it, classify an image file, read the error for a bad file.
//
// usage: node examples/node/predict_koffi.mjs LIBXRAYKIT_C IMAGE      (npm install in examples/node first)
//
// Ownership as in xraykit.h: handles come out through an out-pointer and are freed with their
// _free function; the string from xrk_last_error() belongs to the library (koffi copies it).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import koffi from "koffi";

const [libPath, image] = process.argv.slice(2);
const lib = koffi.load(libPath);

const version = lib.func("const char *xrk_version(void)");
const lastError = lib.func("const char *xrk_last_error(void)");
const statusString = lib.func("const char *xrk_status_string(int status)");
const create = lib.func("int xrk_classifier_create(const char *arch, const char **names, size_t n, void *params, _Out_ void **out)");
const save = lib.func("int xrk_classifier_save(void *model, const char *path)");
const load = lib.func("int xrk_classifier_load(const char *path, _Out_ void **out)");
const numClasses = lib.func("int xrk_classifier_num_classes(void *model, _Out_ size_t *k)");
const predictFile = lib.func("int xrk_classifier_predict_file(void *model, const char *path, _Out_ float *probs, size_t len, _Out_ int32_t *label)");
const free = lib.func("void xrk_classifier_free(void *model)");

function check(status, what) {
  if (status !== 0) throw new Error(`${what}: ${statusString(status)}: ${lastError()}`);
}

console.log(`xraykit ${version()} through koffi`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "xraykit-node-"));
const created = [null];
check(create("resnet18", ["NORMAL", "PNEUMONIA"], 2, null, created), "create");
const model = [null];
try {
  check(save(created[0], path.join(tmp, "model.xrk")), "save");
  check(load(path.join(tmp, "model.xrk"), model), "load");
} finally {
  free(created[0]);
}
try {
  const k = [0];
  check(numClasses(model[0], k), "num_classes");
  const probs = new Float32Array(Number(k[0]));
  const label = [0];
  check(predictFile(model[0], image, probs, probs.length, label), "predict");
  console.log(`${image}: class ${label[0]}, probabilities ${Array.from(probs, (p) => p.toFixed(4)).join(", ")}`);
  if (Math.abs(probs[0] + probs[1] - 1) > 1e-4 || ![0, 1].includes(label[0])) throw new Error("implausible prediction");
  // A file that is not an image: a status, and the reason naming the file.
  const bad = path.join(tmp, "bad.jpeg");
  fs.writeFileSync(bad, "not an image at all");
  const status = predictFile(model[0], bad, probs, probs.length, label);
  console.log(`bad file: ${statusString(status)}: ${lastError()}`);
  if (status === 0 || !lastError().includes(bad)) throw new Error("a bad file was not refused with its name");
} finally {
  free(model[0]);
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log("node example OK");
