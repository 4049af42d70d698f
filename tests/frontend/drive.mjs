// The office's real frontend (the Base44 export, built once by tests/test_frontend_browser.py) in Debian's
// headless Chromium, driven by playwright-core, against the real app under uvicorn.
//
//   PLAN=/tmp/plan.json node tests/frontend/drive.mjs
//
// The plan (written by the Python test) gives the two origins, the user to sign in as, the pages with the
// records each must show, and what else to do. The office's run and a role's run (an agent's) share this
// driver; the plan says which parts run:
//   pages        [{route, slug, shows}]: opened in turn, each checked (requests, errors, records shown)
//   screenshots  "all" (phone and desktop, the default), "phone" or "none"
//   forms        the forms to create, edit and delete through ([] or absent: none)
//   features     what scripts/connect_frontend.py added, through the pages' own buttons: "whatsapp",
//                "matches" ([] or absent: none)
// The signed-in user's menu (Layout.jsx's sidebar, every parent opened) and what the server says the user
// may do (GET /api/auth/permissions) are recorded for the Python side to judge.
// Each check prints `ok <name>` or `FAIL <name>: <why>`; every result also goes to plan.results (JSON) for the
// Python side; the run ends with `N passed, M failed`. One browser, one signed-in context for everything. No
// browser is downloaded: playwright-core only drives the Chromium already on the machine (installed in
// tests/sdk, like tests/sdk/login_page.mjs).

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const plan = JSON.parse(readFileSync(process.env.PLAN, "utf8"));
const { chromium } = createRequire(join(plan.playwrightFrom, "package.json"))("playwright-core");
const FRONTEND = plan.frontend;
const SERVER = plan.server;
const API = `${SERVER}/api/apps/${plan.appId}`;
const ours = (url) => url.startsWith(`${FRONTEND}/`) || url.startsWith(`${SERVER}/`);
mkdirSync(plan.screenshotDir, { recursive: true });

const results = [];
const report = {}; // what the Python side judges beyond pass/fail: the menu, permissions, what was sent or matched
let token = null;
const SCREENSHOTS = plan.screenshots ?? "all";

function record(kind, name, ok, why = "", extra = {}) {
  results.push({ kind, name, ok, why, ...extra });
  console.log(ok ? `ok ${name}` : `FAIL ${name}: ${why}`);
}

async function check(kind, name, fn, extra = {}) {
  try {
    await fn();
    record(kind, name, true, "", extra);
    return true;
  } catch (err) {
    let why = err?.message ?? String(err);
    try {
      why += ` (page ${page.url()}, screenshot ${await shot(`FAILED-${name.replace(/[^\w]+/g, "-").slice(0, 80)}`)})`;
    } catch {}
    record(kind, name, false, why, extra);
    return false;
  }
}

// --- the API, as the test's eyes on the database -----------------------------------------------------------

