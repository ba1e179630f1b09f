// The classify page: any number of images (files or whole folders) sent to /api/predict in
// requests the server accepts, a results table sorted by probability, a heatmap for one image
// on demand, and the CSV of all results. The server decides everything shown here; this file
// only splits the batch, retries, and lays out the answers.
"use strict";

const $ = (id) => document.getElementById(id);
const drop = $("drop");
const statusLine = $("status");
const progress = $("progress");
const summary = $("summary");
const tbody = document.querySelector("#table tbody");
const inFlight = 2;  // requests at once: one decodes while the other runs the network

let model = null;    // /api/model: classes, positive_class, limits
let csvHeader = "";
let rows = [];       // { file, name, result | error }
let run = 0;         // a new batch cancels the rendering of an older one

async function loadModel() {
  const response = await fetch("/api/model", { credentials: "same-origin" });
  if (!response.ok) throw new Error("cannot read the model (" + response.status + ")");
  model = await response.json();
  $("prob-head").textContent = model.positive_class ? "P(" + model.positive_class + ")" : "Probabilities";
}

// What sorts the table: the chance of the positive class, else of anything but NORMAL.
function score(r) {
  if (!r.result) return -1;
  if (r.result.positive_probability !== undefined) return r.result.positive_probability;
  const p = r.result.probabilities;
  return "NORMAL" in p ? 1 - p.NORMAL : Math.max(...Object.values(p));
}

function probabilityText(result) {
  if (result.positive_probability !== undefined) return result.positive_probability.toFixed(3);
  return Object.entries(result.probabilities).sort((a, b) => b[1] - a[1])
      .map(([name, p]) => name + " " + p.toFixed(3)).join(", ");
}

function decisionClass(result) {
  if (result.out_of_distribution) return "unknown";
  const positive = result.positive_class ? result.label === result.positive_class : result.label !== "NORMAL";
  return positive ? "positive" : "negative";
}

function cell(tr, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  tr.appendChild(td);
  return td;
}

