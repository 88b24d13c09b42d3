import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";

import { api } from "../api";
import type { MailMessage } from "../bindings/MailMessage";
import type { Money } from "../bindings/Money";
import type { Order } from "../bindings/Order";
import type { OrderMoney } from "../bindings/OrderMoney";
import type { OrderView } from "../bindings/OrderView";
import type { SavedFile } from "../bindings/SavedFile";
import type { SoldOrder } from "../bindings/SoldOrder";
import type { Ticket } from "../bindings/Ticket";
import type { TicketCard } from "../bindings/TicketCard";
import { Confirm, ErrorBox, Field, FieldError, Kbd, Spinner, StatusBadge, useAction } from "../components/common";
import { TicketCards } from "../components/TicketCards";
import { liveSearch, type LiveSearch, type SearchState } from "../lib/debounce";
import { localError, toAppError, unplaced } from "../lib/errors";
import { formatMoney } from "../lib/money";
import { changeLine, emptyPayment, isProblem, paymentFields, type PaymentDraft } from "../lib/payment";
import { isRequest, refundableByTicket, refundRequest, type RefundDraft } from "../lib/refund";
import { formatInstant } from "../lib/time";

export function Orders() {
  const [query, setQuery] = useState("");
  const [state, setState] = useState<SearchState<Order[]>>({ kind: "idle" });
  const [openId, setOpenId] = useState<string | null>(null);
  const [cursor, setCursor] = useState(0);
  const input = useRef<HTMLInputElement>(null);

  const queryRef = useRef(query);
  queryRef.current = query;
  // One search per mount: a disposed search stays silent, and React may unmount and mount
  // the same screen again (Strict Mode does so on purpose in development).
  const search = useRef<LiveSearch | null>(null);
  useEffect(() => {
    const live = liveSearch<Order[]>({
      search: (q) => api.searchOrders(q, null),
      onState: setState,
      delayMs: 250,
    });
    search.current = live;
    live.now(queryRef.current);
    return () => {
      live.dispose();
      if (search.current === live) search.current = null;
    };
  }, []);

  const results = state.kind === "done" ? state.results : [];
  useEffect(() => setCursor(0), [state]);

  return (
    <section className="screen split" data-testid="screen-orders">
      <aside className="list-pane">
        <div className="screen-head">
          <h1>Orders</h1>
        </div>
        <input
          ref={input}
          data-testid="orders-search"
          type="search"
          className="search"
          placeholder="Order code, name or e-mail"
          value={query}
          autoFocus
          onChange={(e) => {
            setQuery(e.target.value);
            search.current?.input(e.target.value);
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              setCursor((c) => Math.min(results.length - 1, c + 1));
            } else if (e.key === "ArrowUp") {
              e.preventDefault();
              setCursor((c) => Math.max(0, c - 1));
            } else if (e.key === "Enter") {
              e.preventDefault();
              const pick = results[cursor];
              if (pick) setOpenId(pick.id);
              else search.current?.now(query);
            }
          }}
        />
        <div className="search-state small muted" aria-live="polite">
          {state.kind === "waiting" && <Spinner label="Searching…" />}
          {state.kind === "done" && (state.results.length === 0 ? (query.trim() ? "No orders match." : "No orders yet.") : `${state.results.length} order${state.results.length === 1 ? "" : "s"}`)}
        </div>
        {state.kind === "failed" && query.trim() !== "" && <ErrorBox error={toAppError(state.error)} />}
        <ul className="rows">
          {results.map((o, i) => (
            <li key={o.id}>
              <button
                type="button"
                data-testid="order-row"
                className={o.id === openId ? "row selected" : i === cursor ? "row cursor" : "row"}
                onClick={() => setOpenId(o.id)}
              >
                <span className="row-title mono">{o.code}</span>
                <StatusBadge status={o.status} />
                <span className="row-sub">
                  {o.buyer_name ?? "Walk-in"}
                  {o.buyer_email ? ` · ${o.buyer_email}` : ""} · {formatMoney(o.total)} · {formatInstant(o.meta.created_at)}
                </span>
              </button>
            </li>
          ))}
        </ul>
      </aside>
      <div className="detail-pane">
        {openId ? (
          <OrderDetail
            key={openId}
            orderId={openId}
            onChanged={(o) => setState((s) => (s.kind === "done" ? { ...s, results: s.results.map((x) => (x.id === o.id ? o : x)) } : s))}
          />
        ) : (
          <p className="muted empty">Search and open an order to see, cancel, refund or reprint its tickets, or to take the payment of a reserved order.</p>
        )}
      </div>
    </section>
  );
}