async function api(method, path, body) {
  const response = await fetch(`${API}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch {}
  return { status: response.status, json, text };
}

async function list(entity, { q, sort, limit } = {}) {
  const params = new URLSearchParams();
  if (q) params.set("q", JSON.stringify(q));
  if (sort) params.set("sort", sort);
  if (limit) params.set("limit", String(limit));
  const answer = await api("GET", `/entities/${entity}?${params}`);
  assert.equal(answer.status, 200, `GET ${entity} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.json;
}

// Where a record is: "live" (its values from the API), "trash" or "gone" (the test's SQL oracle: a user's
// API does not show the trash).
async function findAnyState(entity, id) {
  const response = await fetch(`${plan.oracle}/state?entity=${encodeURIComponent(entity)}&id=${encodeURIComponent(id)}`);
  const { state } = await response.json();
  if (state !== "live") return { state, record: null };
  const live = await api("GET", `/entities/${entity}/${id}`);
  assert.equal(live.status, 200, `GET ${entity}/${id} of a live record answered ${live.status}`);
  return { state, record: live.json };
}

// --- the browser ---------------------------------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: plan.chromium,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const DESKTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };
const context = await browser.newContext({ viewport: DESKTOP, locale: "he-IL", timezoneId: "Asia/Jerusalem" });
context.setDefaultTimeout(20_000);
// Anything outside the two origins (only Base44's logo, https://base44.com/logo_v2.svg) is stopped here:
// offline it would fail anyway, and stopping it keeps the run independent of DNS timeouts.
const outside = [];
await context.route((url) => !ours(url.href) && url.protocol !== "data:" && url.protocol !== "blob:", (route) => {
  outside.push(route.request().url());
  return route.abort();
});
const page = await context.newPage();

// What a page did while it was open: every response from our two origins, page errors, console errors.
let seen = { responses: [], pageErrors: [], consoleErrors: [], dialogs: [] };
page.on("response", (r) => { if (ours(r.url())) seen.responses.push({ status: r.status(), method: r.request().method(), url: r.url() }); });
// A request the page itself cancelled (it navigated on, or a component unmounted) is net::ERR_ABORTED: not an
// answer of the server, and counting it made a slow machine's form runs fail at random. Every other failure counts.
page.on("requestfailed", (r) => {
  const failure = r.failure()?.errorText;
  if (ours(r.url()) && failure !== "net::ERR_ABORTED") seen.responses.push({ status: 0, method: r.method(), url: r.url(), failure });
});
page.on("pageerror", (e) => seen.pageErrors.push(String(e?.stack || e).slice(0, 500)));
// Console errors count too (the pages catch their failures and console.error them), except the browser's own
// report of the outside request stopped above.
page.on("console", (m) => {
  if (m.type() !== "error") return;
  const where = m.location()?.url || "";
  if (/^Failed to load resource/.test(m.text()) && where && !ours(where)) return;
  seen.consoleErrors.push(`${m.text().slice(0, 300)}${where ? ` (${where.replace(SERVER, "<server>").replace(FRONTEND, "<frontend>")})` : ""}`);
});
// Delete buttons ask confirm(); the forms report failures with alert(): both are recorded, confirms accepted.
page.on("dialog", async (d) => { seen.dialogs.push(`${d.type()}: ${d.message()}`); await (d.type() === "confirm" ? d.accept() : d.dismiss()); });

const shots = [];
async function shot(name, fullPage = true) {
  const path = join(plan.screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage });
  shots.push(path);
  return path;
}

const bodyText = () => page.evaluate(() => document.body.innerText);

// A page is settled when the network has been quiet for a moment and no loading placeholder is left (the
// shadcn Skeleton, or the dashboards' spinner).
async function settle() {
  await page.waitForLoadState("networkidle");
  await page.waitForFunction(
    () => !document.querySelector(".animate-pulse.bg-primary\\/10, .animate-spin.rounded-full"), null, { timeout: 15_000 },
  ).catch(() => {}); // a page still loading after that fails its own checks below, with a screenshot
}

// --- signing in ----------------------------------------------------------------------------------------

async function signIn() {
  // SDK 0.1.x: with requiresAuth and no token, the app sends the browser to {serverUrl}/login?from_url=...
  await page.goto(`${FRONTEND}/Dashboard`);
  await page.waitForURL((url) => url.href.startsWith(`${SERVER}/login`), { timeout: 20_000 });
  const login = new URL(page.url());
  assert.equal(login.searchParams.get("app_id"), plan.appId, "the SDK should name its app id");
  assert.ok(login.searchParams.get("from_url")?.startsWith(`${FRONTEND}/Dashboard`), `from_url: ${login.search}`);
  await page.getByLabel("אימייל").fill(plan.email);
  await page.getByLabel("סיסמה", { exact: true }).fill(plan.password);
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(`${FRONTEND}/`), { timeout: 20_000 }),
    page.getByRole("button", { name: "כניסה" }).click(),
  ]);
  await settle();
  token = await page.evaluate(() => window.localStorage.getItem("base44_access_token"));
  assert.match(token ?? "", /^[\w-]+\.[\w-]+\.[\w-]+$/, "the SDK kept no access token in localStorage");
  assert.ok(!page.url().includes("access_token"), "the SDK should remove the token from the address bar");
  const me = await api("GET", "/entities/User/me");
  assert.equal(me.status, 200);
  assert.equal(me.json.email, plan.email.toLowerCase());
}

// --- pages ---------------------------------------------------------------------------------------------

