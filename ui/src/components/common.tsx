import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";

import { describe, describeAtField, isAbout, toAppError, type AppError } from "../lib/errors";

/** The one place a screen shows what went wrong and what to do. */
export function ErrorBox({ error, onDismiss }: { error: AppError | null; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="error" role="alert" data-testid="error" data-code={error.code}>
      <span className="error-text">{describe(error)}</span>
      {onDismiss && (
        <button type="button" className="link" onClick={onDismiss} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}

export function Spinner({ label }: { label?: string }) {
  return (
    <span className="spinner-wrap" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label && <span>{label}</span>}
    </span>
  );
}

/**
 * Run an async action with a busy flag and an error. `run` returns the result, or
 * undefined when it failed (the error is then shown).
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      if (mounted.current) setError(toAppError(e));
      return undefined;
    } finally {
      if (mounted.current) setBusy(false);
    }
  }, []);
  return { run, busy, error, setError };
}

export function Field({ label, hint, children, wide }: { label: string; hint?: string; children: ReactNode; wide?: boolean }) {
  return (
    <label className={wide ? "field wide" : "field"}>
      <span className="field-label">{label}</span>
      {children}
      {hint && <span className="field-hint">{hint}</span>}
    </label>
  );
}

export function Progress({ value, max, label, tone }: { value: number; max: number | null; label: string; tone?: "ok" | "info" }) {
  const pct = max && max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className="progress-row">
      <div className="progress-label">
        <span>{label}</span>
        <span className="num">
          {value}
          {max !== null ? ` / ${max}` : ""}
        </span>
      </div>
      <div className={`progress ${tone ?? "info"}`} role="progressbar" aria-valuenow={value} aria-valuemin={0} aria-valuemax={max ?? undefined} aria-label={label}>
        <div className="progress-fill" style={{ width: max ? `${pct}%` : "0%" }} />
      </div>
    </div>
  );
}

/** A modal question; Enter confirms, Escape cancels. */
export function Confirm({
  title,
  children,
  confirmLabel,
  danger,
  busy,
  onYes,
  onNo,
}: {
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onYes: () => void;
  onNo: () => void;
}) {
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    yes.current?.focus();
  }, []);
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === "Escape" && onNo()}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={title}>
        <h2>{title}</h2>
        {children}
        <div className="actions">
          <button type="button" data-testid="confirm-no" onClick={onNo} disabled={busy}>
            Keep
          </button>
          <button ref={yes} type="button" data-testid="confirm-yes" className={danger ? "danger" : "primary"} onClick={onYes} disabled={busy}>
            {busy ? <Spinner label="Working…" /> : confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}

export function Kbd({ children }: { children: ReactNode }) {
  return <kbd>{children}</kbd>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status.replace(/_/g, " ")}</span>;
}

/** Re-run `fn` every `ms` while mounted and the window is visible. */
export function useInterval(fn: () => void, ms: number | null) {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (ms === null) return undefined;
    const id = window.setInterval(() => {
      if (document.visibilityState !== "hidden") saved.current();
    }, ms);
    return () => window.clearInterval(id);
  }, [ms]);
}

/** The error about one field, shown right under it (nothing when the error is elsewhere). */
export function FieldError({ error, field, id }: { error: AppError | null; field: string; id?: string }) {
  if (!error || !isAbout(error, field)) return null;
  return (
    <span className="field-error" role="alert" id={id} data-testid={`field-error-${field}`} data-field={field}>
      {describeAtField(error)}
    </span>
  );
}
