// The studio page: choose data and settings, start and watch training jobs, open their
// reports, publish a model. Everything is decided by the server (/api/studio/...); this file
// only asks and shows.
"use strict";

const $ = (id) => document.getElementById(id);
let polling = null;
let maxUpload = Infinity;  // bytes, from /api/studio/data

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function option(select, value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text || value;
  select.appendChild(o);
}

function element(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

async function loadChoices() {
  const c = await api("/api/studio/data");
  maxUpload = c.max_upload_bytes;
  for (const id of ["dataset", "arch", "size", "augment"]) $(id).replaceChildren();
  if (!c.datasets.length) option($("dataset"), "", "(no folders: start serve with --data-root)");
  for (const name of c.datasets) option($("dataset"), name);
  for (const a of c.archs) option($("arch"), a);
  for (const s of c.sizes) option($("size"), String(s), s + " px");
  option($("augment"), c.defaults.augment, "default (" + c.defaults.augment + ")");
  for (const p of c.augment_presets) option($("augment"), p);
  $("arch").value = c.defaults.arch;
  $("size").value = String(c.defaults.image_size);
  $("epochs").value = c.defaults.epochs;
}

// The zip goes as the request body itself (the server streams it to disk), with progress.
function uploadZip() {
  const file = $("upload-file").files[0];
  // A name the server accepts: letters, digits, '-', '_', '.'; not starting with '.'.
  const name = ($("upload-name").value.trim() || (file ? file.name.replace(/\.zip$/i, "") : ""))
      .replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^\.+/, "").slice(0, 64);
  if (!file) { $("upload-status").textContent = "Choose a zip file first."; return; }
  if (file.size > maxUpload) {
    $("upload-status").textContent = `Error: ${Math.ceil(file.size / 1048576)} MiB is over this server's limit of ` +
        `${Math.floor(maxUpload / 1048576)} MiB (serve --max-upload-mb).`;
    return;
  }
  $("upload-button").disabled = true;
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/studio/uploads?name=" + encodeURIComponent(name));
  xhr.setRequestHeader("Content-Type", "application/zip");
  $("upload-progress").hidden = false;
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) $("upload-progress").value = e.loaded / e.total; };
  xhr.onloadend = () => { $("upload-button").disabled = false; };
  xhr.onload = async () => {
    $("upload-progress").hidden = true;
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: use the status text */ }
    if (xhr.status !== 201) {
      $("upload-status").textContent = "Error: " + (body.error || xhr.statusText);
      return;
    }
    const keep = { arch: $("arch").value, size: $("size").value, augment: $("augment").value, epochs: $("epochs").value };
    await loadChoices();
    $("arch").value = keep.arch;
    $("size").value = keep.size;
    $("augment").value = keep.augment;
    $("epochs").value = keep.epochs;
    $("dataset").value = body.name;
    $("upload-status").textContent = `"${body.name}": ${body.files} files unpacked` +
        (body.skipped.length ? `, ${body.skipped.length} skipped (first: ${body.skipped[0].entry}: ${body.skipped[0].reason})` : "") + ".";
  };
  xhr.onerror = () => { $("upload-progress").hidden = true; $("upload-status").textContent = "Error: the upload failed."; };
  $("upload-status").textContent = "Uploading and unpacking…";
  xhr.send(file);
}

async function showSummary() {
  const box = $("summary");
  box.replaceChildren(element("p", "Reading the images…", "muted"));
  try {
    const s = await api("/api/studio/data/summary?name=" + encodeURIComponent($("dataset").value));
    const table = element("table", undefined, "results-table");
    const head = table.insertRow();
    for (const h of ["Class", "Images", "Patients"]) head.appendChild(element("th", h));
    s.classes.forEach((name, i) => {
      const row = table.insertRow();
      for (const v of [name, s.class_counts[i], s.patient_counts[i]]) row.appendChild(element("td", String(v)));
    });
    box.replaceChildren(element("p", `${s.images} images of ${s.patients} patients; ${s.skipped.length} skipped, ` +
                                    `${s.ignored} ignored (hidden or not images).`, "summary-line"), table);
    if (s.split) box.appendChild(element("pre", s.split));
    if (s.split_error) box.appendChild(element("p", "Cannot split: " + s.split_error, "error"));
    for (const w of s.warnings) box.appendChild(element("p", "Warning: " + w, "error"));
    if (s.skipped.length) {
      const list = element("ul", undefined, "skipped");
      for (const k of s.skipped.slice(0, 50)) list.appendChild(element("li", k.path + ": " + k.reason));
      box.appendChild(element("p", "Skipped files and why:"));
      box.appendChild(list);
    }
  } catch (e) {
    box.replaceChildren(element("p", "Error: " + e.message, "error"));
  }
}