function render() {
  const sorted = rows.filter((r) => r.result || r.error).sort((a, b) => score(b) - score(a));
  tbody.replaceChildren();
  sorted.forEach((r, i) => {
    const tr = document.createElement("tr");
    cell(tr, String(i + 1));
    cell(tr, r.name, "file");
    if (r.error) {
      cell(tr, "error", "decision error");
      cell(tr, r.error, "error").colSpan = 2;
    } else {
      cell(tr, r.result.decision, "decision " + decisionClass(r.result));
      cell(tr, probabilityText(r.result));
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link heatmap-link";
      button.textContent = "Heatmap";
      button.addEventListener("click", () => showHeatmap(r));
      cell(tr, "").appendChild(button);
    }
    tbody.appendChild(tr);
  });
  $("table").hidden = sorted.length === 0;
  $("csv").hidden = !rows.some((r) => r.result);
  const counts = {};
  for (const r of sorted) {
    const key = r.error ? "failed" : r.result.decision;
    counts[key] = (counts[key] || 0) + 1;
  }
  summary.textContent = sorted.length ? sorted.length + " image(s): " +
      Object.entries(counts).map(([k, n]) => n + " " + k).join(", ") : "";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Sends one chunk; splits or retries it on the answers that call for that.
async function send(chunk, batch) {
  const form = new FormData();
  for (const r of chunk) form.append("files", r.file, r.name);
  let response;
  try {
    response = await fetch("/api/predict", { method: "POST", body: form, credentials: "same-origin" });
  } catch (e) {  // the connection failed: these rows say so instead of vanishing
    for (const r of chunk) r.error = "not sent: " + e.message;
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (batch !== run) return;
  if (response.ok) {
    body.results.forEach((result, i) => {
      result.positive_class = body.positive_class;  // of the model that answered (one may be published meanwhile)
      chunk[i].result = result;
    });
    csvHeader = body.csv_header;
    return;
  }
  if (response.status === 401) throw new Error("signed out: sign in again");
  if (response.status === 429 || response.status === 503) {
    await sleep(1000 * (Number(response.headers.get("Retry-After")) || 1));
    return batch === run ? send(chunk, batch) : undefined;
  }
  if (response.status === 413 && chunk.length > 1) {  // too big together: send halves
    const half = Math.ceil(chunk.length / 2);
    await send(chunk.slice(0, half), batch);
    return send(chunk.slice(half), batch);
  }
  // A file the server refused (it gives its position): mark it, send the others again.
  const bad = Number.isInteger(body.index) && body.index < chunk.length ? body.index : -1;
  if (bad >= 0) {
    chunk[bad].error = body.error;
    const rest = chunk.filter((_, i) => i !== bad);
    return rest.length ? send(rest, batch) : undefined;
  }
  for (const r of chunk) r.error = body.error || response.statusText || "request failed";
}

// Chunks within the server's limits on files and bytes per request.
function chunksOf(list) {
  const maxBytes = model.limits.max_body_bytes * 0.9;  // room for the multipart framing
  const chunks = [];
  let current = [], bytes = 0;
  for (const r of list) {
    if (r.file.size > maxBytes) {
      r.error = "larger than the server accepts in one request (" + Math.round(r.file.size / 1048576) + " MB)";
      continue;
    }
    if (current.length === model.limits.max_files || bytes + r.file.size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += r.file.size;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

async function classify(files) {
  if (!files.length) return;
  const batch = ++run;
  $("heatmap-panel").hidden = true;
  rows = files.map(({ file, name }) => ({ file, name }));
  const chunks = chunksOf(rows);
  let done = 0;
  const started = performance.now();
  progress.max = rows.length;
  progress.value = 0;
  $("progress-box").hidden = false;
  statusLine.textContent = "Classifying " + rows.length + " image(s)…";
  render();
  try {
    const next = async () => {
      while (chunks.length && batch === run) {
        const chunk = chunks.shift();
        await send(chunk, batch);
        done += chunk.length;
        progress.value = done;
        $("progress-text").textContent = done + " / " + rows.length;
        render();
      }
    };
    await Promise.all(Array.from({ length: inFlight }, next));
    if (batch !== run) return;
    const seconds = (performance.now() - started) / 1000;
    statusLine.textContent = "Done: " + rows.length + " image(s) in " + seconds.toFixed(1) + " s.";
  } catch (e) {
    if (batch === run) statusLine.textContent = "Error: " + e.message;
  }
  render();
}

// One image again, with its Grad-CAM overlay (computed only when asked for).
let heatmapRequest = 0;
async function showHeatmap(r) {
  const mine = ++heatmapRequest;  // a later click wins, whatever answers first
  const panel = $("heatmap-panel");
  panel.hidden = false;
  $("heatmap-title").textContent = r.name;
  $("heatmap-text").textContent = "Computing the heatmap…";
  $("heatmap-img").removeAttribute("src");
  const form = new FormData();
  form.append("files", r.file, r.name);
  const response = await fetch("/api/predict?heatmap=1", { method: "POST", body: form, credentials: "same-origin" });
  const body = await response.json().catch(() => ({}));
  if (mine !== heatmapRequest) return;
  if (!response.ok) {
    $("heatmap-text").textContent = "Error: " + (body.error || response.statusText);
    return;
  }
  const result = body.results[0];
  $("heatmap-text").textContent = result.out_of_distribution
      ? "Unlike the X-rays the model knows (score " + result.ood_score.toFixed(2) + ", limit 1): no answer."
      : result.decision + " — " + probabilityText(result) + " (threshold " + body.threshold.toFixed(3) + ")";
  $("heatmap-img").src = result.heatmap_png;
  panel.scrollIntoView({ block: "nearest" });
}

function downloadCsv() {
  const csv = csvHeader + rows.filter((r) => r.result).sort((a, b) => score(b) - score(a))
      .map((r) => r.result.csv_row).join("");
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  link.download = "xraykit-predictions.csv";
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// Files of a dropped folder, recursively (hidden files such as .DS_Store left out).
async function filesOfEntry(entry, out) {
  if (entry.name.startsWith(".")) return;
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    out.push({ file, name: entry.fullPath.replace(/^\//, "") });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {  // readEntries gives at most 100 at a time
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await filesOfEntry(child, out);
    }
  }
}

const fromFiles = (files) => Array.from(files)
    .filter((f) => !f.name.startsWith("."))
    .map((file) => ({ file, name: file.webkitRelativePath || file.name }));

async function start() {
  try {
    await loadModel();
  } catch (e) {
    statusLine.textContent = "Error: " + e.message;
    return;
  }
  for (const input of [$("files"), $("folder")]) {
    input.addEventListener("change", () => classify(fromFiles(input.files)));
  }
  $("csv").addEventListener("click", downloadCsv);
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const entries = Array.from(e.dataTransfer.items || []).map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry())
        .filter(Boolean);
    if (!entries.length) return classify(fromFiles(e.dataTransfer.files));  // no entries API: plain files
    const files = [];
    for (const entry of entries) await filesOfEntry(entry, files);
    classify(files);
  });
  document.body.dataset.ready = "1";  // the browser test waits for this
}

start();
