// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createElement, StrictMode } from "react";

import type { Order } from "../bindings/Order";
import type { OrderMoney } from "../bindings/OrderMoney";
import type { OrderView } from "../bindings/OrderView";
import { Orders } from "../screens/Orders";
import { allByTestId, byTestId, click, mount, settle, typeInto, until, type Mounted } from "./dom";
import { paidOrder } from "./fixtures";

const mocks = vi.hoisted(() => ({
  searchOrders: vi.fn(),
  getOrder: vi.fn(),
  cancelTickets: vi.fn(),
  ticketCards: vi.fn(),
  saveTicketsPdf: vi.fn(),
  orderMoney: vi.fn(),
  orderMail: vi.fn(),
  payOrder: vi.fn(),
  refund: vi.fn(),
  resendConfirmation: vi.fn(),
}));
vi.mock("../api", () => ({ api: mocks }));

const meta = { created_at: "2026-05-01T10:00:00Z", updated_at: "2026-05-01T10:00:00Z", version: 1 };
const order: Order = paidOrder();
const ticket = (id: string, status: "valid" | "cancelled" = "valid") => ({
  id,
  order_id: "o1",
  event_id: "ev1",
  ticket_type_id: "adult",
  price: { minor: 1250, currency: "EUR" },
  attendee_name: null,
  status,
  meta,
});
const view = (statuses: ("valid" | "cancelled")[]): OrderView => ({
  order: { order, tickets: statuses.map((s, i) => ticket(`t${i + 1}`, s)) },
  type_names: { adult: "Adult" },
  event_name: "Spring Gala",
  time_zone: "Europe/Berlin",
});

let m: Mounted | null = null;
const money = (v: OrderView, refunds: OrderMoney["refunds"] = []): OrderMoney => {
  const refunded = refunds.reduce((n, r) => n + r.amount.minor, 0);
  const paid = v.order.order.payment.paid_at !== null;
  return {
    order: v.order,
    refunds,
    refunded: { minor: refunded, currency: "EUR" },
    refundable: { minor: paid ? v.order.tickets.reduce((n, t) => n + t.price.minor, 0) - refunded : 0, currency: "EUR" },
    to_pay: v.order.order.status === "pending" ? v.order.order.total : null,
  };
};
beforeEach(() => {
  mocks.searchOrders.mockResolvedValue([order]);
  mocks.getOrder.mockResolvedValue(view(["valid", "valid"]));
  mocks.orderMoney.mockImplementation(async () => money(view(["valid", "valid"])));
  mocks.orderMail.mockResolvedValue([]);
});
afterEach(() => {
  m?.unmount();
  m = null;
  vi.clearAllMocks();
});

