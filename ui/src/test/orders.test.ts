// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createElement, StrictMode } from "react";

import type { Order } from "../bindings/Order";
import type { OrderView } from "../bindings/OrderView";
import { Orders } from "../screens/Orders";
import { allByTestId, byTestId, click, mount, settle, typeInto, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({ searchOrders: vi.fn(), getOrder: vi.fn(), cancelTickets: vi.fn(), ticketCards: vi.fn(), saveTicketsPdf: vi.fn() }));
vi.mock("../api", () => ({ api: mocks }));

const meta = { created_at: "2026-05-01T10:00:00Z", updated_at: "2026-05-01T10:00:00Z", version: 1 };
const order: Order = {
  id: "o1",
  code: "K7Q2XM",
  event_id: "ev1",
  buyer_name: "Bea Berg",
  buyer_email: null,
  channel: "box_office",
  payment_method: "cash",
  status: "paid",
  total: { minor: 2500, currency: "EUR" },
  created_by: "u1",
  device_id: null,
  meta,
};
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
});

let m: Mounted | null = null;
beforeEach(() => {
  mocks.searchOrders.mockResolvedValue([order]);
  mocks.getOrder.mockResolvedValue(view(["valid", "valid"]));
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
});
