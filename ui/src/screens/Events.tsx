import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";

import { api } from "../api";
import type { CheckinList } from "../bindings/CheckinList";
import type { Event } from "../bindings/Event";
import type { EventDetail } from "../bindings/EventDetail";
import type { TicketType } from "../bindings/TicketType";
import { Confirm, ErrorBox, Field, Spinner, StatusBadge, useAction } from "../components/common";
import { localError } from "../lib/errors";
import { currencyExponent, CURRENCIES, formatMoney, MoneyError, parseAmount, toDecimal } from "../lib/money";
import { allTimeZones, formatInstant, localToRfc3339, machineTimeZone, rfc3339ToLocal, TimeError } from "../lib/time";

export function Events() {
  const [events, setEvents] = useState<Event[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const { run, busy, error } = useAction();

  const load = useCallback(async () => {
    const list = await run(() => api.listEvents());
    if (list) setEvents(list);
  }, [run]);

  useEffect(() => {
    void load();
  }, [load]);

  const sorted = useMemo(() => [...events].sort((a, b) => a.starts_at.localeCompare(b.starts_at)), [events]);

  return (
    <section className="screen split" data-testid="screen-events">
      <aside className="list-pane">
        <div className="screen-head">
          <h1>Events</h1>
          <button
            type="button"
            className="primary"
            data-testid="event-new"
            onClick={() => {
              setCreating(true);
              setSelected(null);
            }}
          >
            New event
          </button>
        </div>
        {busy && <Spinner label="Loading…" />}
        <ErrorBox error={error} />
        {!busy && sorted.length === 0 && <p className="muted">No events yet.</p>}
        <ul className="rows" role="listbox" aria-label="Events">
          {sorted.map((e) => (
            <li key={e.id}>
              <button
                type="button"
                data-testid="event-row"
                className={e.id === selected ? "row selected" : "row"}
                onClick={() => {
                  setSelected(e.id);
                  setCreating(false);
                }}
              >
                <span className="row-title">{e.name}</span>
                <StatusBadge status={e.status} />
                <span className="row-sub">
                  {formatInstant(e.starts_at, e.time_zone)} · {e.venue}
                </span>
              </button>
            </li>
          ))}
        </ul>
      </aside>
      <div className="detail-pane">
        {creating && (
          <div className="card">
            <h2>New event</h2>
            <EventForm
              onCancel={() => setCreating(false)}
              onSaved={(ev) => {
                setCreating(false);
                setEvents((list) => [...list.filter((x) => x.id !== ev.id), ev]);
                setSelected(ev.id);
              }}
            />
          </div>
        )}
        {!creating && selected && (
          <EventDetailView
            key={selected}
            eventId={selected}
            onChanged={(ev) => setEvents((list) => list.map((x) => (x.id === ev.id ? ev : x)))}
          />
        )}
        {!creating && !selected && <p className="muted empty">Choose an event, or create one with “New event”.</p>}
      </div>
    </section>
  );
}

function EventForm({ event, onSaved, onCancel }: { event?: Event; onSaved: (e: Event) => void; onCancel: () => void }) {
  const [tz, setTz] = useState(event?.time_zone ?? machineTimeZone());
  const [name, setName] = useState(event?.name ?? "");
  const [description, setDescription] = useState(event?.description ?? "");
  const [venue, setVenue] = useState(event?.venue ?? "");
  const [starts, setStarts] = useState(event ? rfc3339ToLocal(event.starts_at, event.time_zone) : "");
  const [ends, setEnds] = useState(event ? rfc3339ToLocal(event.ends_at, event.time_zone) : "");
  // Until someone sets the end, it follows the start. Segmented date fields (WebKit's) report a
  // value as soon as every part holds a digit, so "19:3" arrives before "19:30"; filling the end
  // only once would keep the half-typed start.
  const [endsTouched, setEndsTouched] = useState(!!event);
  const zones = useMemo(() => allTimeZones(), []);
  const { run, busy, error, setError } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setError(localError("Enter the event's name.", "name"));
    if (!venue.trim()) return setError(localError("Enter the venue.", "venue"));
    let startsAt: string;
    let endsAt: string;
    try {
      startsAt = localToRfc3339(starts, tz);
    } catch (err) {
      return setError(localError("Start: " + (err instanceof TimeError ? err.message : String(err)), "starts_at"));
    }
    try {
      endsAt = localToRfc3339(ends, tz);
    } catch (err) {
      return setError(localError("End: " + (err instanceof TimeError ? err.message : String(err)), "ends_at"));
    }
    if (Date.parse(endsAt) <= Date.parse(startsAt)) return setError(localError("The end must be after the start.", "ends_at"));
    const input = {
      name: name.trim(),
      description: description.trim(),
      venue: venue.trim(),
      starts_at: startsAt,
      ends_at: endsAt,
      time_zone: tz.trim(),
      category_id: event?.category_id ?? null,
    };
    const saved = await run(() => (event ? api.updateEvent(event.id, event.meta.version, input) : api.createEvent(input)));
    if (saved) onSaved(saved);
  };

  return (
    <form className="form-grid" onSubmit={(e) => void submit(e)}>
      <Field label="Name" wide>
        <input data-testid="event-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus={!event} />
      </Field>
      <Field label="Venue">
        <input data-testid="event-venue" value={venue} onChange={(e) => setVenue(e.target.value)} />
      </Field>
      <Field label="Time zone" hint="Start and end are wall-clock times in this zone">
        <input data-testid="event-tz" list="tz-list" value={tz} onChange={(e) => setTz(e.target.value)} spellCheck={false} />
        <datalist id="tz-list">
          {zones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </Field>
      <Field label="Starts">
        <input
          data-testid="event-starts"
          type="datetime-local"
          value={starts}
          onChange={(e) => {
            setStarts(e.target.value);
            if (!endsTouched && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(e.target.value)) {
              const d = new Date(e.target.value.slice(0, 16) + ":00Z");
              if (!Number.isNaN(d.getTime())) setEnds(new Date(d.getTime() + 3 * 3600_000).toISOString().slice(0, 16));
            }
          }}
        />
      </Field>
      <Field label="Ends">
        <input
            data-testid="event-ends"
            type="datetime-local"
            value={ends}
            onChange={(e) => {
              setEnds(e.target.value);
              setEndsTouched(true);
            }}
          />
      </Field>
      <Field label="Description" wide>
        <textarea data-testid="event-description" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <div className="actions wide">
        {busy && <Spinner label="Saving…" />}
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" data-testid="event-save" disabled={busy}>
          {event ? "Save changes" : "Create event"}
        </button>
      </div>
      <div className="wide">
        <ErrorBox error={error} />
      </div>
    </form>
  );
}

function EventDetailView({ eventId, onChanged }: { eventId: string; onChanged: (e: Event) => void }) {
  const [detail, setDetail] = useState<EventDetail | null>(null);
  const [editing, setEditing] = useState(false);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const { run, busy, error } = useAction();
  const action = useAction();

  const load = useCallback(async () => {
    const d = await run(() => api.eventDetail(eventId));
    if (d) setDetail(d);
  }, [run, eventId]);

  useEffect(() => {
    void load();
  }, [load]);

  if (!detail) {
    return (
      <div>
        {busy && <Spinner label="Loading event…" />}
        <ErrorBox error={error} />
      </div>
    );
  }
  const ev = detail.availability.event;
  const types = detail.availability.ticket_types.map((t) => t.ticket_type);

  const changed = (e: Event) => {
    onChanged(e);
    void load();
  };

  return (
    <div className="event-detail">
      <div className="card">
        <div className="row-between">
          <div>
            <h2>{ev.name}</h2>
            <div className="muted">
              {formatInstant(ev.starts_at, ev.time_zone)} – {formatInstant(ev.ends_at, ev.time_zone)} ({ev.time_zone}) · {ev.venue}
            </div>
          </div>
          <div className="actions">
            <span data-testid="event-status" data-status={ev.status} className={`badge status-${ev.status}`}>
              {ev.status}
            </span>
            {ev.status === "draft" && (
              <button
                type="button"
                className="primary"
                data-testid="event-publish"
                disabled={action.busy}
                onClick={() =>
                  void action.run(() => api.publishEvent(ev.id)).then((e) => {
                    if (e) changed(e);
                  })
                }
              >
                Publish
              </button>
            )}
            {(ev.status === "draft" || ev.status === "published") && (
              <>
                <button type="button" data-testid="event-edit" onClick={() => setEditing((x) => !x)}>
                  {editing ? "Close editor" : "Edit"}
                </button>
                <button type="button" className="danger" data-testid="event-cancel" onClick={() => setConfirmCancel(true)}>
                  Cancel event
                </button>
              </>
            )}
          </div>
        </div>
        {ev.description && <p>{ev.description}</p>}
        <ErrorBox error={action.error ?? error} />
        {editing && (
          <EventForm
            event={ev}
            onCancel={() => setEditing(false)}
            onSaved={(e) => {
              setEditing(false);
              changed(e);
            }}
          />
        )}
      </div>
      {confirmCancel && (
        <Confirm
          title={`Cancel “${ev.name}”?`}
          confirmLabel="Cancel event"
          danger
          busy={action.busy}
          onNo={() => setConfirmCancel(false)}
          onYes={() =>
            void action.run(() => api.cancelEvent(ev.id)).then((e) => {
              setConfirmCancel(false);
              if (e) changed(e);
            })
          }
        >
          <p>No more tickets can be sold. Tickets already sold stay as they are; cancel or refund orders under Orders.</p>
        </Confirm>
      )}
      <TicketTypes detail={detail} onChanged={() => void load()} />
      <Quotas detail={detail} types={types} onChanged={() => void load()} />
      <Lists lists={detail.lists} eventId={ev.id} types={types} onChanged={() => void load()} />
    </div>
  );
}

function TicketTypes({ detail, onChanged }: { detail: EventDetail; onChanged: () => void }) {
  const eventId = detail.availability.event.id;
  const [editing, setEditing] = useState<TicketType | null>(null);
  const [name, setName] = useState("");
  const [price, setPrice] = useState("");
  const [currency, setCurrency] = useState("EUR");
  const [maxPerOrder, setMaxPerOrder] = useState("");
  const { run, busy, error, setError } = useAction();

  const startEdit = (t: TicketType) => {
    setEditing(t);
    setName(t.name);
    setCurrency(t.price.currency);
    setPrice(toDecimal(t.price.minor, t.price.currency));
    setMaxPerOrder(String(t.max_per_order));
  };
  const reset = () => {
    setEditing(null);
    setName("");
    setPrice("");
    setMaxPerOrder("");
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setError(localError("Enter the ticket type's name, e.g. Adult.", "name"));
    let minor: number;
    try {
      currencyExponent(currency);
      minor = parseAmount(price, currency);
    } catch (err) {
      return setError(localError("Price: " + (err instanceof MoneyError ? err.message : String(err)), "price"));
    }
    const max = maxPerOrder.trim() === "" ? null : Number(maxPerOrder);
    if (max !== null && (!Number.isInteger(max) || max < 1)) return setError(localError("Max per order must be a whole number of 1 or more.", "max_per_order"));
    const input = {
      event_id: eventId,
      name: name.trim(),
      price_minor: minor,
      currency: currency.trim().toUpperCase(),
      sales_start: editing?.sales_start ?? null,
      sales_end: editing?.sales_end ?? null,
      min_per_order: editing ? editing.min_per_order : null,
      max_per_order: max,
      active: editing ? editing.active : null,
      sort_order: editing ? editing.sort_order : detail.availability.ticket_types.length,
    };
    const saved = await run(() => (editing ? api.updateTicketType(editing.id, editing.meta.version, input) : api.createTicketType(input)));
    if (saved) {
      reset();
      onChanged();
    }
  };

  return (
    <div className="card">
      <h3>Ticket types and availability</h3>
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th className="num">Price</th>
            <th className="num">Per order</th>
            <th className="num">Available</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {detail.availability.ticket_types.map(({ ticket_type: t, available }) => (
            <tr key={t.id} data-testid="tt-row" className={t.active ? "" : "inactive"}>
              <td>
                {t.name}
                {!t.active && <span className="muted"> (inactive)</span>}
              </td>
              <td className="num">{formatMoney(t.price)}</td>
              <td className="num">
                {t.min_per_order}–{t.max_per_order}
              </td>
              <td className="num" data-testid="tt-available">
                {available === null ? "unlimited" : available}
              </td>
              <td>
                <button type="button" className="link" onClick={() => startEdit(t)}>
                  Edit
                </button>
              </td>
            </tr>
          ))}
          {detail.availability.ticket_types.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No ticket types yet. Add at least one to sell.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <form className="inline-form" onSubmit={(e) => void submit(e)}>
        <Field label={editing ? `Edit “${editing.name}”` : "Name"}>
          <input data-testid="tt-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Adult" />
        </Field>
        <Field label="Price">
          <input data-testid="tt-price" value={price} onChange={(e) => setPrice(e.target.value)} placeholder="12.50" inputMode="decimal" className="short" />
        </Field>
        <Field label="Currency">
          <input
            data-testid="tt-currency"
            value={currency}
            list="currency-list"
            onChange={(e) => setCurrency(e.target.value.toUpperCase())}
            maxLength={3}
            className="tiny"
            spellCheck={false}
          />
          <datalist id="currency-list">
            {CURRENCIES.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </Field>
        <Field label="Max per order">
          <input data-testid="tt-max" value={maxPerOrder} onChange={(e) => setMaxPerOrder(e.target.value)} inputMode="numeric" className="tiny" placeholder="—" />
        </Field>
        <div className="actions">
          {editing && (
            <button type="button" onClick={reset}>
              Cancel
            </button>
          )}
          <button type="submit" className="primary" data-testid="tt-add" disabled={busy}>
            {busy ? <Spinner /> : editing ? "Save type" : "Add type"}
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
    </div>
  );
}

function Quotas({ detail, types, onChanged }: { detail: EventDetail; types: TicketType[]; onChanged: () => void }) {
  const eventId = detail.availability.event.id;
  const [name, setName] = useState("");
  const [size, setSize] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const { run, busy, error, setError } = useAction();
  const typeName = (id: string) => types.find((t) => t.id === id)?.name ?? "?";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setError(localError("Enter the quota's name, e.g. Hall.", "name"));
    const n = Number(size);
    if (!Number.isInteger(n) || n < 0) return setError(localError("Size must be a whole number, e.g. 300.", "size"));
    if (chosen.length === 0) return setError(localError("Tick the ticket types that count against this quota.", "ticket_type_ids"));
    const q = await run(() => api.createQuota({ event_id: eventId, name: name.trim(), size: n, ticket_type_ids: chosen }));
    if (q) {
      setName("");
      setSize("");
      setChosen([]);
      onChanged();
    }
  };

  return (
    <div className="card">
      <h3>Quotas</h3>
      <p className="muted small">A quota caps how many tickets of its types can be sold together (e.g. the hall's capacity).</p>
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Types</th>
            <th className="num">Taken</th>
            <th className="num">Size</th>
            <th className="num">Left</th>
          </tr>
        </thead>
        <tbody>
          {detail.availability.quotas.map((u) => (
            <tr key={u.quota.id} data-testid="quota-row">
              <td>{u.quota.name}</td>
              <td>{u.quota.ticket_type_ids.map(typeName).join(", ")}</td>
              <td className="num">{u.taken}</td>
              <td className="num">{u.quota.size}</td>
              <td className="num">{Math.max(0, u.quota.size - u.taken)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline-form" onSubmit={(e) => void submit(e)}>
        <Field label="Name">
          <input data-testid="quota-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Hall" />
        </Field>
        <Field label="Size">
          <input data-testid="quota-size" value={size} onChange={(e) => setSize(e.target.value)} inputMode="numeric" className="short" placeholder="300" />
        </Field>
        <fieldset className="checks">
          <legend>Counts these types</legend>
          {types.length === 0 && <span className="muted small">Add ticket types first.</span>}
          {types.map((t) => (
            <label key={t.id} className="check">
              <input
                type="checkbox"
                data-testid="quota-type"
                value={t.id}
                checked={chosen.includes(t.id)}
                onChange={(e) => setChosen((c) => (e.target.checked ? [...c, t.id] : c.filter((x) => x !== t.id)))}
              />
              {t.name}
            </label>
          ))}
        </fieldset>
        <div className="actions">
          <button type="submit" className="primary" data-testid="quota-add" disabled={busy}>
            {busy ? <Spinner /> : "Add quota"}
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
    </div>
  );
}

function Lists({ lists, eventId, types, onChanged }: { lists: CheckinList[]; eventId: string; types: TicketType[]; onChanged: () => void }) {
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [admitPending, setAdmitPending] = useState(false);
  const [multi, setMulti] = useState(false);
  const [reentry, setReentry] = useState(false);
  const [gates, setGates] = useState("");
  const { run, busy, error, setError } = useAction();
  const typeName = (id: string) => types.find((t) => t.id === id)?.name ?? "?";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setError(localError("Enter the list's name, e.g. Main entrance.", "name"));
    const l = await run(() =>
      api.createCheckinList({
        event_id: eventId,
        name: name.trim(),
        ticket_type_ids: chosen,
        admit_pending: admitPending,
        allow_multi_entry: multi,
        allow_entry_after_exit: reentry,
        admission_opens: null,
        admission_closes: null,
        max_entries_total: null,
        max_entries_per_day: null,
        gates: gates
          .split(",")
          .map((g) => g.trim())
          .filter(Boolean),
      }),
    );
    if (l) {
      setName("");
      setChosen([]);
      setAdmitPending(false);
      setMulti(false);
      setReentry(false);
      setGates("");
      onChanged();
    }
  };

  return (
    <div className="card">
      <h3>Check-in lists</h3>
      <p className="muted small">A door scans against one list: which types it admits, and how often.</p>
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Admits</th>
            <th>Entry</th>
            <th>Gates</th>
          </tr>
        </thead>
        <tbody>
          {lists.map((l) => (
            <tr key={l.id} data-testid="list-row">
              <td>{l.name}</td>
              <td>{l.admitted.kind === "all" ? "All types" : l.admitted.ticket_type_ids.map(typeName).join(", ")}</td>
              <td>
                {l.allow_multi_entry ? "Multiple entries" : l.allow_entry_after_exit ? "Re-entry after exit" : "Single entry"}
                {l.admit_pending ? ", admits unpaid" : ""}
              </td>
              <td>{l.gates.length ? l.gates.join(", ") : "Any"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline-form" onSubmit={(e) => void submit(e)}>
        <Field label="Name">
          <input data-testid="list-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Main entrance" />
        </Field>
        <fieldset className="checks">
          <legend>Admits (none ticked: all types)</legend>
          {types.map((t) => (
            <label key={t.id} className="check">
              <input
                type="checkbox"
                data-testid="list-type"
                value={t.id}
                checked={chosen.includes(t.id)}
                onChange={(e) => setChosen((c) => (e.target.checked ? [...c, t.id] : c.filter((x) => x !== t.id)))}
              />
              {t.name}
            </label>
          ))}
        </fieldset>
        <fieldset className="checks">
          <legend>Rules</legend>
          <label className="check">
            <input type="checkbox" data-testid="list-admit-pending" checked={admitPending} onChange={(e) => setAdmitPending(e.target.checked)} />
            Admit unpaid orders
          </label>
          <label className="check">
            <input type="checkbox" data-testid="list-multi" checked={multi} onChange={(e) => setMulti(e.target.checked)} />
            Multiple entries
          </label>
          <label className="check">
            <input type="checkbox" data-testid="list-reentry" checked={reentry} disabled={multi} onChange={(e) => setReentry(e.target.checked)} />
            Re-entry after exit
          </label>
        </fieldset>
        <Field label="Gates" hint="Comma-separated; empty: any gate">
          <input data-testid="list-gates" value={gates} onChange={(e) => setGates(e.target.value)} placeholder="North, South" />
        </Field>
        <div className="actions">
          <button type="submit" className="primary" data-testid="list-add" disabled={busy}>
            {busy ? <Spinner /> : "Add list"}
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
    </div>
  );
}
