import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";

import { api } from "../api";
import type { Event } from "../bindings/Event";
import type { EventAvailability } from "../bindings/EventAvailability";
import type { Quote } from "../bindings/Quote";
import type { SoldOrder } from "../bindings/SoldOrder";
import type { TicketType } from "../bindings/TicketType";
import type { WaitlistEntry } from "../bindings/WaitlistEntry";
import { ErrorBox, Field, FieldError, Kbd, Spinner, useAction, useInterval } from "../components/common";
import { ShiftBar } from "../components/ShiftBar";
import { TicketCards } from "../components/TicketCards";
import { WaitlistJoin, WaitlistPanel } from "../components/Waitlist";
import { formatCouponValue } from "../lib/coupons";
import { describe, describeAtField, isAbout, localError, toAppError, unplaced, type AppError } from "../lib/errors";
import { formatMoney, formatMoneyList } from "../lib/money";
import { changeLine, defaultDue, emptyPayment, isProblem, PAY_CHOICES, payForKey, paymentFields, type PayChoice, type PaymentDraft } from "../lib/payment";
import { basketLines, basketTotal, linesKey, MAX_QTY, parseQty, type Basket } from "../lib/sale";
import { formatInstant } from "../lib/time";

const LAST_EVENT_KEY = "admit.boxoffice.event";
/** Fields of a sale that have a place on the screen to show their errors. */
const SALE_FIELDS = ["coupon_code", "tendered", "card_confirmed", "payment_note", "payment_due", "buyer_email", "buyer_name"];

type QuoteState = { key: string; quote: Quote | null; error: AppError | null; busy: boolean };

