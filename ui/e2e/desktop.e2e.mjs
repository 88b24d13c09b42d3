// End-to-end scenario against the real desktop window, through tauri-driver's WebDriver
// endpoint. Plain Node (20+) with fetch, so it needs no packages of its own; scripts/e2e starts
// the display and the driver and passes their whereabouts in the environment:
//
//   ADMIT_E2E_WEBDRIVER  e.g. http://127.0.0.1:4444
//   ADMIT_E2E_APP        absolute path of the admit-desktop binary
//   ADMIT_E2E_ARTIFACTS  folder for one screenshot per step
//   ADMIT_EXPORT_DIR     where the app saves exports (the scenario reads the files back)
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";

import { APP, BASE, ELEMENT, Session, WebDriverError, http, sleep } from "./webdriver.mjs";

const ARTIFACTS = process.env.ADMIT_E2E_ARTIFACTS ?? "target/e2e";
const EXPORTS = process.env.ADMIT_EXPORT_DIR ?? "";
if (!BASE || !APP || !isAbsolute(APP) || !isAbsolute(EXPORTS)) {
  console.error("e2e: set ADMIT_E2E_WEBDRIVER, ADMIT_E2E_APP and ADMIT_EXPORT_DIR (absolute paths); scripts/e2e does this");
  process.exit(2);
}

// Debug builds hash passwords and open SQLite noticeably slower than release builds.
const WAIT_MS = 30_000;
const KEY_ENTER = "\uE007";
const KEY_RIGHT = "\uE014";