// The text a check looks for: "{field}", "{field|number}" (as the page's locale prints it) and
// "{ref_id>Entity.field}" (a field of the record the reference points at) filled from one record.
const related = new Map();
async function render(template, rec, notes = new Set()) {
  let out = "";
  let last = 0;
  for (const m of template.matchAll(/\{([\w.>]+)(\|number)?\}/g)) {
    out += template.slice(last, m.index);
    last = m.index + m[0].length;
    let value;
    if (m[1].includes(">")) {
      const [ref, target] = m[1].split(">");
      const [entity, field] = target.split(".");
      if (!rec[ref]) return null;
      const key = `${entity}/${rec[ref]}`;
      if (!related.has(key)) {
        const answer = await api("GET", `/entities/${entity}/${rec[ref]}`);
        related.set(key, answer.status === 200 ? answer.json : null);
      }
      if (!related.get(key)) notes.add(`${ref} points at no ${entity} record`);
      value = related.get(key)?.[field];
    } else {
      value = rec[m[1]];
    }
    if (value === null || value === undefined || value === "") return null;
    if (m[2]) value = await page.evaluate((v) => Number(v).toLocaleString(), value);
    out += String(value);
  }
  out += template.slice(last);
  return out.trim().length >= 2 ? out.trim() : null;
}

// Every request to our two origins must be answered 2xx: a redirect, 401, 403, 404 or 5xx is a problem, and so
// is a request that failed outright (status 0).
function problems() {
  const bad = seen.responses.filter((r) => r.status < 200 || r.status >= 300);
  const out = bad.map((r) => `${r.method} ${r.url.replace(SERVER, "<server>").replace(FRONTEND, "<frontend>")} -> ${r.status || r.failure}`);
  out.push(...seen.pageErrors.map((e) => `page error: ${e}`));
  out.push(...seen.consoleErrors.map((e) => `console error: ${e}`));
  return out;
}

function assertNoProblems() {
  const bad = problems();
  if (bad.length) throw new Error(`server errors or page errors:\n    ${bad.join("\n    ")}`);
}

async function visit(spec) {
  seen = { responses: [], pageErrors: [], consoleErrors: [], dialogs: [] };
  const name = spec.slug;
  await check("load", `page ${spec.route}: loads with no failed request and no error`, async () => {
    const response = await page.goto(`${FRONTEND}${spec.route}`);
    assert.equal(response.status(), 200);
    await settle();
    assert.ok(page.url().startsWith(FRONTEND), `left the app for ${page.url()}`);
    const text = await bodyText();
    assert.ok(text.trim().length > 0, "the page is blank (React unmounted after an error?)");
    assert.ok(!/Minified React error|Something went wrong|Unexpected Application Error/.test(text), "React's error is shown");
    const calls = seen.responses.filter((r) => r.url.startsWith(`${SERVER}/api/`));
    assert.ok(calls.length > 0, "the page made no API call");
    const bad = problems();
    if (bad.length) throw new Error(`server errors or page errors:\n    ${bad.join("\n    ")}`);
  }, { route: spec.route });
  for (const [entity, want] of Object.entries(spec.shows)) {
    await check("shows", `page ${spec.route}: shows ${entity} records`, async () => {
      const source = want.from || entity;
      const records = await list(source, { q: want.q, sort: want.sort || "-created_date", limit: want.limit || 5 });
      const where = want.q ? ` matching ${JSON.stringify(want.q)}` : "";
      assert.ok(records.length > 0, `the database holds no ${source} records${where} to show`);
      let count = null;
      if (want.show.some((t) => t.includes("{count}") || t.includes("{some}"))) {
        const params = want.q ? `?q=${encodeURIComponent(JSON.stringify(want.q))}` : "";
        const answer = await api("GET", `/entities/${source}/count${params}`);
        assert.equal(answer.status, 200, `count answered ${answer.status}`);
        count = Math.min(answer.json.count, want.cap ?? Infinity);
      }
      const candidates = [];
      const notes = new Set();
      for (const rec of records) {
        for (const template of want.show) {
          // {some}: a number from 1 to the count (a count that depends on more than one entity's records).
          const counts = template.includes("{some}") ? Array.from({ length: Math.min(count, 500) }, (_, i) => i + 1) : [count];
          for (const n of counts) {
            const filled = template.replaceAll("{count}", String(count)).replaceAll("{some}", String(n));
            const text = (await render(filled, rec, notes))?.replace(/\s+/g, " ");
            if (text && !candidates.includes(text)) candidates.push(text);
          }
        }
      }
      const why = notes.size ? ` (${[...notes].join("; ")})` : "";
      assert.ok(candidates.length > 0, `none of ${records.length} ${source} records has a value for ${want.show.join(", ")}${why}`);
      const found = await page.waitForFunction(
        (cands) => { const t = document.body.innerText.replace(/\s+/g, " "); return cands.find((c) => t.includes(c)) || false; },
        candidates, { timeout: 10_000 },
      ).then((h) => h.jsonValue()).catch(() => null);
      assert.ok(found, `none of these is on the page: ${candidates.slice(0, 6).map((c) => JSON.stringify(c)).join(", ")}${why}`);
    }, { route: spec.route, entity });
  }
  if (SCREENSHOTS === "none") return;
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(300); // let the layout reflow before the picture
  await shot(`${name}-phone`);
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(300);
  if (SCREENSHOTS === "all") await shot(`${name}-desktop`);
}