function preview() {
  const img = $("preview");
  img.hidden = false;
  img.src = "/api/studio/data/augment.png?name=" + encodeURIComponent($("dataset").value) +
      "&augment=" + encodeURIComponent($("augment").value) + "&size=" + $("size").value;
}

async function train() {
  $("train-status").textContent = "Starting…";
  try {
    const job = await api("/api/studio/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ data: $("dataset").value, arch: $("arch").value, image_size: Number($("size").value),
                             epochs: Number($("epochs").value), augment: $("augment").value,
                             auto_select: $("auto").checked, budget_minutes: Number($("budget").value) }),
    });
    $("train-status").textContent = "Job " + job.id + " queued.";
    refreshJobs();
  } catch (e) {
    $("train-status").textContent = "Error: " + e.message;
  }
}

const percent = (estimate) => estimate ? (100 * estimate.value).toFixed(1) + "% (" + (100 * estimate.low).toFixed(1) +
    "–" + (100 * estimate.high).toFixed(1) + ")" : "–";

function choicesText(job) {
  const r = job.request, c = job.auto_choice;
  if (!r.auto_select) return `${r.data}: ${r.arch}, ${r.image_size} px, ${r.epochs} epochs, ${r.augment || "default"}`;
  const chosen = c ? `: chose ${c.arch}, ${c.epochs} epochs, ${c.augment}` : " (measuring…)";
  return `${r.data}: auto within ${r.budget_minutes} min, ${r.image_size} px${chosen}`;
}

function autoText(c) {
  const rates = Object.entries(c.measured_images_per_second || {}).map(([a, v]) => `${a} ${v.toFixed(0)} images/s`);
  return `Auto-select measured ${rates.join(", ")} and chose ${c.arch} for ${c.epochs} epochs with ` +
      `'${c.augment}' (about ${Math.round(c.expected_seconds / 60)} min). Why: ${c.reason}`;
}

function progressText(job) {
  const p = job.progress;
  if (job.state !== "running" || !p.epochs) return job.state === "done" ? "finished " + job.epochs_done + " epochs" : "";
  const last = job.last_epoch;
  return `epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}, loss ${p.loss.toFixed(3)}, ` +
      `${p.images_per_second.toFixed(0)} images/s, about ${Math.ceil(p.eta_seconds / 60)} min left` +
      (last && last.val_auc !== null ? `; last validation AUC ${last.val_auc.toFixed(3)}` : "");
}

function action(cell, text, handler) {
  const b = element("button", text, "link");
  b.type = "button";
  b.addEventListener("click", handler);
  cell.appendChild(b);
  cell.appendChild(document.createTextNode(" "));
}

async function refreshJobs() {
  let list;
  try {
    list = await api("/api/studio/jobs");
  } catch (e) {
    $("published").textContent = "Error: " + e.message;
    return;
  }
  const tbody = document.querySelector("#jobs tbody");
  tbody.replaceChildren();
  for (const job of list.jobs) {
    const r = job.request;
    const row = tbody.insertRow();
    row.dataset.id = job.id;
    row.dataset.state = job.state;
    row.appendChild(element("td", job.id));
    row.appendChild(element("td", choicesText(job)));
    row.appendChild(element("td", job.state + (job.published ? " · published" : ""), "state " + job.state));
    row.appendChild(element("td", job.state === "failed" ? job.error : progressText(job), job.state === "failed" ? "error" : ""));
    const res = job.result || {};
    row.appendChild(element("td", res.auc ? `AUC ${res.auc.value.toFixed(3)}; accuracy ${percent(res.accuracy)}` +
        (res.sensitivity ? `; sensitivity ${percent(res.sensitivity)}; specificity ${percent(res.specificity)}` : "") : ""));
    const actions = row.insertCell();
    if (job.state === "running" || job.state === "queued") action(actions, "Cancel", () => cancel(job.id));
    if (job.state === "done") {
      for (const [text, page] of [["Report", "report"], ["Card", "card"]]) {
        const a = element("a", text);
        a.href = "/studio/jobs/" + job.id + "/" + page;
        a.target = "_blank";
        actions.appendChild(a);
        actions.appendChild(document.createTextNode(" "));
      }
      action(actions, "Review", () => review(job));
      if (!job.published) action(actions, "Publish", () => publish(job.id));
    }
  }
  $("published").textContent = list.published ? "The classify page uses the model of job " + list.published + "."
      : "The classify page uses the model serve was started with.";
  const active = list.jobs.some((j) => j.state === "running" || j.state === "queued");
  if (active && !polling) polling = setInterval(refreshJobs, 1000);
  if (!active && polling) { clearInterval(polling); polling = null; }
}

