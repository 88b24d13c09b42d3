// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createElement } from "react";

import type { HoldInput } from "../bindings/HoldInput";
import type { QuoteInput } from "../bindings/QuoteInput";
import type { ShiftStatus } from "../bindings/ShiftStatus";
import type { WaitlistEntry } from "../bindings/WaitlistEntry";
import type { WaitlistInput } from "../bindings/WaitlistInput";
import type { SaleInput } from "../bindings/SaleInput";
import type { SoldOrder } from "../bindings/SoldOrder";
import { BoxOffice } from "../screens/BoxOffice";
import { event, paidOrder, tta } from "./fixtures";
import { allByTestId, byTestId, click, mount, pressKey, submit, typeInto, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({
  listEvents: vi.fn(),
  availability: vi.fn(),
  hold: vi.fn(),
  releaseHold: vi.fn(),
  sell: vi.fn(),
  quote: vi.fn(),
  listWaitlist: vi.fn(),
  joinWaitlist: vi.fn(),
  withdrawWaitlist: vi.fn(),
  currentShift: vi.fn(),
  openShift: vi.fn(),
  closeShift: vi.fn(),
}));
vi.mock("../api", () => ({ api: mocks }));

const sold = (input: SaleInput): SoldOrder => {
  const meta = { created_at: "", updated_at: "", version: 1 };
  void meta;
  const order = paidOrder({
    buyer_name: input.buyer_name,
    buyer_email: input.buyer_email,
    payment_method: input.payment_method as "cash",
    status: input.pay_later ? "pending" : "paid",
    payment: { due: input.payment_due, paid_at: input.pay_later ? null : "2026-05-01T10:00:00Z", paid_by: null, paid_device: null, tendered_minor: null, note: null },
  });
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
  return { order: { order, tickets: [] }, cards: input.pay_later ? [] : cards };
};

