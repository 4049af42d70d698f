// The sign-in page (API.md §7.4) in a real browser: Debian's headless Chromium driven by playwright-core.
//
//   BASE_URL=http://127.0.0.1:8000 FROM_URL=http://127.0.0.1:5173/app.html EMAIL=.. PASSWORD=.. \
//   SCREENSHOT_DIR=../../test-artifacts/login [CHROMIUM=/usr/bin/chromium] node login_page.mjs
//
// FROM_URL must be on an origin the backend trusts (CORS_ORIGINS / FRONTEND_URL / PUBLIC_URL) and must
// serve a page: the sign-in lands there. Each check prints `ok <check>` or `FAIL <check>: <why>` (plus a
// screenshot of the page at that moment); the run ends with `N passed, M failed` and exits 1 on any failure.
// No browser is downloaded: playwright-core only drives the Chromium already on the machine.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const env = process.env;
const BASE_URL = (env.BASE_URL || "").replace(/\/+$/, "");
const FROM_URL = env.FROM_URL || "";
const EMAIL = env.EMAIL || "";
const PASSWORD = env.PASSWORD || "";
const SCREENSHOT_DIR = resolve(env.SCREENSHOT_DIR || "test-artifacts/login");
const CHROMIUM = env.CHROMIUM || "/usr/bin/chromium";
if (!BASE_URL || !FROM_URL || !EMAIL || !PASSWORD) {
  console.error("usage: BASE_URL=.. FROM_URL=.. EMAIL=.. PASSWORD=.. [SCREENSHOT_DIR=..] node login_page.mjs");
  process.exit(2);
}
mkdirSync(SCREENSHOT_DIR, { recursive: true });

const HE = { email: "אימייל", password: "סיסמה", submit: "כניסה", wrong: "האימייל או הסיסמה שגויים" };
const REFUSED = "כתובת החזרה אינה מורשית.";
const HOSTILE = ["https://evil.example/x", "//evil.example", "javascript:alert(1)"];
const loginUrl = (fromUrl, extra = "") =>
  `${BASE_URL}/login?from_url=${encodeURIComponent(fromUrl)}&app_id=x${extra}`;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
// A phone: 390×844 CSS pixels (an iPhone 12-15), touch, rendered at 2× like the real screen.
const context = await browser.newContext({
  viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
});
context.setDefaultTimeout(20_000);
// Anything that tries to reach the hostile host, or pops a dialog (javascript: URLs), is recorded and stopped.
const escapes = [];
const hostile = (url) => url.hostname === "evil.example" || url.hostname.endsWith(".evil.example");
await context.route(hostile, (route) => { escapes.push(route.request().url()); return route.abort(); });
const page = await context.newPage();
page.on("dialog", (dialog) => { escapes.push(`dialog: ${dialog.message()}`); return dialog.dismiss(); });

let passed = 0;
let failed = 0;
const shots = [];

