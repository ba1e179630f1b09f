// The studio in a real browser: sign in with the admin password, upload a zip of class
// folders, read its summary, preview the augmentation, train one short epoch while watching
// its progress, open the report, review the threshold and the wrong images, publish the
// model, sign out. Screenshots of each page go to SHOT_DIR.
// usage: node studio.mjs URL ADMIN_PASSWORD ZIP IMAGE_SIZE SHOT_DIR [EPOCHS (default 1)]
import { fail, openPage, signIn } from "./session.mjs";

const [url, password, zip, size, shots, epochs = "1"] = process.argv.slice(2);
const dataset = "uploaded";

const session = await openPage({ width: 1100, height: 1000 });
const { browser, context, page, problems } = session;
try {
  await signIn(session, url, "/studio", "/studio/login", password);

  await page.setInputFiles("#upload-file", zip);
  await page.fill("#upload-name", dataset);
  await page.click("#upload-button");
  await page.waitForFunction(() => /files unpacked|Error/.test(document.getElementById("upload-status").textContent),
                             null, { timeout: 120000 });
  const unpacked = await page.textContent("#upload-status");
  if (!unpacked.includes("files unpacked")) fail("upload: " + unpacked);
  if ((await page.inputValue("#dataset")) !== dataset) fail("the uploaded dataset is not the one chosen");
  await page.click("#summary-button");
  await page.waitForSelector("#summary .summary-line", { timeout: 60000 });
  const split = await page.textContent("#summary pre");
  if (!split.includes("patients on both sides: 0")) fail("the split is not shown as patient-disjoint: " + split);
  await page.selectOption("#size", size);
  await page.fill("#epochs", epochs);
  await page.click("#preview-button");
  await page.waitForFunction(() => { const i = document.getElementById("preview"); return i.complete && i.naturalWidth > 0; },
                             null, { timeout: 60000 });
  await page.screenshot({ path: shots + "/studio-1-data.png", fullPage: true });

  await page.click("#train-button");
  const row = "#jobs tbody tr:first-child";
  await page.waitForSelector(`${row}[data-state='running']`, { timeout: 60000 });
  await page.waitForFunction(([sel, n]) => new RegExp(`epoch 1/${n}, step \\d+`).test(document.querySelector(sel).textContent),
                             [row, epochs], { timeout: 60000 });
  const progress = await page.textContent(row);
  await page.screenshot({ path: shots + "/studio-2-training.png", fullPage: true });
  await page.waitForSelector(`${row}[data-state='done'], ${row}[data-state='failed']`, { timeout: 300000 });
  if ((await page.getAttribute(row, "data-state")) !== "done") fail("training failed: " + (await page.textContent(row)));
  const result = await page.textContent(`${row} td:nth-child(5)`);
  if (!/AUC \d\.\d{3}; accuracy \d+\.\d% \(/.test(result)) fail("no validation figures: " + result);

  const [report] = await Promise.all([context.waitForEvent("page"), page.click(`${row} a:text("Report")`)]);
  await report.waitForLoadState();
  if (!(await report.content()).includes("ROC AUC")) fail("the report has no ROC AUC");
  await report.screenshot({ path: shots + "/studio-3-report.png" });
  await report.close();

  // Review: the threshold slider's trade-off on validation images, and the wrong ones' maps.
  await page.click(`${row} button:text("Review")`);
  await page.waitForFunction(() => document.getElementById("threshold-figures").textContent.startsWith("At threshold"));
  const atDefault = await page.textContent("#threshold-figures");
  await page.$eval("#threshold", (s) => { s.value = "0.2"; s.dispatchEvent(new Event("input")); });
  await page.waitForFunction((before) => {
    const now = document.getElementById("threshold-figures").textContent;
    return now !== before && now.startsWith("At threshold");
  }, atDefault);
  const atLow = await page.textContent("#threshold-figures");
  const sensitivity = (text) => Number(/sensitivity (\d+\.\d)%/.exec(text)[1]);
  if (sensitivity(atLow) < sensitivity(atDefault)) fail(`a lower threshold lowered sensitivity: ${atDefault} -> ${atLow}`);
  const gallery = await page.$$eval("#gallery img", (imgs) => imgs.length);
  const wrongs = await page.$$eval("#gallery figcaption", (cs) => cs.map((c) => c.textContent));
  if (wrongs.some((w) => !/^(NORMAL|PNEUMONIA)\//.test(w))) fail("gallery files are not named below the dataset: " + wrongs[0]);
  await page.waitForFunction(() => Array.from(document.querySelectorAll("#gallery img")).every((i) => i.complete && i.naturalWidth > 0));
  await page.screenshot({ path: shots + "/studio-3b-review.png", fullPage: true });
  await page.click("#threshold-save");
  await page.waitForFunction(() => document.getElementById("threshold-status").textContent.startsWith("Saved"));

  await page.click(`${row} button:text("Publish")`);
  await page.waitForFunction(() => document.getElementById("published").textContent.includes("uses the model of job"));
  const jobId = await page.getAttribute(row, "data-id");
  if (!(await page.textContent("#published")).includes(jobId)) fail("the published job is not the one trained");
  await page.screenshot({ path: shots + "/studio-4-published.png", fullPage: true });

  await page.click("text=Sign out");
  await page.waitForURL(/\/studio\/login$/);
  if (problems.length) fail("console errors: " + problems.join("; "));
  console.log(`studio: upload: ${unpacked}`);
  console.log(`studio: trained and published job ${jobId}; progress seen: ${progress.replace(/\s+/g, " ")}`);
  console.log(`studio: ${result}`);
  console.log(`studio: threshold 0.2: ${atLow}; ${gallery} wrong validation images shown, e.g. ${wrongs[0]}`);
} finally {
  await browser.close();
}