let m: Mounted | null = null;
beforeEach(() => {
  localStorage.clear();
  mocks.listEvents.mockResolvedValue([event, { ...event, id: "draft", status: "draft", name: "Draft" }]);
  mocks.availability.mockResolvedValue({ event, ticket_types: [tta("adult", "Adult", 1250, 10), tta("child", "Child", 600, 0)], quotas: [] });
  mocks.hold.mockImplementation(async (i: HoldInput) => ({ id: `h-${i.lines.map((l) => l.quantity).join("-")}` }));
  mocks.releaseHold.mockResolvedValue(null);
  mocks.sell.mockImplementation(async (i: SaleInput) => sold(i));
  mocks.listWaitlist.mockResolvedValue([]);
  mocks.currentShift.mockResolvedValue(null);
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
    expect(byTestId(document, "field-error-tendered")!.textContent).toContain("short");
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

  it("shows the coupon's discount and sells at the quoted total", async () => {
    mocks.quote.mockImplementation(async (i: QuoteInput) => {
      if (i.coupon_code !== "SPRING10") throw { code: "invalid_input", message: "coupon_code: is not a coupon of this event", field: "coupon_code" };
      return {
        lines: [],
        list_total: { minor: 2500, currency: "EUR" },
        discount: { minor: 250, currency: "EUR" },
        total: { minor: 2250, currency: "EUR" },
        coupon: { code: "SPRING10", kind: "percent", value: 1000, currency: "EUR" },
      };
    });
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    await typeInto(allByTestId<HTMLInputElement>(document, "bo-qty")[0]!, "2");
    await typeInto(byTestId<HTMLInputElement>(document, "bo-coupon")!, "nope");
    await until(() => byTestId(document, "bo-coupon-error") !== null, "coupon refused");
    expect(byTestId(document, "bo-coupon-error")!.textContent).toBe("Is not a coupon of this event. Correct the value and try again.");
    await typeInto(byTestId<HTMLInputElement>(document, "bo-coupon")!, "spring10");
    await until(() => byTestId(document, "bo-discount") !== null, "discount shown");
    expect(mocks.quote).toHaveBeenLastCalledWith({ event_id: "ev1", lines: [{ ticket_type_id: "adult", quantity: 2, attendee_names: [] }], coupon_code: "SPRING10" });
    expect(byTestId(document, "bo-discount")!.textContent).toContain("2.50");
    expect(byTestId(document, "bo-total")!.textContent).toContain("22.50");
    expect(byTestId(document, "bo-coupon-ok")!.textContent).toContain("10 % off");
    await typeInto(byTestId<HTMLInputElement>(document, "bo-given")!, "25");
    expect(byTestId(document, "bo-change")!.textContent).toContain("2.50");
    await submit(byTestId(document, "bo-given")!);
    await until(() => mocks.sell.mock.calls.length === 1, "sale");
    expect(mocks.sell.mock.calls[0]![0]).toMatchObject({ coupon_code: "SPRING10", tendered: "25.00", payment_method: "cash" });
  });

  it("wants the terminal's approval for a card and a reason for a comp, said next to the field", async () => {
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    await typeInto(allByTestId<HTMLInputElement>(document, "bo-qty")[0]!, "1");
    await pressKey("F3");
    await click(byTestId(document, "bo-complete")!);
    expect(mocks.sell).not.toHaveBeenCalled();
    expect(byTestId(document, "field-error-card_confirmed")!.textContent).toMatch(/Terminal approved/);
    await pressKey("F4");
    await click(byTestId(document, "bo-complete")!);
    expect(byTestId(document, "field-error-payment_note")!.textContent).toMatch(/why the tickets are free/);
    await pressKey("F3");
    await click(byTestId(document, "bo-card-ok")!);
    await typeInto(byTestId<HTMLInputElement>(document, "bo-card-ref")!, "T-42");
    await click(byTestId(document, "bo-complete")!);
    await until(() => mocks.sell.mock.calls.length === 1, "sale");
    expect(mocks.sell.mock.calls[0]![0]).toMatchObject({ payment_method: "card", card_confirmed: true, payment_note: "T-42", pay_later: false });
  });

  it("reserves for later payment with a due date in the event's zone and prints nothing", async () => {
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    await typeInto(allByTestId<HTMLInputElement>(document, "bo-qty")[0]!, "1");
    await pressKey("F5");
    const due = byTestId<HTMLInputElement>(document, "bo-due")!;
    expect(due.value).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
    await typeInto(due, "2099-04-30T18:00");
    await click(byTestId(document, "bo-complete")!);
    await until(() => byTestId(document, "bo-pending") !== null, "reserved");
    expect(mocks.sell.mock.calls[0]![0]).toMatchObject({ pay_later: true, payment_due: "2099-04-30T18:00:00+02:00", payment_method: "cash", tendered: null });
    expect(allByTestId(document, "ticket-card")).toHaveLength(0);
    expect(byTestId(document, "bo-print")).toBeNull();
    expect(byTestId(document, "bo-pending-due")!.textContent).toContain("Europe/Berlin");
  });

  it("e-mails a confirmation only when the buyer's e-mail is typed", async () => {
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    await typeInto(allByTestId<HTMLInputElement>(document, "bo-qty")[0]!, "1");
    const box = byTestId<HTMLInputElement>(document, "bo-send-mail")!;
    expect(box.disabled).toBe(true);
    await typeInto(byTestId<HTMLInputElement>(document, "bo-buyer-email")!, "bea@example.org");
    expect(byTestId<HTMLInputElement>(document, "bo-send-mail")!.disabled).toBe(false);
    await click(byTestId(document, "bo-send-mail")!);
    await click(byTestId(document, "bo-complete")!);
    await until(() => mocks.sell.mock.calls.length === 1, "sale");
    expect(mocks.sell.mock.calls[0]![0]).toMatchObject({ buyer_email: "bea@example.org", send_confirmation: true });
  });

  it("puts a buyer on the waiting list of a sold-out type and sells an offer", async () => {
    const offered: WaitlistEntry = {
      id: "w1",
      event_id: "ev1",
      ticket_type_id: "child",
      name: "Ada Lovelace",
      email: "ada@example.org",
      phone: null,
      quantity: 2,
      status: "offered",
      hold_id: "h-offer",
      offer_expires_at: "2099-05-01T12:00:00Z",
      order_id: null,
      created_by: "u1",
      meta: { created_at: "2026-05-01T10:00:00Z", updated_at: "2026-05-01T10:00:00Z", version: 2 },
    };
    mocks.joinWaitlist.mockImplementation(async (i: WaitlistInput) => ({ ...offered, status: "waiting", name: i.name }));
    m = await mount(createElement(BoxOffice));
    await until(() => allByTestId(document, "bo-type").length === 2, "types");
    expect(allByTestId(document, "bo-waitlist-join")).toHaveLength(1);
    await click(byTestId(document, "bo-waitlist-join")!);
    await typeInto(byTestId<HTMLInputElement>(document, "wl-name")!, "Ada Lovelace");
    await typeInto(byTestId<HTMLInputElement>(document, "wl-email")!, "ada@example.org");
    await typeInto(byTestId<HTMLInputElement>(document, "wl-qty")!, "2");
    mocks.listWaitlist.mockResolvedValue([offered]);
    await click(byTestId(document, "wl-add")!);
    await until(() => mocks.joinWaitlist.mock.calls.length === 1, "joined");
    expect(mocks.joinWaitlist).toHaveBeenCalledWith({ event_id: "ev1", ticket_type_id: "child", name: "Ada Lovelace", email: "ada@example.org", phone: null, quantity: 2 });
    await until(() => byTestId(document, "wl-sell") !== null, "offer listed");
    expect(byTestId(document, "wl-status")!.textContent).toMatch(/Offered until/);
    mocks.hold.mockClear();
    await click(byTestId(document, "wl-sell")!);
    await until(() => byTestId(document, "bo-offer") !== null, "selling the offer");
    expect(allByTestId<HTMLInputElement>(document, "bo-qty")[1]!.value).toBe("2");
    await click(byTestId(document, "bo-complete")!);
    await until(() => mocks.sell.mock.calls.length === 1, "sale");
    expect(mocks.sell.mock.calls[0]![0]).toMatchObject({ waitlist_entry_id: "w1", hold_id: null, buyer_name: "Ada Lovelace", lines: [{ ticket_type_id: "child", quantity: 2, attendee_names: [] }] });
    expect(mocks.hold).not.toHaveBeenCalled();
  });

  it("opens a shift with a float and closes it with the difference", async () => {
    const shift = (over: Partial<ShiftStatus["shift"]> = {}): ShiftStatus["shift"] => ({
      id: "s1",
      user_id: "u1",
      device_id: null,
      currency: "EUR",
      opened_at: "2026-05-01T08:00:00Z",
      float_minor: 10000,
      closed_at: null,
      expected_minor: null,
      counted_minor: null,
      difference_minor: null,
      note: null,
      meta: { created_at: "", updated_at: "", version: 1 },
      ...over,
    });
    const eur = (minor: number) => ({ minor, currency: "EUR" });
    const open: ShiftStatus = { shift: shift(), float: eur(10000), cash_taken: eur(500), cash_refunded: eur(0), expected: eur(10500) };
    mocks.openShift.mockResolvedValue(open);
    mocks.closeShift.mockResolvedValue({ ...open, shift: shift({ closed_at: "2026-05-01T18:00:00Z", expected_minor: 10500, counted_minor: 10450, difference_minor: -50 }) });
    m = await mount(createElement(BoxOffice));
    await until(() => byTestId(document, "shift-float") !== null, "shift bar");
    await typeInto(byTestId<HTMLInputElement>(document, "shift-float")!, "100");
    await click(byTestId(document, "shift-open")!);
    await until(() => byTestId(document, "shift-expected") !== null, "shift open");
    expect(mocks.openShift).toHaveBeenCalledWith({ float: "100.00", currency: "EUR" });
    expect(byTestId(document, "shift-expected")!.textContent).toContain("105.00");
    await typeInto(byTestId<HTMLInputElement>(document, "shift-counted")!, "104.50");
    expect(byTestId(document, "shift-preview")!.textContent).toMatch(/0\.50 short/);
    await click(byTestId(document, "shift-close")!);
    await until(() => byTestId(document, "shift-difference") !== null, "shift closed");
    expect(mocks.closeShift).toHaveBeenCalledWith({ counted: "104.50", note: null });
    expect(byTestId(document, "shift-difference")!.dataset.kind).toBe("short");
    expect(byTestId(document, "shift-result-expected")!.textContent).toContain("105.00");
    expect(byTestId(document, "shift-result-counted")!.textContent).toContain("104.50");
  });
});
