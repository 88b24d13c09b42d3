import { describe, expect, it } from "vitest";
import type { Ticket } from "../bindings/Ticket";
import { refundableByTicket, refundRequest, type RefundDraft } from "./refund";

const meta = { created_at: "", updated_at: "", version: 1 };
const ticket = (id: string, minor: number): Ticket => ({
  id,
  order_id: "o1",
  event_id: "ev1",
  ticket_type_id: "adult",
  price: { minor, currency: "EUR" },
  attendee_name: null,
  status: "valid",
  meta,
});
const refund = (ticket_id: string, minor: number) => ({ ticket_id, amount: { minor, currency: "EUR" }, method: "cash" as const, at: "", created_by: "u1" });
const draft = (over: Partial<RefundDraft> = {}): RefundDraft => ({ whole: true, ticketIds: [], amount: "", method: "cash", ...over });

describe("refunds", () => {
  const tickets = [ticket("t1", 2250), ticket("t2", 1000)];
  const left = refundableByTicket(tickets, [refund("t1", 500)]);
  const refundable = { minor: 2750, currency: "EUR" };

  it("knows what is left of each ticket", () => {
    expect([...left.entries()]).toEqual([
      ["t1", 1750],
      ["t2", 1000],
    ]);
  });

  it("refunds everything left by default, cancelling the tickets", () => {
    expect(refundRequest(draft(), left, refundable)).toEqual({ ticket_ids: [], amount: null, method: "cash", minor: 2750, cancels: true });
    expect(refundRequest(draft({ whole: false, ticketIds: ["t2"], method: "card" }), left, refundable)).toEqual({
      ticket_ids: ["t2"],
      amount: null,
      method: "card",
      minor: 1000,
      cancels: true,
    });
  });

  it("refunds part of the money, keeping the tickets", () => {
    expect(refundRequest(draft({ amount: "5" }), left, refundable)).toEqual({ ticket_ids: [], amount: "5.00", method: "cash", minor: 500, cancels: false });
  });

  it("refuses what cannot be refunded, naming the field", () => {
    expect(refundRequest(draft({ amount: "30" }), left, refundable)).toMatchObject({ field: "amount", message: expect.stringMatching(/27\.50/) });
    expect(refundRequest(draft({ whole: false, ticketIds: ["t2"], amount: "10.01" }), left, refundable)).toMatchObject({ field: "amount" });
    expect(refundRequest(draft({ amount: "0" }), left, refundable)).toMatchObject({ field: "amount" });
    expect(refundRequest(draft({ amount: "x" }), left, refundable)).toMatchObject({ field: "amount" });
    expect(refundRequest(draft({ whole: false }), left, refundable)).toMatchObject({ field: "ticket_ids" });
    expect(refundRequest(draft(), left, { minor: 0, currency: "EUR" })).toMatchObject({ message: expect.stringMatching(/Nothing is left/) });
  });
});
