// Logs in, uploads an X-ray, waits for the label and the Grad-CAM overlay, saves a screenshot.
// usage: node upload.mjs URL PASSWORD IMAGE SCREENSHOT
import { chromium } from "playwright-core";

const [url, password, image, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));

  await page.goto(url + "/");
  if (!page.url().endsWith("/login")) throw new Error("not sent to the login page: " + page.url());
  await page.fill("#password", "wrong password");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Wrong password.");
  problems.length = 0;  // the refused login is answered 401, which the console reports
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("#drop");
  // app.js is deferred: #drop exists before its listeners do; a file chosen earlier is lost.
  await page.waitForLoadState("domcontentloaded");

  await page.setInputFiles("#files", image);
  const heatmap = await page.waitForSelector(".card img.heatmap", { timeout: 60000 }).catch(async (e) => {
    await page.screenshot({ path: screenshot, fullPage: true });
    throw new Error("no heatmap appeared; status: " + (await page.textContent("#status")) + "; " + problems.join("; ") + "; " + e);
  });
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, heatmap);
  const label = await page.textContent(".card .label");
  const status = await page.textContent("#status");
  await page.screenshot({ path: screenshot, fullPage: true });
  if (problems.length) throw new Error("console errors: " + problems.join("; "));
  console.log(`label: ${label}; ${status}`);
  console.log("browser test passed");
} finally {
  await browser.close();
}
