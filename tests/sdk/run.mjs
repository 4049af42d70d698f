// Drives the real @base44/sdk against our server the way the exported Base44 CRM frontend calls it.
//
//   SERVER_URL=http://127.0.0.1:8000 APP_ID=<id> ADMIN_EMAIL=... ADMIN_PASSWORD=... SDK_VERSION=01|08 node run.mjs
//   (TOKEN=<jwt> may replace the email/password pair; SDK_DEBUG=1 keeps the SDK's own error logging.)
//
// Each step prints `ok <step>`; the first failure prints `FAIL <step>: <message> status=.. body=..` and
// exits 1; a full run ends with `N passed, 0 failed`. Every record it creates carries a per-run tag and
// is deleted at the end, so it can also be pointed at a live server. See SDK_HTTP.md for the HTTP.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

const env = process.env;
const SDK_VERSION = env.SDK_VERSION || "08";
const SERVER_URL = (env.SERVER_URL || "").replace(/\/+$/, "");
const APP_ID = env.APP_ID || "";
const ADMIN_EMAIL = env.ADMIN_EMAIL || "";
const ADMIN_PASSWORD = env.ADMIN_PASSWORD || "";
const TOKEN = env.TOKEN || "";

if (!["01", "08"].includes(SDK_VERSION) || !SERVER_URL || !APP_ID || !((ADMIN_EMAIL && ADMIN_PASSWORD) || TOKEN)) {
  console.error(
    "usage: SERVER_URL=.. APP_ID=.. (ADMIN_EMAIL=.. ADMIN_PASSWORD=.. | TOKEN=..) SDK_VERSION=01|08 node run.mjs",
  );
  process.exit(2);
}
// Both SDKs console.error every failed request unless NODE_ENV is "production"; the expected 401/404s
// below would drown the `ok` lines. The SDK reads the variable per error, so setting it here is enough.
if (!env.SDK_DEBUG) process.env.NODE_ENV = "production";

// 0.1.x ships a CommonJS build as "main" inside a "type": "module" package, so Node cannot import the
// bare name; bundlers (Vite) pick the "module" field, which is this file.
const sdk = SDK_VERSION === "01" ? await import("sdk01/dist/index.esm.js") : await import("sdk08");
const V08 = SDK_VERSION === "08";

