// The office's real frontend (the Base44 export, built once by tests/test_frontend_browser.py) in Debian's
// headless Chromium, driven by playwright-core, against the real app under uvicorn.
//
//   PLAN=/tmp/plan.json node tests/frontend/drive.mjs
//
// The plan (written by the Python test) gives the two origins, the user to sign in as, the pages with the
// records each must show, and the forms to drive. Each check prints `ok <name>` or `FAIL <name>: <why>`;
// every result also goes to plan.results (JSON) for the Python side; the run ends with `N passed, M failed`.
// One browser, one signed-in context for everything. No browser is downloaded: playwright-core only drives
// the Chromium already on the machine (installed in tests/sdk, like tests/sdk/login_page.mjs).

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
let token = null;

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
page.on("requestfailed", (r) => { if (ours(r.url())) seen.responses.push({ status: 0, method: r.method(), url: r.url(), failure: r.failure()?.errorText }); });
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

function problems() {
  const bad = seen.responses.filter((r) => r.status >= 400 || r.status === 0);
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
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(300); // let the layout reflow before the picture
  await shot(`${name}-phone`);
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(300);
  await shot(`${name}-desktop`);
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
      await page.getByRole("option", { name: value, exact: true }).click();
      await page.getByRole("listbox").waitFor({ state: "detached" });
    } else {
      await target.fill(value);
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
// per message written by the server (none by the page), each filled like the preview.
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
}

// GenerateAndAlertMatches (CRMAutomation.js): a rental property and a rental buyer that fit each other, then
// the page's own button: it creates the match, calls the server function and says so.
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
  assert.equal(property.status, 201, property.text);
  assert.equal(buyer.status, 201, buyer.text);
  await page.goto(`${FRONTEND}/MatchesBrokerage`);
  await settle();
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${API}/functions/GenerateAndAlertMatches`, { timeout: 30_000 }),
    page.getByRole("button", { name: "יצירת התאמות עם התראות" }).click(),
  ]);
  assert.equal(response.status(), 200, `GenerateAndAlertMatches answered ${response.status()}: ${await response.text()}`);
  const answer = await response.json();
  assert.ok(typeof answer.created === "number" && Array.isArray(answer.matches), JSON.stringify(answer).slice(0, 300));
  const told = await waitForDialog("alert: נוצרו ");
  assert.match(told, /נשלחה התראה למנהל המערכת/);
  const made = await list("MatchesBrokerage", { q: { property_id: property.json.id, buyer_id: buyer.json.id } });
  assert.equal(made.length, 1, "the page should have created the match");
  await settle();
  await page.getByText("בדיקת-התאמה 3, תל אביב").first().waitFor({ timeout: 10_000 });
  await shot("feature-matches-generated", false);
  assertNoProblems();
}

// --- the run -------------------------------------------------------------------------------------------

try {
  const signedIn = await check("login", "sign in through the server's login page", signIn);
  if (signedIn) {
    for (const spec of plan.pages) await visit(spec);
    for (const spec of plan.forms) await driveForm(spec);
    await check("feature", "MarketingLeads: the WhatsApp sender queues through sendWhatsAppBulk and shows the answer", whatsappSender);
    await check("feature", "MatchesBrokerage: the automatic matching calls GenerateAndAlertMatches", generateMatches);
  }
} finally {
  await browser.close();
}

writeFileSync(plan.results, JSON.stringify({ results, shots, outside }, null, 2));
for (const path of shots) console.log(`screenshot ${path}`);
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
