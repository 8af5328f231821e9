// A moderator's day in marsad's web UI, in headless Chromium (Debian's,
// driven by Playwright), and a viewer refused; prints what it saw as one
// JSON line. Run by crates/marsad-serve/tests/it/ui_browser.rs, which
// checks it:
//   MARSAD_URL=… MARSAD_USER=… MARSAD_PASSWORD=… MARSAD_VIEWER=… MARSAD_QUERY=…
//   MARSAD_SCREENSHOTS=DIR node review.mjs
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const base = process.env.MARSAD_URL;
const password = process.env.MARSAD_PASSWORD;
const shots = process.env.MARSAD_SCREENSHOTS;
const browser = await chromium.launch({
  executablePath: process.env.MARSAD_CHROMIUM || "/usr/bin/chromium",
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
const seen = { console: [], requests: [], pages: {}, axe: {} };

async function signIn(page, name) {
  await page.goto(`${base}/login`);
  await page.fill("#name", name);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
}

// Every media element's computed filter, and whether it is a blurred preview.
const mediaStyles = (page) =>
  page.$$eval("main img, main video, main audio", (els) =>
    els.map((el) => ({ tag: el.tagName.toLowerCase(), cls: el.className, filter: getComputedStyle(el).filter, src: el.getAttribute("src")?.slice(0, 40) })),
  );

// axe-core's serious and critical violations of the page (run in a copy of
// the page opened without its Content-Security-Policy, which forbids the
// injected script).
async function accessibility(context, url, name) {
  const page = await context.newPage();
  await page.goto(url);
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  seen.axe[name] = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.length})`);
  await page.close();
}

try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (m) => seen.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => seen.console.push(`pageerror: ${e.message}`));
  page.on("request", (r) => seen.requests.push(r.url()));
  await signIn(page, process.env.MARSAD_USER);
  const visit = async (name, path) => {
    await page.goto(`${base}${path}`);
    seen.pages[name] = { status: (await page.title()).trim(), h1: (await page.textContent("h1"))?.trim() };
    if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  };
  for (const [name, path] of [
    ["dashboard", "/"],
    ["releases", "/releases"],
    ["outlets", "/outlets"],
    ["sources", "/sources"],
    ["banks", "/banks"],
    ["matches", "/matches"],
    ["jobs", "/jobs"],
    ["settings", "/settings"],
  ]) {
    await visit(name, path);
  }

  // The catalogue searched in Arabic, spelled another way than stored.
  await page.goto(`${base}/posts`);
  await page.fill("input[name=q]", process.env.MARSAD_QUERY);
  await Promise.all([page.waitForLoadState("load"), page.click("form.filters button[type=submit]")]);
  seen.search = {
    rows: await page.$$eval("table.list tbody tr", (rows) => rows.length),
    text: (await page.textContent("table.list tbody"))?.trim(),
    dir: await page.getAttribute("table.list tbody td.text > [dir]", "dir"),
  };
  if (shots) await page.screenshot({ path: `${shots}/posts.png`, fullPage: true });

  // A release with an image: every media element blurred until revealed.
  await page.goto(`${base}/releases/${process.env.MARSAD_RELEASE}`);
  seen.release = { h1: (await page.textContent("h1"))?.trim(), media: await mediaStyles(page) };
  if (shots) await page.screenshot({ path: `${shots}/release.png`, fullPage: true });
  await Promise.all([page.waitForLoadState("load"), page.click("button.reveal")]);
  seen.revealed = { h1: (await page.textContent("h1"))?.trim(), media: await mediaStyles(page), exposure: (await page.textContent(".exposure"))?.trim() };
  await page.click("main a");
  seen.after_reveal = await mediaStyles(page);

  // The review queue: decide an item, undo it, decide it again.
  await visit("review", "/review");
  const first = await page.getAttribute("article.item input[name=item]", "value");
  seen.review = { first, open: (await page.textContent("nav.tabs a"))?.trim() };
  await Promise.all([page.waitForURL(/decided=/), page.click(`button[name=one][value="reject|${first}"]`)]);
  seen.review.decided_url = new URL(page.url()).search;
  seen.review.still_listed = await page.$(`input[name=item][value="${first}"]`) !== null;
  await Promise.all([page.waitForLoadState("load"), page.click("button.undo")]);
  seen.review.back = await page.$(`input[name=item][value="${first}"]`) !== null;
  await Promise.all([page.waitForURL(/decided=/), page.click(`button[name=one][value="confirm|${first}"]`)]);
  seen.review.confirmed_url = new URL(page.url()).search;
  if (shots) await page.screenshot({ path: `${shots}/review-decided.png`, fullPage: true });

  // Theme coding: the moderator codes three releases, then an analyst,
  // blind to the moderator's codes until coding each; the kappa appears.
  const coding = process.env.MARSAD_CODE_RELEASES.split(",");
  const codeAll = async (p, themes) => {
    const blind = [];
    for (const [i, id] of coding.entries()) {
      await p.goto(`${base}/releases/${id}`);
      blind.push((await p.textContent("main"))?.includes("their codes are shown once you have coded it"));
      await p.check(`form.coding input[name=primary][value=${themes[i]}]`);
      await Promise.all([p.waitForLoadState("load"), p.click("form.coding button[type=submit]")]);
    }
    return blind;
  };
  seen.coding = { first: await codeAll(page, ["war", "utopia", "war"]) };
  const second = await browser.newContext();
  const spage = await second.newPage();
  await signIn(spage, process.env.MARSAD_ANALYST);
  seen.coding.second = await codeAll(spage, ["war", "utopia", "utopia"]);
  seen.coding.others_after = await spage.$$eval("table.codes tbody tr", (rows) => rows.length);
  await spage.goto(`${base}/themes`);
  seen.coding.kappa = (await spage.textContent("td.kappa"))?.trim();
  seen.coding.alpha = (await spage.textContent("strong.alpha"))?.trim();
  if (shots) await spage.screenshot({ path: `${shots}/themes.png`, fullPage: true });
  await second.close();

  // The interface in Arabic, right to left.
  await page.goto(`${base}/?lang=ar`);
  seen.arabic = {
    dir: await page.evaluate(() => getComputedStyle(document.body).direction),
    h1: (await page.textContent("h1"))?.trim(),
    nav_first: (await page.textContent("nav a"))?.trim(),
  };
  if (shots) await page.screenshot({ path: `${shots}/dashboard-ar.png`, fullPage: true });
  await page.goto(`${base}/releases/${process.env.MARSAD_RELEASE}`);
  seen.arabic.kept = await page.evaluate(() => getComputedStyle(document.body).direction);
  await page.goto(`${base}/?lang=en`);

  // An export uploaded from the Jobs page (the form's CSRF token goes as
  // its first part), followed until its job ends.
  await page.goto(`${base}/jobs`);
  await page.setInputFiles("form[action='/jobs'] input[type=file]", process.env.MARSAD_UPLOAD);
  await Promise.all([page.waitForURL(/\/jobs#job-\d+$/), page.click("form[action='/jobs'] button[type=submit]")]);
  const job = new URL(page.url()).hash;
  seen.upload = { at: new URL(page.url()).pathname + job };
  for (let i = 0; i < 200 && !seen.upload.status; i++) {
    const status = (await page.textContent(`tr${job} span.status`))?.trim();
    if (status === "done" || status === "failed") seen.upload.status = status;
    else { await page.waitForTimeout(100); await page.reload(); }
  }
  // A bank file imported from the Banks page into a new bank.
  await page.goto(`${base}/banks`);
  await page.fill("form[action='/banks/import'] input[name=bank]", "Browser bank");
  await page.selectOption("form[action='/banks/import'] select[name=format]", "csv");
  await page.selectOption("form[action='/banks/import'] select[name=type]", "pdq");
  await page.setInputFiles("form[action='/banks/import'] input[type=file]", process.env.MARSAD_BANK_FILE);
  await Promise.all([page.waitForLoadState("load"), page.click("form[action='/banks/import'] button[type=submit]")]);
  seen.bank_import = (await page.textContent("main p"))?.trim();
  // The catalogue sorted by sightings, from its menu.
  await page.goto(`${base}/releases`);
  await page.selectOption("select[name=sort]", "sightings");
  await Promise.all([page.waitForLoadState("load"), page.click("form.filters button[type=submit]")]);
  seen.sorted = {
    search: new URL(page.url()).search,
    sightings: await page.$$eval("table.list tbody tr", (rows) => rows.map((r) => Number(r.children[5].textContent))),
  };

  // Accessibility of every page.
  const plain = await browser.newContext({ bypassCSP: true, storageState: await context.storageState() });
  for (const [name, path] of [
    ["dashboard", "/"],
    ["releases", "/releases"],
    ["release", `/releases/${process.env.MARSAD_RELEASE}`],
    ["posts", "/posts"],
    ["outlets", "/outlets"],
    ["sources", "/sources"],
    ["banks", "/banks"],
    ["matches", "/matches"],
    ["jobs", "/jobs"],
    ["review", "/review"],
    ["themes", "/themes"],
    ["settings", "/settings"],
    ["dashboard-ar", "/?lang=ar"],
  ]) {
    await accessibility(plain, `${base}${path}`, name);
  }
  const login = await browser.newContext({ bypassCSP: true });
  await accessibility(login, `${base}/login`, "login");
  await login.close();
  await plain.close();

  // Signed out.
  await Promise.all([page.waitForURL(/\/login/), page.click(".who button[type=submit]")]);
  seen.signed_out = new URL(page.url()).pathname;
  await context.close();

  // A viewer: no review queue, and its decision refused.
  const viewer = await browser.newContext();
  const vpage = await viewer.newPage();
  await signIn(vpage, process.env.MARSAD_VIEWER);
  seen.viewer = { menu_has_review: (await vpage.$("nav a[href='/review']")) !== null };
  const refused = await vpage.goto(`${base}/review`);
  seen.viewer.review_status = refused.status();
  // The release page offers no reveal a viewer could use.
  await vpage.goto(`${base}/releases/${process.env.MARSAD_RELEASE}`);
  const answer = await Promise.all([vpage.waitForLoadState("load"), vpage.click("button.reveal")]).then(() => vpage.textContent("h1"));
  seen.viewer.reveal = answer?.trim();
  await viewer.close();
} catch (e) {
  seen.error = String(e && e.stack ? e.stack : e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