const ID_RE = /^[0-9a-f]{24}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/; // Base44's format: microseconds, no Z
const TAG = `sdk${SDK_VERSION}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
const BULK_TAG = `${TAG}-bulk`;
// A 1x1 PNG; the server judges uploads by content, so it must be a real one.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
  "base64",
);

// ---------------------------------------------------------------------------------------------------
// Step runner and error reporting

class Stop extends Error {}
let passed = 0;

async function step(name, fn) {
  let result;
  try {
    result = await fn();
  } catch (err) {
    console.log(`FAIL ${name}: ${describe(err)}`);
    throw new Stop();
  }
  passed += 1;
  console.log(`ok ${name}`);
  return result;
}

function clip(text, max = 1500) {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function requestOf(err) {
  const cfg = err?.originalError?.config ?? err?.config;
  if (!cfg) return "";
  const params = cfg.params ? new URLSearchParams(cfg.params).toString() : "";
  return `${(cfg.method || "get").toUpperCase()} ${cfg.baseURL || ""}${cfg.url || ""}${params ? `?${params}` : ""}`;
}

function describe(err) {
  const parts = [err?.message ?? String(err)];
  const status = err?.status ?? err?.response?.status;
  if (status !== undefined) parts.push(`status=${status}`);
  if (typeof err?.code === "string" && err.code !== "ERR_ASSERTION") parts.push(`code=${err.code}`);
  const body = err?.data ?? err?.body ?? err?.response?.data;
  if (body !== undefined) parts.push(`body=${clip(typeof body === "string" ? body : JSON.stringify(body))}`);
  const request = requestOf(err);
  if (request) parts.push(`request=${request}`);
  return parts.join(" ");
}

/** Awaits a call that must fail with a Base44Error of this status (and code, per API.md's error body). */
async function expectError(promise, status, code) {
  let error;
  try {
    const value = await promise;
    assert.fail(
      `expected an error with status ${status}, got a success: ${clip(JSON.stringify(value) ?? "undefined")}`,
    );
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    error = err;
  }
  assert.equal(error.name, "Base44Error", `expected a Base44Error, got ${error.name}: ${error.message}`);
  assert.equal(error.status, status, `expected status ${status}, got ${error.status}: ${describe(error)}`);
  assert.equal(error.code, code, `expected code ${code}: ${describe(error)}`);
  assert.ok(typeof error.message === "string" && error.message.length > 0, "error message is empty");
  assert.equal(error.message, error.data?.message, `the SDK shows body.message: ${describe(error)}`);
  return error;
}

// ---------------------------------------------------------------------------------------------------
// Helpers about records

let me; // the signed-in user, set by the auth.me step

function assertRecord(record, expected = {}) {
  assert.ok(record && typeof record === "object" && !Array.isArray(record), `not a record: ${JSON.stringify(record)}`);
  assert.match(record.id, ID_RE, "id is 24 lowercase hex");
  assert.match(record.created_date, DATE_RE, "created_date in Base44 format");
  assert.match(record.updated_date, DATE_RE, "updated_date in Base44 format");
  assert.equal(String(record.created_by).toLowerCase(), me.email.toLowerCase(), "created_by is the creator's email");
  assert.equal(record.created_by_id, me.id, "created_by_id is the creator's id");
  assert.equal(record.is_sample, false, "is_sample");
  for (const internal of ["extra", "deleted_at", "data"]) {
    if (!(internal in expected)) assert.ok(!(internal in record), `internal column "${internal}" leaked`);
  }
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(record[key], value, `field ${key}`);
}

function assertArray(value, what) {
  assert.ok(
    Array.isArray(value),
    `${what}: expected a plain JSON array, got ${clip(JSON.stringify(value) ?? "undefined")}`,
  );
  return value;
}

/** The ids of `list` that are in `ours`, in the order the server returned them. */
function oursInOrder(list, ours) {
  const wanted = new Set(ours.map((r) => r.id));
  return list.filter((r) => wanted.has(r.id)).map((r) => r.id);
}

const ids = (records) => records.map((r) => r.id);

// ---------------------------------------------------------------------------------------------------
// Client set-up: exactly as the exported app's src/api/base44Client.js builds it, with serverUrl ours.

async function loginOverHttp() {
  // SDK 0.1.x has no login call (the browser is redirected to /login); a Node caller signs in directly.
  const response = await fetch(`${SERVER_URL}/api/apps/${APP_ID}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!response.ok) {
    throw Object.assign(new Error(`login failed: ${body?.message ?? response.statusText}`), {
      status: response.status,
      body,
      config: { method: "post", url: `${SERVER_URL}/api/apps/${APP_ID}/auth/login` },
    });
  }
  assert.equal(typeof body.access_token, "string", "login answers {access_token, user}");
  assert.equal(String(body.user?.email).toLowerCase(), ADMIN_EMAIL.toLowerCase(), "login answers the user");
  return body.access_token;
}

function newClient(token) {
  if (V08) return sdk.createClient({ serverUrl: SERVER_URL, appId: APP_ID, token, requiresAuth: false });
  return sdk.createClient({ serverUrl: SERVER_URL, appId: APP_ID, token, requiresAuth: true });
}

