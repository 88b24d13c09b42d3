import { useCallback, useEffect, useRef, useState } from "react";

import { api } from "../api";
import type { Order } from "../bindings/Order";
import type { OrderView } from "../bindings/OrderView";
import type { SavedFile } from "../bindings/SavedFile";
import type { Ticket } from "../bindings/Ticket";
import type { TicketCard } from "../bindings/TicketCard";
import { Confirm, ErrorBox, Spinner, StatusBadge, useAction } from "../components/common";
import { TicketCards } from "../components/TicketCards";
import { liveSearch, type LiveSearch, type SearchState } from "../lib/debounce";
import { toAppError } from "../lib/errors";
import { formatMoney } from "../lib/money";
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
          <p className="muted empty">Search and open an order to see, cancel or reprint its tickets.</p>
        )}
      </div>
    </section>
  );
}

type Pending = { tickets: Ticket[]; whole: boolean };

function OrderDetail({ orderId, onChanged }: { orderId: string; onChanged: (o: Order) => void }) {
  const [view, setView] = useState<OrderView | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [refund, setRefund] = useState(false);
  const [cards, setCards] = useState<TicketCard[] | null>(null);
  const [pdf, setPdf] = useState<SavedFile | null>(null);
  const load = useAction();
  const act = useAction();

  const reload = useCallback(async () => {
    const v = await load.run(() => api.getOrder(orderId));
    if (v) setView(v);
  }, [load.run, orderId]);

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
  const valid = tickets.filter((t) => t.status === "valid");

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
      setView({ ...view, order: res });
      onChanged(res.order);
      setCards(null);
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

  return (
    <div className="order-detail">
      <div className="card no-print">
        <div className="row-between">
          <div>
            <h2>
              Order <span className="mono" data-testid="order-code">{order.code}</span> <StatusBadge status={order.status} />
            </h2>
            <div className="muted">
              {order.buyer_name ?? "Walk-in"}
              {order.buyer_email ? ` · ${order.buyer_email}` : ""} · {order.payment_method} · {order.channel.replace("_", " ")} · {formatInstant(order.meta.created_at)}
            </div>
          </div>
          <div className="total-line">
            <strong data-testid="order-total">{formatMoney(order.total)}</strong>
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
          <button type="button" data-testid="order-reprint" onClick={() => void reprint()} disabled={act.busy || valid.length === 0}>
            Reprint tickets
          </button>
          <button type="button" data-testid="order-pdf" onClick={() => void savePdf()} disabled={act.busy || valid.length === 0}>
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
      {cards && (
        <div>
          <div className="actions no-print">
            <button type="button" className="primary" data-testid="order-print" onClick={() => window.print()}>
              Print
            </button>
            <button type="button" onClick={() => setCards(null)}>
              Close
            </button>
          </div>
          <TicketCards cards={cards} testId="order-cards" />
        </div>
      )}
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
          <label className="check">
            <input type="checkbox" data-testid="cancel-refund" checked={refund} onChange={(e) => setRefund(e.target.checked)} />
            Money was refunded (mark the order refunded when nothing valid is left)
          </label>
        </Confirm>
      )}
    </div>
  );
}
