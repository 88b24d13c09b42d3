import { Fragment, useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";

import { api } from "../api";
import type { CheckinList } from "../bindings/CheckinList";
import type { CheckinListInput } from "../bindings/CheckinListInput";
import type { Event } from "../bindings/Event";
import type { EventDetail } from "../bindings/EventDetail";
import type { Quota } from "../bindings/Quota";
import type { TicketType } from "../bindings/TicketType";
import { Confirm, ErrorBox, Field, Spinner, StatusBadge, useAction } from "../components/common";
import { Coupons } from "./Coupons";
import { describe, localError, toAppError, type AppError } from "../lib/errors";
import { currencyExponent, CURRENCIES, formatMoney, MoneyError, parseAmount, toDecimal } from "../lib/money";
import { allTimeZones, formatInstant, localToRfc3339, machineTimeZone, rfc3339ToLocal, TimeError } from "../lib/time";

export function Events() {
  const [events, setEvents] = useState<Event[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const { run, busy, error } = useAction();
  // Paired with a server: the server manages the catalogue, and this desk only shows it.
  const [managedBy, setManagedBy] = useState<string | null>(null);

  const load = useCallback(async () => {
    const list = await run(() => api.listEvents());
    if (list) setEvents(list);
  }, [run]);

  useEffect(() => {
    void load();
    api.syncStatus().then(
      (s) => setManagedBy(s.server_url ?? null),
      () => setManagedBy(null),
    );
  }, [load]);

  const sorted = useMemo(() => [...events].sort((a, b) => a.starts_at.localeCompare(b.starts_at)), [events]);

  return (
    <section className="screen split" data-testid="screen-events">
      <aside className="list-pane">
        <div className="screen-head">
          <h1>Events</h1>
          {!managedBy && (
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
          )}
        </div>
        {managedBy && (
          <p className="muted" data-testid="catalogue-managed">
            Events, ticket types, quotas and check-in lists come from {managedBy}, which manages them; change them there.
          </p>
        )}
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
        {!creating && !selected && <p className="muted empty">{managedBy ? "Choose an event." : "Choose an event, or create one with “New event”."}</p>}
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
      <Lists lists={detail.lists} eventId={ev.id} timeZone={ev.time_zone} types={types} onChanged={() => void load()} />
      <Coupons event={ev} types={types} />
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

/**
 * Sends an edit; when the app refuses it as `stale` the record on screen is out of date, so
 * `onStale` gets the chance to reload before the error reaches the form.
 */
async function saveEdit<T>(save: () => Promise<T>, onStale: () => void): Promise<T> {
  try {
    return await save();
  } catch (e) {
    if (toAppError(e).code === "stale") onStale();
    throw e;
  }
}

function staleNotice(what: string): AppError {
  return {
    code: "stale",
    message: `Someone else changed this ${what} while you were editing it. The event has been reloaded; open it again to see the current values`,
    field: null,
  };
}

/** Whole number of 1 or more, or null for an empty field (no limit). */
function parseLimit(text: string): number | null | undefined {
  if (text.trim() === "") return null;
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** Edit buttons per row, so closing an editor can hand focus back to the row it came from. */
function useReturnFocus() {
  const buttons = useRef(new Map<string, HTMLButtonElement>());
  const refFor = (id: string) => (el: HTMLButtonElement | null) => {
    if (el) buttons.current.set(id, el);
    else buttons.current.delete(id);
  };
  const focus = (id: string) => buttons.current.get(id)?.focus();
  return { refFor, focus };
}

function Quotas({ detail, types, onChanged }: { detail: EventDetail; types: TicketType[]; onChanged: () => void }) {
  const eventId = detail.availability.event.id;
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<AppError | null>(null);
  const rows = useReturnFocus();
  const typeName = (id: string) => types.find((t) => t.id === id)?.name ?? "?";

  const close = (id: string) => {
    setEditing(null);
    rows.focus(id);
  };

  return (
    <div className="card">
      <h3>Quotas</h3>
      <p className="muted small">A quota caps how many tickets of its types can be sold together (e.g. the hall's capacity).</p>
      <ErrorBox error={notice} onDismiss={() => setNotice(null)} />
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Types</th>
            <th className="num">Taken</th>
            <th className="num">Size</th>
            <th className="num">Left</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {detail.availability.quotas.map((u) => (
            <Fragment key={u.quota.id}>
              <tr data-testid="quota-row">
                <td>{u.quota.name}</td>
                <td>{u.quota.ticket_type_ids.map(typeName).join(", ")}</td>
                <td className="num">{u.taken}</td>
                <td className="num">{u.quota.size}</td>
                <td className="num">{Math.max(0, u.quota.size - u.taken)}</td>
                <td>
                  <button
                    type="button"
                    className="link"
                    data-testid="quota-edit"
                    ref={rows.refFor(u.quota.id)}
                    aria-expanded={editing === u.quota.id}
                    onClick={() => {
                      setNotice(null);
                      setEditing((x) => (x === u.quota.id ? null : u.quota.id));
                    }}
                  >
                    {editing === u.quota.id ? "Close" : "Edit"}
                  </button>
                </td>
              </tr>
              {editing === u.quota.id && (
                <tr className="edit-row">
                  <td colSpan={6}>
                    <QuotaForm
                      eventId={eventId}
                      types={types}
                      quota={u.quota}
                      taken={u.taken}
                      onSaved={() => {
                        close(u.quota.id);
                        onChanged();
                      }}
                      onCancel={() => close(u.quota.id)}
                      onStale={() => {
                        close(u.quota.id);
                        setNotice(staleNotice("quota"));
                        onChanged();
                      }}
                    />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      <QuotaForm eventId={eventId} types={types} onSaved={onChanged} />
    </div>
  );
}

function QuotaForm({
  eventId,
  types,
  quota,
  taken = 0,
  onSaved,
  onCancel,
  onStale,
}: {
  eventId: string;
  types: TicketType[];
  quota?: Quota;
  taken?: number;
  onSaved: () => void;
  onCancel?: () => void;
  onStale?: () => void;
}) {
  const [name, setName] = useState(quota?.name ?? "");
  const [size, setSize] = useState(quota ? String(quota.size) : "");
  const [chosen, setChosen] = useState<string[]>(quota?.ticket_type_ids ?? []);
  const { run, busy, error, setError } = useAction();
  const p = quota ? "quota-edit" : "quota";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setError(localError("Enter the quota's name, e.g. Hall.", "name"));
    const n = Number(size);
    if (size.trim() === "" || !Number.isInteger(n) || n < 0) return setError(localError("Size must be a whole number, e.g. 300.", "size"));
    if (chosen.length === 0) return setError(localError("Tick the ticket types that count against this quota.", "ticket_type_ids"));
    const input = { event_id: eventId, name: name.trim(), size: n, ticket_type_ids: chosen };
    // What is taken is left for the app to check: holds expire, so the figure on screen may be old.
    const saved = await run(() =>
      quota ? saveEdit(() => api.updateQuota(quota.id, quota.meta.version, input), () => onStale?.()) : api.createQuota(input),
    );
    if (saved) {
      if (!quota) {
        setName("");
        setSize("");
        setChosen([]);
      }
      onSaved();
    }
  };

  // When editing, a refused size belongs next to the size field, where the fix is made.
  const sizeError = quota && error?.field === "size" ? sizeProblem(error, taken) : null;

  return (
    <>
      <form
        className="inline-form"
        aria-label={quota ? `Edit quota ${quota.name}` : "New quota"}
        onSubmit={(e) => void submit(e)}
        onKeyDown={(e: KeyboardEvent) => {
          if (quota && e.key === "Escape") {
            e.preventDefault();
            onCancel?.();
          }
        }}
      >
        <Field label={quota ? `Name of “${quota.name}”` : "Name"}>
          <input data-testid={`${p}-name`} value={name} onChange={(e) => setName(e.target.value)} placeholder="Hall" autoFocus={!!quota} />
        </Field>
        <Field label="Size">
          <input
            data-testid={`${p}-size`}
            value={size}
            onChange={(e) => setSize(e.target.value)}
            inputMode="numeric"
            className="short"
            placeholder="300"
            aria-invalid={sizeError ? true : undefined}
            aria-describedby={sizeError ? `${quota!.id}-size-error` : undefined}
          />
          {sizeError && (
            <span className="field-error" role="alert" id={`${quota!.id}-size-error`} data-testid="quota-edit-size-error">
              {sizeError}
            </span>
          )}
        </Field>
        <fieldset className="checks">
          <legend>Counts these types</legend>
          {types.length === 0 && <span className="muted small">Add ticket types first.</span>}
          {types.map((t) => (
            <label key={t.id} className="check">
              <input
                type="checkbox"
                data-testid={`${p}-type`}
                value={t.id}
                checked={chosen.includes(t.id)}
                onChange={(e) => setChosen((c) => (e.target.checked ? [...c, t.id] : c.filter((x) => x !== t.id)))}
              />
              {t.name}
            </label>
          ))}
        </fieldset>
        <div className="actions">
          {quota && (
            <button type="button" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
          )}
          <button type="submit" className="primary" data-testid={quota ? "quota-edit-save" : "quota-add"} disabled={busy}>
            {busy ? <Spinner /> : quota ? "Save quota" : "Add quota"}
          </button>
        </div>
      </form>
      {!sizeError && <ErrorBox error={error} />}
    </>
  );
}

function sizeProblem(error: AppError, taken: number): string {
  if (error.code !== "invalid_input" || !/sold or held/.test(error.message)) return describe(error);
  // The app's count is current; the one on screen is the fallback.
  const n = /\d+/.exec(error.message)?.[0] ?? String(taken);
  return `${n} are already sold or held; the size cannot go below that.`;
}

type ListDraft = {
  name: string;
  chosen: string[];
  admitPending: boolean;
  multi: boolean;
  reentry: boolean;
  gates: string;
  opens: string;
  closes: string;
  maxTotal: string;
  maxDay: string;
};

function listDraft(list: CheckinList | undefined, timeZone: string): ListDraft {
  return {
    name: list?.name ?? "",
    chosen: list?.admitted.kind === "only" ? list.admitted.ticket_type_ids : [],
    admitPending: list?.admit_pending ?? false,
    multi: list?.allow_multi_entry ?? false,
    reentry: list?.allow_entry_after_exit ?? false,
    gates: list?.gates.join(", ") ?? "",
    opens: list?.admission_opens ? rfc3339ToLocal(list.admission_opens, timeZone) : "",
    closes: list?.admission_closes ? rfc3339ToLocal(list.admission_closes, timeZone) : "",
    maxTotal: list?.max_entries_total != null ? String(list.max_entries_total) : "",
    maxDay: list?.max_entries_per_day != null ? String(list.max_entries_per_day) : "",
  };
}

function Lists({
  lists,
  eventId,
  timeZone,
  types,
  onChanged,
}: {
  lists: CheckinList[];
  eventId: string;
  timeZone: string;
  types: TicketType[];
  onChanged: () => void;
}) {
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<AppError | null>(null);
  const rows = useReturnFocus();
  const typeName = (id: string) => types.find((t) => t.id === id)?.name ?? "?";

  const close = (id: string) => {
    setEditing(null);
    rows.focus(id);
  };

  const admission = (l: CheckinList) => {
    if (!l.admission_opens && !l.admission_closes) return "Any time";
    const from = l.admission_opens ? formatInstant(l.admission_opens, timeZone) : "";
    const to = l.admission_closes ? formatInstant(l.admission_closes, timeZone) : "";
    return from && to ? `${from} – ${to}` : from ? `From ${from}` : `Until ${to}`;
  };

  return (
    <div className="card">
      <h3>Check-in lists</h3>
      <p className="muted small">A door scans against one list: which types it admits, and how often.</p>
      <ErrorBox error={notice} onDismiss={() => setNotice(null)} />
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Admits</th>
            <th>Entry</th>
            <th>Admission</th>
            <th>Gates</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {lists.map((l) => (
            <Fragment key={l.id}>
              <tr data-testid="list-row">
                <td>{l.name}</td>
                <td>{l.admitted.kind === "all" ? "All types" : l.admitted.ticket_type_ids.map(typeName).join(", ")}</td>
                <td>
                  {l.allow_multi_entry ? "Multiple entries" : l.allow_entry_after_exit ? "Re-entry after exit" : "Single entry"}
                  {l.admit_pending ? ", admits unpaid" : ""}
                  {l.max_entries_total !== null ? `, at most ${l.max_entries_total}` : ""}
                  {l.max_entries_per_day !== null ? `, at most ${l.max_entries_per_day} a day` : ""}
                </td>
                <td>{admission(l)}</td>
                <td>{l.gates.length ? l.gates.join(", ") : "Any"}</td>
                <td>
                  <button
                    type="button"
                    className="link"
                    data-testid="list-edit"
                    ref={rows.refFor(l.id)}
                    aria-expanded={editing === l.id}
                    onClick={() => {
                      setNotice(null);
                      setEditing((x) => (x === l.id ? null : l.id));
                    }}
                  >
                    {editing === l.id ? "Close" : "Edit"}
                  </button>
                </td>
              </tr>
              {editing === l.id && (
                <tr className="edit-row">
                  <td colSpan={6}>
                    <ListForm
                      eventId={eventId}
                      timeZone={timeZone}
                      types={types}
                      list={l}
                      onSaved={() => {
                        close(l.id);
                        onChanged();
                      }}
                      onCancel={() => close(l.id)}
                      onStale={() => {
                        close(l.id);
                        setNotice(staleNotice("check-in list"));
                        onChanged();
                      }}
                    />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      <ListForm eventId={eventId} timeZone={timeZone} types={types} onSaved={onChanged} />
    </div>
  );
}

function ListForm({
  eventId,
  timeZone,
  types,
  list,
  onSaved,
  onCancel,
  onStale,
}: {
  eventId: string;
  timeZone: string;
  types: TicketType[];
  list?: CheckinList;
  onSaved: () => void;
  onCancel?: () => void;
  onStale?: () => void;
}) {
  const [f, setF] = useState(() => listDraft(list, timeZone));
  const set = (patch: Partial<ListDraft>) => setF((d) => ({ ...d, ...patch }));
  const { run, busy, error, setError } = useAction();
  const p = list ? "list-edit" : "list";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!f.name.trim()) return setError(localError("Enter the list's name, e.g. Main entrance.", "name"));
    let opens: string | null = null;
    let closes: string | null = null;
    try {
      if (f.opens) opens = localToRfc3339(f.opens, timeZone);
    } catch (err) {
      return setError(localError("Admission opens: " + (err instanceof TimeError ? err.message : String(err)), "admission_opens"));
    }
    try {
      if (f.closes) closes = localToRfc3339(f.closes, timeZone);
    } catch (err) {
      return setError(localError("Admission closes: " + (err instanceof TimeError ? err.message : String(err)), "admission_closes"));
    }
    if (opens && closes && Date.parse(closes) <= Date.parse(opens)) {
      return setError(localError("Admission must close after it opens.", "admission_closes"));
    }
    const maxTotal = parseLimit(f.maxTotal);
    if (maxTotal === undefined) return setError(localError("Max entries in total must be a whole number of 1 or more, or empty for no limit.", "max_entries_total"));
    const maxDay = parseLimit(f.maxDay);
    if (maxDay === undefined) return setError(localError("Max entries per day must be a whole number of 1 or more, or empty for no limit.", "max_entries_per_day"));
    const input: CheckinListInput = {
      event_id: eventId,
      name: f.name.trim(),
      ticket_type_ids: f.chosen,
      admit_pending: f.admitPending,
      allow_multi_entry: f.multi,
      allow_entry_after_exit: f.reentry,
      admission_opens: opens,
      admission_closes: closes,
      max_entries_total: maxTotal,
      max_entries_per_day: maxDay,
      gates: f.gates
        .split(",")
        .map((g) => g.trim())
        .filter(Boolean),
    };
    const saved = await run(() =>
      list ? saveEdit(() => api.updateCheckinList(list.id, list.meta.version, input), () => onStale?.()) : api.createCheckinList(input),
    );
    if (saved) {
      if (!list) setF(listDraft(undefined, timeZone));
      onSaved();
    }
  };

  return (
    <>
      <form
        className="inline-form"
        aria-label={list ? `Edit check-in list ${list.name}` : "New check-in list"}
        onSubmit={(e) => void submit(e)}
        onKeyDown={(e: KeyboardEvent) => {
          if (list && e.key === "Escape") {
            e.preventDefault();
            onCancel?.();
          }
        }}
      >
        <Field label={list ? `Name of “${list.name}”` : "Name"}>
          <input data-testid={`${p}-name`} value={f.name} onChange={(e) => set({ name: e.target.value })} placeholder="Main entrance" autoFocus={!!list} />
        </Field>
        <fieldset className="checks">
          <legend>Admits (none ticked: all types)</legend>
          {types.map((t) => (
            <label key={t.id} className="check">
              <input
                type="checkbox"
                data-testid={`${p}-type`}
                value={t.id}
                checked={f.chosen.includes(t.id)}
                onChange={(e) => {
                  const on = e.target.checked;
                  setF((d) => ({ ...d, chosen: on ? [...d.chosen, t.id] : d.chosen.filter((x) => x !== t.id) }));
                }}
              />
              {t.name}
            </label>
          ))}
        </fieldset>
        <fieldset className="checks">
          <legend>Rules</legend>
          <label className="check">
            <input type="checkbox" data-testid={`${p}-admit-pending`} checked={f.admitPending} onChange={(e) => set({ admitPending: e.target.checked })} />
            Admit unpaid orders
          </label>
          <label className="check">
            <input type="checkbox" data-testid={`${p}-multi`} checked={f.multi} onChange={(e) => set({ multi: e.target.checked })} />
            Multiple entries
          </label>
          <label className="check">
            <input type="checkbox" data-testid={`${p}-reentry`} checked={f.reentry} disabled={f.multi} onChange={(e) => set({ reentry: e.target.checked })} />
            Re-entry after exit
          </label>
        </fieldset>
        <Field label="Admission opens" hint={`In ${timeZone}; empty: no limit`}>
          <input data-testid={`${p}-opens`} type="datetime-local" value={f.opens} onChange={(e) => set({ opens: e.target.value })} />
        </Field>
        <Field label="Admission closes" hint={`In ${timeZone}; empty: no limit`}>
          <input data-testid={`${p}-closes`} type="datetime-local" value={f.closes} onChange={(e) => set({ closes: e.target.value })} />
        </Field>
        <Field label="Max entries in total" hint="Empty: no limit">
          <input data-testid={`${p}-max-total`} value={f.maxTotal} onChange={(e) => set({ maxTotal: e.target.value })} inputMode="numeric" className="tiny" placeholder="—" />
        </Field>
        <Field label="Max entries per day" hint="Empty: no limit">
          <input data-testid={`${p}-max-day`} value={f.maxDay} onChange={(e) => set({ maxDay: e.target.value })} inputMode="numeric" className="tiny" placeholder="—" />
        </Field>
        <Field label="Gates" hint="Comma-separated; empty: any gate">
          <input data-testid={`${p}-gates`} value={f.gates} onChange={(e) => set({ gates: e.target.value })} placeholder="North, South" />
        </Field>
        <div className="actions">
          {list && (
            <button type="button" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
          )}
          <button type="submit" className="primary" data-testid={list ? "list-edit-save" : "list-add"} disabled={busy}>
            {busy ? <Spinner /> : list ? "Save list" : "Add list"}
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
    </>
  );
}
