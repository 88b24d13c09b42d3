// Desktop figures: cold start to the first usable screen, memory (RSS of the app and its WebKit
// processes) after start and after selling 1,000 tickets through the window's IPC. Run through
// scripts/e2e, which starts the display and the driver:
//
//   scripts/desktop-build --release
//   ADMIT_E2E_APP=target/release/admit-desktop scripts/e2e ui/e2e/figures.mjs
import { readFileSync, readdirSync } from "node:fs";

import { APP, Session, http, sleep } from "./webdriver.mjs";

const SALES = Number(process.env.ADMIT_FIGURES_SALES ?? 1000);

async function ready() {
  for (let i = 0; i < 150; i++) {
    try {
      if ((await http("GET", "/status"))?.ready) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error("the WebDriver never became ready");
}

/** Milliseconds from asking for a window until `testid` is on screen. */
async function coldStart(testid) {
  const t0 = performance.now();
  const s = await Session.create();
  for (;;) {
    const found = await s.all(`[data-testid="${testid}"]`);
    if (found.length && (await s.displayed(found[0]))) return [s, performance.now() - t0];
    if (performance.now() - t0 > 60_000) throw new Error(`${testid} never appeared`);
    await sleep(10);
  }
}

/** Pids of the app and everything it started (WebKit's web and network processes). */
function appTree() {
  const procs = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const exe = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0")[0];
      procs.push({ pid: Number(d), ppid, exe });
    } catch {
      // gone meanwhile
    }
  }
  const roots = procs.filter((p) => p.exe === APP).map((p) => p.pid);
  const tree = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (tree.has(p.ppid) && !tree.has(p.pid)) tree.add(p.pid), (grew = true);
  }
  return [...tree];
}

function rssMiB(pids) {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) kib += Number(m[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}

/** Proportional set size: shared pages split among the processes sharing them, so the sum over
 * the app and its WebKit processes is what they take together. */
function pssMiB(pids) {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
      if (m) kib += Number(m[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}

function memory() {
  const pids = appTree();
  const app = rssMiB(pids.filter((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0")[0] === APP));
  return { app, total: rssMiB(pids), pss: pssMiB(pids), processes: pids.length };
}

/** Calls a command from inside the page, exactly as the UI does. */
function invoke(s, cmd, args = {}) {
  return http("POST", `${s.path}/execute/async`, {
    script: `const done = arguments[arguments.length - 1];
      window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
        .then((v) => done({ ok: v }), (e) => done({ err: e }));`,
    args: [cmd, args],
  }).then((r) => {
    if (r && "err" in r) throw new Error(`${cmd}: ${JSON.stringify(r.err)}`);
    return r.ok;
  });
}

await ready();
const [first, firstRunMs] = await coldStart("screen-first-run");
await sleep(2000);
const memStart = memory();
await invoke(first, "choose_database", { location: null });
await invoke(first, "create_owner", { input: { username: "owner", display_name: "Owner", password: "figures-password" } });
const ev = await invoke(first, "create_event", {
  input: { name: "Figures", venue: "Hall", time_zone: "UTC", starts_at: "2031-01-01T19:00:00Z", ends_at: "2031-01-01T23:00:00Z" },
});
const tt = await invoke(first, "create_ticket_type", { input: { event_id: ev.id, name: "Standard", price_minor: 1500, currency: "EUR" } });
await invoke(first, "create_quota", { input: { event_id: ev.id, name: "Hall", size: SALES + 10, ticket_type_ids: [tt.id] } });
await invoke(first, "publish_event", { eventId: ev.id });
// The sales run inside the page, 100 per WebDriver call, so the figure is the window's own IPC
// and the use case, not WebDriver round trips.
const sale = { input: { event_id: ev.id, payment_method: "cash", lines: [{ ticket_type_id: tt.id, quantity: 1 }] } };
const t0 = performance.now();
for (let done = 0; done < SALES; done += 100) {
  const n = Math.min(100, SALES - done);
  const r = await http("POST", `${first.path}/execute/async`, {
    script: `const [sale, n, finish] = arguments;
      (async () => { for (let i = 0; i < n; i++) await window.__TAURI_INTERNALS__.invoke("sell", sale); })()
        .then(() => finish({ ok: true }), (e) => finish({ err: e }));`,
    args: [sale, n],
  });
  if (r?.err) throw new Error(`sell: ${JSON.stringify(r.err)}`);
}
const sellSecs = (performance.now() - t0) / 1000;
await sleep(2000);
const memSold = memory();
await first.delete();
await sleep(1000);

// A second start on the same data: the login screen, with the database opened and migrated.
const [second, loginMs] = await coldStart("screen-login");
await second.delete();

const f = (x) => x.toFixed(0);
console.log(`cold start to the first-run screen: ${f(firstRunMs)} ms (includes the WebDriver session)`);
console.log(`cold start to the login screen (existing database): ${f(loginMs)} ms`);
console.log(`RSS after start: app ${f(memStart.app)} MiB; app and WebKit processes (${memStart.processes}) RSS ${f(memStart.total)} MiB, PSS ${f(memStart.pss)} MiB`);
console.log(`RSS after selling ${SALES} tickets: app ${f(memSold.app)} MiB; app and WebKit processes RSS ${f(memSold.total)} MiB, PSS ${f(memSold.pss)} MiB`);
console.log(`${SALES} sales (each with its ticket card and QR) through the window's IPC in ${sellSecs.toFixed(1)} s: ${f(SALES / sellSecs)}/s`);
