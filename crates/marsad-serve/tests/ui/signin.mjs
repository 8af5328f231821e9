// Signs in to marsad's web UI in headless Chromium (Debian's, driven by
// Playwright), as a person would, and prints what it saw as one JSON line.
// Run by crates/marsad-serve/tests/it/ui_browser.rs, which checks it:
//   MARSAD_URL=http://127.0.0.1:PORT MARSAD_USER=… MARSAD_PASSWORD=… node signin.mjs
import { chromium } from "playwright-core";

const base = process.env.MARSAD_URL;
const user = process.env.MARSAD_USER;
const password = process.env.MARSAD_PASSWORD;
const executablePath = process.env.MARSAD_CHROMIUM || "/usr/bin/chromium";
const shots = process.env.MARSAD_SCREENSHOTS;

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const seen = { console: [], requests: [] };
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (m) => seen.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => seen.console.push(`pageerror: ${e.message}`));
  page.on("request", (r) => seen.requests.push(r.url()));

  // Not signed in: the dashboard sends to the sign-in form.
  await page.goto(`${base}/`);
  seen.first = new URL(page.url()).pathname;

  // A wrong password: the form again, with the error.
  await page.fill("#name", user);
  await page.fill("#password", "not the password at all");
  await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
  seen.wrong = {
    path: new URL(page.url()).pathname,
    alert: (await page.textContent("[role=alert]"))?.trim(),
    name_kept: await page.inputValue("#name"),
  };

  // The right one: the dashboard.
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
  seen.signed_in = {
    path: new URL(page.url()).pathname,
    h1: (await page.textContent("h1"))?.trim(),
    who: (await page.textContent(".who .user"))?.trim(),
    figures: await page.$$eval("ul.figures li", (lis) => lis.map((li) => li.textContent.trim())),
    // The session cookie is HttpOnly: a script on the page cannot read it.
    script_cookies: await page.evaluate(() => document.cookie),
    cookies: (await context.cookies()).map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite })),
    styled: await page.evaluate(() => getComputedStyle(document.querySelector("header.top")).display),
  };
  if (shots) await page.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });

  // Sign out: back to the form; the dashboard asks again.
  await Promise.all([page.waitForURL(/\/login/), page.click(".who button[type=submit]")]);
  seen.signed_out = new URL(page.url()).pathname;
  await page.goto(`${base}/`);
  seen.after = new URL(page.url()).pathname;
  await context.close();
} catch (e) {
  seen.error = String(e && e.stack ? e.stack : e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