describe("orders", () => {
  it("searches as you type once typing pauses", async () => {
    m = await mount(createElement(Orders));
    await settle(10);
    mocks.searchOrders.mockClear();
    const input = byTestId<HTMLInputElement>(document, "orders-search")!;
    await typeInto(input, "K");
    await typeInto(input, "K7");
    await typeInto(input, "K7Q");
    expect(mocks.searchOrders).not.toHaveBeenCalled();
    await until(() => mocks.searchOrders.mock.calls.length === 1, "search", 1500);
    expect(mocks.searchOrders).toHaveBeenCalledWith("K7Q", null);
    await until(() => allByTestId(document, "order-row").length === 1, "rows");
  });

  it("still searches after React mounts the screen twice (Strict Mode)", async () => {
    m = await mount(createElement(StrictMode, null, createElement(Orders)));
    await until(() => allByTestId(document, "order-row").length === 1, "first rows");
    mocks.searchOrders.mockResolvedValue([]);
    await typeInto(byTestId<HTMLInputElement>(document, "orders-search")!, "nothing");
    await until(() => allByTestId(document, "order-row").length === 0, "new answer shown", 1500);
    expect(document.body.textContent).toContain("No orders match.");
  });

  it("cancels one ticket after confirmation, with the refund flag", async () => {
    m = await mount(createElement(Orders));
    await until(() => byTestId(document, "order-row") !== null, "rows");
    await click(byTestId(document, "order-row")!);
    await until(() => allByTestId(document, "order-ticket").length === 2, "tickets");
    expect(allByTestId(document, "order-ticket-status").map((s) => s.textContent)).toEqual(["valid", "valid"]);

    mocks.cancelTickets.mockResolvedValue(view(["cancelled", "valid"]).order);
    await click(allByTestId(document, "order-ticket-cancel")[0]!);
    expect(mocks.cancelTickets).not.toHaveBeenCalled();
    await click(byTestId(document, "cancel-refund")!);
    await click(byTestId(document, "confirm-yes")!);
    await until(() => byTestId(document, "confirm-yes") === null, "dialog closed");
    expect(mocks.cancelTickets).toHaveBeenCalledWith({ order_id: "o1", ticket_ids: ["t1"], refund: true });
    expect(allByTestId(document, "order-ticket-status").map((s) => s.textContent)).toEqual(["cancelled", "valid"]);
    expect(allByTestId<HTMLButtonElement>(document, "order-ticket-cancel")[0]!.disabled).toBe(true);
  });

  it("saves the order's tickets as a PDF and says where", async () => {
    mocks.saveTicketsPdf.mockResolvedValue({ path: "/exports/spring-gala-tickets-K7Q2XM-2026-05-01_101500.pdf", bytes: 3000 });
    m = await mount(createElement(Orders));
    await until(() => byTestId(document, "order-row") !== null, "rows");
    await click(byTestId(document, "order-row")!);
    await until(() => byTestId(document, "order-pdf") !== null, "order open");
    await click(byTestId(document, "order-pdf")!);
    await until(() => byTestId(document, "order-pdf-saved") !== null, "saved");
    expect(mocks.saveTicketsPdf).toHaveBeenCalledWith({ order_id: "o1", event_id: null, layout: null });
    expect(byTestId(document, "order-pdf-saved")!.textContent).toContain("spring-gala-tickets-K7Q2XM-2026-05-01_101500.pdf");
  });

  it("shows when a reserved order is due and takes its payment in cash", async () => {
    const due = "2099-05-03T10:00:00Z";
    const pendingOrder = paidOrder({ status: "pending", payment: { due, paid_at: null, paid_by: null, paid_device: null, tendered_minor: null, note: null } });
    const v: OrderView = { ...view(["valid", "valid"]), order: { ...view(["valid", "valid"]).order, order: pendingOrder } };
    mocks.searchOrders.mockResolvedValue([pendingOrder]);
    mocks.getOrder.mockResolvedValue(v);
    mocks.orderMoney.mockResolvedValue(money(v));
    mocks.payOrder.mockResolvedValue({ order: view(["valid", "valid"]).order, cards: [] });
    m = await mount(createElement(Orders));
    await until(() => byTestId(document, "order-row") !== null, "rows");
    await click(byTestId(document, "order-row")!);
    await until(() => byTestId(document, "take-payment") !== null, "take payment");
    expect(byTestId(document, "order-due")!.textContent).toMatch(/12:00.*Europe\/Berlin/);
    expect(byTestId(document, "order-refund")).toBeNull();
    expect(byTestId<HTMLButtonElement>(document, "order-reprint")!.disabled).toBe(true);

    await typeInto(byTestId<HTMLInputElement>(document, "pay-given")!, "30");
    expect(byTestId(document, "pay-change")!.textContent).toContain("5.00");
    await click(byTestId(document, "pay-submit")!);
    await until(() => mocks.payOrder.mock.calls.length === 1, "payment");
    expect(mocks.payOrder).toHaveBeenCalledWith({ order_id: "o1", payment_method: "cash", tendered: "30.00", card_confirmed: false, payment_note: null });
    await until(() => byTestId(document, "pay-change-due") !== null, "change due");
    expect(byTestId(document, "pay-change-due")!.textContent).toContain("5.00");
  });

  it("needs the terminal's approval for a card payment, said next to the box", async () => {
    const pendingOrder = paidOrder({ status: "pending", payment: { due: "2099-05-03T10:00:00Z", paid_at: null, paid_by: null, paid_device: null, tendered_minor: null, note: null } });
    mocks.searchOrders.mockResolvedValue([pendingOrder]);
    mocks.getOrder.mockResolvedValue({ ...view(["valid"]), order: { ...view(["valid"]).order, order: pendingOrder } });
    m = await mount(createElement(Orders));
    await until(() => byTestId(document, "order-row") !== null, "rows");
    await click(byTestId(document, "order-row")!);
    await until(() => byTestId(document, "take-payment") !== null, "take payment");
    await click(byTestId(document, "pay-card")!);
    await click(byTestId(document, "pay-submit")!);
    expect(mocks.payOrder).not.toHaveBeenCalled();
    expect(byTestId(document, "field-error-card_confirmed")!.textContent).toMatch(/Terminal approved/);
    await click(byTestId(document, "pay-card-ok")!);
    mocks.payOrder.mockResolvedValue({ order: view(["valid"]).order, cards: [] });
    await click(byTestId(document, "pay-submit")!);
    await until(() => mocks.payOrder.mock.calls.length === 1, "payment");
    expect(mocks.payOrder.mock.calls[0]![0]).toMatchObject({ payment_method: "card", card_confirmed: true, tendered: null });
  });

  it("refunds part of an order and lists what went back", async () => {
    const v = view(["valid", "valid"]);
    const after = money(v, [{ ticket_id: "t1", amount: { minor: 500, currency: "EUR" }, method: "cash", at: "2026-05-01T11:00:00Z", created_by: "u1" }]);
    mocks.refund.mockResolvedValue(after);
    m = await mount(createElement(Orders));
    await until(() => byTestId(document, "order-row") !== null, "rows");
    await click(byTestId(document, "order-row")!);
    await until(() => byTestId(document, "order-refund") !== null, "refund button");
    expect(byTestId(document, "order-refundable")!.textContent).toContain("25.00");
    await click(byTestId(document, "order-refund")!);
    await typeInto(byTestId<HTMLInputElement>(document, "refund-amount")!, "30");
    await click(byTestId(document, "refund-submit")!);
    expect(mocks.refund).not.toHaveBeenCalled();
    expect(byTestId(document, "field-error-amount")!.textContent).toMatch(/at most .*25\.00/);
    await typeInto(byTestId<HTMLInputElement>(document, "refund-amount")!, "5");
    expect(byTestId(document, "refund-summary")!.textContent).toMatch(/tickets stay valid/);
    await click(byTestId(document, "refund-submit")!);
    await until(() => mocks.refund.mock.calls.length === 1, "refund");
    expect(mocks.refund).toHaveBeenCalledWith({ order_id: "o1", ticket_ids: [], amount: "5.00", method: "cash" });
    await until(() => allByTestId(document, "refund-row").length === 1, "refund listed");
    expect(byTestId(document, "order-refundable")!.textContent).toContain("20.00");
    expect(byTestId(document, "refund-form")).toBeNull();
  });

  it("shows how the order's e-mail went and queues it again", async () => {
    const meta2 = { created_at: "2026-05-01T10:00:00Z", updated_at: "2026-05-01T10:05:00Z", version: 3 };
    mocks.orderMail.mockResolvedValue([
      {
        id: "m1",
        kind: "order_confirmation",
        order_id: "o1",
        waitlist_id: null,
        to: "bea@example.org",
        status: "failed",
        attempts: 8,
        next_attempt_at: "2026-05-01T11:00:00Z",
        last_error: "550 mailbox unavailable",
        sent_at: null,
        meta: meta2,
      },
    ]);
    mocks.resendConfirmation.mockResolvedValue({});
    m = await mount(createElement(Orders));
    await until(() => byTestId(document, "order-row") !== null, "rows");
    await click(byTestId(document, "order-row")!);
    await until(() => byTestId(document, "mail-row") !== null, "mail");
    expect(byTestId(document, "mail-status")!.dataset.status).toBe("failed");
    expect(byTestId(document, "mail-error")!.textContent).toContain("550 mailbox unavailable");
    await typeInto(byTestId<HTMLInputElement>(document, "mail-to")!, "bea@example.net");
    await click(byTestId(document, "mail-resend")!);
    await until(() => mocks.resendConfirmation.mock.calls.length === 1, "resend");
    expect(mocks.resendConfirmation).toHaveBeenCalledWith("o1", "bea@example.net");
  });
});
