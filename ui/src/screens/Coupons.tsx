import { Fragment, useCallback, useEffect, useState, type FormEvent, type KeyboardEvent } from "react";

import { api } from "../api";
import type { Coupon } from "../bindings/Coupon";
import type { CouponInput } from "../bindings/CouponInput";
import type { CouponKind } from "../bindings/CouponKind";
import type { Event } from "../bindings/Event";
import type { TicketType } from "../bindings/TicketType";
import { ErrorBox, Field, FieldError, Spinner, useAction } from "../components/common";
import { COUPON_KINDS, couponUses, couponValueProblem, couponValueText, couponWindow, formatCouponValue } from "../lib/coupons";
import { localError, toAppError, unplaced, type AppError } from "../lib/errors";
import { MoneyError, parseAmount, toDecimal } from "../lib/money";
import { localToRfc3339, rfc3339ToLocal, TimeError } from "../lib/time";

const FIELDS = ["code", "kind", "value", "ticket_type_ids", "valid_from", "valid_until", "min_order", "max_uses"];

/** An event's coupons: the list, and a form to add or change one. */
export function Coupons({ event, types }: { event: Event; types: TicketType[] }) {
  const [coupons, setCoupons] = useState<Coupon[] | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<AppError | null>(null);
  const load = useAction();
  const currency = types[0]?.price.currency ?? null;
  const typeName = (id: string) => types.find((t) => t.id === id)?.name ?? "?";

  const refresh = useCallback(async () => {
    const list = await load.run(() => api.listCoupons(event.id));
    if (list) setCoupons(list);
  }, [load.run, event.id]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return (
    <div className="card" data-testid="coupons">
      <h3>Coupons</h3>
      <p className="muted small">A code typed at the box office that lowers the price of some or all ticket types.</p>
      {load.busy && !coupons && <Spinner label="Loading…" />}
      <ErrorBox error={load.error} />
      <ErrorBox error={notice} onDismiss={() => setNotice(null)} />
      {coupons && coupons.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Code</th>
              <th>Gives</th>
              <th>Types</th>
              <th className="num">Used / max</th>
              <th>Valid</th>
              <th>Active</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {coupons.map((c) => (
              <Fragment key={c.id}>
                <tr data-testid="coupon-row" className={c.active ? "" : "inactive"}>
                  <td className="mono">{c.code}</td>
                  <td data-testid="coupon-value-shown">{formatCouponValue(c)}</td>
                  <td>{c.ticket_type_ids.length === 0 ? "All" : c.ticket_type_ids.map(typeName).join(", ")}</td>
                  <td className="num" data-testid="coupon-uses">
                    {couponUses(c)}
                  </td>
                  <td>{couponWindow(c, event.time_zone)}</td>
                  <td>{c.active ? "Yes" : "No"}</td>
                  <td>
                    <button
                      type="button"
                      className="link"
                      data-testid="coupon-edit"
                      aria-expanded={editing === c.id}
                      onClick={() => {
                        setNotice(null);
                        setEditing((x) => (x === c.id ? null : c.id));
                      }}
                    >
                      {editing === c.id ? "Close" : "Edit"}
                    </button>
                  </td>
                </tr>
                {editing === c.id && (
                  <tr className="edit-row">
                    <td colSpan={7}>
                      <CouponForm
                        event={event}
                        types={types}
                        currency={c.currency}
                        coupon={c}
                        onSaved={() => {
                          setEditing(null);
                          void refresh();
                        }}
                        onCancel={() => setEditing(null)}
                        onStale={() => {
                          setEditing(null);
                          setNotice({
                            code: "stale",
                            message: "Someone else changed this coupon while you were editing it. The list has been reloaded; open it again to see the current values",
                            field: null,
                          });
                          void refresh();
                        }}
                      />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      {coupons && coupons.length === 0 && <p className="muted small">No coupons yet.</p>}
      {currency ? (
        <CouponForm event={event} types={types} currency={currency} onSaved={() => void refresh()} />
      ) : (
        <p className="muted small">Add a ticket type first: a coupon takes the event's currency from its ticket types.</p>
      )}
    </div>
  );
}

type Draft = {
  code: string;
  kind: CouponKind;
  value: string;
  chosen: string[];
  from: string;
  until: string;
  minOrder: string;
  maxUses: string;
  active: boolean;
};

function draftOf(c: Coupon | undefined, timeZone: string): Draft {
  return {
    code: c?.code ?? "",
    kind: c?.kind ?? "percent",
    value: c ? couponValueText(c) : "",
    chosen: c?.ticket_type_ids ?? [],
    from: c?.valid_from ? rfc3339ToLocal(c.valid_from, timeZone) : "",
    until: c?.valid_until ? rfc3339ToLocal(c.valid_until, timeZone) : "",
    minOrder: c && c.min_order_minor > 0 ? toDecimal(c.min_order_minor, c.currency) : "",
    maxUses: c?.max_uses != null ? String(c.max_uses) : "",
    active: c?.active ?? true,
  };
}

function CouponForm({
  event,
  types,
  currency,
  coupon,
  onSaved,
  onCancel,
  onStale,
}: {
  event: Event;
  types: TicketType[];
  currency: string;
  coupon?: Coupon;
  onSaved: () => void;
  onCancel?: () => void;
  onStale?: () => void;
}) {
  const [f, setF] = useState<Draft>(() => draftOf(coupon, event.time_zone));
  const { run, busy, error, setError } = useAction();
  // A change answers the last complaint; the next attempt checks again.
  const set = (patch: Partial<Draft>) => {
    setF((d) => ({ ...d, ...patch }));
    setError(null);
  };
  const p = coupon ? "coupon-edit" : "coupon";
  const zone = event.time_zone;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!f.code.trim()) return setError(localError("Enter the code people type, e.g. SPRING10.", "code"));
    const valueProblem = couponValueProblem(f.kind, f.value, currency);
    if (valueProblem) return setError(localError(valueProblem, "value"));
    let validFrom: string | null = null;
    let validUntil: string | null = null;
    try {
      if (f.from) validFrom = localToRfc3339(f.from, zone);
    } catch (err) {
      return setError(localError("Valid from: " + (err instanceof TimeError ? err.message : String(err)), "valid_from"));
    }
    try {
      if (f.until) validUntil = localToRfc3339(f.until, zone);
    } catch (err) {
      return setError(localError("Valid until: " + (err instanceof TimeError ? err.message : String(err)), "valid_until"));
    }
    if (validFrom && validUntil && Date.parse(validUntil) <= Date.parse(validFrom)) {
      return setError(localError("“Valid until” must come after “valid from”.", "valid_until"));
    }
    let minOrder: string | null = null;
    if (f.minOrder.trim()) {
      try {
        minOrder = toDecimal(parseAmount(f.minOrder, currency), currency);
      } catch (err) {
        return setError(localError("Minimum order: " + (err instanceof MoneyError ? err.message : String(err)), "min_order"));
      }
    }
    let maxUses: number | null = null;
    if (f.maxUses.trim()) {
      const n = Number(f.maxUses);
      if (!Number.isInteger(n) || n < 1) return setError(localError("Max uses: a whole number of 1 or more, or empty for unlimited.", "max_uses"));
      maxUses = n;
    }
    const value = f.kind === "percent" ? f.value.trim().replace(",", ".") : toDecimal(parseAmount(f.value, currency), currency);
    const input: CouponInput = {
      event_id: event.id,
      code: f.code.trim(),
      kind: f.kind,
      value,
      ticket_type_ids: f.chosen,
      valid_from: validFrom,
      valid_until: validUntil,
      min_order: minOrder,
      max_uses: maxUses,
      active: f.active,
    };
    const saved = await run(async () => {
      if (!coupon) return api.createCoupon(input);
      try {
        return await api.updateCoupon(coupon.id, coupon.meta.version, input);
      } catch (err) {
        if (toAppError(err).code === "stale") onStale?.();
        throw err;
      }
    });
    if (saved) {
      if (!coupon) setF(draftOf(undefined, zone));
      onSaved();
    }
  };

  return (
    <>
      <form
        className="inline-form"
        aria-label={coupon ? `Edit coupon ${coupon.code}` : "New coupon"}
        onSubmit={(e) => void submit(e)}
        onKeyDown={(e: KeyboardEvent) => {
          if (coupon && e.key === "Escape") {
            e.preventDefault();
            onCancel?.();
          }
        }}
      >
        <Field label={coupon ? `Code of “${coupon.code}”` : "Code"}>
          <input
            data-testid={`${p}-code`}
            value={f.code}
            onChange={(e) => set({ code: e.target.value.toUpperCase() })}
            placeholder="SPRING10"
            className="short"
            spellCheck={false}
            autoComplete="off"
            autoFocus={!!coupon}
          />
          <FieldError error={error} field="code" />
        </Field>
        <Field label="Kind">
          <select data-testid={`${p}-kind`} value={f.kind} onChange={(e) => set({ kind: e.target.value as CouponKind })}>
            {COUPON_KINDS.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
        </Field>
        <Field label={f.kind === "percent" ? "Percent" : `Amount (${currency})`}>
          <input
            data-testid={`${p}-value`}
            value={f.value}
            onChange={(e) => set({ value: e.target.value })}
            inputMode="decimal"
            className="tiny"
            placeholder={f.kind === "percent" ? "10" : "5.00"}
          />
          <FieldError error={error} field="value" />
        </Field>
        <fieldset className="checks">
          <legend>Applies to (none ticked: all types)</legend>
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
          <FieldError error={error} field="ticket_type_ids" />
        </fieldset>
        <Field label="Valid from" hint={`In ${zone}; empty: now`}>
          <input data-testid={`${p}-from`} type="datetime-local" value={f.from} onChange={(e) => set({ from: e.target.value })} />
          <FieldError error={error} field="valid_from" />
        </Field>
        <Field label="Valid until" hint={`In ${zone}; empty: no end`}>
          <input data-testid={`${p}-until`} type="datetime-local" value={f.until} onChange={(e) => set({ until: e.target.value })} />
          <FieldError error={error} field="valid_until" />
        </Field>
        <Field label={`Minimum order (${currency})`} hint="Empty: none">
          <input data-testid={`${p}-min`} value={f.minOrder} onChange={(e) => set({ minOrder: e.target.value })} inputMode="decimal" className="tiny" placeholder="—" />
          <FieldError error={error} field="min_order" />
        </Field>
        <Field label="Max uses" hint="Empty: unlimited">
          <input data-testid={`${p}-max`} value={f.maxUses} onChange={(e) => set({ maxUses: e.target.value })} inputMode="numeric" className="tiny" placeholder="—" />
          <FieldError error={error} field="max_uses" />
        </Field>
        <label className="check">
          <input type="checkbox" data-testid={`${p}-active`} checked={f.active} onChange={(e) => set({ active: e.target.checked })} />
          Active
        </label>
        <div className="actions">
          {coupon && (
            <button type="button" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
          )}
          <button type="submit" className="primary" data-testid={coupon ? "coupon-edit-save" : "coupon-add"} disabled={busy}>
            {busy ? <Spinner /> : coupon ? "Save coupon" : "Add coupon"}
          </button>
        </div>
      </form>
      <ErrorBox error={unplaced(error, FIELDS)} />
    </>
  );
}