type Pending = { tickets: Ticket[]; whole: boolean };

function OrderDetail({ orderId, onChanged }: { orderId: string; onChanged: (o: Order) => void }) {
  const [view, setView] = useState<OrderView | null>(null);
  const [money, setMoney] = useState<OrderMoney | null>(null);
  const [mail, setMail] = useState<MailMessage[] | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [refund, setRefund] = useState(false);
  const [refunding, setRefunding] = useState(false);
  const [cards, setCards] = useState<TicketCard[] | null>(null);
  const [paidChange, setPaidChange] = useState<string | null>(null);
  const [pdf, setPdf] = useState<SavedFile | null>(null);
  const load = useAction();
  const act = useAction();

  const reloadMoney = useCallback(async () => {
    const [m, ml] = await Promise.allSettled([api.orderMoney(orderId), api.orderMail(orderId)]);
    if (m.status === "fulfilled") setMoney(m.value);
    if (ml.status === "fulfilled") setMail(ml.value);
  }, [orderId]);

  const reload = useCallback(async () => {
    const v = await load.run(() => api.getOrder(orderId));
    if (v) setView(v);
    await reloadMoney();
  }, [load.run, orderId, reloadMoney]);

  useEffect(() => {
    void reload();
  }, [reload]);

  if (!view) {
    return (
      <div>
        {load.busy && <Spinner label="Loading order…" />}
        <ErrorBox error={load.error} />
      </div>
    );
  }

  const { order, tickets } = view.order;
  const zone = view.time_zone;
  const valid = tickets.filter((t) => t.status === "valid");
  const unpaid = order.status === "pending" || (order.status === "expired" && order.payment.paid_at === null);
  const refundable = money && money.refundable.minor > 0 ? money.refundable : null;

  const changed = (o: OrderView["order"]) => {
    setView({ ...view, order: o });
    onChanged(o.order);
  };

  const doCancel = async () => {
    if (!pending) return;
    const res = await act.run(() =>
      api.cancelTickets({
        order_id: order.id,
        ticket_ids: pending.whole ? [] : pending.tickets.map((t) => t.id),
        refund,
      }),
    );
    setPending(null);
    setRefund(false);
    if (res) {
      changed(res);
      setCards(null);
      void reloadMoney();
    }
  };

  const reprint = async () => {
    const c = await act.run(() => api.ticketCards(order.id));
    if (c) setCards(c);
  };

  const savePdf = async () => {
    setPdf(null);
    const f = await act.run(() => api.saveTicketsPdf({ order_id: order.id, event_id: null, layout: null }));
    if (f) setPdf(f);
  };

  const paid = (s: SoldOrder, change: string | null) => {
    changed(s.order);
    setCards(s.cards);
    setPaidChange(change);
    void reloadMoney();
  };

  return (
    <div className="order-detail">
      <div className="card no-print">
        <div className="row-between">
          <div>
            <h2>
              Order <span className="mono" data-testid="order-code">{order.code}</span>{" "}
              <span data-testid="order-status" data-status={order.status}>
                <StatusBadge status={order.status} />
              </span>
            </h2>
            <div className="muted">
              {order.buyer_name ?? "Walk-in"}
              {order.buyer_email ? ` · ${order.buyer_email}` : ""} · {order.payment_method} · {order.channel.replace("_", " ")} · {formatInstant(order.meta.created_at)}
            </div>
            {order.status === "pending" && order.payment.due && (
              <div className="due-line" data-testid="order-due">
                To be paid by <strong>{formatInstant(order.payment.due, zone)}</strong> ({zone})
                {Date.parse(order.payment.due) < Date.now() ? " — overdue" : ""}
              </div>
            )}
            {order.payment.paid_at && (
              <div className="muted small" data-testid="order-paid">
                Paid {formatInstant(order.payment.paid_at)}
                {order.payment.tendered_minor !== null ? ` · ${formatMoney({ minor: order.payment.tendered_minor, currency: order.total.currency })} given` : ""}
                {order.payment.note ? ` · ${order.payment.note}` : ""}
              </div>
            )}
          </div>
          <div className="total-line">
            <div className="right">
              <strong data-testid="order-total">{formatMoney(order.total)}</strong>
              {order.discount_minor > 0 && (
                <div className="muted small" data-testid="order-discount">
                  coupon: {formatMoney({ minor: order.discount_minor, currency: order.total.currency })} off
                </div>
              )}
            </div>
          </div>
        </div>
        <table className="table">
          <thead>
            <tr>
              <th>Type</th>
              <th>Attendee</th>
              <th className="num">Price</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tickets.map((t) => (
              <tr key={t.id} data-testid="order-ticket" data-ticket-id={t.id}>
                <td>{view.type_names[t.ticket_type_id] ?? "Ticket"}</td>
                <td>{t.attendee_name ?? <span className="muted">—</span>}</td>
                <td className="num">{formatMoney(t.price)}</td>
                <td>
                  <span data-testid="order-ticket-status" data-status={t.status} className={`badge status-${t.status}`}>
                    {t.status}
                  </span>
                </td>
                <td className="right">
                  <button
                    type="button"
                    className="danger small"
                    data-testid="order-ticket-cancel"
                    disabled={t.status !== "valid" || act.busy}
                    onClick={() => setPending({ tickets: [t], whole: false })}
                  >
                    Cancel ticket
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="actions">
          {refundable && (
            <button type="button" data-testid="order-refund" aria-expanded={refunding} onClick={() => setRefunding((x) => !x)} disabled={act.busy}>
              {refunding ? "Close refund" : "Refund…"}
            </button>
          )}
          <button type="button" data-testid="order-reprint" onClick={() => void reprint()} disabled={act.busy || valid.length === 0 || unpaid}>
            Reprint tickets
          </button>
          <button type="button" data-testid="order-pdf" onClick={() => void savePdf()} disabled={act.busy || valid.length === 0 || unpaid}>
            Save tickets PDF
          </button>
          <button
            type="button"
            className="danger"
            data-testid="order-cancel"
            disabled={valid.length === 0 || act.busy}
            onClick={() => setPending({ tickets: valid, whole: true })}
          >
            Cancel whole order
          </button>
          {act.busy && <Spinner label="Working…" />}
        </div>
        <ErrorBox error={act.error} />
        {pdf && (
          <p className="saved" data-testid="order-pdf-saved" role="status">
            Tickets saved to <span className="mono">{pdf.path}</span>
          </p>
        )}
      </div>
      {unpaid && <TakePayment view={view} money={money} onPaid={paid} />}
      {refunding && refundable && money && (
        <RefundForm
          view={view}
          money={money}
          onCancel={() => setRefunding(false)}
          onDone={(m) => {
            setMoney(m);
            changed(m.order);
            setRefunding(false);
            setCards(null);
          }}
        />
      )}
      {cards && (
        <div>
          {paidChange && (
            <div className="change-due no-print" data-testid="pay-change-due">
              Change due <strong>{paidChange}</strong>
            </div>
          )}
          <div className="actions no-print">
            <button type="button" className="primary" data-testid="order-print" onClick={() => window.print()}>
              Print
            </button>
            <button
              type="button"
              onClick={() => {
                setCards(null);
                setPaidChange(null);
              }}
            >
              Close
            </button>
          </div>
          <TicketCards cards={cards} testId="order-cards" />
        </div>
      )}
      {money && <Refunds view={view} money={money} />}
      {mail && <OrderMail order={order} messages={mail} onQueued={() => void reloadMoney()} />}
      {pending && (
        <Confirm
          title={pending.whole ? `Cancel order ${order.code}?` : "Cancel this ticket?"}
          confirmLabel={pending.whole ? "Cancel order" : "Cancel ticket"}
          danger
          busy={act.busy}
          onNo={() => {
            setPending(null);
            setRefund(false);
          }}
          onYes={() => void doCancel()}
        >
          <p>
            {pending.whole
              ? `All ${pending.tickets.length} valid ticket${pending.tickets.length === 1 ? "" : "s"} stop working at the door and go back on sale.`
              : `${view.type_names[pending.tickets[0]!.ticket_type_id] ?? "The ticket"}${pending.tickets[0]!.attendee_name ? ` (${pending.tickets[0]!.attendee_name})` : ""} stops working at the door and goes back on sale.`}
          </p>
          {!unpaid && (
            <label className="check">
              <input type="checkbox" data-testid="cancel-refund" checked={refund} onChange={(e) => setRefund(e.target.checked)} />
              Refund the money in full (by the order's payment method)
            </label>
          )}
        </Confirm>
      )}
    </div>
  );
}

/** Take the money of a reserved (pay-later) order, or of one that expired unpaid. */
function TakePayment({ view, money, onPaid }: { view: OrderView; money: OrderMoney | null; onPaid: (s: SoldOrder, change: string | null) => void }) {
  const { order } = view.order;
  const expired = order.status === "expired";
  // What paying takes now (an expired order: the tickets it had when it expired), as Admit
  // works it out; the order's own total until that has loaded.
  const total: Money = money?.to_pay ?? order.total;
  const [draft, setDraft] = useState<PaymentDraft>(() => emptyPayment(order.payment_method === "card" ? "card" : "cash"));
  const act = useAction();
  // A change answers the last complaint; the next attempt checks again.
  const set = (patch: Partial<PaymentDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    act.setError(null);
  };
  const change = changeLine(total, draft.given);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const fields = paymentFields(draft, total, view.time_zone);
    if (isProblem(fields)) return act.setError(localError(fields.message, fields.field));
    const changeNow = draft.pay === "cash" && change.change?.kind === "change" ? formatMoney({ minor: change.change.minor, currency: total.currency }) : null;
    const res = await act.run(() =>
      api.payOrder({
        order_id: order.id,
        payment_method: fields.payment_method,
        tendered: fields.tendered,
        card_confirmed: fields.card_confirmed,
        payment_note: fields.payment_note,
      }),
    );
    if (res) onPaid(res, changeNow);
  };

  return (
    <form className="card take-payment no-print" data-testid="take-payment" aria-label="Take payment" onSubmit={(e) => void submit(e)}>
      <h3>Take payment · {formatMoney(total)}</h3>
      {expired && <p className="muted small">This order expired unpaid and its tickets went back on sale. It can still be paid if they are free.</p>}
      <div className="pay-buttons two" role="radiogroup" aria-label="Payment method">
        {(["cash", "card"] as const).map((p) => (
          <button key={p} type="button" role="radio" aria-checked={draft.pay === p} data-testid={`pay-${p}`} className={draft.pay === p ? "pay active" : "pay"} onClick={() => set({ pay: p })}>
            {p === "cash" ? "Cash" : "Card"}
          </button>
        ))}
      </div>
      {draft.pay === "cash" && (
        <div className="form-grid">
          <Field label={`Amount given (${total.currency})`}>
            <input data-testid="pay-given" inputMode="decimal" value={draft.given} onChange={(e) => set({ given: e.target.value })} placeholder="exact" autoComplete="off" autoFocus />
            <FieldError error={act.error} field="tendered" />
          </Field>
          <div className={`change-line ${change.bad ? "bad-text" : ""}`}>
            <span>Change</span>
            <strong data-testid="pay-change">{change.text}</strong>
          </div>
        </div>
      )}
      {draft.pay === "card" && (
        <div className="form-grid">
          <div>
            <label className="check big-check">
              <input type="checkbox" data-testid="pay-card-ok" checked={draft.cardConfirmed} onChange={(e) => set({ cardConfirmed: e.target.checked })} />
              Terminal approved (required)
            </label>
            <FieldError error={act.error} field="card_confirmed" />
          </div>
          <Field label="Terminal reference (optional)">
            <input data-testid="pay-card-ref" value={draft.cardRef} onChange={(e) => set({ cardRef: e.target.value })} autoComplete="off" />
            <FieldError error={act.error} field="payment_note" />
          </Field>
        </div>
      )}
      <div className="actions">
        <button type="submit" className="primary" data-testid="pay-submit" disabled={act.busy}>
          {act.busy ? <Spinner label="Taking payment…" /> : `Take payment ${formatMoney(total)}`}
        </button>
      </div>
      <ErrorBox error={unplaced(act.error, ["tendered", "card_confirmed", "payment_note"])} onDismiss={() => act.setError(null)} />
    </form>
  );
}

/** Hand money back: the whole order or chosen tickets, in full or in part, in cash or by card. */
function RefundForm({ view, money, onDone, onCancel }: { view: OrderView; money: OrderMoney; onDone: (m: OrderMoney) => void; onCancel: () => void }) {
  const { order, tickets } = view.order;
  const left = refundableByTicket(tickets, money.refunds);
  const open = tickets.filter((t) => (left.get(t.id) ?? 0) > 0);
  const [draft, setDraft] = useState<RefundDraft>({ whole: true, ticketIds: [], amount: "", method: order.payment_method === "card" ? "card" : "cash" });
  const act = useAction();
  // A change answers the last complaint; the next attempt checks again.
  const set = (patch: Partial<RefundDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    act.setError(null);
  };
  const req = refundRequest(draft, left, money.refundable);
  const cur = money.refundable.currency;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!isRequest(req)) return act.setError(localError(req.message, req.field));
    const m = await act.run(() => api.refund({ order_id: order.id, ticket_ids: req.ticket_ids, amount: req.amount, method: req.method }));
    if (m) onDone(m);
  };

  return (
    <form
      className="card refund-form no-print"
      data-testid="refund-form"
      aria-label="Refund"
      onSubmit={(e) => void submit(e)}
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          onCancel();
        }
      }}
    >
      <h3>Refund</h3>
      <div className="pay-buttons two" role="radiogroup" aria-label="What to refund">
        <button type="button" role="radio" aria-checked={draft.whole} data-testid="refund-whole" className={draft.whole ? "pay active" : "pay"} onClick={() => set({ whole: true })} autoFocus>
          Whole order
        </button>
        <button type="button" role="radio" aria-checked={!draft.whole} data-testid="refund-some" className={!draft.whole ? "pay active" : "pay"} onClick={() => set({ whole: false })}>
          Chosen tickets
        </button>
      </div>
      {!draft.whole && (
        <fieldset className="checks">
          <legend>Tickets</legend>
          {open.map((t) => (
            <label key={t.id} className="check">
              <input
                type="checkbox"
                data-testid="refund-ticket"
                value={t.id}
                checked={draft.ticketIds.includes(t.id)}
                onChange={(e) => {
                  const on = e.target.checked;
                  setDraft((d) => ({ ...d, ticketIds: on ? [...d.ticketIds, t.id] : d.ticketIds.filter((x) => x !== t.id) }));
                  act.setError(null);
                }}
              />
              {view.type_names[t.ticket_type_id] ?? "Ticket"}
              {t.attendee_name ? ` (${t.attendee_name})` : ""} · {formatMoney({ minor: left.get(t.id) ?? 0, currency: cur })} left
              {t.status !== "valid" ? ` · ${t.status}` : ""}
            </label>
          ))}
          <FieldError error={act.error} field="ticket_ids" />
        </fieldset>
      )}
      <div className="form-grid">
        <Field label={`Amount (${cur}, optional)`} hint="Empty: everything left, and the tickets are cancelled. An amount: part of the money back; the tickets stay valid.">
          <input data-testid="refund-amount" inputMode="decimal" value={draft.amount} onChange={(e) => set({ amount: e.target.value })} placeholder="all" autoComplete="off" />
          <FieldError error={act.error} field="amount" />
        </Field>
        <Field label="Paid back by">
          <select data-testid="refund-method" value={draft.method} onChange={(e) => set({ method: e.target.value as "cash" | "card" })}>
            <option value="cash">Cash</option>
            <option value="card">Card</option>
          </select>
          <FieldError error={act.error} field="method" />
        </Field>
      </div>
      <p className="muted small" data-testid="refund-summary">
        {isRequest(req)
          ? `${formatMoney({ minor: req.minor, currency: cur })} back by ${req.method}${req.cancels ? "; the tickets are cancelled and go back on sale" : "; the tickets stay valid"}.`
          : req.message}
      </p>
      <div className="actions">
        <button type="button" onClick={onCancel} disabled={act.busy}>
          Cancel <Kbd>Esc</Kbd>
        </button>
        <button type="submit" className="danger" data-testid="refund-submit" disabled={act.busy}>
          {act.busy ? <Spinner label="Refunding…" /> : isRequest(req) ? `Refund ${formatMoney({ minor: req.minor, currency: cur })}` : "Refund"}
        </button>
      </div>
      <ErrorBox error={unplaced(act.error, ["amount", "ticket_ids", "method"])} onDismiss={() => act.setError(null)} />
    </form>
  );
}