// --- the menu and the user's permissions -----------------------------------------------------------------

// The sidebar as the signed-in user sees it (desktop: the phone's copy is hidden): each parent shows its
// children only once opened (its chevron button), so every closed one is opened first. Links in page order.
async function readMenu() {
  const nav = page.locator("nav:visible");
  await nav.locator("a").first().waitFor();
  for (let i = 0; i < 20; i++) {
    const closed = nav.locator('button:has(svg[class*="lucide-chevron-right"])');
    if ((await closed.count()) === 0) break;
    await closed.first().click();
  }
  return nav.locator("a").evaluateAll((links) => links.map((a) => ({
    name: a.textContent.trim(), href: decodeURIComponent(a.getAttribute("href")),
  })));
}

async function readPermissions() {
  const response = await fetch(`${SERVER}/api/auth/permissions`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET /api/auth/permissions answered ${response.status}`);
  return response.json();
}

// --- forms ---------------------------------------------------------------------------------------------

// A form field by its visible label: the input, textarea or select button that follows the <label>.
function field(root, label) {
  return root.locator(`xpath=.//label[normalize-space()="${label}"]/following-sibling::*[self::input or self::textarea or self::button[@role="combobox"]][1]`);
}

async function fill(root, values) {
  for (const [label, value] of Object.entries(values)) {
    const target = field(root, label);
    await target.waitFor();
    if ((await target.getAttribute("role")) === "combobox") {
      await target.click();
      await chooseOption(value);
    } else {
      await target.fill(value);
    }
  }
}

// Radix's Select ignores a pointer-up that comes too soon after it opened (so the opening click cannot pick
// an option); on a loaded machine the click on the option can land in that window and the list stays open.
// Clicking again is what a user does; after three tries the list must be closed.
async function chooseOption(value) {
  const listbox = page.getByRole("listbox");
  for (let attempt = 1; attempt <= 3; attempt++) {
    await page.getByRole("option", { name: value, exact: true }).click();
    try {
      await listbox.waitFor({ state: "detached", timeout: 5000 });
      return;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

// The card of the list that shows `text`: the smallest element holding it together with the row's buttons.
function card(text) {
  return page.locator("div.rounded-xl, div.rounded-lg").filter({ hasText: text }).filter({ has: page.locator("button") }).last();
}

async function submitAndWait(form, entity, method) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${API}/entities/${entity}`) && r.request().method() === method, { timeout: 20_000 }),
    form.locator('button[type="submit"]').click(),
  ]);
  assert.ok(response.status() < 300, `${method} ${entity} answered ${response.status()}: ${await response.text()}`);
  await settle();
  return response.status() === 204 ? null : await response.json().catch(() => null);
}

function sameValues(rec, expected) {
  const diff = [];
  for (const [key, value] of Object.entries(expected)) {
    const got = rec[key];
    // The forms send numbers from number inputs and strings from the others; the server keeps what its
    // schema declares, so 4 and "4" are the same answer here.
    if (String(got) !== String(value)) diff.push(`${key}: expected ${JSON.stringify(value)}, got ${JSON.stringify(got)}`);
  }
  return diff;
}

// "$contact.<field>" in a form spec: a live contact whose name no other contact has (its option is unique).
let contact = null;
async function resolve(values) {
  if (!contact) {
    const all = await list("Contact", { sort: "full_name", limit: 500 });
    const counts = new Map();
    for (const c of all) counts.set(c.full_name, (counts.get(c.full_name) || 0) + 1);
    contact = all.find((c) => c.full_name && counts.get(c.full_name) === 1);
    assert.ok(contact, "no contact with a unique name to pick in the forms");
  }
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" && v.startsWith("$contact.") ? contact[v.slice(9)] : v]));
}

const EDIT_BUTTON = 'button:has(svg[class*="lucide-square-pen"]), button:has(svg[class*="lucide-pen"]), button:has(svg[class*="lucide-edit"])';
const DELETE_BUTTON = 'button:has(svg[class*="lucide-trash"])';

async function driveForm(spec) {
  const label = `form ${spec.entity} (${spec.route})`;
  let created = null;
  await check("form", `${label}: create`, async () => {
    seen = { responses: [], pageErrors: [], consoleErrors: [], dialogs: [] };
    await page.goto(`${FRONTEND}${spec.route}`);
    await settle();
    await page.getByRole("button", { name: spec.newButton }).click();
    const form = page.locator("form").first();
    await form.waitFor();
    await fill(form, await resolve(spec.create.fill));
    const answer = await submitAndWait(form, spec.entity, "POST");
    assert.ok(answer?.id, "the create answered no id");
    const found = await findAnyState(spec.entity, answer.id);
    assert.equal(found.state, "live");
    created = found.record;
    const diff = sameValues(created, await resolve(spec.create.expect));
    assert.deepEqual(diff, [], `the stored record differs from what was typed:\n    ${diff.join("\n    ")}`);
    await card(spec.create.listed).waitFor({ timeout: 10_000 });
    assertNoProblems();
    assert.deepEqual(seen.dialogs, [], "the page raised a dialog");
    await shot(`form-${spec.entity}-created`);
  });
  if (!created) {
    record("form", `${label}: edit`, false, "not tried: the create failed");
    record("form", `${label}: delete`, false, "not tried: the create failed");
    return;
  }
  await check("form", `${label}: edit`, async () => {
    seen = { responses: [], pageErrors: [], consoleErrors: [], dialogs: [] };
    await card(spec.create.listed).locator(EDIT_BUTTON).first().click();
    const form = page.locator("form").first();
    await form.waitFor();
    await fill(form, await resolve(spec.edit.fill));
    await submitAndWait(form, spec.entity, "PUT");
    const found = await findAnyState(spec.entity, created.id);
    assert.equal(found.state, "live");
    const after = found.record;
    const diff = sameValues(after, spec.edit.expect);
    assert.deepEqual(diff, [], `the edit was not stored:\n    ${diff.join("\n    ")}`);
    // Exactly that field: everything else the record had is unchanged (the server's bookkeeping aside).
    const bookkeeping = new Set(["updated_date", "version", ...Object.keys(spec.edit.expect)]);
    const changed = Object.keys({ ...created, ...after })
      .filter((k) => !bookkeeping.has(k) && JSON.stringify(created[k] ?? null) !== JSON.stringify(after[k] ?? null))
      .map((k) => `${k}: ${JSON.stringify(created[k])} -> ${JSON.stringify(after[k])}`);
    assert.deepEqual(changed, [], `the edit changed other fields too:\n    ${changed.join("\n    ")}`);
    await card(spec.edit.listed).filter({ hasText: spec.edit.shows }).waitFor({ timeout: 10_000 });
    assertNoProblems();
    assert.deepEqual(seen.dialogs, [], "the page raised a dialog");
    await shot(`form-${spec.entity}-edited`);
  });
  await check("form", `${label}: delete`, async () => {
    seen = { responses: [], pageErrors: [], consoleErrors: [], dialogs: [] };
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${API}/entities/${spec.entity}/${created.id}`) && r.request().method() === "DELETE"),
      card(spec.edit.listed).locator(DELETE_BUTTON).first().click(),
    ]);
    assert.ok(response.status() < 300, `DELETE answered ${response.status()}`);
    await settle();
    const found = await findAnyState(spec.entity, created.id);
    assert.equal(found.state, "trash", `after the delete the record is ${found.state}, not in the trash`);
    await page.waitForFunction((text) => !document.body.innerText.includes(text), spec.edit.listed, { timeout: 10_000 })
      .catch(() => { throw new Error("the deleted record is still listed"); });
    assertNoProblems();
    assert.deepEqual(seen.dialogs.filter((d) => !d.startsWith("confirm")), [], "the page raised an alert");
  });
}