async function waitReady() {
  const until = Date.now() + WAIT_MS;
  let last = "no answer";
  while (Date.now() < until) {
    try {
      const s = await http("GET", "/status");
      if (s?.ready) return;
      last = `not ready: ${s?.message ?? JSON.stringify(s)}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(200);
  }
  throw reported(`the WebDriver at ${BASE} was not ready within ${WAIT_MS / 1000} s (${last})`);
}

// ---------------------------------------------------------------------------------------------
// Steps, waits and what a failure reports.

class StepFailure extends Error {
  constructor(expected, shown) {
    super(`expected ${expected}`);
    this.expected = expected;
    this.shown = shown;
  }
}

let s; // the session
const tid = (id) => `[data-testid="${id}"]`;

/** What a person would see right now: the screen's name, its error boxes and its text. */
async function screenNow() {
  try {
    return await s.js(`
      const vis = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
      const screens = [...document.querySelectorAll('[data-testid^="screen-"]')].map((e) => e.dataset.testid);
      const errors = [...document.querySelectorAll('[data-testid="error"], [data-testid="database-error"]')]
        .filter(vis).map((e) => e.innerText.trim());
      const verdict = document.querySelector('[data-testid="verdict"]');
      const text = (document.body.innerText || "").replace(/\\s+/g, " ").trim();
      return [
        "screen " + (screens.join(", ") || "(none)"),
        errors.length ? "errors: " + errors.join(" | ") : "",
        verdict ? "verdict " + verdict.dataset.verdict + " (" + verdict.className + ")" : "",
        "text: " + (text.length > 700 ? text.slice(0, 700) + "…" : text),
      ].filter(Boolean).join("; ");
    `);
  } catch (e) {
    return `(could not read the screen: ${e.message})`;
  }
}

/**
 * Polls `probe` until it returns a truthy value, which is returned. `probe` may also return
 * `{ ok: false, saw }` to say what it saw; that goes into the failure message.
 */
async function waitFor(expected, probe, timeoutMs = WAIT_MS) {
  const until = Date.now() + timeoutMs;
  let saw = "";
  for (;;) {
    try {
      const r = await probe();
      if (r && !(typeof r === "object" && r.ok === false)) return r;
      if (r && typeof r === "object" && "saw" in r) saw = String(r.saw);
    } catch (e) {
      if (!(e instanceof WebDriverError)) throw e;
      saw = e.message;
    }
    if (Date.now() > until) {
      throw new StepFailure(expected, `${saw ? `${saw}; ` : ""}${await screenNow()}`);
    }
    await sleep(150);
  }
}

/** The first visible element for a CSS selector (or data-testid), waiting for it. */
async function find(selector, { index = 0, within = null } = {}) {
  const css = /^[a-z0-9-]+$/.test(selector) ? tid(selector) : selector;
  return waitFor(`${css}${index ? ` #${index + 1}` : ""} to be shown`, async () => {
    const els = within ? await http("POST", `${s.path}/element/${within}/elements`, { using: "css selector", value: css }).then((f) => f.map((x) => x[ELEMENT])) : await s.all(css);
    const shown = [];
    for (const el of els) if (await s.displayed(el)) shown.push(el);
    return shown[index] ?? { ok: false, saw: `${shown.length} shown of ${els.length} found` };
  });
}

async function click(selector, opts) {
  const el = await find(selector, opts);
  await waitFor(`${selector} to be enabled`, async () => (await s.prop(el, "disabled")) !== true || { ok: false, saw: "disabled" });
  await s.click(el);
  return el;
}

/** Types like a person: focus by clicking, clear what is there, then the keys. */
async function type(selector, text, { clear = true, opts } = {}) {
  const el = await find(selector, opts);
  await s.click(el);
  if (clear) await s.clear(el);
  await s.keys(el, text);
  return el;
}

/**
 * Types a wall-clock time into a datetime-local field part by part, as a person does in
 * WebKit's segmented field: month, day, year, hour, minute (the order of the C locale that
 * scripts/e2e runs the app in), moving on with the right arrow key.
 */
async function typeDateTime(selector, local) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!m) throw new Error(`bad test time ${local}`);
  const [, y, mo, d, h, mi] = m;
  const el = await find(selector);
  await s.click(el);
  await s.keys(el, [mo, d, y, h, mi].join(KEY_RIGHT));
  await waitFor(`${selector} to hold ${local}`, async () => {
    const v = await s.prop(el, "value");
    return v.startsWith(local) || { ok: false, saw: `${selector} held "${v}"` };
  }, 3000);
}

async function textOf(selector, opts) {
  return (await s.text(await find(selector, opts))).trim();
}

async function expectText(selector, wanted, opts) {
  const want = typeof wanted === "string" ? (t) => t.includes(wanted) : (t) => wanted.test(t);
  return waitFor(`${selector} to show ${wanted}`, async () => {
    const t = await textOf(selector, opts);
    return want(t) ? t : { ok: false, saw: `${selector} showed "${t}"` };
  });
}

async function count(selector) {
  return (await s.all(/^[a-z0-9-]+$/.test(selector) ? tid(selector) : selector)).length;
}

/** Picks the option whose label contains `label`, by clicking it like a person would. */
async function choose(selector, label) {
  const select = await find(selector);
  const opt = await waitFor(`${selector} to offer "${label}"`, async () => {
    const opts = await http("POST", `${s.path}/element/${select}/elements`, { using: "css selector", value: "option" }).then((f) => f.map((x) => x[ELEMENT]));
    const labels = [];
    for (const o of opts) {
      const t = (await s.prop(o, "label")) || (await s.text(o));
      labels.push(t);
      if (t.includes(label)) return o;
    }
    return { ok: false, saw: `options: ${labels.join(" | ") || "(none)"}` };
  });
  await s.click(opt);
  await waitFor(`${selector} to have "${label}" chosen`, async () => {
    const chosen = await s.js("const e = arguments[0]; return e.selectedOptions[0] ? e.selectedOptions[0].label : ''", { [ELEMENT]: select });
    return chosen.includes(label) || { ok: false, saw: `chosen: "${chosen}"` };
  });
}

async function focusedTestId() {
  return s.js("const a = document.activeElement; return a ? a.getAttribute('data-testid') || a.tagName : null");
}

/** Colour family of an element's background: green, amber, red or other. */
async function tone(selector) {
  const bg = await s.js(`return getComputedStyle(document.querySelector(arguments[0])).backgroundColor`, /^[a-z0-9-]+$/.test(selector) ? tid(selector) : selector);
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(bg ?? "");
  if (!m) return `other (${bg})`;
  const [r, g, b] = m.slice(1).map(Number);
  if (g > r + 40 && g > b + 40) return "green";
  if (r > 200 && g >= 120 && g <= 210 && b < 90) return "amber";
  if (r > g + 80 && r > b + 80) return "red";
  return `other (${bg})`;
}

let stepNo = 0;
async function step(name, fn) {
  stepNo += 1;
  const label = `${String(stepNo).padStart(2, "0")}-${name}`;
  const t0 = Date.now();
  let failure = null;
  try {
    await fn();
  } catch (e) {
    failure = e;
  }
  try {
    // WebKit hands out the last painted frame; let the DOM just asserted reach the screen.
    await s.afterPaint();
    const png = await s.screenshot();
    await writeFile(join(ARTIFACTS, `${label}${failure ? "-FAILED" : ""}.png`), Buffer.from(png, "base64"));
  } catch (e) {
    console.error(`    (no screenshot: ${e.message})`);
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (failure) {
    console.log(`FAIL ${label} (${secs} s)`);
    const err = new Error(
      failure instanceof StepFailure
        ? `step ${label}: expected ${failure.expected}\n  screen showed: ${failure.shown}`
        : `step ${label}: ${failure.message}\n  screen showed: ${await screenNow()}`,
    );
    err.reported = true;
    throw err;
  }
  console.log(`ok   ${label} (${secs} s)`);
}

function reported(message) {
  const e = new Error(`e2e: ${message}`);
  e.reported = true;
  return e;
}

function check(cond, expected, saw) {
  if (!cond) throw new StepFailure(expected, saw);
}

// ---------------------------------------------------------------------------------------------
// Test data.

const OWNER = { username: "owner", display: "Olga Owner", password: "correct horse battery" };
const EVENT_NAME = `Spring Gala ${new Date().toISOString().slice(0, 16).replace("T", " ")}`;
const day = new Date(Date.now() + 30 * 86400_000).toISOString().slice(0, 10);
const STARTS = `${day}T19:30`;
const ENDS = `${day}T22:30`;
const ENDS_SET = `${day}T23:15`;

/** The same code with one character in its middle changed to another of its kind. */
function forge(secret) {
  const i = Math.floor(secret.length / 2);
  const c = secret[i];
  const next = (from, to) => (c === to ? from : String.fromCharCode(c.charCodeAt(0) + 1));
  const r = /[0-9]/.test(c) ? next("0", "9") : /[a-z]/.test(c) ? next("a", "z") : /[A-Z]/.test(c) ? next("A", "Z") : c === "A" ? "B" : "A";
  return secret.slice(0, i) + r + secret.slice(i + 1);
}

/** Scans at the door as a keyboard-wedge scanner does and waits for the new verdict. */
async function scan(code) {
  const before = await s.js(`const v = document.querySelector('[data-testid="verdict"]'); return v ? Number(v.dataset.seq) : 0`);
  // Not sent to the field itself: a scanner types wherever the focus is, so must the test.
  await s.keyboard(code + KEY_ENTER);
  const verdict = await waitFor("a verdict for the scan", async () => {
    const seq = await s.js(`const v = document.querySelector('[data-testid="verdict"]'); return v ? Number(v.dataset.seq) : 0`);
    return seq > before ? find("verdict") : { ok: false, saw: "no new verdict" };
  });
  return { verdict: await s.attr(verdict, "data-verdict"), detail: await textOf("verdict-detail"), title: await textOf("verdict-title") };
}

async function expectScanFocus() {
  await waitFor("the code field to have focus again", async () => {
    const f = await focusedTestId();
    return f === "door-input" || { ok: false, saw: `focus on ${f}` };
  }, 3000);
}

async function expectVerdict(got, verdict, colour) {
  check(got.verdict === verdict, `verdict ${verdict}`, `verdict ${got.verdict}: ${got.title} — ${got.detail}`);
  const t = await tone("verdict");
  check(t === colour, `a ${colour} verdict`, `${t} for verdict ${got.verdict}`);
  await expectScanFocus();
}

// ---------------------------------------------------------------------------------------------
// The scenario.

async function scenario() {
  const tickets = [];
  let orderCode = "";

  await step("first-run", async () => {
    await find("screen-first-run");
    check((await count("nav-dashboard")) === 0, "no navigation before setup", "navigation shown");
    check((await count("database-error")) === 0, "no database error in a fresh data folder", await screenNow());
    await find("db-default");
  });

  await step("default-database", async () => {
    await click("db-default");
    await find("owner-username");
    await expectText("screen-first-run", "admit.sqlite");
  });

  await step("owner-created", async () => {
    await type("owner-username", OWNER.username);
    await type("owner-display-name", OWNER.display);
    await type("owner-password", OWNER.password);
    await type("owner-password2", OWNER.password);
    await click("owner-create");
    await find("nav-events");
    await expectText(".topbar .user", OWNER.display);
    await expectText(".topbar .user", "Owner");
  });

  await step("event-created", async () => {
    await click("nav-events");
    await find("screen-events");
    await click("event-new");
    await type("event-name", EVENT_NAME);
    await type("event-venue", "Town Hall");
    await type("event-tz", "Europe/Berlin");
    await typeDateTime("event-starts", STARTS);
    // The end follows the start until it is set by hand.
    await waitFor(`the end to follow the start (${ENDS})`, async () => {
      const v = await s.prop(await find("event-ends"), "value");
      return v.startsWith(ENDS) || { ok: false, saw: `end "${v}"` };
    }, 3000);
    await typeDateTime("event-ends", ENDS_SET);
    await click("event-save");
    const row = await waitFor(`an event row "${EVENT_NAME}"`, async () => {
      for (const r of await s.all(tid("event-row"))) if ((await s.text(r)).includes(EVENT_NAME)) return r;
      return { ok: false, saw: `${await count("event-row")} rows` };
    });
    await s.click(row);
    await expectText(".event-detail h2", EVENT_NAME);
    const status = await s.attr(await find("event-status"), "data-status");
    check(status === "draft", "a draft event", `status ${status}`);
    await expectText(".event-detail .muted", "Europe/Berlin");
    await expectText(".event-detail .muted", /(19:30|7:30\sPM).*(23:15|11:15\sPM)/);
  });

  await step("ticket-types", async () => {
    for (const [i, [name, price]] of [["Adult", "25.00"], ["Child", "10.00"]].entries()) {
      await type("tt-name", name);
      await type("tt-price", price);
      await type("tt-currency", "EUR");
      await click("tt-add");
      await waitFor(`${i + 1} ticket type rows`, async () => (await count("tt-row")) === i + 1 || { ok: false, saw: `${await count("tt-row")} rows` });
      await expectText("tt-row", name, { index: i });
      await expectText("tt-row", price.replace(".00", ""), { index: i });
    }
  });

  await step("quota", async () => {
    await type("quota-name", "Hall");
    await type("quota-size", "100");
    await click("quota-type", { index: 0 });
    await click("quota-type", { index: 1 });
    await click("quota-add");
    await expectText("quota-row", "Adult, Child");
    await expectText("quota-row", "100");
  });

  await step("checkin-list", async () => {
    await type("list-name", "Main entrance");
    await click("list-add");
    await expectText("list-row", "Main entrance");
    await expectText("list-row", "All types");
  });

  await step("published", async () => {
    await click("event-publish");
    await waitFor("the status to say published", async () => {
      const el = await find("event-status");
      const [st, text] = [await s.attr(el, "data-status"), (await s.text(el)).trim()];
      return (st === "published" && /published/i.test(text)) || { ok: false, saw: `status ${st} "${text}"` };
    });
  });

  await step("sale-change", async () => {
    await click("nav-boxoffice");
    await find("screen-boxoffice");
    await choose("bo-event", EVENT_NAME);
    await expectText("bo-type", "Adult", { index: 0 });
    await expectText("bo-type", "Child", { index: 1 });
    await type("bo-qty", "1", { opts: { index: 0 } });
    await type("bo-qty", "1", { opts: { index: 1 } });
    await expectText("bo-total", "35.00");
    await expectText(".hold-line", "Reserved for this sale (2)");
    await click("bo-pay-cash");
    await type("bo-given", "50");
    await expectText("bo-change", "15.00");
  });

  await step("sale-complete", async () => {
    await click("bo-complete");
    await waitFor("two ticket cards", async () => (await count("ticket-card")) === 2 || { ok: false, saw: `${await count("ticket-card")} cards` });
    orderCode = await textOf("bo-order-code");
    check(/^\S{4,}$/.test(orderCode), "an order code", `"${orderCode}"`);
    await expectText("bo-change-due", "15.00");
    for (let i = 0; i < 2; i++) {
      const card = await find("ticket-card", { index: i });
      const qr = await s.js(
        "const svg = arguments[0].querySelector('.ticket-qr svg'); if (!svg) return null; const r = svg.getBoundingClientRect(); return [r.width, r.height]",
        { [ELEMENT]: card },
      );
      check(qr && qr[0] >= 80 && qr[1] >= 80, `a QR code on ticket ${i + 1}`, `QR box ${JSON.stringify(qr)}`);
      const secret = (await s.text(await find("ticket-secret", { within: card }))).trim();
      const type = (await s.text(await find(".ticket-type", { within: card }))).trim();
      const code = (await s.text(await find("ticket-order-code", { within: card }))).trim();
      check(secret.length >= 8, `a ticket code on ticket ${i + 1}`, `"${secret}"`);
      check(code === orderCode, `order ${orderCode} on ticket ${i + 1}`, `order "${code}"`);
      tickets.push({ secret, type, id: await s.attr(card, "data-ticket-id") });
    }
    check(tickets[0].secret !== tickets[1].secret, "two different ticket codes", "the same code twice");
  });

  await step("door-admit", async () => {
    await click("nav-door");
    await find("screen-door");
    await choose("door-list", "Main entrance");
    await expectScanFocus();
    await expectText("door-admitted", "0");
    const got = await scan(tickets[0].secret);
    await expectVerdict(got, "ok", "green");
    await expectText("door-admitted", /^1$/);
  });

  await step("door-already-used", async () => {
    const got = await scan(tickets[0].secret);
    await expectVerdict(got, "already_redeemed", "amber");
    check(/First used at \S/.test(got.detail), "when it was first used", got.detail);
    // The app's explanation and the UI's own line name the same clock time.
    const said = /at (\d\d:\d\d)\b/.exec(got.detail.split("First used")[0]);
    if (said) check(new RegExp(`First used at ${said[1]}`).test(got.detail), `the first use at ${said[1]} as the explanation says`, got.detail);
    await expectText("door-admitted", /^1$/);
  });

  await step("door-forged", async () => {
    const forged = forge(tickets[1].secret);
    check(forged !== tickets[1].secret && forged.length === tickets[1].secret.length, "a forged code", forged);
    const got = await scan(forged);
    await expectVerdict(got, "invalid", "red");
  });

  await step("order-ticket-cancelled", async () => {
    await click("nav-orders");
    await find("screen-orders");
    await type("orders-search", orderCode);
    const row = await waitFor(`one order row for ${orderCode}`, async () => {
      const rows = await s.all(tid("order-row"));
      const texts = await Promise.all(rows.map((r) => s.text(r)));
      return rows.length === 1 && texts[0].includes(orderCode) ? rows[0] : { ok: false, saw: `rows: ${texts.join(" | ") || "(none)"}` };
    });
    await s.click(row);
    await expectText("order-code", orderCode);
    await waitFor("two tickets in the order", async () => (await count("order-ticket")) === 2 || { ok: false, saw: `${await count("order-ticket")} tickets` });
    const second = tickets[1].id ? `[data-testid="order-ticket"][data-ticket-id="${tickets[1].id}"]` : null;
    check(second, "the ticket id on the ticket card", "none");
    await click(`${second} [data-testid="order-ticket-cancel"]`);
    await click("confirm-yes");
    await waitFor("the second ticket to show cancelled", async () => {
      const el = await find(`${second} [data-testid="order-ticket-status"]`);
      const [st, text] = [await s.attr(el, "data-status"), (await s.text(el)).trim()];
      return (st === "cancelled" && /cancel/i.test(text)) || { ok: false, saw: `status ${st} "${text}"` };
    });
    const first = await s.attr(await find(`[data-testid="order-ticket"][data-ticket-id="${tickets[0].id}"] [data-testid="order-ticket-status"]`), "data-status");
    check(first === "valid", "the first ticket still valid", `status ${first}`);
  });

  await step("door-cancelled", async () => {
    await click("nav-door");
    await find("screen-door");
    await waitFor("the same list chosen", async () => {
      const chosen = await s.js("const e = document.querySelector('[data-testid=door-list]'); return e && e.selectedOptions[0] ? e.selectedOptions[0].label : ''");
      return chosen.includes("Main entrance") || { ok: false, saw: `chosen "${chosen}"` };
    });
    await expectScanFocus();
    const got = await scan(tickets[1].secret);
    await expectVerdict(got, "canceled", "red");
    check(/cancel/i.test(got.title) && /cancelled/i.test(got.detail), "plain words about the cancellation", `${got.title} — ${got.detail}`);
    check(/box office/i.test(got.detail), "what to do with a cancelled ticket", got.detail);
    await expectText("door-admitted", /^1$/);
  });

  await reportsScenario(orderCode);
  await commerceScenario();
  await waitlistScenario();
}

/** A file the app says it saved: in the exports folder, and as many bytes as it said. */
async function savedFile(pathText) {
  const path = pathText.trim();
  check(dirname(path) === EXPORTS, `a file in ${EXPORTS}`, path);
  try {
    return await readFile(path);
  } catch (e) {
    throw new StepFailure(`the saved file ${path} to exist`, e.message);
  }
}

/** The dashboard's chart pictures: how many there are and whether each was drawn. */
async function chartImages() {
  return s.js(`
    return [...document.querySelectorAll('[data-testid="chart-img"]')].map((img) => ({
      kind: img.closest('figure')?.dataset.testid,
      src: (img.getAttribute('src') || '').slice(0, 40),
      length: (img.getAttribute('src') || '').length,
      loaded: img.complete && img.naturalWidth > 0,
      width: Math.round(img.getBoundingClientRect().width),
      height: Math.round(img.getBoundingClientRect().height),
    }));
  `);
}

async function reportsScenario(orderCode) {
  await step("dashboard-charts", async () => {
    await click("nav-dashboard");
    await find("screen-dashboard");
    await choose("chart-event", EVENT_NAME);
    await waitFor("three drawn chart images", async () => {
      const imgs = await chartImages();
      return (imgs.length === 3 && imgs.every((i) => i.loaded && i.length > 1000)) || { ok: false, saw: JSON.stringify(imgs) };
    });
    const kinds = (await chartImages()).map((i) => i.kind).join(",");
    check(kinds === "chart-sales,chart-revenue,chart-door", "the sales, revenue and door charts", kinds);
    for (const c of await chartImages()) {
      check(c.src.startsWith("data:image/svg+xml"), `${c.kind} as an SVG image`, c.src);
      check(c.width >= 400 && c.height >= 200, `${c.kind} big enough to read`, `${c.width}×${c.height}`);
    }
    // No chart markup in the page itself: an <svg> there could run script.
    const inline = await s.js(`return document.querySelectorAll('[data-testid="dash-charts"] svg').length`);
    check(inline === 0, "no inline SVG in the charts", `${inline} inline`);
    // Charts sit below the day's figures; bring them into view for the screenshot.
    await s.js(`document.querySelector('[data-testid="dash-charts"]').scrollIntoView({ block: "start" })`);
  });

  await step("chart-png-saved", async () => {
    await click('[data-testid="chart-revenue"] [data-testid="chart-save"]');
    const shown = await expectText('[data-testid="chart-revenue"] [data-testid="chart-saved"]', EXPORTS);
    const png = await savedFile(shown.replace(/^Saved to\s*/, ""));
    check(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), "a PNG file", png.subarray(0, 8).toString("hex"));
  });

  await step("orders-exported", async () => {
    await click("nav-reports");
    await find("screen-reports");
    await choose("reports-event", EVENT_NAME);
    await click("export-kind-orders");
    await click("export-run");
    const path = await textOf("export-saved-path");
    await expectText("export-saved", "1 row");
    const csv = (await savedFile(path)).toString("utf8");
    const lines = csv.trim().split(/\r\n/);
    check(lines[0] === "order_id,code,created_at,status,channel,payment_method,buyer_name,buyer_email,total,currency,sold_by,device_id", "the orders header", lines[0]);
    check(lines.length === 2, "one order row under the header", `${lines.length - 1} rows: ${csv}`);
    check(lines[1].includes(`,${orderCode},`) && lines[1].includes(",cash,") && lines[1].includes(`,${OWNER.username},`), `order ${orderCode}, cash, sold by ${OWNER.username}`, lines[1]);
    const bar = await find('[data-testid="export-progress"] [role="progressbar"]');
    const [done, total] = [await s.attr(bar, "aria-valuenow"), await s.attr(bar, "aria-valuemax")];
    check(done === "1" && total === "1", "the progress bar at 1 of 1 rows", `${done} of ${total}`);
  });

  await step("shift-report", async () => {
    const report = await find("shift-report");
    await expectText("shift-who", "All cashiers");
    const cash = await find('[data-testid="shift-method"][data-method="cash"]');
    const cells = (await s.text(cash)).trim();
    check(/Cash/.test(cells) && /35\.00/.test(cells), "today's cash sale of 35.00", cells);
    await expectText("shift-drawer", OWNER.username);
    await expectText("shift-drawer-expected", "35.00");
    await s.js("arguments[0].scrollIntoView({ block: 'start' })", { [ELEMENT]: report });
  });

  await step("shift-report-printed", async () => {
    // What window.print() puts on paper: the page's print rules applied to the screen.
    await s.js(`
      const rules = [];
      for (const sheet of document.styleSheets) {
        for (const r of sheet.cssRules) {
          if (r instanceof CSSMediaRule && /\\bprint\\b/.test(r.media.mediaText)) {
            for (const inner of r.cssRules) if (!(inner instanceof CSSPageRule)) rules.push(inner.cssText);
          }
        }
      }
      const style = document.createElement("style");
      style.id = "e2e-print";
      style.textContent = rules.join("\\n");
      document.head.appendChild(style);
      window.scrollTo(0, 0);
      document.querySelector(".main").scrollTo(0, 0);
    `);
    try {
      const shown = await s.js(`
        const vis = (sel) => { const e = document.querySelector(sel); return !!e && getComputedStyle(e).display !== "none" && e.getClientRects().length > 0; };
        return { nav: vis(".topbar"), exports: vis('[data-testid="report-exports"]'), controls: vis('[data-testid="shift-show"]'),
                 report: vis('[data-testid="shift-report"]'), heading: vis('[data-testid="shift-report"] .print-only') };
      `);
      check(!shown.nav && !shown.exports && !shown.controls, "navigation, other reports and the controls left off the paper", JSON.stringify(shown));
      check(shown.report && shown.heading, "the report with its printed heading", JSON.stringify(shown));
      await s.afterPaint();
      const png = await s.screenshot();
      await writeFile(join(ARTIFACTS, `${String(stepNo).padStart(2, "0")}-shift-report-print-layout.png`), Buffer.from(png, "base64"));
    } finally {
      await s.js(`document.getElementById("e2e-print")?.remove()`);
    }
  });
}

/** Opens the order with `code` on the Orders screen. */
async function openOrder(code) {
  await click("nav-orders");
  await find("screen-orders");
  await type("orders-search", code);
  const row = await waitFor(`one order row for ${code}`, async () => {
    const rows = await s.all(tid("order-row"));
    const texts = await Promise.all(rows.map((r) => s.text(r)));
    return rows.length === 1 && texts[0].includes(code) ? rows[0] : { ok: false, saw: `rows: ${texts.join(" | ") || "(none)"}` };
  });
  await s.click(row);
  await expectText("order-code", code);
}

async function orderStatus() {
  return s.attr(await find("order-status"), "data-status");
}

/** Coupons, pay-later orders, refunds and the cash drawer's shift. */
async function commerceScenario() {
  let couponCode = "";
  let laterCode = "";

  await step("coupon-created", async () => {
    await click("nav-events");
    await find("screen-events");
    const row = await waitFor(`an event row "${EVENT_NAME}"`, async () => {
      for (const r of await s.all(tid("event-row"))) if ((await s.text(r)).includes(EVENT_NAME)) return r;
      return { ok: false, saw: `${await count("event-row")} rows` };
    });
    await s.click(row);
    await expectText(".event-detail h2", EVENT_NAME);
    await type("coupon-code", "spring10");
    await type("coupon-value", "10");
    await type("coupon-max", "100");
    await click("coupon-add");
    await expectText("coupon-row", "SPRING10");
    await expectText("coupon-row", "10 % off");
    await expectText("coupon-uses", "0 / 100");
    await s.js(`document.querySelector('[data-testid="coupons"]').scrollIntoView({ block: "start" })`);
  });

  await step("shift-opened", async () => {
    await click("nav-boxoffice");
    await find("screen-boxoffice");
    await choose("bo-event", EVENT_NAME);
    await type("shift-float", "100");
    await click("shift-open");
    await expectText("shift-expected", "100.00");
  });

  await step("coupon-quote", async () => {
    await expectText("bo-type", "Adult", { index: 0 });
    await type("bo-qty", "1", { opts: { index: 0 } });
    await expectText("bo-total", "25.00");
    await type("bo-coupon", "spring10");
    await expectText("bo-discount", "2.50");
    await expectText("bo-total", "22.50");
    await expectText("bo-coupon-ok", "SPRING10");
    await click("bo-pay-card");
    // The terminal's approval is required: refused next to the box without it.
    await click("bo-complete");
    await expectText(`[data-testid="field-error-card_confirmed"]`, "Terminal approved");
    await click("bo-card-ok");
    await type("bo-card-ref", "T-1001");
  });

  await step("coupon-sale", async () => {
    await click("bo-complete");
    await waitFor("one ticket card", async () => (await count("ticket-card")) === 1 || { ok: false, saw: `${await count("ticket-card")} cards` });
    couponCode = await textOf("bo-order-code");
    await expectText("bo-sold-total", "22.50");
    await expectText("bo-sold-summary", /2\.50 off/);
    await expectText(".ticket-card", "22.50");
  });

  await step("pay-later-sale", async () => {
    await click("bo-new");
    await expectText("bo-type", "Child", { index: 1 });
    await type("bo-qty", "1", { opts: { index: 1 } });
    await expectText("bo-total", "10.00");
    await click("bo-pay-later");
    const due = await s.prop(await find("bo-due"), "value");
    check(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(due), "a default due date", `"${due}"`);
    await click("bo-complete");
    await find("bo-pending");
    laterCode = await textOf("bo-order-code");
    check(laterCode !== couponCode, "a new order", laterCode);
    await expectText("bo-pending-due", "Europe/Berlin");
    check((await count("ticket-card")) === 0, "no tickets to print before payment", `${await count("ticket-card")} cards`);
    check((await count("bo-print")) === 0, "no print button before payment", "a print button");
  });

  await step("pay-later-order", async () => {
    await openOrder(laterCode);
    check((await orderStatus()) === "pending", "a pending order", await orderStatus());
    await expectText("order-due", "To be paid by");
    await expectText("order-due", "Europe/Berlin");
    await find("take-payment");
    check((await count("order-refund")) === 0, "no refund before payment", "a refund button");
    await type("pay-given", "20");
    await expectText("pay-change", "10.00");
  });

  await step("pay-later-paid", async () => {
    await click("pay-submit");
    await waitFor("the order to be paid", async () => ((await orderStatus()) === "paid") || { ok: false, saw: `status ${await orderStatus()}` });
    await expectText("pay-change-due", "10.00");
    await waitFor("its ticket ready to print", async () => (await count("ticket-card")) === 1 || { ok: false, saw: `${await count("ticket-card")} cards` });
    check((await count("take-payment")) === 0, "no more payment form", "still shown");
  });

  await step("refund-form", async () => {
    await click("order-refund");
    await find("refund-form");
    await type("refund-amount", "50");
    await click("refund-submit");
    await expectText(`[data-testid="field-error-amount"]`, "10.00");
    await type("refund-amount", "5");
    await expectText("refund-summary", "tickets stay valid");
  });

  await step("partial-refund", async () => {
    await click("refund-submit");
    await waitFor("one refund listed", async () => (await count("refund-row")) === 1 || { ok: false, saw: `${await count("refund-row")} refunds` });
    await expectText("order-refunded", "5.00");
    await expectText("order-refundable", "5.00");
    await expectText("refund-row", "cash");
    const st = await s.attr(await find("order-ticket-status"), "data-status");
    check(st === "valid", "the ticket still valid after a partial refund", `status ${st}`);
    check((await orderStatus()) === "paid", "the order still paid", await orderStatus());
  });

  await step("shift-closed", async () => {
    await click("nav-boxoffice");
    await find("screen-boxoffice");
    // 100.00 float + 10.00 cash taken − 5.00 cash paid back; the coupon sale went by card.
    await expectText("shift-expected", "105.00");
    await type("shift-counted", "104.50");
    await expectText("shift-preview", "0.50 short");
    await click("shift-close");
    await expectText("shift-result-expected", "105.00");
    await expectText("shift-result-counted", "104.50");
    const diff = await find("shift-difference");
    const [kind, text] = [await s.attr(diff, "data-kind"), (await s.text(diff)).trim()];
    check(kind === "short" && /0\.50 short/.test(text), "0.50 short", `${kind}: "${text}"`);
  });

  await step("mail-settings", async () => {
    await click("nav-settings");
    await find("mail-settings");
    await type("smtp-host", "smtp.example.org");
    await type("smtp-from", "nobody");
    await click("smtp-save");
    // The app's refusal, next to the field it names.
    await expectText(`[data-testid="field-error-from_address"]`, "e-mail");
    await type("smtp-from", "tickets@example.org");
    await type("smtp-from-name", "Town Hall box office");
    await click("smtp-save");
    await expectText('[data-testid="mail-settings"] .ok-text', "Saved");
    await expectText("mail-worker", /Sending starts|Last checked/);
    await s.js(`document.querySelector('[data-testid="mail-settings"]').scrollIntoView({ block: "start" })`);
  });
}

const WAITER = { name: "Wanda Waiting", email: "wanda@example.org" };

/** The CSS selector of the box office row for the ticket type called `name`. */
async function saleRow(name) {
  const id = await waitFor(`a box office row for ${name}`, async () => {
    const rows = await s.all(tid("bo-type"));
    const names = [];
    for (const r of rows) {
      const t = (await s.text(await find("td strong", { within: r }))).trim();
      names.push(t);
      if (t === name) return s.attr(r, "data-type-id");
    }
    return { ok: false, saw: `rows: ${names.join(" | ") || "(none)"}` };
  });
  return `[data-testid="bo-type"][data-type-id="${id}"]`;
}

/** The waiting-list rows as shown: name, status, status line and whether "Sell" is there. */
async function waitlistRows() {
  return s.js(`
    return [...document.querySelectorAll('[data-testid="wl-row"]')].map((r) => ({
      name: r.cells[0].firstChild ? r.cells[0].firstChild.textContent.trim() : "",
      contact: (r.cells[0].querySelector(".muted") || {}).textContent || "",
      type: r.cells[1].textContent.trim(),
      qty: r.cells[2].textContent.trim(),
      status: r.dataset.status,
      line: (r.querySelector('[data-testid="wl-status"]') || {}).textContent || "",
      sell: !!r.querySelector('[data-testid="wl-sell"]'),
    }));
  `);
}

/** Waits for the one waiting-list row of WAITER to be in `status`, and returns it. */
async function waiterRow(status) {
  return waitFor(`${WAITER.name} on the waiting list as ${status}`, async () => {
    const rows = await waitlistRows();
    const mine = rows.filter((r) => r.name === WAITER.name);
    return (mine.length === 1 && mine[0].status === status && mine[0]) || { ok: false, saw: `rows: ${JSON.stringify(rows)}` };
  });
}

function showWaitlist() {
  return s.js(`document.querySelector('[data-testid="waitlist"]').scrollIntoView({ block: "end" })`);
}

/** A ticket type with one unit sells out, a buyer waits, a cancellation frees it, the offer is sold. */
async function waitlistScenario() {
  let lastUnitCode = "";
  let offerCode = "";
  let balcony = "";

  await step("waitlist-small-type", async () => {
    await click("nav-events");
    await find("screen-events");
    const row = await waitFor(`an event row "${EVENT_NAME}"`, async () => {
      for (const r of await s.all(tid("event-row"))) if ((await s.text(r)).includes(EVENT_NAME)) return r;
      return { ok: false, saw: `${await count("event-row")} rows` };
    });
    await s.click(row);
    await expectText(".event-detail h2", EVENT_NAME);
    await waitFor("two ticket type rows", async () => (await count("tt-row")) === 2 || { ok: false, saw: `${await count("tt-row")} rows` });
    await type("tt-name", "Balcony");
    await type("tt-price", "40.00");
    await type("tt-currency", "EUR");
    await click("tt-add");
    await waitFor("three ticket type rows", async () => (await count("tt-row")) === 3 || { ok: false, saw: `${await count("tt-row")} rows` });
    await expectText("tt-row", "Balcony", { index: 2 });
    // A quota of one seat that only the balcony counts against.
    await type("quota-name", "Balcony seats");
    await type("quota-size", "1");
    const boxes = await s.all(tid("quota-type"));
    const labels = await Promise.all(boxes.map((b) => s.js("return arguments[0].closest('label').textContent.trim()", { [ELEMENT]: b })));
    const i = labels.indexOf("Balcony");
    check(i >= 0, "a Balcony box in the new quota form", `boxes: ${labels.join(" | ")}`);
    await click("quota-type", { index: i });
    await click("quota-add");
    await waitFor("a quota of one for the balcony, none taken", async () => {
      const rows = await s.js(`return [...document.querySelectorAll('[data-testid="quota-row"]')].map((r) => [...r.cells].slice(0, 5).map((c) => c.textContent.trim()).join("|"))`);
      return rows.includes("Balcony seats|Balcony|0|1|1") || { ok: false, saw: `rows (name|types|taken|size|left): ${rows.join(" ; ")}` };
    });
    await expectText("tt-available", /^1$/, { index: 2 });
  });

  await step("waitlist-last-unit-sold", async () => {
    await click("nav-boxoffice");
    await find("screen-boxoffice");
    await choose("bo-event", EVENT_NAME);
    balcony = await saleRow("Balcony");
    await expectText(`${balcony} [data-testid="bo-available"]`, /^1$/);
    await type(`${balcony} [data-testid="bo-qty"]`, "1");
    await expectText("bo-total", "40.00");
    await expectText(".hold-line", "Reserved for this sale (1)");
    await click("bo-pay-cash");
    await click("bo-complete");
    await waitFor("one ticket card", async () => (await count("ticket-card")) === 1 || { ok: false, saw: `${await count("ticket-card")} cards` });
    lastUnitCode = await textOf("bo-order-code");
    await expectText("bo-sold-total", "40.00");
    await expectText(".ticket-card .ticket-type", "Balcony");
  });

  await step("waitlist-sold-out", async () => {
    await click("bo-new");
    balcony = await saleRow("Balcony");
    await waitFor("the balcony sold out", async () => {
      const el = await find(`${balcony} [data-testid="bo-available"]`);
      const [n, text] = [await s.attr(el, "data-available"), (await s.text(el)).trim()];
      return (n === "0" && text === "Sold out") || { ok: false, saw: `available ${n} "${text}"` };
    });
    // Only the sold-out type offers the waiting list.
    check((await count("bo-waitlist-join")) === 1, "one “Join waiting list”", `${await count("bo-waitlist-join")} shown`);
    await find(`${balcony} [data-testid="bo-waitlist-join"]`);
    await expectText("waitlist", "No one is waiting");
  });

  await step("waitlist-join-form", async () => {
    await click(`${balcony} [data-testid="bo-waitlist-join"]`);
    await expectText("wl-join-form", "Waiting list for Balcony");
    await type("wl-name", WAITER.name);
    await type("wl-email", WAITER.email);
    await type("wl-qty", "1");
    await s.js(`document.querySelector('[data-testid="wl-join-form"]').scrollIntoView({ block: "center" })`);
  });

  await step("waitlist-joined", async () => {
    await click("wl-add");
    await waitFor("the join form to close", async () => (await count("wl-join-form")) === 0 || { ok: false, saw: "still open" });
    const row = await waiterRow("waiting");
    check(row.contact.includes(WAITER.email) && row.type === "Balcony" && row.qty === "1", `${WAITER.email}, 1 × Balcony`, JSON.stringify(row));
    check(row.line.trim() === "Waiting" && !row.sell, "waiting, nothing to sell yet", JSON.stringify(row));
    await showWaitlist();
  });

  await step("waitlist-unit-freed", async () => {
    await openOrder(lastUnitCode);
    await waitFor("one ticket in the order", async () => (await count("order-ticket")) === 1 || { ok: false, saw: `${await count("order-ticket")} tickets` });
    await click("order-cancel");
    await click("confirm-yes");
    await waitFor("the ticket to show cancelled", async () => {
      const el = await find("order-ticket-status");
      const [st, text] = [await s.attr(el, "data-status"), (await s.text(el)).trim()];
      return (st === "cancelled" && /cancel/i.test(text)) || { ok: false, saw: `status ${st} "${text}"` };
    });
    await waitFor("the order cancelled", async () => /cancel/.test(await orderStatus()) || { ok: false, saw: `status ${await orderStatus()}` });
  });

  await step("waitlist-offered", async () => {
    await click("nav-boxoffice");
    await find("screen-boxoffice");
    await choose("bo-event", EVENT_NAME);
    // The cancellation offered the freed seat at once; the panel reads the list as it opens.
    const row = await waiterRow("offered");
    check(/^Offered until \S.*\d\d?:\d\d/.test(row.line.trim()), "“Offered until” a time", JSON.stringify(row));
    check(row.sell, "a Sell button on the offer", JSON.stringify(row));
    // The offer holds the seat: nobody else can buy it meanwhile.
    balcony = await saleRow("Balcony");
    await expectText(`${balcony} [data-testid="bo-available"]`, "Sold out");
    await showWaitlist();
  });

  await step("waitlist-offer-in-sale", async () => {
    await click('[data-testid="wl-row"][data-status="offered"] [data-testid="wl-sell"]');
    await expectText("bo-offer", WAITER.name);
    await expectText("bo-offer", /1 × Balcony, held until \S/);
    await waitFor("one balcony seat in the basket", async () => {
      const v = await s.prop(await find(`${balcony} [data-testid="bo-qty"]`), "value");
      return v === "1" || { ok: false, saw: `quantity "${v}"` };
    });
    await expectText("bo-total", "40.00");
    // Folded away under "Names and buyer", so read rather than looked at.
    const [name, email] = await s.js(`return ["bo-buyer-name", "bo-buyer-email"].map((t) => document.querySelector('[data-testid="' + t + '"]').value)`);
    check(name === WAITER.name && email === WAITER.email, "the buyer taken from the entry", `${name} <${email}>`);
    await click("bo-pay-cash");
    await type("bo-given", "50");
    await expectText("bo-change", "10.00");
  });

  await step("waitlist-offer-sold", async () => {
    await click("bo-complete");
    await waitFor("one ticket card", async () => (await count("ticket-card")) === 1 || { ok: false, saw: `${await count("ticket-card")} cards` });
    offerCode = await textOf("bo-order-code");
    check(offerCode !== lastUnitCode, "a new order", offerCode);
    await expectText("bo-sold-total", "40.00");
    await expectText("bo-change-due", "10.00");
    await expectText(".ticket-card .ticket-type", "Balcony");
    await expectText("ticket-order-code", offerCode);
  });

  await step("waitlist-entry-sold", async () => {
    await click("bo-new");
    await find("waitlist");
    // Done with, the entry leaves the open list; past entries show it as sold.
    await expectText("waitlist", "No one is waiting");
    await click("wl-show-all");
    const row = await waiterRow("sold");
    check(row.line.trim() === "Sold" && !row.sell, "sold, no Sell button", JSON.stringify(row));
    balcony = await saleRow("Balcony");
    await expectText(`${balcony} [data-testid="bo-available"]`, "Sold out");
    await showWaitlist();
  });
}

// ---------------------------------------------------------------------------------------------

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  const t0 = Date.now();
  await waitReady();
  s = await Session.create();
  try {
    // A plain `cargo build` or `cargo test` leaves a binary that loads the UI from the dev
    // server instead of the files built into it.
    const href = await waitFor("the app's page to load", async () => (await s.js("return location.href")) || false);
    if (/^https?:/.test(href) && !process.env.ADMIT_E2E_DEV_SERVER) {
      throw reported(
        `the app loaded ${href} instead of its built-in UI: ${APP} was built without the UI (by cargo build or cargo test); rebuild it with scripts/desktop-build` +
          " (or set ADMIT_E2E_DEV_SERVER=1 to test against a running dev server on purpose)",
      );
    }
    // The size a box office laptop offers; the app's own default is taller than that.
    await s.setRect({ x: 0, y: 0, width: 1366, height: 768 }).catch((e) => console.error(`    (window not resized: ${e.message})`));
    await scenario();
  } finally {
    await s.delete().catch((e) => console.error(`e2e: could not end the WebDriver session: ${e.message}`));
  }
  console.log(`e2e: ${stepNo} steps passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  // Failures the scenario explains need no stack; anything else is a bug in this file.
  console.error(e.reported ? e.message : e instanceof WebDriverError ? `e2e: ${e.message}` : `e2e: ${e.stack ?? e.message}`);
  process.exitCode = 1;
});
