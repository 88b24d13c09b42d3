import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";

import { api } from "../api";
import type { Event } from "../bindings/Event";
import type { EventAvailability } from "../bindings/EventAvailability";
import type { SoldOrder } from "../bindings/SoldOrder";
import { ErrorBox, Field, Kbd, Spinner, useAction, useInterval } from "../components/common";
import { TicketCards } from "../components/TicketCards";
import { localError, toAppError, type AppError } from "../lib/errors";
import { cashChange, formatMoney, formatMoneyList, MoneyError, parseAmount } from "../lib/money";
import { basketLines, basketTotal, linesKey, MAX_QTY, parseQty, type Basket } from "../lib/sale";
import { formatInstant } from "../lib/time";

type Pay = "cash" | "card" | "comp";
const LAST_EVENT_KEY = "admit.boxoffice.event";

export function BoxOffice() {
  const [events, setEvents] = useState<Event[]>([]);
  const [eventId, setEventId] = useState<string>("");
  const [avail, setAvail] = useState<EventAvailability | null>(null);
  const [basket, setBasket] = useState<Basket>({});
  const [names, setNames] = useState<Record<string, string[]>>({});
  const [showNames, setShowNames] = useState(false);
  const [buyerName, setBuyerName] = useState("");
  const [buyerEmail, setBuyerEmail] = useState("");
  const [pay, setPay] = useState<Pay>("cash");
  const [given, setGiven] = useState("");
  const [sold, setSold] = useState<{ order: SoldOrder; change: string | null } | null>(null);
  const [holdState, setHoldState] = useState<"none" | "holding" | "held" | "failed">("none");
  const [holdError, setHoldError] = useState<AppError | null>(null);
  const load = useAction();
  const sale = useAction();

  const qtyRefs = useRef<(HTMLInputElement | null)[]>([]);
  const newSaleRef = useRef<HTMLButtonElement>(null);

  // The hold that keeps the basket's units while the sale is open. Hold operations run one
  // after another on this chain so that a release never overtakes the hold it releases.
  const holdRef = useRef<{ id: string; key: string } | null>(null);
  const chain = useRef<Promise<void>>(Promise.resolve());
  const wanted = useRef<{ eventId: string; key: string; lines: ReturnType<typeof basketLines> }>({ eventId: "", key: "", lines: [] });
  const holdTimer = useRef<number | null>(null);

  const types = useMemo(() => (avail?.ticket_types ?? []).filter((t) => t.ticket_type.active), [avail]);
  const lines = useMemo(() => basketLines(types, basket, names), [types, basket, names]);
  const key = linesKey(eventId, lines);
  const totals = useMemo(() => basketTotal(types, basket), [types, basket]);
  const ticketCount = lines.reduce((n, l) => n + l.quantity, 0);

  const syncHold = useCallback((): Promise<void> => {
    const next = chain.current.then(async () => {
      const w = wanted.current;
      const current = holdRef.current;
      if (current?.key === w.key) return;
      if (current) {
        holdRef.current = null;
        await api.releaseHold(current.id).catch(() => undefined);
      }
      if (w.lines.length === 0 || !w.eventId) {
        setHoldState("none");
        setHoldError(null);
        return;
      }
      setHoldState("holding");
      try {
        const h = await api.hold({ event_id: w.eventId, lines: w.lines });
        holdRef.current = { id: h.id, key: w.key };
        if (wanted.current.key === w.key) {
          setHoldState("held");
          setHoldError(null);
        }
      } catch (e) {
        setHoldState("failed");
        setHoldError(toAppError(e));
      }
    });
    chain.current = next;
    return next;
  }, []);

  // Keep the hold in step with the basket, a moment after the last change.
  useEffect(() => {
    wanted.current = { eventId, key, lines };
    if (holdTimer.current !== null) window.clearTimeout(holdTimer.current);
    holdTimer.current = window.setTimeout(() => {
      holdTimer.current = null;
      void syncHold();
    }, 350);
  }, [eventId, key, lines, syncHold]);

  // Give the units back when leaving the screen.
  useEffect(
    () => () => {
      if (holdTimer.current !== null) window.clearTimeout(holdTimer.current);
      wanted.current = { eventId: "", key: "", lines: [] };
      const h = holdRef.current;
      holdRef.current = null;
      if (h) void api.releaseHold(h.id).catch(() => undefined);
    },
    [],
  );

  const loadEvents = useCallback(async () => {
    const list = await load.run(() => api.listEvents());
    if (!list) return;
    const published = list.filter((e) => e.status === "published").sort((a, b) => a.starts_at.localeCompare(b.starts_at));
    setEvents(published);
    setEventId((cur) => {
      if (cur && published.some((e) => e.id === cur)) return cur;
      const last = localStorage.getItem(LAST_EVENT_KEY);
      if (last && published.some((e) => e.id === last)) return last;
      const upcoming = published.find((e) => Date.parse(e.ends_at) > Date.now());
      return upcoming?.id ?? published[0]?.id ?? "";
    });
  }, [load.run]);

  const refreshAvailability = useCallback(async () => {
    if (!eventId) return;
    try {
      const a = await api.availability(eventId);
      setAvail((prev) => (prev && a.event.id !== eventId ? prev : a));
    } catch (e) {
      load.setError(toAppError(e));
    }
  }, [eventId, load.setError]);

  useEffect(() => {
    void loadEvents();
  }, [loadEvents]);

  useEffect(() => {
    setAvail(null);
    setBasket({});
    setNames({});
    if (eventId) {
      localStorage.setItem(LAST_EVENT_KEY, eventId);
      void refreshAvailability();
    }
  }, [eventId, refreshAvailability]);

  useInterval(() => void refreshAvailability(), sold ? null : 4000);

  const clearBasket = useCallback(() => {
    setBasket({});
    setNames({});
    setBuyerName("");
    setBuyerEmail("");
    setGiven("");
    sale.setError(null);
    setShowNames(false);
  }, [sale.setError]);

  const setQty = (id: string, q: number) => setBasket((b) => ({ ...b, [id]: Math.max(0, Math.min(MAX_QTY, q)) }));

  // Cash maths.
  const single = totals.length <= 1 ? totals[0] ?? null : null;
  const totalMinor = single?.minor ?? 0;
  const currency = single?.currency ?? types[0]?.ticket_type.price.currency ?? "EUR";
  let givenMinor: number | null = null;
  let givenError: string | null = null;
  if (pay === "cash" && given.trim()) {
    try {
      givenMinor = parseAmount(given, currency);
    } catch (e) {
      givenError = e instanceof MoneyError ? e.message : String(e);
    }
  }
  const change = givenMinor !== null ? cashChange(pay === "comp" ? 0 : totalMinor, givenMinor) : null;
  const changeText =
    pay !== "cash"
      ? "—"
      : givenError
        ? givenError
        : !change
          ? "Exact amount"
          : change.kind === "exact"
            ? "No change"
            : change.kind === "change"
              ? formatMoney({ minor: change.minor, currency })
              : `${formatMoney({ minor: change.minor, currency })} missing`;

  const complete = async () => {
    if (sale.busy) return;
    if (!eventId) return sale.setError(localError("Choose an event first."));
    if (lines.length === 0) return sale.setError(localError("Choose at least one ticket: type a quantity or press +."));
    if (totals.length > 1) return sale.setError(localError("Tickets in different currencies cannot be sold in one order; sell them separately."));
    if (pay === "cash" && givenError) return sale.setError(localError("Amount given: " + givenError));
    if (pay === "cash" && change?.kind === "short") {
      return sale.setError(localError(`The amount given is ${formatMoney({ minor: change.minor, currency })} short.`));
    }
    // Bring the hold up to date first, so the sale uses the units kept for it.
    if (holdTimer.current !== null) {
      window.clearTimeout(holdTimer.current);
      holdTimer.current = null;
    }
    wanted.current = { eventId, key, lines };
    const input = {
      event_id: eventId,
      lines,
      buyer_name: buyerName.trim() || null,
      buyer_email: buyerEmail.trim() || null,
      channel: "box_office",
      payment_method: pay,
      hold_id: null as string | null,
    };
    const changeLine = pay === "cash" && change?.kind === "change" ? formatMoney({ minor: change.minor, currency }) : null;
    const result = await sale.run(async () => {
      await syncHold();
      const h = holdRef.current;
      const holdId = h && h.key === key ? h.id : null;
      try {
        return await api.sell({ ...input, hold_id: holdId });
      } catch (e) {
        const err = toAppError(e);
        // An expired or lost hold: sell from free stock instead.
        if (holdId && (err.code === "conflict" || err.code === "not_found") && /hold/i.test(err.message)) {
          holdRef.current = null;
          return await api.sell({ ...input, hold_id: null });
        }
        throw err;
      }
    });
    if (result) {
      holdRef.current = null;
      wanted.current = { eventId, key: linesKey(eventId, []), lines: [] };
      setHoldState("none");
      setSold({ order: result, change: changeLine });
      clearBasket();
      void refreshAvailability();
    }
  };

  const newSale = useCallback(() => {
    setSold(null);
    clearBasket();
    setPay("cash");
    window.setTimeout(() => qtyRefs.current[0]?.focus(), 0);
  }, [clearBasket]);

  // Screen-wide keys: F2/F3/F4 payment, Ctrl+Enter completes, Escape clears.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (sold) {
        if (e.key === "Escape" || (e.key === "Enter" && !(e.target instanceof HTMLButtonElement))) {
          e.preventDefault();
          newSale();
        }
        return;
      }
      if (e.key === "F2") setPay("cash");
      else if (e.key === "F3") setPay("card");
      else if (e.key === "F4") setPay("comp");
      else if (e.key === "Enter" && e.ctrlKey) void complete();
      else if (e.key === "Escape") clearBasket();
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  useEffect(() => {
    if (sold) newSaleRef.current?.focus();
  }, [sold]);

  const onQtyKey = (e: KeyboardEvent<HTMLInputElement>, index: number, id: string) => {
    const q = basket[id] ?? 0;
    if (e.key === "+" || (e.key === "ArrowRight" && e.altKey)) {
      e.preventDefault();
      setQty(id, q + 1);
    } else if (e.key === "-") {
      e.preventDefault();
      setQty(id, q - 1);
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      qtyRefs.current[Math.min(types.length - 1, index + 1)]?.focus();
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      qtyRefs.current[Math.max(0, index - 1)]?.focus();
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void complete();
  };

  const event = events.find((e) => e.id === eventId) ?? avail?.event ?? null;

  if (sold) {
    const o = sold.order.order.order;
    return (
      <section className="screen" data-testid="screen-boxoffice">
        <div className="screen-head no-print">
          <div>
            <h1>
              Sold · order <span className="mono" data-testid="bo-order-code">{o.code}</span>
            </h1>
            <div className="muted">
              {sold.order.cards.length} ticket{sold.order.cards.length === 1 ? "" : "s"} · {formatMoney(o.total)} · {o.payment_method}
            </div>
          </div>
          {sold.change && (
            <div className="change-due" data-testid="bo-change-due">
              Change due <strong>{sold.change}</strong>
            </div>
          )}
          <div className="actions">
            <button type="button" data-testid="bo-print" onClick={() => window.print()}>
              Print tickets
            </button>
            <button ref={newSaleRef} type="button" className="primary" data-testid="bo-new" onClick={newSale}>
              New sale <Kbd>Enter</Kbd>
            </button>
          </div>
        </div>
        <TicketCards cards={sold.order.cards} />
      </section>
    );
  }

  return (
    <section className="screen" data-testid="screen-boxoffice">
      <div className="screen-head">
        <h1>Box office</h1>
        <div className="actions">
          <label className="inline-label">
            Event
            <select data-testid="bo-event" value={eventId} onChange={(e) => setEventId(e.target.value)}>
              {events.length === 0 && <option value="">No published events</option>}
              {events.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name} — {formatInstant(e.starts_at, e.time_zone)}
                </option>
              ))}
            </select>
          </label>
          {load.busy && <Spinner />}
        </div>
      </div>
      <ErrorBox error={load.error} onDismiss={() => load.setError(null)} />
      {events.length === 0 && !load.busy && <p className="muted">Nothing to sell: publish an event under Events first.</p>}
      {event && (
        <form className="sale" onSubmit={submit}>
          <div className="sale-types card">
            <div className="muted small">
              {event.venue} · {formatInstant(event.starts_at, event.time_zone)}
            </div>
            <table className="table sale-table">
              <thead>
                <tr>
                  <th>Ticket</th>
                  <th className="num">Price</th>
                  <th className="num">Available</th>
                  <th className="center">Quantity</th>
                  <th className="num">Subtotal</th>
                </tr>
              </thead>
              <tbody>
                {!avail && (
                  <tr>
                    <td colSpan={5}>
                      <Spinner label="Loading availability…" />
                    </td>
                  </tr>
                )}
                {types.map(({ ticket_type: t, available }, i) => {
                  const q = basket[t.id] ?? 0;
                  const over = available !== null && holdState === "failed" && q > available;
                  const soldOut = available === 0 && q === 0;
                  return (
                    <tr key={t.id} data-testid="bo-type" data-type-id={t.id} className={soldOut ? "sold-out" : over ? "over" : ""}>
                      <td>
                        <strong>{t.name}</strong>
                      </td>
                      <td className="num">{formatMoney(t.price)}</td>
                      <td className="num" data-testid="bo-available" data-available={available ?? ""}>
                        {available === null ? "∞" : soldOut ? "Sold out" : available}
                      </td>
                      <td className="center">
                        <div className="stepper">
                          <button type="button" tabIndex={-1} aria-label={`One ${t.name} less`} onClick={() => setQty(t.id, q - 1)} disabled={q === 0}>
                            −
                          </button>
                          <input
                            ref={(el) => {
                              qtyRefs.current[i] = el;
                            }}
                            data-testid="bo-qty"
                            aria-label={`${t.name} quantity`}
                            inputMode="numeric"
                            className="qty"
                            value={q === 0 ? "" : String(q)}
                            placeholder="0"
                            autoFocus={i === 0}
                            onFocus={(e) => e.currentTarget.select()}
                            onKeyDown={(e) => onQtyKey(e, i, t.id)}
                            onChange={(e) => setQty(t.id, parseQty(e.target.value))}
                          />
                          <button type="button" tabIndex={-1} aria-label={`One ${t.name} more`} onClick={() => setQty(t.id, q + 1)}>
                            +
                          </button>
                        </div>
                      </td>
                      <td className="num">{q > 0 ? formatMoney({ minor: t.price.minor * q, currency: t.price.currency }) : ""}</td>
                    </tr>
                  );
                })}
                {avail && types.length === 0 && (
                  <tr>
                    <td colSpan={5} className="muted">
                      This event has no ticket types on sale.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
            <div className="hold-line small" aria-live="polite">
              {holdState === "holding" && <Spinner label="Reserving…" />}
              {holdState === "held" && <span className="ok-text">Reserved for this sale ({ticketCount})</span>}
              {holdState === "failed" && holdError && <ErrorBox error={holdError} />}
            </div>
            <div className="keys muted small">
              <Kbd>↑</Kbd>
              <Kbd>↓</Kbd> row · <Kbd>+</Kbd>
              <Kbd>−</Kbd> or digits quantity · <Kbd>F2</Kbd> cash <Kbd>F3</Kbd> card <Kbd>F4</Kbd> comp · <Kbd>Enter</Kbd> complete · <Kbd>Esc</Kbd> clear
            </div>
            <details open={showNames} onToggle={(e) => setShowNames(e.currentTarget.open)}>
              <summary>Names and buyer (optional)</summary>
              <div className="form-grid">
                <Field label="Buyer name">
                  <input data-testid="bo-buyer-name" value={buyerName} onChange={(e) => setBuyerName(e.target.value)} autoComplete="off" />
                </Field>
                <Field label="Buyer e-mail">
                  <input data-testid="bo-buyer-email" type="email" value={buyerEmail} onChange={(e) => setBuyerEmail(e.target.value)} autoComplete="off" />
                </Field>
                {lines.map((l) => {
                  const t = types.find((x) => x.ticket_type.id === l.ticket_type_id)?.ticket_type;
                  return Array.from({ length: Math.min(l.quantity, 50) }, (_, j) => (
                    <Field key={`${l.ticket_type_id}-${j}`} label={`${t?.name ?? "Ticket"} ${j + 1}: attendee`}>
                      <input
                        data-testid="bo-attendee"
                        value={names[l.ticket_type_id]?.[j] ?? ""}
                        onChange={(e) =>
                          setNames((n) => {
                            const arr = [...(n[l.ticket_type_id] ?? [])];
                            arr[j] = e.target.value;
                            return { ...n, [l.ticket_type_id]: arr };
                          })
                        }
                        autoComplete="off"
                      />
                    </Field>
                  ));
                })}
              </div>
            </details>
          </div>
          <div className="sale-pay card">
            <div className="total-line">
              <span>Total</span>
              <strong data-testid="bo-total" className={pay === "comp" ? "struck" : ""}>
                {totals.length === 0 ? formatMoney({ minor: 0, currency }) : formatMoneyList(totals)}
              </strong>
            </div>
            <div className="muted small">
              {ticketCount} ticket{ticketCount === 1 ? "" : "s"}
              {pay === "comp" ? " · complimentary, nothing to pay" : ""}
            </div>
            <div className="pay-buttons" role="radiogroup" aria-label="Payment">
              {(["cash", "card", "comp"] as const).map((p, i) => (
                <button
                  key={p}
                  type="button"
                  role="radio"
                  aria-checked={pay === p}
                  data-testid={`bo-pay-${p}`}
                  className={pay === p ? "pay active" : "pay"}
                  onClick={() => setPay(p)}
                >
                  {p === "cash" ? "Cash" : p === "card" ? "Card" : "Comp"} <Kbd>F{i + 2}</Kbd>
                </button>
              ))}
            </div>
            {pay === "cash" && (
              <>
                <Field label={`Amount given (${currency})`} wide>
                  <div className="given-row">
                    <input data-testid="bo-given" inputMode="decimal" value={given} onChange={(e) => setGiven(e.target.value)} placeholder="exact" autoComplete="off" />
                    <button type="button" onClick={() => setGiven("")} title="The customer pays the exact amount">
                      Exact
                    </button>
                  </div>
                </Field>
                <div className={`change-line ${change?.kind === "short" || givenError ? "bad-text" : ""}`}>
                  <span>Change</span>
                  <strong data-testid="bo-change">{changeText}</strong>
                </div>
              </>
            )}
            <button type="submit" className="primary big" data-testid="bo-complete" disabled={sale.busy || ticketCount === 0}>
              {sale.busy ? <Spinner label="Completing…" /> : "Complete sale"}
            </button>
            <ErrorBox error={sale.error} onDismiss={() => sale.setError(null)} />
          </div>
        </form>
      )}
    </section>
  );
}