/** What went back so far, and what is left to refund. */
function Refunds({ view, money }: { view: OrderView; money: OrderMoney }) {
  const typeOf = (ticketId: string | null) => {
    const t = view.order.tickets.find((x) => x.id === ticketId);
    return t ? (view.type_names[t.ticket_type_id] ?? "Ticket") + (t.attendee_name ? ` (${t.attendee_name})` : "") : "Order";
  };
  if (money.refunds.length === 0 && money.refundable.minor === 0) return null;
  return (
    <div className="card no-print" data-testid="order-refunds">
      <div className="row-between">
        <h3>Refunds</h3>
        <span>
          Refunded <strong data-testid="order-refunded">{formatMoney(money.refunded)}</strong> · left to refund{" "}
          <strong data-testid="order-refundable">{formatMoney(money.refundable)}</strong>
        </span>
      </div>
      {money.refunds.length === 0 ? (
        <p className="muted small">Nothing refunded yet.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>When</th>
              <th>Ticket</th>
              <th>Method</th>
              <th className="num">Amount</th>
            </tr>
          </thead>
          <tbody>
            {money.refunds.map((r, i) => (
              <tr key={i} data-testid="refund-row">
                <td>{formatInstant(r.at)}</td>
                <td>{typeOf(r.ticket_id)}</td>
                <td>{r.method}</td>
                <td className="num">{formatMoney(r.amount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The order's e-mails and how sending went; send the confirmation again. */
function OrderMail({ order, messages, onQueued }: { order: Order; messages: MailMessage[]; onQueued: () => void }) {
  const [to, setTo] = useState("");
  const [queued, setQueued] = useState(false);
  const act = useAction();
  const live = order.status === "paid" || order.status === "pending";

  const resend = async (e: FormEvent) => {
    e.preventDefault();
    setQueued(false);
    const m = await act.run(() => api.resendConfirmation(order.id, to.trim() || null));
    if (m) {
      setQueued(true);
      setTo("");
      onQueued();
    }
  };

  return (
    <div className="card no-print" data-testid="order-mail">
      <h3>E-mail</h3>
      {messages.length === 0 ? (
        <p className="muted small">No e-mail for this order yet.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>To</th>
              <th>What</th>
              <th>Status</th>
              <th className="num">Attempts</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id} data-testid="mail-row">
                <td>{m.to}</td>
                <td>{m.kind === "order_confirmation" ? "Confirmation" : "Waiting-list offer"}</td>
                <td>
                  <span className={`badge status-mail-${m.status}`} data-testid="mail-status" data-status={m.status}>
                    {m.status}
                  </span>
                </td>
                <td className="num">{m.attempts}</td>
                <td className="small">
                  {m.status === "sent" && m.sent_at && `Sent ${formatInstant(m.sent_at)}`}
                  {m.status === "queued" && (m.attempts > 0 ? `Next try ${formatInstant(m.next_attempt_at)}` : "Waiting to be sent")}
                  {m.last_error && (
                    <div className="bad-text" data-testid="mail-error">
                      {m.last_error}
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="inline-form flush" onSubmit={(e) => void resend(e)} aria-label="Send the confirmation again" noValidate>
        <Field label="To" hint={order.buyer_email ? `Empty: ${order.buyer_email}` : "The order has no e-mail address: enter one"}>
          <input data-testid="mail-to" type="email" value={to} onChange={(e) => setTo(e.target.value)} placeholder={order.buyer_email ?? "buyer@example.org"} autoComplete="off" />
          <FieldError error={act.error} field="to" />
        </Field>
        <div className="actions">
          {queued && <span className="ok-text">Queued; it goes out within a minute when mail is set up.</span>}
          <button type="submit" data-testid="mail-resend" disabled={act.busy || !live}>
            {act.busy ? <Spinner /> : "Send confirmation again"}
          </button>
        </div>
      </form>
      <ErrorBox error={unplaced(act.error, ["to"])} onDismiss={() => act.setError(null)} />
    </div>
  );
}