// --- what scripts/connect_frontend.py added ------------------------------------------------------------

async function waitForDialog(prefix) {
  for (let i = 0; i < 100 && !seen.dialogs.some((d) => d.startsWith(prefix)); i++) await page.waitForTimeout(100);
  const found = seen.dialogs.find((d) => d.startsWith(prefix));
  assert.ok(found, `no ${prefix} dialog; dialogs: ${JSON.stringify(seen.dialogs)}`);
  return found;
}

// The patched WhatsAppSender: three leads picked in the list plus one whose phone is no phone, one request to
// sendWhatsAppBulk, the answer shown as it is (3 queued, the fourth skipped with its reason), one MarketingLog
// per message written by the server (none by the page), each filled like the preview. Then the test's oracle
// runs the app's sender until the queue is empty (it sends to the fake WhatsApp provider, whose status
// webhooks come back to the app), and the list shows the three leads as contacted, the fourth not. What went
// out is judged on the Python side, from the fake provider and the database (report.whatsapp).
async function whatsappSender() {
  seen = { responses: [], pageErrors: [], consoleErrors: [], dialogs: [] };
  const bad = await api("POST", "/entities/MarketingLead", {
    first_name: "בדיקת-טלפון", last_name: "שגוי", phone_number: "12345", client_type: "קונה", neighborhood: "מרכז העיר",
  });
  assert.equal(bad.status, 201, bad.text);
  const leads = (await list("MarketingLead", { sort: "-created_date", limit: 60 }))
    .filter((l) => l.opt_out_whatsapp !== "כן" && l.phone_number && l.id !== bad.json.id);
  const phones = new Map();
  for (const l of leads) phones.set(l.phone_number, (phones.get(l.phone_number) || 0) + 1);
  const picked = leads.filter((l) => phones.get(l.phone_number) === 1).slice(0, 3);
  assert.equal(picked.length, 3, "the demo has no three marketing leads with distinct phones to message");
  await page.goto(`${FRONTEND}/MarketingLeads`);
  await settle();
  for (const lead of [...picked, bad.json]) {
    await page.locator("div.grid-cols-12").filter({ hasText: lead.phone_number }).getByRole("checkbox").click();
  }
  await page.getByRole("button", { name: "שלח לנבחרים (4)" }).click();
  const dialog = page.locator("div.fixed.inset-0").filter({ hasText: "שליחת הודעות WhatsApp" });
  await dialog.getByText("תצוגה מקדימה").waitFor();
  const preview = (await dialog.locator("p.whitespace-pre-wrap").textContent()).trim();
  const template = await dialog.locator("textarea").inputValue();
  // WhatsAppSender.jsx's own personalizeMessage: what the preview promises each lead gets.
  const personalize = (lead) => template
    .replace(/{first_name}/g, lead.first_name || "שם").replace(/{last_name}/g, lead.last_name || "")
    .replace(/{neighborhood}/g, lead.neighborhood || "האזור").replace(/{budget}/g, lead.budget || "התקציב")
    .replace(/{client_type}/g, lead.client_type === "קונה" ? "לקנייה" : "להשכרה");
  assert.ok([...picked, bad.json].some((l) => personalize(l) === preview), `the preview ${JSON.stringify(preview)} is no lead's text`);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${API}/functions/sendWhatsAppBulk`),
    dialog.getByRole("button", { name: "שלח הודעות (4)" }).click(),
  ]);
  assert.equal(response.status(), 202, `sendWhatsAppBulk answered ${response.status()}: ${await response.text()}`);
  const answer = await response.json();
  assert.equal(answer.queued, 3, JSON.stringify(answer));
  assert.deepEqual(answer.skipped, [{ recipient: { lead_id: bad.json.id }, reason: "invalid_phone" }]);
  await dialog.getByText("3 הודעות נכנסו לתור השליחה, 1 דולגו").waitFor();
  await dialog.getByText("בדיקת-טלפון שגוי: מספר טלפון לא תקין").waitFor();
  await shot("feature-whatsapp-sent", false);
  const logs = await list("MarketingLog", { q: { batch_id: answer.batch_id } });
  assert.deepEqual(logs.map((l) => l.lead_id).sort(), picked.map((l) => l.id).sort(), "one MarketingLog per picked lead");
  assert.ok(logs.every((l) => l.status === "queued"), `statuses: ${logs.map((l) => l.status)}`);
  for (const log of logs) {
    const lead = picked.find((l) => l.id === log.lead_id);
    assert.equal(log.message_content, personalize(lead), `the message to lead ${lead.id} differs from its preview`);
  }
  const pageWrites = seen.responses.filter((r) => r.method !== "GET" && r.method !== "OPTIONS" && r.url.includes("/entities/"));
  assert.deepEqual(pageWrites, [], "the sender should not write records itself (no fake MarketingLog, no last_contacted)");
  await dialog.waitFor({ state: "detached", timeout: 10_000 }); // it closes itself 3 s after a send
  assertNoProblems();
  report.whatsapp = { batch_id: answer.batch_id, leads: picked.map((l) => l.id), skipped: bad.json.id };

  const sent = await fetch(`${plan.oracle}/whatsapp/send-queued`, { method: "POST" });
  assert.equal(sent.status, 200, `the oracle's sender: ${await sent.text()}`);
  seen = { responses: [], pageErrors: [], consoleErrors: [], dialogs: [] };
  await page.goto(`${FRONTEND}/MarketingLeads`);
  await settle();
  // MarketingLeadsList.jsx: "last contacted" is format(new Date(lead.last_contacted), 'dd/MM/yy'), else "לא נשלח".
  for (const lead of picked) {
    const stored = (await api("GET", `/entities/MarketingLead/${lead.id}`)).json;
    assert.ok(stored.last_contacted, `lead ${lead.id}: no last_contacted after its message was sent`);
    const shown = await page.evaluate((v) => {
      const d = new Date(v);
      const two = (n) => String(n).padStart(2, "0");
      return `${two(d.getDate())}/${two(d.getMonth() + 1)}/${String(d.getFullYear()).slice(2)}`;
    }, stored.last_contacted);
    await page.locator("div.grid-cols-12").filter({ hasText: lead.phone_number }).filter({ hasText: shown }).first()
      .waitFor({ timeout: 10_000 }).catch(() => { throw new Error(`lead ${lead.phone_number} is not shown as contacted on ${shown}`); });
  }
  await page.locator("div.grid-cols-12").filter({ hasText: "בדיקת-טלפון" }).filter({ hasText: "לא נשלח" }).first()
    .waitFor({ timeout: 10_000 }).catch(() => { throw new Error("the skipped lead is shown as contacted"); });
  assertNoProblems();
}

