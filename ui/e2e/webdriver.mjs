// A minimal W3C WebDriver client over fetch, for the end-to-end tests and the desktop figures.
//
//   ADMIT_E2E_WEBDRIVER  e.g. http://127.0.0.1:4444 (tauri-driver)
//   ADMIT_E2E_APP        absolute path of the admit-desktop binary the session starts

export const BASE = (process.env.ADMIT_E2E_WEBDRIVER ?? "").replace(/\/$/, "");
export const APP = process.env.ADMIT_E2E_APP ?? "";
export const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriverError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

export async function http(method, path, body) {
  let res;
  try {
    res = await fetch(BASE + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json; charset=utf-8" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (e) {
    throw new WebDriverError(`${method} ${path}: ${e.cause?.code ?? e.message}`, "connection");
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WebDriverError(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`, "http");
  }
  const v = json?.value;
  if (!res.ok || (v && typeof v === "object" && typeof v.error === "string")) {
    throw new WebDriverError(`${method} ${path}: ${v?.error ?? res.status}: ${v?.message ?? text.slice(0, 300)}`, v?.error);
  }
  return v;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Session {
  constructor(id) {
    this.id = id;
    this.path = `/session/${id}`;
  }

  static async create() {
    const v = await http("POST", "/session", {
      capabilities: { alwaysMatch: { "tauri:options": { application: APP } } },
    });
    return new Session(v.sessionId);
  }

  delete() {
    return http("DELETE", this.path);
  }

  js(script, ...args) {
    return http("POST", `${this.path}/execute/sync`, { script, args });
  }

  async all(css) {
    const found = await http("POST", `${this.path}/elements`, { using: "css selector", value: css });
    return found.map((f) => f[ELEMENT]);
  }

  click(el) {
    return http("POST", `${this.path}/element/${el}/click`, {});
  }

  clear(el) {
    return http("POST", `${this.path}/element/${el}/clear`, {});
  }

  keys(el, text) {
    return http("POST", `${this.path}/element/${el}/value`, { text });
  }

  text(el) {
    return http("GET", `${this.path}/element/${el}/text`);
  }

  attr(el, name) {
    return http("GET", `${this.path}/element/${el}/attribute/${encodeURIComponent(name)}`);
  }

  prop(el, name) {
    return http("GET", `${this.path}/element/${el}/property/${encodeURIComponent(name)}`);
  }

  displayed(el) {
    return http("GET", `${this.path}/element/${el}/displayed`);
  }

  /** Resolves once two frames have been drawn, or after a second in a hidden window. */
  afterPaint() {
    return http("POST", `${this.path}/execute/async`, {
      script:
        "const done = arguments[arguments.length - 1]; const t = setTimeout(done, 1000); requestAnimationFrame(() => requestAnimationFrame(() => { clearTimeout(t); setTimeout(done, 50); }));",
      args: [],
    });
  }

  /** Keys to whatever has focus, as a keyboard-wedge scanner sends them. */
  keyboard(text) {
    const actions = [];
    for (const c of text) actions.push({ type: "keyDown", value: c }, { type: "keyUp", value: c });
    return http("POST", `${this.path}/actions`, { actions: [{ type: "key", id: "scanner", actions }] });
  }

  screenshot() {
    return http("GET", `${this.path}/screenshot`);
  }

  setRect(rect) {
    return http("POST", `${this.path}/window/rect`, rect);
  }
}

