// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createElement } from "react";

import type { RedeemInput } from "../bindings/RedeemInput";
import type { RedeemAnswer } from "../bindings/RedeemAnswer";
import { Door } from "../screens/Door";
import { answer, event, list } from "./fixtures";
import { appCtx, byTestId, mount, pressKey, settle, submit, typeInto, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({
  redeem: vi.fn(),
  checkinCounts: vi.fn(),
  doorLists: vi.fn(),
  decodeQr: vi.fn(),
}));
vi.mock("../api", () => ({ api: mocks }));

let m: Mounted | null = null;
beforeEach(() => {
  localStorage.clear();
  mocks.doorLists.mockResolvedValue([{ list, event }]);
  mocks.checkinCounts.mockResolvedValue({ admitted: 0, inside: 0 });
});
afterEach(() => {
  m?.unmount();
  m = null;
  vi.clearAllMocks();
});

async function scan(code: string) {
  const input = byTestId<HTMLInputElement>(document, "door-input")!;
  await typeInto(input, code);
  await submit(input);
}

describe("door", () => {
  it("scans with the list, gate and direction, and shows the verdict big", async () => {
    mocks.redeem.mockImplementation(async (i: RedeemInput) => answer({ direction: i.direction as RedeemAnswer["direction"] }));
    mocks.checkinCounts.mockResolvedValueOnce({ admitted: 0, inside: 0 }).mockResolvedValue({ admitted: 1, inside: 1 });
    m = await mount(createElement(Door), appCtx({ gate: "North" }));
    await until(() => byTestId<HTMLSelectElement>(document, "door-list")?.value === "l1", "list chosen");

    await scan("  SECRET-1 ");
    await until(() => byTestId(document, "verdict") !== null, "verdict");
    const v = byTestId(document, "verdict")!;
    expect(v.dataset.verdict).toBe("ok");
    expect(byTestId(document, "verdict-title")!.textContent).toBe("Admit");
    expect(byTestId(document, "verdict-detail")!.textContent).toContain("Bea Berg");
    expect(byTestId(document, "verdict-detail")!.textContent).toContain("Adult");
    expect(byTestId(document, "verdict-detail")!.textContent).toContain("ABC123");

    const sent = mocks.redeem.mock.calls[0]![0] as RedeemInput;
    expect(sent).toMatchObject({ raw: "SECRET-1", list_id: "l1", direction: "entry", gate: "North", force: false, at: null });
    expect(sent.nonce).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => byTestId(document, "door-admitted")!.textContent === "1", "counts refreshed");
    expect(byTestId(document, "door-inside")!.textContent).toBe("1");
    // Ready for the next scan: field empty and focused.
    expect(byTestId<HTMLInputElement>(document, "door-input")!.value).toBe("");
    expect(document.activeElement).toBe(byTestId(document, "door-input"));
  });

  it("shows when and where a ticket was first used", async () => {
    mocks.redeem.mockResolvedValue(
      answer({
        verdict: "already_redeemed",
        ok: false,
        explanation: "",
        earlier_entry: { at: new Date(Date.now() - 60_000).toISOString(), gate: "West" },
      }),
    );
    m = await mount(createElement(Door));
    await until(() => byTestId<HTMLSelectElement>(document, "door-list")?.value === "l1", "list chosen");
    await scan("SECRET-2");
    await until(() => byTestId(document, "verdict") !== null, "verdict");
    expect(byTestId(document, "verdict")!.dataset.verdict).toBe("already_redeemed");
    expect(byTestId(document, "verdict")!.className).toContain("warn");
    const detail = byTestId(document, "verdict-detail")!.textContent!;
    expect(detail).toContain("First used at");
    expect(detail).toContain("gate West");
  });

  it("gives the first use in the event's time zone, like the app's explanation", async () => {
    mocks.doorLists.mockResolvedValue([{ list, event: { ...event, time_zone: "Asia/Tokyo" } }]);
    mocks.redeem.mockResolvedValue(
      answer({
        verdict: "already_redeemed",
        ok: false,
        explanation: "already entered at 03:00; one entry per ticket on this list",
        earlier_entry: { at: "2026-05-01T18:00:00Z", gate: null },
      }),
    );
    m = await mount(createElement(Door));
    await until(() => byTestId<HTMLSelectElement>(document, "door-list")?.value === "l1", "list chosen");
    await scan("SECRET-TZ");
    await until(() => byTestId(document, "verdict") !== null, "verdict");
    expect(byTestId(document, "verdict-detail")!.querySelector(".earlier")!.textContent).toMatch(/03:00/);
  });

  it("says what to do under the app's explanation of a cancelled ticket", async () => {
    mocks.redeem.mockResolvedValue(answer({ verdict: "canceled", ok: false, explanation: "ticket is cancelled" }));
    m = await mount(createElement(Door));
    await until(() => byTestId<HTMLSelectElement>(document, "door-list")?.value === "l1", "list chosen");
    await scan("SECRET-C");
    await until(() => byTestId(document, "verdict") !== null, "verdict");
    expect(byTestId(document, "verdict-detail")!.textContent).toContain("Ticket is cancelled");
    expect(byTestId(document, "verdict-advice")!.textContent).toBe("Send the guest to the box office.");
  });

  it("uses the app's explanation for a refusal", async () => {
    mocks.redeem.mockResolvedValue(answer({ verdict: "rules", ok: false, explanation: "not allowed at gate North; use South" }));
    m = await mount(createElement(Door));
    await until(() => byTestId<HTMLSelectElement>(document, "door-list")?.value === "l1", "list chosen");
    await scan("SECRET-3");
    await until(() => byTestId(document, "verdict") !== null, "verdict");
    expect(byTestId(document, "verdict")!.className).toContain("bad");
    expect(byTestId(document, "verdict-detail")!.textContent).toContain("Not allowed at gate North; use South");
  });

  it("never blocks the field: scans typed while one is checked are queued in order", async () => {
    const pending: ((a: RedeemAnswer) => void)[] = [];
    mocks.redeem.mockImplementation((i: RedeemInput) => new Promise<RedeemAnswer>((res) => pending.push((a) => res({ ...a, order_code: i.raw }))));
    m = await mount(createElement(Door));
    await until(() => byTestId<HTMLSelectElement>(document, "door-list")?.value === "l1", "list chosen");
    await scan("A");
    await scan("B");
    const input = byTestId<HTMLInputElement>(document, "door-input")!;
    expect(input.disabled).toBe(false);
    expect(input.value).toBe("");
    expect(mocks.redeem).toHaveBeenCalledTimes(1);
    pending[0]!(answer({}));
    await until(() => mocks.redeem.mock.calls.length === 2, "second scan sent");
    expect(byTestId(document, "verdict-detail")!.textContent).toContain("A");
    pending[1]!(answer({ verdict: "invalid", ok: false }));
    await until(() => byTestId(document, "verdict")!.dataset.verdict === "invalid", "second verdict");
    expect((mocks.redeem.mock.calls[1]![0] as RedeemInput).raw).toBe("B");
  });

  it("retries a busy database with the same nonce and reports a failure without losing the scan silently", async () => {
    mocks.redeem.mockRejectedValueOnce({ code: "busy", message: "the database is busy; try again" }).mockResolvedValueOnce(answer({}));
    m = await mount(createElement(Door));
    await until(() => byTestId<HTMLSelectElement>(document, "door-list")?.value === "l1", "list chosen");
    await scan("C");
    await until(() => byTestId(document, "verdict")?.dataset.verdict === "ok", "ok after retry", 3000);
    const [a, b] = mocks.redeem.mock.calls.map((c) => (c[0] as RedeemInput).nonce);
    expect(a).toBe(b);

    mocks.redeem.mockRejectedValueOnce({ code: "forbidden", message: "your role may not Redeem" });
    await scan("D");
    await until(() => byTestId(document, "verdict")?.dataset.verdict === "error", "error verdict");
    expect(byTestId(document, "verdict-detail")!.textContent).toContain("not recorded");
  });

  it("switches entry and exit with F2 and sends the direction", async () => {
    mocks.redeem.mockImplementation(async (i: RedeemInput) => answer({ direction: i.direction as RedeemAnswer["direction"] }));
    m = await mount(createElement(Door));
    await until(() => byTestId<HTMLSelectElement>(document, "door-list")?.value === "l1", "list chosen");
    expect(byTestId(document, "door-direction")!.dataset.direction).toBe("entry");
    await pressKey("F2");
    expect(byTestId(document, "door-direction")!.dataset.direction).toBe("exit");
    await scan("E");
    await until(() => byTestId(document, "verdict") !== null, "verdict");
    expect((mocks.redeem.mock.calls[0]![0] as RedeemInput).direction).toBe("exit");
    expect(byTestId(document, "verdict-title")!.textContent).toBe("Exit OK");
  });

  it("asks for a list before scanning when none exists", async () => {
    mocks.doorLists.mockResolvedValue([]);
    m = await mount(createElement(Door));
    await settle(20);
    await scan("F");
    expect(mocks.redeem).not.toHaveBeenCalled();
    expect(byTestId(document, "verdict")!.dataset.verdict).toBe("error");
    expect(byTestId(document, "verdict-detail")!.textContent).toContain("Choose a check-in list");
  });
});
