import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";

import { api } from "../api";
import type { Event } from "../bindings/Event";
import type { TicketType } from "../bindings/TicketType";
import type { WaitlistEntry } from "../bindings/WaitlistEntry";
import { localError, unplaced } from "../lib/errors";
import { canSellOffer, entryStatusText, orderedEntries } from "../lib/waitlist";
import { ErrorBox, Field, FieldError, Spinner, useAction, useInterval } from "./common";

/** Put a buyer on a sold-out type's waiting list. */
export function WaitlistJoin({
  event,
  type,
  quantity,
  onJoined,
  onCancel,
}: {
  event: Event;
  type: TicketType;
  quantity: number;
  onJoined: (e: WaitlistEntry) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [phone, setPhone] = useState("");
  const [qty, setQty] = useState(String(Math.max(1, quantity)));
  const act = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return act.setError(localError("Enter the name of the person waiting.", "name"));
    const n = Number(qty);
    if (!Number.isInteger(n) || n < 1 || n > 20) return act.setError(localError("Quantity: a whole number from 1 to 20.", "quantity"));
    const entry = await act.run(() =>
      api.joinWaitlist({
        event_id: event.id,
        ticket_type_id: type.id,
        name: name.trim(),
        email: email.trim() || null,
        phone: phone.trim() || null,
        quantity: n,
      }),
    );
    if (entry) onJoined(entry);
  };

  return (
    <form
      className="inline-form waitlist-join"
      aria-label={`Join the waiting list for ${type.name}`}
      data-testid="wl-join-form"
      noValidate
      onSubmit={(e) => void submit(e)}
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          onCancel();
        }
      }}
    >
      <strong className="wide">Waiting list for {type.name}</strong>
      <Field label="Name">
        <input data-testid="wl-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus autoComplete="off" />
        <FieldError error={act.error} field="name" />
      </Field>
      <Field label="E-mail" hint="The offer is sent here">
        <input data-testid="wl-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />
        <FieldError error={act.error} field="email" />
      </Field>
      <Field label="Phone">
        <input data-testid="wl-phone" type="tel" value={phone} onChange={(e) => setPhone(e.target.value)} autoComplete="off" />
        <FieldError error={act.error} field="phone" />
      </Field>
      <Field label="Quantity">
        <input data-testid="wl-qty" className="tiny" inputMode="numeric" value={qty} onChange={(e) => setQty(e.target.value)} />
        <FieldError error={act.error} field="quantity" />
      </Field>
      <div className="actions">
        <button type="button" onClick={onCancel} disabled={act.busy}>
          Cancel
        </button>
        <button type="submit" className="primary" data-testid="wl-add" disabled={act.busy}>
          {act.busy ? <Spinner /> : "Add to waiting list"}
        </button>
      </div>
      <div className="wide">
        <ErrorBox error={unplaced(act.error, ["name", "email", "phone", "quantity"])} />
      </div>
    </form>
  );
}

/** The event's waiting list: who waits for what, open offers with "Sell" and "Remove". */
export function WaitlistPanel({
  event,
  types,
  refreshKey,
  selling,
  onSell,
}: {
  event: Event;
  types: readonly TicketType[];
  /** Changes when the list may have changed (someone joined, a sale, a cancellation). */
  refreshKey: number;
  /** The entry being sold now, if any. */
  selling: string | null;
  onSell: (e: WaitlistEntry) => void;
}) {
  const [entries, setEntries] = useState<WaitlistEntry[] | null>(null);
  const [showAll, setShowAll] = useState(false);
  const load = useAction();
  const act = useAction();
  const eventId = useRef(event.id);
  eventId.current = event.id;

  const refresh = useCallback(async () => {
    const id = event.id;
    try {
      const list = await api.listWaitlist(id);
      if (eventId.current === id) setEntries(list);
    } catch (e) {
      load.setError(localError(`The waiting list could not be read: ${(e as { message?: string }).message ?? String(e)}`));
    }
  }, [event.id, load.setError]);

  useEffect(() => {
    setEntries(null);
    void refresh();
  }, [refresh, refreshKey]);
  // Offers are made in the background as units free up.
  useInterval(() => void refresh(), 10_000);

  const remove = async (e: WaitlistEntry) => {
    const done = await act.run(() => api.withdrawWaitlist(e.id));
    if (done) void refresh();
  };

  const typeName = (id: string) => types.find((t) => t.id === id)?.name ?? "Ticket";
  const all = orderedEntries(entries ?? []);
  const shown = showAll ? all : all.filter((e) => e.status === "waiting" || e.status === "offered");

  return (
    <div className="card waitlist" data-testid="waitlist">
      <div className="row-between">
        <h3>Waiting list</h3>
        <label className="check small">
          <input type="checkbox" data-testid="wl-show-all" checked={showAll} onChange={(e) => setShowAll(e.target.checked)} />
          Show past entries
        </label>
      </div>
      {entries === null && !load.error && <Spinner label="Loading…" />}
      <ErrorBox error={load.error} onDismiss={() => load.setError(null)} />
      {entries !== null && shown.length === 0 && <p className="muted small">No one is waiting. When a type is sold out, “Join waiting list” puts a buyer on it.</p>}
      {shown.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Ticket</th>
              <th className="num">Qty</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.id} data-testid="wl-row" data-status={e.status} className={selling === e.id ? "selected" : ""}>
                <td>
                  {e.name}
                  <div className="muted small">{[e.email, e.phone].filter(Boolean).join(" · ")}</div>
                </td>
                <td>{typeName(e.ticket_type_id)}</td>
                <td className="num">{e.quantity}</td>
                <td>
                  <span className={`badge status-${e.status}`} style={{ textTransform: "none" }} data-testid="wl-status">{entryStatusText(e, event.time_zone)}</span>
                </td>
                <td className="right nowrap">
                  {canSellOffer(e) && (
                    <button type="button" className="primary small" data-testid="wl-sell" disabled={selling === e.id} onClick={() => onSell(e)}>
                      Sell
                    </button>
                  )}{" "}
                  {(e.status === "waiting" || e.status === "offered") && (
                    <button type="button" className="small" data-testid="wl-remove" disabled={act.busy} onClick={() => void remove(e)}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorBox error={act.error} onDismiss={() => act.setError(null)} />
    </div>
  );
}
