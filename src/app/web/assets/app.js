// Upload images to /api/predict and show label, probability and the Grad-CAM overlay.
"use strict";

const drop = document.getElementById("drop");
const input = document.getElementById("files");
const statusLine = document.getElementById("status");
const results = document.getElementById("results");

function card(result) {
  const div = document.createElement("div");
  div.className = "card";
  const title = document.createElement("h2");
  title.textContent = result.file;
  div.appendChild(title);
  if (result.error) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = result.error;
    div.appendChild(p);
    return div;
  }
  const label = document.createElement("p");
  const p = document.createElement("p");
  if (result.out_of_distribution) {
    // The model's class would be a guess: say so instead of answering.
    label.className = "label unknown";
    label.textContent = "Not a chest X-ray like the model knows";
    p.textContent = "This image is unlike the X-rays the model was trained on (score " + result.ood_score.toFixed(2) +
        ", limit 1): no answer. The model would have said " + result.label + ".";
  } else if (result.positive_class) {
    label.className = "label " + (result.label === result.positive_class ? "positive" : "negative");
    label.textContent = result.label;
    p.textContent = "P(" + result.positive_class + ") = " + result.positive_probability.toFixed(3) +
        " (threshold " + result.threshold.toFixed(3) + ")";
  } else {
    // More than two classes: every class's probability, the most likely first.
    label.className = "label " + (result.label === "NORMAL" ? "negative" : "positive");
    label.textContent = result.label;
    p.textContent = Object.entries(result.probabilities).sort((a, b) => b[1] - a[1])
        .map(([name, prob]) => "P(" + name + ") = " + prob.toFixed(3)).join(", ");
  }
  div.appendChild(label);
  div.appendChild(p);
  if (result.heatmap_png) {
    const img = document.createElement("img");
    img.alt = "Grad-CAM overlay for " + result.file;
    img.className = "heatmap";
    img.src = result.heatmap_png;
    div.appendChild(img);
  }
  return div;
}

async function upload(files) {
  if (!files.length) return;
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  statusLine.textContent = "Classifying " + files.length + " image(s)…";
  try {
    const response = await fetch("/api/predict?heatmap=1", { method: "POST", body: form, credentials: "same-origin" });
    const body = await response.json();
    if (!response.ok) {
      statusLine.textContent = "Error: " + (body.error || response.statusText);
      return;
    }
    statusLine.textContent = "Done: " + body.results.length + " image(s).";
    for (const r of body.results) {
      r.threshold = body.threshold;
      r.positive_class = body.positive_class;
      results.prepend(card(r));
    }
  } catch (e) {
    statusLine.textContent = "Error: " + e;
  }
}

input.addEventListener("change", () => upload(input.files));
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  upload(e.dataTransfer.files);
});