// GenerateAndAlertMatches (CRMAutomation.js) through the page's own button. Two pairs are made first, through
// the API: a rental listing and a rental buyer that the page's own rule pairs (listing_type ===
// request_category; the button asks the server only when it found a pair itself), and a listing for sale
// (מכירה) with a buyer who wants to buy (קנייה), which that rule never pairs: only the server's matching does
// (a buyer's קנייה is a listing's מכירה). Auto-matching is off in the test's app, so neither pair has a match
// before the click. After it: the page created the rental match and not the sale one, the server created the
// sale match (no creator, its score and reasons), and the list shows it with the server's score (the list's
// display filter is patched by scripts/connect_frontend.py). report.matches names both pairs for the Python
// side's look at the database.
async function generateMatches() {
  seen = { responses: [], pageErrors: [], consoleErrors: [], dialogs: [] };
  const owner = await resolve({ id: "$contact.id" });
  const property = await api("POST", "/entities/PropertyBrokerage", {
    contact_id: owner.id, status: "נכס חדש", category: "פרטי", listing_type: "השכרה", property_type: "דירה",
    price: 5100, city: "תל אביב", area: "נווה צדק", street: "בדיקת-התאמה", building_number: "3", rooms: "2",
  });
  const buyer = await api("POST", "/entities/BuyersBrokerage", {
    contact_id: owner.id, status: "קונה חדש", request_category: "השכרה", desired_property_type: "דירה",
    desired_area: "נווה צדק", desired_rooms: "2", budget: 5000,
  });
  const saleProperty = await api("POST", "/entities/PropertyBrokerage", {
    contact_id: owner.id, status: "נכס חדש", category: "פרטי", listing_type: "מכירה", property_type: "דירה",
    price: 2950000, city: "תל אביב", area: "בבלי", street: "בדיקת-מכירה", building_number: "9", rooms: "4",
  });
  const saleBuyer = await api("POST", "/entities/BuyersBrokerage", {
    contact_id: owner.id, status: "קונה חדש", request_category: "קנייה", desired_property_type: "דירה",
    desired_area: "בבלי", desired_rooms: "4", budget: 3123457,
  });
  for (const made of [property, buyer, saleProperty, saleBuyer]) assert.equal(made.status, 201, made.text);
  const sale = { property_id: saleProperty.json.id, buyer_id: saleBuyer.json.id };
  const rental = { property_id: property.json.id, buyer_id: buyer.json.id };
  report.matches = { sale, rental };
  const stored = async (pair) => (await fetch(`${plan.oracle}/matches?${new URLSearchParams(pair)}`)).json();
  assert.deepEqual(await stored(sale), [], "the sale pair has a match before the click");
  assert.deepEqual(await stored(rental), [], "the rental pair has a match before the click");

  await page.goto(`${FRONTEND}/MatchesBrokerage`);
  await settle();
  const pageCreated = [];
  const onRequest = (r) => {
    if (r.method() === "POST" && r.url().startsWith(`${API}/entities/MatchesBrokerage`)) pageCreated.push(...[r.postDataJSON()].flat());
  };
  page.on("request", onRequest);
  let response;
  try {
    [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${API}/functions/GenerateAndAlertMatches`, { timeout: 30_000 }),
      page.getByRole("button", { name: "יצירת התאמות עם התראות" }).click(),
    ]);
  } finally {
    page.off("request", onRequest);
  }
  assert.equal(response.status(), 200, `GenerateAndAlertMatches answered ${response.status()}: ${await response.text()}`);
  const answer = await response.json();
  assert.ok(typeof answer.created === "number" && Array.isArray(answer.matches), JSON.stringify(answer).slice(0, 300));
  const told = await waitForDialog("alert: נוצרו ");
  assert.match(told, /נשלחה התראה למנהל המערכת/);
  const key = (m) => `${m.property_id}/${m.buyer_id}`;
  const byPage = new Set(pageCreated.map(key));
  assert.ok(byPage.has(key(rental)), "the page's own rule should have paired the rentals");
  assert.ok(!byPage.has(key(sale)), "the page itself created the sale match: it would not be the server's");
  const answered = answer.matches.find((m) => key(m) === key(sale));
  assert.ok(answered, "GenerateAndAlertMatches did not answer the sale pair among its matches");
  const made = await list("MatchesBrokerage", { q: rental });
  assert.equal(made.length, 1, "the page should have created the rental match");
  const [match] = await stored(sale);
  assert.ok(match, "the server made no match for the sale pair");
  assert.equal(match.created_by, null, "the sale match has a creator: not made by the server's matching");
  assert.ok(Array.isArray(match.reasons) && match.reasons.length > 0, `the sale match has no reasons: ${JSON.stringify(match)}`);
  assert.equal(match.id, answered.id, "the stored sale match is not the one GenerateAndAlertMatches answered");
  report.matches.sale_match = match;
  await settle();
  await page.getByText("בדיקת-התאמה 3, תל אביב").first().waitFor({ timeout: 10_000 });
  // The sale match's card: its listing's address, its buyer's budget, and the server's score.
  const saleCard = page.locator("div.rounded-xl").filter({ hasText: "ציון התאמה:" })
    .filter({ hasText: "בדיקת-מכירה 9, תל אביב" }).filter({ hasText: `${(3123457).toLocaleString()} ₪` });
  await saleCard.first().waitFor({ timeout: 10_000 })
    .catch(() => { throw new Error("the server's sale match is not on the page"); });
  assert.equal(await saleCard.count(), 1, "the sale match is shown more than once");
  const cardText = (await saleCard.first().innerText()).replace(/\s+/g, " ");
  assert.ok(cardText.includes(`ציון התאמה: ${match.match_score}%`), `the card does not show the stored score ${match.match_score}: ${cardText.slice(0, 200)}`);
  report.matches.shown = cardText;
  await shot("feature-matches-generated", false);
  assertNoProblems();
}

// --- the run -------------------------------------------------------------------------------------------

const FEATURES = {
  whatsapp: ["MarketingLeads: the WhatsApp sender queues through sendWhatsAppBulk, the sender sends, the list shows it", whatsappSender],
  matches: ["MatchesBrokerage: the automatic matching's button shows the server's sale match", generateMatches],
};

try {
  const signedIn = await check("login", "sign in through the server's login page", signIn);
  if (signedIn) {
    await check("menu", "the menu (every parent opened) and the server's permissions are read", async () => {
      report.menu = await readMenu();
      report.permissions = await readPermissions();
    });
    for (const spec of plan.pages) await visit(spec);
    for (const spec of plan.forms ?? []) await driveForm(spec);
    for (const feature of plan.features ?? []) await check("feature", ...FEATURES[feature]);
  }
} finally {
  await browser.close();
}

writeFileSync(plan.results, JSON.stringify({ results, shots, outside, ...report }, null, 2));
for (const path of shots) console.log(`screenshot ${path}`);
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
