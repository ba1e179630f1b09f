// The classify page in a real browser: log in, classify a whole folder (more images than one
// request may carry), check the sorted table and the summary, open one heatmap, download the
// CSV, log out. Screenshots of each page go to SHOT_DIR. With EPOCHS, the served model must be
// one trained for that many epochs (the studio's published one, not the shipped one).
// usage: node classify.mjs URL PASSWORD FOLDER EXPECTED_IMAGES SHOT_DIR [EPOCHS]
import { readdirSync, readFileSync } from "node:fs";
import { fail, openPage, signIn } from "./session.mjs";

const [url, password, folder, expectedText, shots, epochs] = process.argv.slice(2);
const expected = Number(expectedText);

const session = await openPage({ width: 1100, height: 900 });
const { browser, page, problems } = session;
try {
  await signIn(session, url, "/", "/login", password, () => page.screenshot({ path: shots + "/1-login.png" }));
  if (epochs) {
    const served = await page.evaluate(async () => (await (await fetch("/api/model")).json()).provenance.epochs_run);
    if (served !== Number(epochs)) fail(`the served model ran ${served} epochs, not the published model's ${epochs}`);
  }

  // A whole folder through the folder picker: the page splits it into requests.
  await page.setInputFiles("#folder", folder);
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Done"), null,
                             { timeout: 120000 }).catch(async (e) => {
    await page.screenshot({ path: shots + "/error.png", fullPage: true });
    fail("classification did not finish: " + (await page.textContent("#status")) + "; " + problems.join("; ") + "; " + e);
  });
  const status = await page.textContent("#status");
  const summary = await page.textContent("#summary");
  const rows = await page.$$eval("#table tbody tr", (trs) => trs.map((tr) => Array.from(tr.cells, (td) => td.textContent)));
  if (rows.length !== expected) fail(`${rows.length} rows in the table, expected ${expected}`);
  const errors = rows.filter((r) => r[2] === "error");
  if (errors.length) fail(`${errors.length} images failed, first: ${errors[0].join(" | ")}`);
  const probabilities = rows.map((r) => Number(r[3]));
  if (probabilities.some((p, i) => Number.isNaN(p) || (i > 0 && p > probabilities[i - 1])))
    fail("the table is not sorted by probability, highest first");
  if (!summary.startsWith(`${expected} image(s):`)) fail("summary line: " + summary);
  await page.screenshot({ path: shots + "/2-results.png" });

  // A heatmap only when asked for, for that one image.
  await page.click("#table tbody tr:first-child .heatmap-link");
  const heatmap = await page.waitForSelector("#heatmap-img[src^='data:image/png']", { timeout: 60000 });
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, heatmap);
  await page.screenshot({ path: shots + "/3-heatmap.png" });

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#csv")]);
  const csv = readFileSync(await download.path(), "utf8").trim().split("\n");
  if (!csv[0].startsWith("path,label,p_")) fail("CSV header: " + csv[0]);
  if (csv.length !== expected + 1) fail(`${csv.length - 1} CSV rows, expected ${expected}`);
  const names = new Set(rows.map((r) => r[1]));
  if (!csv.slice(1).every((line) => names.has(line.split(",")[0]))) fail("CSV rows do not match the table's files");

  // Files dropped on the page (a DataTransfer made in the page: what a drag from a file manager gives).
  const dropped = readdirSync(folder + "/NORMAL").slice(0, 3).map((f) => ({ name: f, b64: readFileSync(`${folder}/NORMAL/${f}`).toString("base64") }));
  const dt = await page.evaluateHandle((files) => {
    const t = new DataTransfer();
    for (const f of files) t.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: "image/jpeg" }));
    return t;
  }, dropped);
  await page.dispatchEvent("#drop", "drop", { dataTransfer: dt });
  await page.waitForFunction(() => /^Done: 3 image/.test(document.getElementById("status").textContent), null, { timeout: 60000 });
  const droppedRows = await page.$$eval("#table tbody tr", (trs) => trs.map((tr) => tr.cells[1].textContent).sort());
  if (JSON.stringify(droppedRows) !== JSON.stringify(dropped.map((f) => f.name).sort())) fail("dropped files: " + droppedRows);

  // A folder dropped on the page: the browser hands over directory entries, which the page
  // walks (subfolders, hidden files left out). Chromium cannot make such a drop from a script,
  // so the entries are made in the page with the shape the File and Directory Entries API gives.
  await page.evaluate((files) => {
    const bytes = (f) => Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    const fileEntry = (path, file) => ({ isFile: true, isDirectory: false, name: file.name, fullPath: path,
                                         file: (ok) => ok(file) });
    const dirEntry = (path, children) => ({
      isFile: false, isDirectory: true, name: path.split("/").pop(), fullPath: path,
      createReader: () => { let given = false; return { readEntries: (ok) => { ok(given ? [] : children); given = true; } }; },
    });
    const inner = files.map((f) => fileEntry(`/scans/NORMAL/${f.name}`, new File([bytes(f)], f.name, { type: "image/jpeg" })));
    inner.push(fileEntry("/scans/NORMAL/.DS_Store", new File(["junk"], ".DS_Store")));
    const root = dirEntry("/scans", [dirEntry("/scans/NORMAL", inner)]);
    const drop = new Event("drop", { cancelable: true });
    Object.defineProperty(drop, "dataTransfer", { value: { items: [{ webkitGetAsEntry: () => root }], files: [] } });
    document.getElementById("drop").dispatchEvent(drop);
  }, dropped);
  await page.waitForFunction(() => /^Done: 3 image/.test(document.getElementById("status").textContent) &&
                                   document.querySelector("#table tbody tr td.file").textContent.startsWith("scans/"),
                             null, { timeout: 60000 });
  const folderRows = await page.$$eval("#table tbody tr", (trs) => trs.map((tr) => tr.cells[1].textContent).sort());
  if (JSON.stringify(folderRows) !== JSON.stringify(dropped.map((f) => "scans/NORMAL/" + f.name).sort()))
    fail("dropped folder: " + folderRows);

  await page.click("text=Sign out");
  await page.waitForURL(/\/login$/);
  await page.goto(url + "/");
  if (!page.url().endsWith("/login")) fail("still signed in after signing out");
  if (problems.length) fail("console errors: " + problems.join("; "));
  console.log(`${status} ${summary}`);
  console.log("browser test passed");
} finally {
  await browser.close();
}
