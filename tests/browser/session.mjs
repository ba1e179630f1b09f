// What both browser tests start with: Debian's chromium with one page whose console errors
// are collected, and a sign-in that first checks a wrong password is refused.
import { chromium } from "playwright-core";

export const fail = (message) => { throw new Error(message); };

export async function openPage(viewport) {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  return { browser, context, page, problems };
}

// Opens `home`, which must send the browser to `loginPath`; a wrong password must be refused
// there (`onRefused` may then take a screenshot); the right one leads to a page whose script
// is ready.
export async function signIn({ page, problems }, url, home, loginPath, password, onRefused = async () => {}) {
  await page.goto(url + home);
  if (!page.url().endsWith(loginPath)) fail(`not sent to ${loginPath}: ${page.url()}`);
  await page.fill("#password", "not the password at all");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Wrong password.");
  await onRefused();
  problems.length = 0;  // the refused login is answered 401, which the console reports
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("body[data-ready='1']");
}
