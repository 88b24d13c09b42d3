// Small helpers for screen tests in a simulated DOM.
import { act, createElement, type ReactElement } from "react";
import { createRoot, type Root } from "react-dom/client";

import type { AppStatus } from "../bindings/AppStatus";
import type { Settings } from "../bindings/Settings";
import { AppContext, type AppCtx } from "../context";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export const settings = (over: Partial<Settings> = {}): Settings => ({
  device_name: "Desk 1",
  gate: "North",
  default_list_id: null,
  theme: "light",
  server_url: null,
  kiosk_pin_set: false,
  ...over,
});

export function appCtx(over: Partial<Settings> = {}, role: AppCtx["session"]["role"] = "owner"): AppCtx {
  const s = settings(over);
  const session = { user_id: "u1", username: "ann", display_name: "Ann", role };
  const status: AppStatus = {
    needs_setup: false,
    database: "test",
    database_error: null,
    default_database: "test.db",
    session,
    settings: s,
    kiosk: false,
    version: "0.0.0",
  };
  return { status, session, settings: s, setStatus: () => {}, setSettings: () => {}, logout: () => {} };
}

export type Mounted = { root: Root; container: HTMLElement; unmount: () => void };

export async function mount(el: ReactElement, ctx: AppCtx = appCtx()): Promise<Mounted> {
  const container = document.createElement("div");
  document.body.appendChild(container);
  const root = createRoot(container);
  await act(async () => {
    root.render(createElement(AppContext.Provider, { value: ctx }, el));
  });
  return {
    root,
    container,
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    },
  };
}

export const byTestId = <T extends HTMLElement = HTMLElement>(c: ParentNode, id: string): T | null => c.querySelector<T>(`[data-testid="${id}"]`);
export const allByTestId = <T extends HTMLElement = HTMLElement>(c: ParentNode, id: string): T[] => Array.from(c.querySelectorAll<T>(`[data-testid="${id}"]`));

/** Set a controlled input's value the way typing does. */
export async function typeInto(el: HTMLInputElement, value: string) {
  await act(async () => {
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!;
    setter.call(el, value);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

export async function submit(el: HTMLElement) {
  const form = el.closest("form")!;
  await act(async () => {
    form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
}

export async function click(el: HTMLElement) {
  await act(async () => {
    el.click();
  });
}

/** Let pending promises and timers settle. */
export async function settle(ms = 0) {
  await act(async () => {
    await new Promise((r) => setTimeout(r, ms));
  });
}

export async function until(check: () => boolean, what: string, timeoutMs = 2000) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await settle(10);
  }
}

export async function pressKey(key: string, init: KeyboardEventInit = {}, target: EventTarget = window) {
  await act(async () => {
    target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init }));
  });
}

/** Pick an option of a controlled select the way a person does. */
export async function choose(el: HTMLSelectElement, value: string) {
  await act(async () => {
    const setter = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value")!.set!;
    setter.call(el, value);
    el.dispatchEvent(new Event("change", { bubbles: true }));
  });
}