async function shot(name) {
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  shots.push(path);
  return path;
}

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok ${name}`);
  } catch (err) {
    failed += 1;
    let where = "";
    try { where = ` (page: ${page.url()}, screenshot: ${await shot(`FAILED-${name.replace(/\W+/g, "-")}`)})`; } catch {}
    console.log(`FAIL ${name}: ${err?.message ?? err}${where}`);
  }
}

// What a person sees: the document's language and direction, the alert (if any), and whether the form fits.
async function layout() {
  return page.evaluate(() => ({
    lang: document.documentElement.lang,
    dir: document.documentElement.dir,
    direction: getComputedStyle(document.querySelector("main")).direction,
    alert: document.querySelector('[role="alert"]')?.textContent ?? null,
    overflowX: document.documentElement.scrollWidth > window.innerWidth,
    offscreen: [...document.querySelectorAll("input:not([type=hidden]), button, h1")]
      .filter((el) => { const r = el.getBoundingClientRect(); return r.left < 0 || r.right > window.innerWidth; })
      .map((el) => el.id || el.tagName),
    buttonHeight: document.querySelector("button")?.getBoundingClientRect().height ?? 0,
    headingRight: document.querySelector("h1").getBoundingClientRect().right,
    headingTextRight: (() => {
      const range = document.createRange();
      range.selectNodeContents(document.querySelector("h1"));
      return range.getBoundingClientRect().right;
    })(),
  }));
}

try {
  await check("the form renders in Hebrew, right to left, and fits a phone", async () => {
    const response = await page.goto(loginUrl(FROM_URL));
    assert.equal(response.status(), 200);
    assert.ok(await page.locator('html[dir="rtl"][lang="he"]').count(), "no <html dir=rtl lang=he>");
    const got = await layout();
    assert.equal(got.direction, "rtl");
    assert.equal(got.alert, null);
    assert.equal(got.overflowX, false, "the page scrolls sideways at 390px");
    assert.deepEqual(got.offscreen, []);
    assert.ok(got.buttonHeight >= 40, `the button is ${got.buttonHeight}px tall; a finger needs ~44`);
    // Right to left: the heading's text hugs the right edge of its box.
    assert.ok(Math.abs(got.headingRight - got.headingTextRight) < 2, "the heading is not right-aligned");
    await page.getByLabel(HE.email).fill(EMAIL); // labels are wired to their inputs
    await page.getByLabel(HE.password, { exact: true }).fill(PASSWORD);
    await shot("login-form-he-phone");
  });

  await check("a wrong password shows the error and stays on /login", async () => {
    await page.goto(loginUrl(FROM_URL));
    await page.getByLabel(HE.email).fill(EMAIL);
    await page.getByLabel(HE.password, { exact: true }).fill(`${PASSWORD}-wrong`);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${BASE_URL}/login` && r.request().method() === "POST"),
      page.getByRole("button", { name: HE.submit }).click(),
    ]);
    assert.equal(response.status(), 401);
    await page.waitForLoadState();
    assert.equal(new URL(page.url()).pathname, "/login");
    assert.equal((await page.getByRole("alert").textContent()).trim(), HE.wrong);
    assert.equal(await page.getByLabel(HE.email).inputValue(), EMAIL, "the email should be kept");
    assert.equal(await page.getByLabel(HE.password, { exact: true }).inputValue(), "");
    const got = await layout();
    assert.equal(got.overflowX, false);
    assert.deepEqual(got.offscreen, []);
    await shot("login-error-he-phone");
  });

  await check("signing in lands on from_url with a working access_token", async () => {
    await page.goto(loginUrl(FROM_URL));
    await page.getByLabel(HE.email).fill(EMAIL);
    await page.getByLabel(HE.password, { exact: true }).fill(PASSWORD);
    const expected = new URL(FROM_URL);
    await Promise.all([
      page.waitForURL((url) => url.origin === expected.origin && url.pathname === expected.pathname),
      page.getByRole("button", { name: HE.submit }).click(),
    ]);
    const landed = new URL(page.url());
    for (const [key, value] of expected.searchParams) assert.equal(landed.searchParams.get(key), value, key);
    const token = landed.searchParams.get("access_token");
    assert.match(token ?? "", /^[\w-]+\.[\w-]+\.[\w-]+$/, "no JWT in the landed URL");
    assert.equal(await page.title(), "CRM app (test page)", "from_url's page did not load");
    const me = await fetch(`${BASE_URL}/api/auth/me`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).email, EMAIL.toLowerCase());
  });

  for (const target of HOSTILE) {
    await check(`a disallowed from_url is refused: ${target}`, async () => {
      const response = await page.goto(loginUrl(target));
      assert.equal(response.status(), 400);
      assert.equal(new URL(page.url()).origin, BASE_URL);
      assert.equal((await page.getByRole("alert").textContent()).trim(), REFUSED);
      assert.equal(await page.locator('input[name="from_url"]').count(), 0);
      assert.deepEqual(escapes, []);
    });
  }

  await check("a from_url swapped into the form is refused even with the right password", async () => {
    await page.goto(loginUrl(FROM_URL));
    await page.locator('input[name="from_url"]').evaluate((el) => { el.value = "https://evil.example/x"; });
    await page.getByLabel(HE.email).fill(EMAIL);
    await page.getByLabel(HE.password, { exact: true }).fill(PASSWORD);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${BASE_URL}/login` && r.request().method() === "POST"),
      page.getByRole("button", { name: HE.submit }).click(),
    ]);
    assert.equal(response.status(), 400);
    await page.waitForLoadState();
    assert.equal(new URL(page.url()).origin, BASE_URL);
    assert.ok(!page.url().includes("access_token"));
    assert.equal((await page.getByRole("alert").textContent()).trim(), REFUSED);
    assert.deepEqual(escapes, []);
    await shot("login-refused-he-phone");
  });

  await check("?lang=en renders English, left to right", async () => {
    const response = await page.goto(loginUrl(FROM_URL, "&lang=en"));
    assert.equal(response.status(), 200);
    assert.ok(await page.locator('html[dir="ltr"][lang="en"]').count(), "no <html dir=ltr lang=en>");
    assert.equal((await layout()).direction, "ltr");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Sign in");
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await shot("login-form-en-phone");
  });

  await check("the language link switches to English and keeps from_url", async () => {
    await page.goto(loginUrl(FROM_URL));
    await Promise.all([page.waitForURL(/lang=en/), page.getByRole("link", { name: "English" }).click()]);
    assert.equal(await page.locator("html").getAttribute("dir"), "ltr");
    assert.equal(await page.locator('input[name="from_url"]').inputValue(), FROM_URL);
  });
} finally {
  await browser.close();
}

for (const path of shots) console.log(`screenshot ${path}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