export function BoxOffice() {
  const [events, setEvents] = useState<Event[]>([]);
  const [eventId, setEventId] = useState<string>("");
  const [avail, setAvail] = useState<EventAvailability | null>(null);
  const [basket, setBasket] = useState<Basket>({});
  const [names, setNames] = useState<Record<string, string[]>>({});
  const [showNames, setShowNames] = useState(false);
  const [buyerName, setBuyerName] = useState("");
  const [buyerEmail, setBuyerEmail] = useState("");
  const [payment, setPayment] = useState<PaymentDraft>(() => emptyPayment());
  const pay = payment.pay;
  const setPaymentField = (patch: Partial<PaymentDraft>) => setPayment((p) => ({ ...p, ...patch }));
  const [coupon, setCoupon] = useState("");
  const [quote, setQuote] = useState<QuoteState | null>(null);
  const [sendMail, setSendMail] = useState(false);
  const [offer, setOffer] = useState<WaitlistEntry | null>(null);
  const [joinType, setJoinType] = useState<TicketType | null>(null);
  const [waitlistKey, setWaitlistKey] = useState(0);
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
  // A waiting-list offer's units are held by the offer itself: no hold of our own then.
  const holdLines = useMemo(() => (offer ? [] : lines), [offer, lines]);
  const holdKey = linesKey(eventId, holdLines);
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
    wanted.current = { eventId, key: holdKey, lines: holdLines };
    if (holdTimer.current !== null) window.clearTimeout(holdTimer.current);
    holdTimer.current = window.setTimeout(() => {
      holdTimer.current = null;
      void syncHold();
    }, 350);
  }, [eventId, holdKey, holdLines, syncHold]);

  // The price with the coupon typed, a moment after the last change.
  const couponCode = pay === "comp" ? "" : coupon.trim();
  const quoteKey = `${key}|${couponCode.toUpperCase()}`;
  useEffect(() => {
    if (!couponCode || lines.length === 0 || !eventId) {
      setQuote(null);
      return undefined;
    }
    let stale = false;
    setQuote((q) => ({ key: quoteKey, quote: q?.key === quoteKey ? q.quote : null, error: null, busy: true }));
    const timer = window.setTimeout(() => {
      api.quote({ event_id: eventId, lines, coupon_code: couponCode }).then(
        (q) => {
          if (!stale) setQuote({ key: quoteKey, quote: q, error: null, busy: false });
        },
        (e) => {
          if (!stale) setQuote({ key: quoteKey, quote: null, error: toAppError(e), busy: false });
        },
      );
    }, 300);
    return () => {
      stale = true;
      window.clearTimeout(timer);
    };
    // `lines` is covered by `quoteKey` except for names, which do not change a price.
  }, [quoteKey, eventId]);

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
    setOffer(null);
    setJoinType(null);
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
    setCoupon("");
    setSendMail(false);
    setOffer(null);
    setPayment((p) => ({ ...emptyPayment(p.pay), due: p.due, laterMethod: p.laterMethod }));
    sale.setError(null);
    setShowNames(false);
  }, [sale.setError]);

  const setQty = (id: string, q: number) => setBasket((b) => ({ ...b, [id]: Math.max(0, Math.min(MAX_QTY, q)) }));

  const event = events.find((e) => e.id === eventId) ?? avail?.event ?? null;

  const choosePay = useCallback(
    (p: PayChoice) =>
      setPayment((d) => ({
        ...d,
        pay: p,
        due: p === "later" && !d.due && event ? defaultDue(new Date(), event.starts_at, event.time_zone) : d.due,
      })),
    [event],
  );

  // What is to be paid: the basket at list prices, or as quoted with the coupon.
  const single = totals.length <= 1 ? totals[0] ?? null : null;
  const currency = single?.currency ?? types[0]?.ticket_type.price.currency ?? "EUR";
  const quoted = quote && quote.key === quoteKey && !quote.busy ? quote.quote : null;
  const quoteError = quote && quote.key === quoteKey && !quote.busy ? quote.error : null;
  const listTotal = { minor: single?.minor ?? 0, currency };
  const dueTotal = pay === "comp" ? { minor: 0, currency } : quoted ? quoted.total : listTotal;
  const change = changeLine(dueTotal, payment.given);
  const changeText = pay !== "cash" ? "—" : change.text;
  const mailPossible = buyerEmail.trim() !== "";

  const complete = async () => {
    if (sale.busy) return;
    if (!eventId || !event) return sale.setError(localError("Choose an event first."));
    if (lines.length === 0) return sale.setError(localError("Choose at least one ticket: type a quantity or press +."));
    if (totals.length > 1) return sale.setError(localError("Tickets in different currencies cannot be sold in one order; sell them separately."));
    const paid = paymentFields(payment, dueTotal, event.time_zone);
    if (isProblem(paid)) {
      if (paid.field === "tendered" && change.change?.kind === "short") {
        return sale.setError(localError(`The amount given is ${formatMoney({ minor: change.change.minor, currency })} short.`, "tendered"));
      }
      return sale.setError(localError(paid.message, paid.field));
    }
    // Bring the hold up to date first, so the sale uses the units kept for it.
    if (holdTimer.current !== null) {
      window.clearTimeout(holdTimer.current);
      holdTimer.current = null;
    }
    wanted.current = { eventId, key: holdKey, lines: holdLines };
    const input = {
      event_id: eventId,
      lines,
      buyer_name: buyerName.trim() || null,
      buyer_email: buyerEmail.trim() || null,
      channel: "box_office",
      hold_id: null as string | null,
      coupon_code: couponCode || null,
      waitlist_entry_id: offer?.id ?? null,
      send_confirmation: sendMail && mailPossible,
      ...paid,
    };
    const changeNow = pay === "cash" && change.change?.kind === "change" ? formatMoney({ minor: change.change.minor, currency }) : null;
    const result = await sale.run(async () => {
      await syncHold();
      const h = holdRef.current;
      const holdId = !offer && h && h.key === holdKey ? h.id : null;
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
      setSold({ order: result, change: changeNow });
      if (offer) setWaitlistKey((k) => k + 1);
      clearBasket();
      void refreshAvailability();
    } else if (sale.error === null) {
      // Errors about buyer fields are shown inside the names section: open it.
      setShowNames(true);
    }
  };

  const sellOffer = useCallback(
    (e: WaitlistEntry) => {
      setBasket({ [e.ticket_type_id]: e.quantity });
      setNames({});
      setBuyerName(e.name);
      setBuyerEmail(e.email ?? "");
      setOffer(e);
      sale.setError(null);
      window.setTimeout(() => document.querySelector<HTMLButtonElement>(`[data-testid="bo-pay-${payment.pay}"]`)?.focus(), 0);
    },
    [sale.setError, payment.pay],
  );

  const newSale = useCallback(() => {
    setSold(null);
    clearBasket();
    setPayment(emptyPayment());
    window.setTimeout(() => qtyRefs.current[0]?.focus(), 0);
  }, [clearBasket]);

  // A complaint about a field goes once that field is changed; the next attempt checks again.
  const saleError = useRef(sale.error);
  saleError.current = sale.error;
  useEffect(() => {
    if (saleError.current?.field) sale.setError(null);
  }, [payment, coupon, buyerName, buyerEmail, sale.setError]);

  // Buyer fields live in the folded section: open it when an error is about one of them.
  useEffect(() => {
    if (isAbout(sale.error, "buyer_email") || isAbout(sale.error, "buyer_name")) setShowNames(true);
  }, [sale.error]);

  // Screen-wide keys: F2–F5 payment, Ctrl+Enter completes, Escape clears.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (sold) {
        if (e.key === "Escape" || (e.key === "Enter" && !(e.target instanceof HTMLButtonElement))) {
          e.preventDefault();
          newSale();
        }
        return;
      }
      const p = payForKey(e.key);
      if (p) choosePay(p);
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

  if (sold) {
    const o = sold.order.order.order;
    const pending = o.status === "pending";
    const count = sold.order.order.tickets.length;
    const zone = event?.time_zone;
    return (
      <section className="screen" data-testid="screen-boxoffice">
        <div className="screen-head no-print">
          <div>
            <h1>
              {pending ? "Reserved" : "Sold"} · order <span className="mono" data-testid="bo-order-code">{o.code}</span>
            </h1>
            <div className="muted" data-testid="bo-sold-summary">
              {count} ticket{count === 1 ? "" : "s"} · <span data-testid="bo-sold-total">{formatMoney(o.total)}</span>
              {o.discount_minor > 0 && ` (coupon: ${formatMoney({ minor: o.discount_minor, currency: o.total.currency })} off)`} ·{" "}
              {pending ? "to be paid" : o.payment_method}
            </div>
          </div>
          {sold.change && (
            <div className="change-due" data-testid="bo-change-due">
              Change due <strong>{sold.change}</strong>
            </div>
          )}
          <div className="actions">
            {!pending && (
              <button type="button" data-testid="bo-print" onClick={() => window.print()}>
                Print tickets
              </button>
            )}
            <button ref={newSaleRef} type="button" className="primary" data-testid="bo-new" onClick={newSale}>
              New sale <Kbd>Enter</Kbd>
            </button>
          </div>
        </div>
        {pending ? (
          <div className="card pending-note" data-testid="bo-pending">
            <p>
              The tickets are reserved until{" "}
              <strong data-testid="bo-pending-due">{o.payment.due ? `${formatInstant(o.payment.due, zone)} (${zone})` : "—"}</strong>. If the order is not paid by
              then, they go back on sale.
            </p>
            <p className="muted">
              The tickets get their QR codes once the order is paid: take the payment under Orders (search for {o.code}), then print them there.
            </p>
          </div>
        ) : (
          <TicketCards cards={sold.order.cards} />
        )}
      </section>
    );
  }

  const offerType = offer ? types.find((t) => t.ticket_type.id === offer.ticket_type_id)?.ticket_type : null;
  const generalError = unplaced(sale.error, SALE_FIELDS);

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
      <ShiftBar currency={currency} />
      <ErrorBox error={load.error} onDismiss={() => load.setError(null)} />
      {events.length === 0 && !load.busy && <p className="muted">Nothing to sell: publish an event under Events first.</p>}
      {event && (
        <form className="sale" onSubmit={submit} noValidate>
          <div className="sale-types card">
            <div className="muted small">
              {event.venue} · {formatInstant(event.starts_at, event.time_zone)}
            </div>
            {offer && (
              <div className="offer-banner" data-testid="bo-offer" role="status">
                <span>
                  Selling the waiting-list offer for <strong>{offer.name}</strong>: up to {offer.quantity} × {offerType?.name ?? "ticket"}
                  {offer.offer_expires_at ? `, held until ${formatInstant(offer.offer_expires_at, event.time_zone)}` : ""}.
                </span>
                <button type="button" className="small" data-testid="bo-offer-cancel" onClick={clearBasket}>
                  Not now
                </button>
              </div>
            )}
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
                        {available === 0 && (
                          <div>
                            <button type="button" className="link small" data-testid="bo-waitlist-join" onClick={() => setJoinType(t)}>
                              Join waiting list
                            </button>
                          </div>
                        )}
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
              <Kbd>−</Kbd> or digits quantity · <Kbd>F2</Kbd> cash <Kbd>F3</Kbd> card <Kbd>F4</Kbd> comp <Kbd>F5</Kbd> pay later · <Kbd>Ctrl</Kbd>+<Kbd>Enter</Kbd> complete ·{" "}
              <Kbd>Esc</Kbd> clear
            </div>
            <details open={showNames} onToggle={(e) => setShowNames(e.currentTarget.open)}>
              <summary>Names and buyer (optional)</summary>
              <div className="form-grid">
                <Field label="Buyer name">
                  <input data-testid="bo-buyer-name" value={buyerName} onChange={(e) => setBuyerName(e.target.value)} autoComplete="off" />
                  <FieldError error={sale.error} field="buyer_name" />
                </Field>
                <Field label="Buyer e-mail">
                  <input data-testid="bo-buyer-email" type="email" value={buyerEmail} onChange={(e) => setBuyerEmail(e.target.value)} autoComplete="off" />
                  <FieldError error={sale.error} field="buyer_email" />
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
            <Field label="Coupon code" hint={pay === "comp" ? "Free tickets take no coupon" : undefined}>
              <input
                data-testid="bo-coupon"
                value={coupon}
                onChange={(e) => setCoupon(e.target.value.toUpperCase())}
                placeholder="e.g. SPRING10"
                autoComplete="off"
                spellCheck={false}
                disabled={pay === "comp"}
                aria-invalid={quoteError || isAbout(sale.error, "coupon_code") ? true : undefined}
              />
              {quote?.busy && couponCode && <Spinner label="Checking the coupon…" />}
              {quoteError && (
                <span className="field-error" role="alert" data-testid="bo-coupon-error">
                  {quoteError.field === "coupon_code" ? describeAtField(quoteError) : describe(quoteError)}
                </span>
              )}
              {quoted?.coupon && (
                <span className="ok-text small" data-testid="bo-coupon-ok">
                  {quoted.coupon.code}: {formatCouponValue(quoted.coupon)}
                </span>
              )}
              <FieldError error={sale.error} field="coupon_code" />
            </Field>
            {quoted && quoted.discount.minor > 0 && pay !== "comp" && (
              <div className="quote-lines small">
                <div className="change-line">
                  <span>List price</span>
                  <span data-testid="bo-list-total">{formatMoney(quoted.list_total)}</span>
                </div>
                <div className="change-line ok-text">
                  <span>Discount</span>
                  <span data-testid="bo-discount">−{formatMoney(quoted.discount)}</span>
                </div>
              </div>
            )}
            <div className="total-line">
              <span>Total</span>
              <strong data-testid="bo-total" className={pay === "comp" ? "struck" : ""}>
                {totals.length === 0 ? formatMoney({ minor: 0, currency }) : quoted && pay !== "comp" ? formatMoney(quoted.total) : formatMoneyList(totals)}
              </strong>
            </div>
            <div className="muted small">
              {ticketCount} ticket{ticketCount === 1 ? "" : "s"}
              {pay === "comp" ? " · complimentary, nothing to pay" : pay === "later" ? " · reserved now, paid later" : ""}
            </div>
            <div className="pay-buttons four" role="radiogroup" aria-label="Payment">
              {PAY_CHOICES.map((c) => (
                <button
                  key={c.pay}
                  type="button"
                  role="radio"
                  aria-checked={pay === c.pay}
                  data-testid={`bo-pay-${c.pay}`}
                  className={pay === c.pay ? "pay active" : "pay"}
                  onClick={() => choosePay(c.pay)}
                >
                  {c.label} <Kbd>{c.key}</Kbd>
                </button>
              ))}
            </div>
            {pay === "cash" && (
              <>
                <Field label={`Amount given (${currency})`} wide>
                  <div className="given-row">
                    <input
                      data-testid="bo-given"
                      inputMode="decimal"
                      value={payment.given}
                      onChange={(e) => setPaymentField({ given: e.target.value })}
                      placeholder="exact"
                      autoComplete="off"
                      aria-invalid={change.bad ? true : undefined}
                    />
                    <button type="button" onClick={() => setPaymentField({ given: "" })} title="The customer pays the exact amount">
                      Exact
                    </button>
                  </div>
                  <FieldError error={sale.error} field="tendered" />
                </Field>
                <div className={`change-line ${change.bad ? "bad-text" : ""}`}>
                  <span>Change</span>
                  <strong data-testid="bo-change">{changeText}</strong>
                </div>
              </>
            )}
            {pay === "card" && (
              <>
                <label className="check big-check">
                  <input
                    type="checkbox"
                    data-testid="bo-card-ok"
                    checked={payment.cardConfirmed}
                    onChange={(e) => setPaymentField({ cardConfirmed: e.target.checked })}
                    aria-invalid={isAbout(sale.error, "card_confirmed") ? true : undefined}
                  />
                  Terminal approved (required)
                </label>
                <FieldError error={sale.error} field="card_confirmed" />
                <Field label="Terminal reference (optional)">
                  <input data-testid="bo-card-ref" value={payment.cardRef} onChange={(e) => setPaymentField({ cardRef: e.target.value })} autoComplete="off" />
                  <FieldError error={sale.error} field="payment_note" />
                </Field>
              </>
            )}
            {pay === "comp" && (
              <Field label="Reason (required)" hint="Why the tickets are free, e.g. Press">
                <input data-testid="bo-comp-reason" value={payment.compReason} onChange={(e) => setPaymentField({ compReason: e.target.value })} autoComplete="off" />
                <FieldError error={sale.error} field="payment_note" />
              </Field>
            )}
            {pay === "later" && (
              <>
                <Field label={`Pay by (${event.time_zone})`} hint="Unpaid by then: the tickets go back on sale">
                  <input data-testid="bo-due" type="datetime-local" value={payment.due} onChange={(e) => setPaymentField({ due: e.target.value })} />
                  <FieldError error={sale.error} field="payment_due" />
                </Field>
                <Field label="Will pay">
                  <select data-testid="bo-later-method" value={payment.laterMethod} onChange={(e) => setPaymentField({ laterMethod: e.target.value as "cash" | "card" })}>
                    <option value="cash">Cash</option>
                    <option value="card">Card</option>
                  </select>
                </Field>
              </>
            )}
            <label className={mailPossible ? "check" : "check muted"} title={mailPossible ? undefined : "Type the buyer's e-mail under “Names and buyer” first"}>
              <input type="checkbox" data-testid="bo-send-mail" checked={sendMail && mailPossible} disabled={!mailPossible} onChange={(e) => setSendMail(e.target.checked)} />
              E-mail confirmation{mailPossible ? ` to ${buyerEmail.trim()}` : " (needs the buyer's e-mail)"}
            </label>
            <button type="submit" className="primary big" data-testid="bo-complete" disabled={sale.busy || ticketCount === 0}>
              {sale.busy ? <Spinner label="Completing…" /> : pay === "later" ? "Reserve, pay later" : "Complete sale"}
            </button>
            <ErrorBox error={generalError} onDismiss={() => sale.setError(null)} />
          </div>
        </form>
      )}
      {event && joinType && (
        <div className="card">
          <WaitlistJoin
            key={joinType.id}
            event={event}
            type={joinType}
            quantity={basket[joinType.id] ?? 1}
            onCancel={() => setJoinType(null)}
            onJoined={() => {
              setJoinType(null);
              setBasket((b) => ({ ...b, [joinType.id]: 0 }));
              setWaitlistKey((k) => k + 1);
            }}
          />
        </div>
      )}
      {event && (
        <WaitlistPanel
          event={event}
          types={types.map((t) => t.ticket_type)}
          refreshKey={waitlistKey}
          selling={offer?.id ?? null}
          onSell={sellOffer}
        />
      )}
    </section>
  );
}