async function cancel(id) {
  try { await api("/api/studio/jobs/" + id + "/cancel", { method: "POST" }); } catch (e) { alert(e.message); }
  refreshJobs();
}

async function publish(id) {
  try { await api("/api/studio/jobs/" + id + "/publish", { method: "POST" }); } catch (e) { alert(e.message); }
  refreshJobs();
}

let reviewing = null;
let sliderTimer = null;

function figuresText(f) {
  const c = f.confusion;  // [TN, FP, FN, TP] for two classes
  return `At threshold ${f.threshold.toFixed(2)}: sensitivity ${percent(f.sensitivity)}, specificity ${percent(f.specificity)}, ` +
      `precision ${percent(f.precision)}, accuracy ${percent(f.accuracy)} on ${f.images} ${f.split} images; ` +
      `missed ${c[2]} of ${c[2] + c[3]} ${f.classes[1]}, ${c[1]} false alarms among ${c[0] + c[1]} ${f.classes[0]}.`;
}

async function showFigures() {
  const t = $("threshold").value;
  $("threshold-value").textContent = Number(t).toFixed(2);
  try {
    const f = await api("/api/studio/jobs/" + reviewing + "/threshold?t=" + t);
    if ($("threshold").value === t) $("threshold-figures").textContent = figuresText(f);
  } catch (e) {
    $("threshold-figures").textContent = "Error: " + e.message;
  }
}

function review(job) {
  reviewing = job.id;
  $("review").hidden = false;
  $("review-id").textContent = job.id;
  $("review-auto").textContent = job.auto_choice ? autoText(job.auto_choice) : "";
  $("threshold-status").textContent = "";
  const binary = job.result.sensitivity !== undefined;
  for (const id of ["threshold", "threshold-save", "threshold-value"]) $(id).hidden = !binary;
  $("threshold").value = job.result.threshold;
  if (binary) showFigures();
  else $("threshold-figures").textContent = job.result.text;
  const gallery = $("gallery");
  gallery.replaceChildren();
  (job.result.wrong || []).forEach((w, k) => {
    const figure = element("figure");
    const img = element("img");
    img.src = "/studio/jobs/" + job.id + "/wrong/" + k + ".png";
    img.alt = "Grad-CAM of " + w.file;
    figure.appendChild(img);
    figure.appendChild(element("figcaption", `${w.file}: ${w.truth}, called ${w.predicted} ` +
        `(${Math.max(...w.probabilities).toFixed(2)})`));
    gallery.appendChild(figure);
  });
  if (!gallery.children.length) gallery.appendChild(element("p", "None: every validation image was right.", "muted"));
  $("review").scrollIntoView();
}

async function saveThreshold() {
  try {
    await api("/api/studio/jobs/" + reviewing + "/threshold", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ threshold: Number($("threshold").value) }),
    });
    $("threshold-status").textContent = "Saved into the model" + " (the classify page uses it if this model is published).";
    refreshJobs();
  } catch (e) {
    $("threshold-status").textContent = "Error: " + e.message;
  }
}

async function start() {
  try {
    await loadChoices();
  } catch (e) {
    $("train-status").textContent = "Error: " + e.message;
    return;
  }
  $("summary-button").addEventListener("click", showSummary);
  $("upload-button").addEventListener("click", uploadZip);
  $("auto").addEventListener("change", () => {
    for (const id of ["arch", "epochs", "augment"]) $(id).disabled = $("auto").checked;
  });
  $("preview-button").addEventListener("click", preview);
  $("train-button").addEventListener("click", train);
  $("threshold").addEventListener("input", () => {
    clearTimeout(sliderTimer);
    sliderTimer = setTimeout(showFigures, 150);
  });
  $("threshold-save").addEventListener("click", saveThreshold);
  await refreshJobs();
  document.body.dataset.ready = "1";  // the browser test waits for this
}

start();