async function main() {
  let base44;
  if (V08) {
    base44 = newClient(TOKEN || undefined);
    if (ADMIN_EMAIL && ADMIN_PASSWORD) {
      await step("auth.loginViaEmailPassword wrong password → 401", async () => {
        await expectError(
          base44.auth.loginViaEmailPassword(ADMIN_EMAIL, `${ADMIN_PASSWORD}-wrong`),
          401,
          "unauthorized",
        );
      });
      await step("auth.loginViaEmailPassword", async () => {
        const result = await base44.auth.loginViaEmailPassword(ADMIN_EMAIL, ADMIN_PASSWORD);
        assert.equal(typeof result.access_token, "string", "access_token");
        assert.ok(result.access_token.length > 20, "access_token looks like a JWT");
        assert.equal(String(result.user?.email).toLowerCase(), ADMIN_EMAIL.toLowerCase(), "user.email");
      });
    }
  } else {
    const token =
      ADMIN_EMAIL && ADMIN_PASSWORD
        ? await step("POST /auth/login (0.1.x signs in by redirect)", loginOverHttp)
        : TOKEN;
    base44 = newClient(token);
  }
  const { entities } = base44;

  // --- Auth and the user ------------------------------------------------------------------------------
  await step("auth.me", async () => {
    me = await base44.auth.me();
    assert.match(me.id, /^[A-Za-z0-9_-]{1,64}$/, "user id");
    if (ADMIN_EMAIL) assert.equal(me.email.toLowerCase(), ADMIN_EMAIL.toLowerCase());
    assert.equal(me.role, "admin", "the driver signs in as an admin");
    for (const secret of ["password", "hashed_password", "password_hash"])
      assert.ok(!(secret in me), `${secret} leaked`);
  });
  await step("auth.isAuthenticated", async () => {
    assert.equal(await base44.auth.isAuthenticated(), true);
  });
  await step("auth.updateMe({full_name})", async () => {
    const name = `מנהלת המשרד ${TAG}`;
    const updated = await base44.auth.updateMe({ full_name: name, role: "user" });
    assert.equal(updated.full_name, name);
    assert.equal(updated.role, "admin", "role cannot be changed through updateMe");
    const again = await base44.auth.me();
    assert.equal(again.full_name, name, "me() reads the new name");
    me = again;
  });
  if (V08) {
    await step("app.getPublicSettings", async () => {
      const settings = await base44.app.getPublicSettings();
      assert.equal(settings.id, APP_ID);
      assert.equal(typeof settings.public_settings, "object");
    });
  }
  await step("User.list() (admin sees the users)", async () => {
    const users = assertArray(await entities.User.list(), "User.list");
    assert.ok(
      users.some((u) => u.id === me.id),
      "the admin is listed",
    );
  });

  // --- Contacts: create, list, bulk, fields/limit/skip ---------------------------------------------------
  const contacts = await step("Contact.create (Hebrew values)", async () => {
    const inputs = [
      {
        full_name: "ישראל ישראלי",
        phone: "+972501234567",
        email: "israel@example.co.il",
        city: "תל אביב",
        notes: TAG,
        sdk_extra: { tags: ["קונה", "מוכר"], score: 3 },
      },
      { full_name: "שרה כהן", phone: "052-7654321", email: "", city: "חיפה", notes: TAG, address: "הרצל 12" },
      { full_name: "דוד לוי", phone: "03-5551234", city: "ירושלים", notes: TAG },
    ];
    const created = [];
    for (const input of inputs) created.push(await entities.Contact.create(input)); // one by one: distinct created_date
    created.forEach((record, i) => assertRecord(record, inputs[i]));
    assert.deepEqual(created[0].sdk_extra, { tags: ["קונה", "מוכר"], score: 3 }, "undeclared fields are kept");
    assert.equal(created[1].email, "", '"" stays "" on a string field');
    return created;
  });
  await step("Contact.list('-created_date')", async () => {
    const list = assertArray(await entities.Contact.list("-created_date"), "Contact.list");
    assert.deepEqual(oursInOrder(list, contacts), ids(contacts).reverse(), "newest first");
    assert.deepEqual(
      list.find((r) => r.id === contacts[0].id),
      contacts[0],
      "list returns the stored record",
    );
  });
  const bulk = await step("Contact.bulkCreate (ids in input order)", async () => {
    const cities = ["רמת גן", "גבעתיים", "בני ברק"];
    const inputs = Array.from({ length: 150 }, (_, i) => ({
      full_name: `איש קשר ${i}`,
      phone: `050-000${String(i).padStart(4, "0")}`,
      city: cities[i % 3],
      notes: BULK_TAG,
    }));
    const created = assertArray(await entities.Contact.bulkCreate(inputs), "bulkCreate");
    assert.equal(created.length, inputs.length);
    created.forEach((record, i) => assertRecord(record, inputs[i]));
    assert.equal(new Set(ids(created)).size, created.length, "ids are unique");
    return created;
  });
  await step("Contact.list() returns every row (no limit sent)", async () => {
    const list = assertArray(await entities.Contact.list(), "Contact.list()");
    const seen = new Set(ids(list));
    for (const record of [...contacts, ...bulk])
      assert.ok(seen.has(record.id), `row ${record.id} missing from list() (${list.length} rows)`);
  });
  await step("Contact.filter(q, 'created_date', limit 2, skip 1, fields)", async () => {
    const page = assertArray(
      await entities.Contact.filter({ notes: TAG }, "created_date", 2, 1, ["full_name", "phone"]),
      "filter",
    );
    assert.deepEqual(ids(page), [contacts[1].id, contacts[2].id], "ascending, skipped one, two rows");
    for (const row of page) {
      assert.deepEqual(Object.keys(row).sort(), ["full_name", "id", "phone"], "only the fields asked for, plus id");
    }
    assert.equal(page[0].full_name, "שרה כהן");
  });
  await step("Contact.get(id)", async () => {
    assert.deepEqual(await entities.Contact.get(contacts[0].id), contacts[0]);
  });
  await step("Contact.update(id, {...wholeRecord, changed}) merges, ignores built-ins", async () => {
    const original = contacts[0];
    // A Base44 form sends the whole record back, id and dates included; built-ins are ignored, not rejected.
    const form = {
      ...original,
      created_date: "2001-01-01T00:00:00.000000",
      created_by: "someone@else.example",
      is_sample: true,
      phone: "+972509999999",
    };
    const updated = await entities.Contact.update(original.id, form);
    assertRecord(updated, { ...original, phone: "+972509999999", updated_date: updated.updated_date });
    assert.equal(updated.created_date, original.created_date, "created_date is read-only");
    assert.ok(updated.updated_date >= original.updated_date, "updated_date moves forward");
    contacts[0] = updated;
  });
  await step("Contact.update(id, {one field}) keeps the other fields", async () => {
    const updated = await entities.Contact.update(contacts[0].id, { city: "נתניה" });
    assertRecord(updated, { ...contacts[0], city: "נתניה", updated_date: updated.updated_date });
    assert.deepEqual(await entities.Contact.get(contacts[0].id), updated, "get reads what update answered");
    contacts[0] = updated;
  });
  await step("Contact.delete → get answers 404", async () => {
    const victim = contacts.pop();
    const result = await entities.Contact.delete(victim.id);
    assert.equal(result?.success, true, `delete answers {success: true}, got ${JSON.stringify(result)}`);
    await expectError(entities.Contact.get(victim.id), 404, "not_found");
    const list = await entities.Contact.filter({ notes: TAG });
    assert.ok(!ids(list).includes(victim.id), "a deleted record disappears from lists");
  });

  // --- SDK 0.8.x only: count, cursor pages, updateMany, bulkUpdate -----------------------------------------
  if (V08) {
    await step("Contact.count(q)", async () => {
      assert.equal(await entities.Contact.count({ notes: BULK_TAG }), 150);
      assert.equal(await entities.Contact.count({ notes: BULK_TAG, city: "גבעתיים" }), 50);
      const total = await entities.Contact.count();
      assert.ok(Number.isInteger(total) && total >= 152, `count() without a query counts everything, got ${total}`);
    });
    await step("Contact.filter(q, {cursor, limit}) walks every page", async () => {
      const seen = [];
      let page = await entities.Contact.filter({ notes: BULK_TAG }, { sort: "-created_date", limit: 40 });
      let pages = 1;
      for (;;) {
        for (const key of ["items", "next_cursor", "has_more"])
          assert.ok(key in page, `page has ${key}: ${clip(JSON.stringify(page))}`);
        assertArray(page.items, "page.items");
        assert.ok(page.items.length <= 40, "limit respected");
        seen.push(...ids(page.items));
        if (!page.has_more) break;
        assert.equal(typeof page.next_cursor, "string", "next_cursor while has_more");
        assert.ok(pages < 10, "the walk does not end");
        page = await entities.Contact.filter(
          { notes: BULK_TAG },
          { sort: "-created_date", limit: 40, cursor: page.next_cursor },
        );
        pages += 1;
      }
      assert.equal(page.next_cursor, null, "next_cursor is null on the last page");
      assert.equal(pages, 4, "150 rows in pages of 40");
      assert.equal(new Set(seen).size, seen.length, "no row twice");
      assert.deepEqual([...seen].sort(), ids(bulk).sort(), "every row once");
    });
    await step("Contact.list({limit}) returns one page", async () => {
      const page = await entities.Contact.list({ limit: 5 });
      assertArray(page.items, "page.items");
      assert.equal(page.items.length, 5);
      assert.equal(page.has_more, true);
    });
    await step("Contact.updateMany(q, {$set})", async () => {
      const result = await entities.Contact.updateMany(
        { notes: BULK_TAG, city: "בני ברק" },
        { $set: { city: "פתח תקווה" } },
      );
      assert.deepEqual(result, { success: true, updated: 50, has_more: false });
      assert.equal(await entities.Contact.count({ notes: BULK_TAG, city: "פתח תקווה" }), 50);
      assert.equal(await entities.Contact.count({ notes: BULK_TAG, city: "בני ברק" }), 0);
    });
    await step("Contact.bulkUpdate([{id, ...}])", async () => {
      const changes = [
        { id: bulk[2].id, phone: "054-1111111" },
        { id: bulk[0].id, city: "הרצליה" },
        { id: bulk[1].id, phone: "054-2222222", full_name: "שם חדש" },
      ];
      const updated = assertArray(await entities.Contact.bulkUpdate(changes), "bulkUpdate");
      assert.deepEqual(ids(updated), ids(changes), "records in input order");
      assertRecord(updated[0], { full_name: bulk[2].full_name, phone: "054-1111111", notes: BULK_TAG });
      assertRecord(updated[1], { city: "הרצליה", phone: bulk[0].phone });
      assertRecord(updated[2], { full_name: "שם חדש", phone: "054-2222222" });
      assert.deepEqual(await entities.Contact.get(bulk[1].id), updated[2]);
    });
  }

  await step("Contact.deleteMany(q)", async () => {
    const result = await entities.Contact.deleteMany({ notes: BULK_TAG });
    assert.deepEqual(result, { success: true, deleted: 150 });
    assert.deepEqual(await entities.Contact.filter({ notes: BULK_TAG }), [], "nothing left");
  });

  // --- Meetings, properties, clients ---------------------------------------------------------------------
  await step("Meeting.list('-start_date')", async () => {
    const starts = ["2025-03-05T10:00", "2025-03-07T09:30", "2025-03-06T14:00:00.000Z"];
    const created = [];
    for (const start of starts) {
      created.push(
        await entities.Meeting.create({
          contact_id: contacts[0].id,
          start_date: start,
          meeting_type: "תצוגת נכס",
          status: "נקבעה",
          location: "רוטשילד 1, תל אביב",
          notes: TAG,
        }),
      );
    }
    created.forEach((record, i) => assertRecord(record, { start_date: starts[i], contact_id: contacts[0].id }));
    const list = assertArray(await entities.Meeting.list("-start_date"), "Meeting.list");
    assert.deepEqual(oursInOrder(list, created), [created[1].id, created[2].id, created[0].id], "latest start first");
  });

  const properties = await step("Property.create (Hebrew, typed values as sent)", async () => {
    // 55 older rows first, so that the 50-row page below has to cut.
    const filler = Array.from({ length: 55 }, (_, i) => ({
      city: "אשדוד",
      price: 1000 + i,
      rooms: "2",
      description: BULK_TAG,
    }));
    assertArray(await entities.Property.bulkCreate(filler), "Property.bulkCreate");
    const inputs = [
      {
        contact_id: contacts[0].id,
        status: "נכס חדש",
        category: "פרטי",
        property_type: "דירה",
        listing_type: "מכירה",
        price: 900000,
        city: "באר שבע",
        area: "רמות",
        street: "הרצל",
        rooms: "3",
        square_meters: 70,
        parking: true,
        elevator: false,
        image_urls: [],
        description: TAG,
      },
      {
        contact_id: contacts[0].id,
        status: "נכס גויס",
        category: "מסחרי",
        property_type: "משרד",
        listing_type: "השכרה",
        price: 1500000,
        city: "תל אביב",
        area: "פלורנטין",
        street: "אבן גבירול",
        rooms: "2.5",
        parking: false,
        description: TAG,
      },
      {
        contact_id: contacts[1].id,
        status: "נכס פורסם",
        category: "פרטי",
        property_type: "בית פרטי",
        listing_type: "מכירה",
        price: 2800000,
        city: "רעננה",
        street: "הרצליה",
        rooms: "6+",
        balcony: true,
        description: TAG,
      },
      {
        contact_id: contacts[1].id,
        status: "נסגר",
        category: "מסחרי",
        property_type: "חנות",
        listing_type: "sale",
        price: 3500000,
        city: "תל אביב",
        area: "נווה צדק",
        street: "שבזי",
        rooms: "1",
        description: TAG,
      },
    ];
    const created = [];
    for (const input of inputs) created.push(await entities.Property.create(input));
    created.forEach((record, i) => assertRecord(record, inputs[i]));
    assert.equal(typeof created[0].rooms, "string", "rooms stays a string");
    assert.equal(typeof created[0].price, "number", "price stays a number");
    return created;
  });
  await step("Property.list('-created_date', 50)", async () => {
    const list = assertArray(await entities.Property.list("-created_date", 50), "Property.list");
    assert.equal(list.length, 50, "limit 50");
    assert.deepEqual(ids(list.slice(0, 4)), ids(properties).reverse(), "newest first");
    for (let i = 1; i < list.length; i += 1)
      assert.ok(list[i - 1].created_date >= list[i].created_date, "sorted by created_date desc");
  });

  const clients = await step("Client.create", async () => {
    const inputs = [
      {
        contact_id: contacts[0].id,
        status: "קונה חדש",
        request_category: "קנייה",
        property_type: "דירה",
        city: "תל אביב",
        budget: 2500000,
        rooms: "3",
        parking: true,
        source: TAG,
      },
      {
        contact_id: contacts[1].id,
        status: "פולואפ",
        request_category: "השכרה",
        city: "חיפה",
        budget: 6000,
        rooms: "2.5",
        source: TAG,
      },
      {
        contact_id: contacts[1].id,
        status: "קונה חדש",
        request_category: "קנייה",
        city: "רעננה",
        budget: "",
        source: TAG,
      },
    ];
    const created = [];
    for (const input of inputs) created.push(await entities.Client.create(input));
    created.forEach((record, i) => assertRecord(record, i === 2 ? { ...inputs[i], budget: null } : inputs[i]));
    return created;
  });
  await step("Client.filter({status: 'קונה חדש'})", async () => {
    const list = assertArray(await entities.Client.filter({ status: "קונה חדש" }), "Client.filter");
    assert.ok(
      list.every((c) => c.status === "קונה חדש"),
      "only that status",
    );
    assert.deepEqual(oursInOrder(list, clients).sort(), [clients[0].id, clients[2].id].sort());
  });

  const ourProperties = (list) =>
    list
      .filter((p) => p.description === TAG)
      .map((p) => p.price)
      .sort((a, b) => a - b);
  await step("Property.filter({price: {$gte, $lte}})", async () => {
    const list = assertArray(await entities.Property.filter({ price: { $gte: 1000000, $lte: 3000000 } }), "filter");
    assert.ok(
      list.every((p) => p.price >= 1000000 && p.price <= 3000000),
      "every row in range",
    );
    assert.deepEqual(ourProperties(list), [1500000, 2800000]);
  });
  await step("Property.filter({property_type: {$in}})", async () => {
    const list = assertArray(await entities.Property.filter({ property_type: { $in: ["משרד", "חנות"] } }), "filter");
    assert.ok(list.every((p) => ["משרד", "חנות"].includes(p.property_type)));
    assert.deepEqual(ourProperties(list), [1500000, 3500000]);
  });
  await step("Property.filter({street: {$regex}})", async () => {
    const list = assertArray(
      await entities.Property.filter({ street: { $regex: "^הרצ" }, description: TAG }),
      "filter",
    );
    assert.deepEqual(ourProperties(list), [900000, 2800000]);
    const insensitive = await entities.Property.filter({
      listing_type: { $regex: "SALE", $options: "i" },
      description: TAG,
    });
    assert.deepEqual(ourProperties(insensitive), [3500000]);
  });
  await step("Property.filter({$or, $ne}, '-price', 2)", async () => {
    const query = { description: TAG, $or: [{ city: "תל אביב" }, { rooms: "6+" }], status: { $ne: "נסגר" } };
    const list = assertArray(await entities.Property.filter(query, "-price", 2), "filter");
    assert.deepEqual(
      list.map((p) => p.price),
      [2800000, 1500000],
    );
    const top = await entities.Property.filter({ description: TAG }, "-price", 1);
    assert.deepEqual(
      top.map((p) => p.price),
      [3500000],
    );
  });

  // --- An entity we do not model: the schemaless store --------------------------------------------------
  const brokerage = await step("Commission.create (unmodelled entity)", async () => {
    const input = {
      property_id: properties[0].id,
      client_id: clients[0].id,
      commission_percent: 2,
      signed: true,
      signed_date: "2025-03-05",
      notes: "הסכם בלעדיות",
      parties: [{ name: "ישראל", role: "מוכר" }],
      tag: TAG,
    };
    const record = await entities.Commission.create(input);
    assertRecord(record, input);
    return record;
  });
  await step("Commission.list / filter", async () => {
    const second = await entities.Commission.create({
      property_id: properties[1].id,
      commission_percent: 1.5,
      signed: false,
      tag: TAG,
    });
    const list = assertArray(await entities.Commission.list("-created_date"), "list");
    assert.deepEqual(oursInOrder(list, [brokerage, second]), [second.id, brokerage.id]);
    const signed = await entities.Commission.filter({ tag: TAG, signed: true });
    assert.deepEqual(ids(signed), [brokerage.id]);
    const cheap = await entities.Commission.filter({ tag: TAG, commission_percent: { $lt: 2 } });
    assert.deepEqual(ids(cheap), [second.id]);
    await entities.Commission.delete(second.id);
  });
  await step("Commission.update (merge) / get", async () => {
    const updated = await entities.Commission.update(brokerage.id, { ...brokerage, commission_percent: 2.5 });
    assertRecord(updated, { ...brokerage, commission_percent: 2.5, updated_date: updated.updated_date });
    const partial = await entities.Commission.update(brokerage.id, { notes: "עודכן" });
    assertRecord(partial, { ...updated, notes: "עודכן", updated_date: partial.updated_date });
    assert.deepEqual(await entities.Commission.get(brokerage.id), partial);
  });
  await step("Commission.delete → get answers 404", async () => {
    assert.equal((await entities.Commission.delete(brokerage.id))?.success, true);
    await expectError(entities.Commission.get(brokerage.id), 404, "not_found");
    assert.deepEqual(await entities.Commission.filter({ tag: TAG }), []);
  });

  // --- Files ---------------------------------------------------------------------------------------------
  await step("integrations.Core.UploadFile → fetch file_url", async () => {
    // Both SDKs switch to multipart only for a File (not a bare Blob), as an <input type=file> gives.
    const file = new File([PNG], "דירה-בתל-אביב.png", { type: "image/png" });
    const result = await base44.integrations.Core.UploadFile({ file });
    assert.equal(typeof result.file_url, "string", `UploadFile answers {file_url}, got ${JSON.stringify(result)}`);
    const url = new URL(result.file_url, `${SERVER_URL}/`); // a relative file_url is resolved against the server
    const response = await fetch(url); // no Authorization: an <img src> cannot send one
    assert.equal(response.status, 200, `GET ${url} → ${response.status} ${await response.clone().text()}`);
    assert.equal(response.headers.get("content-type"), "image/png");
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), PNG, "the same bytes come back");
  });

  // --- Errors and sign-out ---------------------------------------------------------------------------------
  await step("a call without a token → 401", async () => {
    const anonymous = newClient(undefined);
    await expectError(anonymous.entities.Contact.list(), 401, "unauthorized");
  });
  await step("cleanup (deleteMany by run tag)", async () => {
    for (const [entity, query] of [
      ["Contact", { notes: TAG }],
      ["Meeting", { notes: TAG }],
      ["Property", { description: { $in: [TAG, BULK_TAG] } }],
      ["Client", { source: TAG }],
    ]) {
      const result = await entities[entity].deleteMany(query);
      assert.equal(result.success, true, `${entity}.deleteMany`);
    }
    assert.deepEqual(await entities.Property.filter({ description: { $in: [TAG, BULK_TAG] } }), []);
  });
  if (V08) {
    await step("auth.logout → me() answers 401", async () => {
      base44.auth.logout(); // in Node: drops the Authorization header, no redirect
      await expectError(base44.auth.me(), 401, "unauthorized");
    });
    base44.cleanup?.();
  }
}

try {
  await main();
  console.log(`${passed} passed, 0 failed`);
  process.exitCode = 0;
} catch (err) {
  if (!(err instanceof Stop)) console.log(`FAIL driver: ${describe(err)}\n${err?.stack ?? ""}`);
  process.exitCode = 1;
}
// The 0.8.x client can keep sockets or timers alive; the result is printed, so leave now.
process.exit(process.exitCode);
