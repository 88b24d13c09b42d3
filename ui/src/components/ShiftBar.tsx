import { useCallback, useEffect, useState, type FormEvent } from "react";

import { api } from "../api";
import type { ShiftStatus } from "../bindings/ShiftStatus";
import { onChange } from "../lib/changes";
import { localError, unplaced } from "../lib/errors";
import { formatMoney, MoneyError, parseAmount, toDecimal } from "../lib/money";
import { differenceText, previewDifference } from "../lib/shift";
import { formatScanTime } from "../lib/time";
import { ErrorBox, FieldError, Spinner, useAction, useInterval } from "./common";

/**
 * The cashier's drawer: open a shift with a float, see the cash it should hold, close it with
 * the count and see the difference.
 */
export function ShiftBar({ currency }: { currency: string }) {
  // undefined: not known yet; null: no shift open.
  const [current, setCurrent] = useState<ShiftStatus | null | undefined>(undefined);
  const [closed, setClosed] = useState<ShiftStatus | null>(null);
  const [float, setFloat] = useState("");
  const [counted, setCounted] = useState("");
  const [note, setNote] = useState("");
  const load = useAction();
  const act = useAction();

  const refresh = useCallback(async () => {
    try {
      setCurrent(await api.currentShift());
      load.setError(null);
    } catch (e) {
      load.setError(localError(`The shift could not be read: ${(e as { message?: string }).message ?? String(e)}`));
    }
  }, [load.setError]);

  useEffect(() => {
    void refresh();
    return onChange((kind) => {
      if (kind === "sale" || kind === "cancel") void refresh();
    });
  }, [refresh]);
  useInterval(() => void refresh(), current ? 30_000 : null);

  const open = async (e: FormEvent) => {
    e.preventDefault();
    let minor: number;
    try {
      minor = parseAmount(float || "0", currency);
    } catch (err) {
      return act.setError(localError("Float: " + (err instanceof MoneyError ? err.message : String(err)), "float"));
    }
    const s = await act.run(() => api.openShift({ float: toDecimal(minor, currency), currency }));
    if (s) {
      setCurrent(s);
      setClosed(null);
      setFloat("");
    }
  };

  const shiftCurrency = current?.expected.currency ?? currency;
  let countedMinor: number | null = null;
  let countedError: string | null = null;
  if (counted.trim()) {
    try {
      countedMinor = parseAmount(counted, shiftCurrency);
    } catch (err) {
      countedError = err instanceof MoneyError ? err.message : String(err);
    }
  }

  const close = async (e: FormEvent) => {
    e.preventDefault();
    if (!counted.trim()) return act.setError(localError("Count the cash in the drawer and enter the total.", "counted"));
    if (countedError || countedMinor === null) return act.setError(localError("Counted: " + (countedError ?? "enter an amount"), "counted"));
    const s = await act.run(() => api.closeShift({ counted: toDecimal(countedMinor!, shiftCurrency), note: note.trim() || null }));
    if (s) {
      setClosed(s);
      setCurrent(null);
      setCounted("");
      setNote("");
    }
  };

  const general = unplaced(act.error, ["float", "counted", "currency", "note"]);

  if (current === undefined) {
    return (
      <div className="shift-bar card" data-testid="shift-bar" data-state="loading">
        {load.error ? <ErrorBox error={load.error} /> : <Spinner label="Checking the shift…" />}
      </div>
    );
  }

  return (
    <div className="shift-bar card" data-testid="shift-bar" data-state={current ? "open" : "closed"}>
      {closed && <ShiftResult status={closed} onDismiss={() => setClosed(null)} />}
      {!current && !closed && (
        <form className="shift-row" onSubmit={(e) => void open(e)} aria-label="Open a shift">
          <strong>No shift open</strong>
          <label className="inline-label">
            Float ({currency})
            <input data-testid="shift-float" className="short" inputMode="decimal" value={float} onChange={(e) => {
                setFloat(e.target.value);
                act.setError(null);
              }} placeholder="0.00" autoComplete="off" />
          </label>
          <FieldError error={act.error} field="float" />
          <button type="submit" data-testid="shift-open" disabled={act.busy}>
            {act.busy ? <Spinner /> : "Open shift"}
          </button>
        </form>
      )}
      {current && (
        <form className="shift-row" onSubmit={(e) => void close(e)} aria-label="Close the shift">
          <span>
            <strong>Shift open</strong> <span className="muted">since {formatScanTime(current.shift.opened_at)}</span>
          </span>
          <span className="shift-figures">
            Float {formatMoney(current.float)} · cash taken {formatMoney(current.cash_taken)} · paid back {formatMoney(current.cash_refunded)} · expected in drawer{" "}
            <strong data-testid="shift-expected">{formatMoney(current.expected)}</strong>
          </span>
          <label className="inline-label">
            Counted ({shiftCurrency})
            <input
              data-testid="shift-counted"
              className="short"
              inputMode="decimal"
              value={counted}
              onChange={(e) => {
                setCounted(e.target.value);
                act.setError(null);
              }}
              placeholder="0.00"
              autoComplete="off"
              aria-invalid={countedError ? true : undefined}
            />
          </label>
          <label className="inline-label">
            Note
            <input data-testid="shift-note" className="short" value={note} onChange={(e) => setNote(e.target.value)} placeholder="optional" autoComplete="off" />
          </label>
          {countedMinor !== null && (
            <span className="muted small" data-testid="shift-preview">
              {previewDifference(countedMinor, current.expected)?.text}
            </span>
          )}
          {countedError && <span className="field-error">{countedError}</span>}
          <FieldError error={act.error} field="counted" />
          <button type="submit" data-testid="shift-close" disabled={act.busy}>
            {act.busy ? <Spinner /> : "Close shift"}
          </button>
        </form>
      )}
      <ErrorBox error={general} onDismiss={() => act.setError(null)} />
    </div>
  );
}

function ShiftResult({ status, onDismiss }: { status: ShiftStatus; onDismiss: () => void }) {
  const s = status.shift;
  const c = s.currency;
  const m = (minor: number | null) => (minor === null ? "—" : formatMoney({ minor, currency: c }));
  const diff = differenceText(s.difference_minor ?? 0, c);
  return (
    <div className="shift-row shift-result" data-testid="shift-result" role="status">
      <strong>Shift closed</strong>
      <span>
        Expected <strong data-testid="shift-result-expected">{m(s.expected_minor)}</strong>
      </span>
      <span>
        Counted <strong data-testid="shift-result-counted">{m(s.counted_minor)}</strong>
      </span>
      <span>
        Difference{" "}
        <strong data-testid="shift-difference" data-kind={diff.kind} className={diff.kind === "exact" ? "ok-text" : "bad-text"}>
          {diff.text}
        </strong>
      </span>
      <button type="button" data-testid="shift-result-dismiss" onClick={onDismiss}>
        Open a new shift
      </button>
    </div>
  );
}
