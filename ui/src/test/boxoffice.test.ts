// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createElement } from "react";

import type { HoldInput } from "../bindings/HoldInput";
import type { SaleInput } from "../bindings/SaleInput";
import type { SoldOrder } from "../bindings/SoldOrder";
import { BoxOffice } from "../screens/BoxOffice";
import { event, tta } from "./fixtures";
import { allByTestId, byTestId, click, mount, pressKey, submit, typeInto, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({
  listEvents: vi.fn(),
  availability: vi.fn(),
  hold: vi.fn(),
  releaseHold: vi.fn(),
  sell: vi.fn(),
}));
vi.mock("../api", () => ({ api: mocks }));

const sold = (input: SaleInput): SoldOrder => {
  const meta = { created_at: "", updated_at: "", version: 1 };
  const order = {
    id: "o1",
    code: "K7Q2XM",
    event_id: "ev1",
    buyer_name: input.buyer_name,
    buyer_email: input.buyer_email,
    channel: "box_office" as const,
    payment_method: input.payment_method as "cash",
    status: "paid" as const,
    total: { minor: 2500, currency: "EUR" },
    created_by: "u1",
    device_id: null,
    meta,
  };
  const cards = [1, 2].map((n) => ({
    ticket_id: `t${n}`,
    event_name: "Spring Gala",
    venue: "Hall",
    starts_local: "Fri 1 May 2099, 19:30",
    ticket_type: "Adult",
    attendee_name: null,
    order_code: "K7Q2XM",
    price: { minor: 1250, currency: "EUR" },
    qr_svg: `<svg xmlns="http://www.w3.org/2000/svg" data-n="${n}"></svg>`,
    secret: `SECRET-${n}`,
  }));
  return { order: { order, tickets: [] }, cards };
};

let m: Mounted | null = null;
beforeEach(() => {
  localStorage.clear();
  mocks.listEvents.mockResolvedValue([event, { ...event, id: "draft", status: "draft", name: "Draft" }]);
  mocks.availability.mockResolvedValue({ event, ticket_types: [tta("adult", "Adult", 1250, 10), tta("child", "Child", 600, 0)], quotas: [] });
  mocks.hold.mockImplementation(async (i: HoldInput) => ({ id: `h-${i.lines.map((l) => l.quantity).join("-")}` }));
  mocks.releaseHold.mockResolvedValue(null);
  mocks.sell.mockImplementation(async (i: SaleInput) => sold(i));
});
afterEach(() => {
  m?.unmount();
  m = null;
  vi.clearAllMocks();
});

describe("box office", () => {
  it("offers published events only and shows availability per type", async () => {
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    const options = Array.from(byTestId<HTMLSelectElement>(document, "bo-event")!.options).map((o) => o.value);
    expect(options).toEqual(["ev1"]);
    const avail = allByTestId(document, "bo-available").map((e) => e.textContent);
    expect(avail).toEqual(["10", "Sold out"]);
  });

  it("holds the units, computes change and sells with the hold in a few keystrokes", async () => {
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    const qty = allByTestId<HTMLInputElement>(document, "bo-qty")[0]!;
    await typeInto(qty, "2");
    await until(() => mocks.hold.mock.calls.length === 1, "hold");
    expect(mocks.hold.mock.calls[0]![0]).toEqual({ event_id: "ev1", lines: [{ ticket_type_id: "adult", quantity: 2, attendee_names: [] }] });
    expect(byTestId(document, "bo-total")!.textContent).toContain("25.00");

    await typeInto(byTestId<HTMLInputElement>(document, "bo-given")!, "30");
    expect(byTestId(document, "bo-change")!.textContent).toContain("5.00");

    await submit(byTestId(document, "bo-given")!);
    await until(() => byTestId(document, "bo-cards") !== null, "cards");
    const input = mocks.sell.mock.calls[0]![0] as SaleInput;
    expect(input).toMatchObject({ event_id: "ev1", payment_method: "cash", hold_id: "h-2", channel: "box_office", buyer_name: null });
    expect(input.lines).toEqual([{ ticket_type_id: "adult", quantity: 2, attendee_names: [] }]);
    const cards = allByTestId(document, "ticket-card");
    expect(cards).toHaveLength(2);
    expect(allByTestId(document, "ticket-secret").map((e) => e.textContent)).toEqual(["SECRET-1", "SECRET-2"]);
    expect(byTestId(document, "ticket-order-code")!.textContent).toBe("K7Q2XM");
    expect(cards[0]!.querySelector("svg")).not.toBeNull();
    expect(byTestId(document, "bo-change-due")!.textContent).toContain("5.00");
    expect(mocks.releaseHold).not.toHaveBeenCalled();
  });

  it("refuses a cash sale when the amount given is short", async () => {
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    await typeInto(allByTestId<HTMLInputElement>(document, "bo-qty")[0]!, "1");
    await typeInto(byTestId<HTMLInputElement>(document, "bo-given")!, "10");
    expect(byTestId(document, "bo-change")!.textContent).toContain("2.50 missing");
    await submit(byTestId(document, "bo-given")!);
    expect(mocks.sell).not.toHaveBeenCalled();
    expect(byTestId(document, "error")!.textContent).toContain("short");
  });

  it("switches payment with F3/F4 and releases the hold when the basket is cleared", async () => {
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    await typeInto(allByTestId<HTMLInputElement>(document, "bo-qty")[0]!, "3");
    await until(() => mocks.hold.mock.calls.length === 1, "hold");
    await pressKey("F4");
    expect(byTestId(document, "bo-pay-comp")!.getAttribute("aria-checked")).toBe("true");
    expect(byTestId(document, "bo-given")).toBeNull();
    await pressKey("F3");
    expect(byTestId(document, "bo-pay-card")!.getAttribute("aria-checked")).toBe("true");
    await pressKey("Escape");
    await until(() => mocks.releaseHold.mock.calls.length === 1, "release");
    expect(mocks.releaseHold).toHaveBeenCalledWith("h-3");
    expect(allByTestId<HTMLInputElement>(document, "bo-qty")[0]!.value).toBe("");
  });

  it("uses + and - keys on a quantity and moves rows with arrows", async () => {
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    const [a, b] = allByTestId<HTMLInputElement>(document, "bo-qty");
    await pressKey("+", {}, a!);
    await pressKey("+", {}, a!);
    await pressKey("-", {}, a!);
    expect(a!.value).toBe("1");
    await pressKey("ArrowDown", {}, a!);
    expect(document.activeElement).toBe(b);
    await click(byTestId(document, "bo-complete")!);
    await until(() => mocks.sell.mock.calls.length === 1, "sale");
  });
});
