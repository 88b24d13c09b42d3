import { useCallback, useEffect, useRef, useState, type ChangeEvent, type FormEvent } from "react";

import { api } from "../api";
import type { Event } from "../bindings/Event";
import type { ExportKind } from "../bindings/ExportKind";
import type { ExportProgress } from "../bindings/ExportProgress";
import type { ImportPreview } from "../bindings/ImportPreview";
import type { ImportResult } from "../bindings/ImportResult";
import type { SavedFile } from "../bindings/SavedFile";
import type { ShiftReport } from "../bindings/ShiftReport";
import type { User } from "../bindings/User";
import { ErrorBox, Field, Progress, Spinner, useAction } from "../components/common";
import { useApp } from "../context";
import { localError } from "../lib/errors";
import { formatMoney, formatMoneyList } from "../lib/money";
import { ROLE_LABELS } from "../lib/nav";
import { localInputToInstant, PAYMENT_LABELS, reportPartsFor, shiftTotals, todayWindow, type ReportPart } from "../lib/reports";
import { formatInstant } from "../lib/time";

/** The largest file the import accepts (as on the Rust side). */
const MAX_IMPORT_BYTES = 20 * 1024 * 1024;

const EXPORT_KINDS: readonly { kind: ExportKind; label: string; hint: string }[] = [
  { kind: "orders", label: "Orders", hint: "one row per order: code, buyer, payment, total" },
  { kind: "attendees", label: "Attendees", hint: "one row per ticket: type, attendee, status, first entry" },
  { kind: "scans", label: "Scans", hint: "every scan at the door with its verdict and gate" },
];

const EVENT_PARTS: readonly ReportPart[] = ["exports", "tickets", "import"];

export function Reports() {
  const { session } = useApp();
  const parts = reportPartsFor(session.role);
  const needsEvent = parts.some((p) => EVENT_PARTS.includes(p));
  const [events, setEvents] = useState<Event[]>([]);
  const [eventId, setEventId] = useState("");
  const load = useAction();

  useEffect(() => {
    if (!needsEvent) return;
    void load.run(() => api.listEvents()).then((list) => {
      if (!list) return;
      setEvents(list);
      setEventId((current) => (list.some((e) => e.id === current) ? current : (list[0]?.id ?? "")));
    });
  }, [load.run, needsEvent]);

  return (
    <section className="screen reports" data-testid="screen-reports">
      <div className="screen-head no-print">
        <h1>Reports</h1>
        {needsEvent && (
          <Field label="Event">
            <select data-testid="reports-event" value={eventId} onChange={(e) => setEventId(e.target.value)} disabled={events.length === 0}>
              {events.length === 0 && <option value="">No events yet</option>}
              {events.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name} · {formatInstant(e.starts_at, e.time_zone)}
                </option>
              ))}
            </select>
          </Field>
        )}
      </div>
      <ErrorBox error={load.error} />
      <div className="report-grid">
        {parts.map((part) => {
          switch (part) {
            case "exports":
              return <ExportPanel key={part} eventId={eventId} />;
            case "tickets":
              return <TicketsPdfPanel key={part} eventId={eventId} />;
            case "shift":
              return <ShiftReportPanel key={part} />;
            case "import":
              return <ImportPanel key={part} eventId={eventId} />;
            default:
              return null;
          }
        })}
      </div>
    </section>
  );
}

function SavedLine({ file, testId, what }: { file: SavedFile; testId: string; what: string }) {
  return (
    <p className="saved" data-testid={testId} role="status">
      {what} saved to <span className="mono" data-testid={`${testId}-path`}>{file.path}</span>
    </p>
  );
}

function ExportPanel({ eventId }: { eventId: string }) {
  const [kind, setKind] = useState<ExportKind>("orders");
  const [spreadsheet, setSpreadsheet] = useState(false);
  const [progress, setProgress] = useState<ExportProgress | null>(null);
  const [saved, setSaved] = useState<SavedFile | null>(null);
  const act = useAction();

  const run = async (e: FormEvent) => {
    e.preventDefault();
    if (!eventId) return act.setError(localError("Choose an event first."));
    setSaved(null);
    setProgress({ done: 0, total: 0 });
    const file = await act.run(() => api.exportCsv({ event_id: eventId, kind, spreadsheet }, setProgress));
    if (file) setSaved(file);
    else setProgress(null);
  };

  return (
    <form className="card no-print" data-testid="report-exports" onSubmit={(e) => void run(e)}>
      <h2>Export CSV</h2>
      <fieldset className="checks column">
        <legend>What</legend>
        {EXPORT_KINDS.map((k) => (
          <label key={k.kind} className="check">
            <input type="radio" name="export-kind" data-testid={`export-kind-${k.kind}`} checked={kind === k.kind} onChange={() => setKind(k.kind)} />
            <strong>{k.label}</strong> <span className="muted small">{k.hint}</span>
          </label>
        ))}
      </fieldset>
      <label className="check">
        <input type="checkbox" data-testid="export-spreadsheet" checked={spreadsheet} onChange={(e) => setSpreadsheet(e.target.checked)} />
        For spreadsheets (Excel)
      </label>
      <p className="field-hint check-hint">Excel then shows accents correctly, and text that looks like a formula stays text.</p>
      <div className="actions">
        {act.busy && <Spinner label="Exporting…" />}
        <button type="submit" className="primary" data-testid="export-run" disabled={act.busy || !eventId}>
          Export
        </button>
      </div>
      {progress && (
        <div data-testid="export-progress">
          <Progress label="Rows written" value={Number(progress.done)} max={Number(progress.total) > 0 ? Number(progress.total) : null} />
        </div>
      )}
      <ErrorBox error={act.error} />
      {saved && <SavedLine file={saved} testId="export-saved" what={`${Number(saved.rows ?? 0)} row${Number(saved.rows) === 1 ? "" : "s"}`} />}
    </form>
  );
}

function TicketsPdfPanel({ eventId }: { eventId: string }) {
  const [layout, setLayout] = useState("one_per_page");
  const [saved, setSaved] = useState<SavedFile | null>(null);
  const act = useAction();

  const run = async (e: FormEvent) => {
    e.preventDefault();
    if (!eventId) return act.setError(localError("Choose an event first."));
    setSaved(null);
    const file = await act.run(() => api.saveTicketsPdf({ event_id: eventId, order_id: null, layout }));
    if (file) setSaved(file);
  };

  return (
    <form className="card no-print" data-testid="report-tickets" onSubmit={(e) => void run(e)}>
      <h2>Tickets as PDF</h2>
      <p className="muted small">Every valid ticket of the event with its QR code, ready to print. One order&apos;s tickets are saved from its page under Orders.</p>
      <Field label="Layout">
        <select data-testid="tickets-layout" value={layout} onChange={(e) => setLayout(e.target.value)}>
          <option value="one_per_page">One ticket per page</option>
          <option value="four_per_a4">Four tickets per A4 page</option>
        </select>
      </Field>
      <div className="actions">
        {act.busy && <Spinner label="Making the PDF…" />}
        <button type="submit" className="primary" data-testid="tickets-pdf" disabled={act.busy || !eventId}>
          Save PDF
        </button>
      </div>
      <ErrorBox error={act.error} />
      {saved && <SavedLine file={saved} testId="tickets-saved" what="Tickets" />}
    </form>
  );
}

function deviceLabel(id: string | null): string {
  return id ? `…${id.slice(-6)}` : "—";
}

function ShiftReportPanel() {
  const { session } = useApp();
  // The box office sees its own shift only; the app refuses anyone else's anyway.
  const ownOnly = session.role === "box_office";
  const [users, setUsers] = useState<User[]>([]);
  const [userId, setUserId] = useState(ownOnly ? session.user_id : "");
  const [range, setRange] = useState(() => todayWindow());
  const [report, setReport] = useState<{ data: ShiftReport; madeAt: string } | null>(null);
  const act = useAction();
  const latest = useRef(0);

  useEffect(() => {
    if (ownOnly) return;
    api.listUsers().then(
      (list) => setUsers(list.filter((u) => u.role !== "door")),
      () => {
        /* the picker then offers everyone and the signed-in user */
      },
    );
  }, [ownOnly]);

  const show = useCallback(
    async (who: string, from: string, to: string) => {
      const fromAt = localInputToInstant(from);
      const toAt = localInputToInstant(to);
      if (!fromAt || !toAt) return act.setError(localError("Enter a start and an end date and time."));
      if (Date.parse(toAt) <= Date.parse(fromAt)) return act.setError(localError("The end must come after the start."));
      const seq = ++latest.current;
      const r = await act.run(() => api.shiftReport({ user_id: who || null, device_id: null, from: fromAt, to: toAt }));
      if (r && seq === latest.current) setReport({ data: r, madeAt: new Date().toISOString() });
    },
    [act.run, act.setError],
  );

  // Another cashier shows at once; changed times wait for the Show button.
  const rangeRef = useRef(range);
  rangeRef.current = range;
  useEffect(() => {
    void show(userId, rangeRef.current.from, rangeRef.current.to);
  }, [userId, show]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void show(userId, range.from, range.to);
  };

  // Everyone who may sell; at least the signed-in user when the list cannot be had.
  const cashiers = users.length > 0 ? users.map((u) => ({ id: u.id, label: `${u.display_name} (${ROLE_LABELS[u.role] ?? u.role})` })) : [{ id: session.user_id, label: session.display_name }];

  const who = ownOnly ? session.display_name : userId ? (cashiers.find((c) => c.id === userId)?.label ?? "One cashier") : "All cashiers";
  const totals = report ? shiftTotals(report.data.by_method) : null;

  return (
    <div className="card shift-card wide" data-testid="report-shift">
      <form className="no-print" onSubmit={submit}>
        <h2>End-of-shift report</h2>
        <div className="inline-form flush">
          <Field label="Cashier">
            {ownOnly ? (
              <select data-testid="shift-user" value={session.user_id} disabled>
                <option value={session.user_id}>{session.display_name}</option>
              </select>
            ) : (
              <select data-testid="shift-user" value={userId} onChange={(e) => setUserId(e.target.value)}>
                <option value="">All cashiers</option>
                {cashiers.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="From">
            <input type="datetime-local" data-testid="shift-from" value={range.from} onChange={(e) => setRange((r) => ({ ...r, from: e.target.value }))} />
          </Field>
          <Field label="To">
            <input type="datetime-local" data-testid="shift-to" value={range.to} onChange={(e) => setRange((r) => ({ ...r, to: e.target.value }))} />
          </Field>
          <button type="submit" data-testid="shift-show" disabled={act.busy}>
            Show
          </button>
          <button type="button" className="primary" data-testid="shift-print" disabled={!report} onClick={() => window.print()}>
            Print
          </button>
          {act.busy && <Spinner />}
        </div>
        <ErrorBox error={act.error} />
      </form>
      {report && totals && (
        <div className="shift-report print-area" data-testid="shift-report">
          <h2 className="print-only">End-of-shift report</h2>
          <p className="shift-heading">
            <strong data-testid="shift-who">{who}</strong> · {formatInstant(report.data.from)} – {formatInstant(report.data.to)}
          </p>
          {report.data.by_method.length === 0 ? (
            <p className="muted" data-testid="shift-empty">
              No sales or refunds in this window.
            </p>
          ) : (
            <>
              <h3>By payment method</h3>
              <table className="table">
                <thead>
                  <tr>
                    <th>Method</th>
                    <th className="num">Orders</th>
                    <th className="num">Tickets</th>
                    <th className="num">Sales</th>
                    <th className="num">Refunds</th>
                    <th className="num">Refunded</th>
                    <th className="num">Net</th>
                  </tr>
                </thead>
                <tbody>
                  {report.data.by_method.map((m) => (
                    <tr key={`${m.method}-${m.sales.currency}`} data-testid="shift-method" data-method={m.method}>
                      <td>{PAYMENT_LABELS[m.method] ?? m.method}</td>
                      <td className="num">{Number(m.orders)}</td>
                      <td className="num">{Number(m.tickets)}</td>
                      <td className="num">{formatMoney(m.sales)}</td>
                      <td className="num">{Number(m.refunds)}</td>
                      <td className="num">{formatMoney(m.refunded)}</td>
                      <td className="num" data-testid="shift-method-net">
                        {formatMoney(m.net)}
                      </td>
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr className="total-row" data-testid="shift-total">
                    <th>Total</th>
                    <td className="num">{totals.orders}</td>
                    <td className="num">{totals.tickets}</td>
                    <td className="num">{formatMoneyList(totals.sales)}</td>
                    <td />
                    <td className="num">{formatMoneyList(totals.refunded)}</td>
                    <td className="num" data-testid="shift-net">
                      {formatMoneyList(totals.net)}
                    </td>
                  </tr>
                </tfoot>
              </table>
              <h3>Cash drawers</h3>
              {report.data.drawers.length === 0 ? (
                <p className="muted">No cash taken or paid back.</p>
              ) : (
                <table className="table">
                  <thead>
                    <tr>
                      <th>Cashier</th>
                      <th>Device</th>
                      <th className="num">Cash taken</th>
                      <th className="num">Cash paid back</th>
                      <th className="num">Expected in drawer</th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.data.drawers.map((d) => (
                      <tr key={`${d.user_id}-${d.device_id ?? ""}-${d.cash_sales.currency}`} data-testid="shift-drawer">
                        <td>{d.username}</td>
                        <td className="mono" title={d.device_id ?? "no device recorded"}>
                          {deviceLabel(d.device_id)}
                        </td>
                        <td className="num">{formatMoney(d.cash_sales)}</td>
                        <td className="num">{formatMoney(d.cash_refunded)}</td>
                        <td className="num strong" data-testid="shift-drawer-expected">
                          {formatMoney(d.cash_expected)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {!ownOnly && report.data.lines.length > 0 && (
                <>
                  <h3>By cashier</h3>
                  <table className="table">
                    <thead>
                      <tr>
                        <th>Cashier</th>
                        <th>Method</th>
                        <th className="num">Orders</th>
                        <th className="num">Tickets</th>
                        <th className="num">Sales</th>
                        <th className="num">Refunded</th>
                        <th className="num">Net</th>
                      </tr>
                    </thead>
                    <tbody>
                      {report.data.lines.map((l, i) => (
                        <tr key={i} data-testid="shift-line">
                          <td>{l.display_name || l.username}</td>
                          <td>{PAYMENT_LABELS[l.method] ?? l.method}</td>
                          <td className="num">{Number(l.orders)}</td>
                          <td className="num">{Number(l.tickets)}</td>
                          <td className="num">{formatMoney(l.sales)}</td>
                          <td className="num">{formatMoney(l.refunded)}</td>
                          <td className="num">{formatMoney(l.net)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
            </>
          )}
          <p className="print-only small">Made {formatInstant(report.madeAt)}</p>
        </div>
      )}
    </div>
  );
}

function ImportPanel({ eventId }: { eventId: string }) {
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
  const [payment, setPayment] = useState("card");
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const check = useAction();
  const act = useAction();
  const latest = useRef(0);
  const input = useRef<HTMLInputElement>(null);

  // A new file, event or default payment is checked again; nothing is written by a preview.
  useEffect(() => {
    setPreview(null);
    if (!file || !eventId) return;
    const seq = ++latest.current;
    void check.run(() => api.importPreview({ event_id: eventId, csv: file.text, payment_method: payment, channel: null })).then((p) => {
      if (p && seq === latest.current) setPreview(p);
    });
  }, [file, eventId, payment, check.run]);

  const pick = async (e: ChangeEvent<HTMLInputElement>) => {
    setResult(null);
    act.setError(null);
    const f = e.target.files?.[0];
    if (!f) return setFile(null);
    if (f.size > MAX_IMPORT_BYTES) {
      setFile(null);
      return check.setError(localError(`${f.name} is larger than 20 MB; split it into smaller files.`));
    }
    try {
      setFile({ name: f.name, text: await f.text() });
    } catch {
      setFile(null);
      check.setError(localError(`${f.name} could not be read as text.`));
    }
  };

  const run = async () => {
    if (!file || !preview) return;
    const r = await act.run(() => api.importOrders({ event_id: eventId, csv: file.text, payment_method: payment, channel: null }));
    if (r) {
      setResult(r);
      // The same file again would import the same orders twice.
      setFile(null);
      setPreview(null);
      if (input.current) input.current.value = "";
    }
  };

  const blocked = !preview || Number(preview.issue_count) > 0 || Number(preview.orders) === 0;
  return (
    <div className="card no-print wide" data-testid="report-import">
      <h2>Import orders from CSV</h2>
      <p className="muted small">
        A header row names the columns: <span className="mono">ticket_type</span> (required), <span className="mono">order</span>,{" "}
        <span className="mono">buyer_name</span>, <span className="mono">buyer_email</span>, <span className="mono">attendee_name</span>,{" "}
        <span className="mono">quantity</span>, <span className="mono">payment_method</span>, <span className="mono">ordered_at</span>. Prices
        come from the event&apos;s ticket types. The file is checked first and imported whole or not at all.
      </p>
      <div className="inline-form flush">
        <Field label="File">
          <input ref={input} type="file" accept=".csv" data-testid="import-file" onChange={(e) => void pick(e)} />
        </Field>
        <Field label="Payment for rows without one">
          <select data-testid="import-payment" value={payment} onChange={(e) => setPayment(e.target.value)}>
            <option value="card">Card</option>
            <option value="cash">Cash</option>
            <option value="comp">Comp (free)</option>
          </select>
        </Field>
        <button type="button" className="primary" data-testid="import-run" disabled={blocked || act.busy || check.busy} onClick={() => void run()}>
          {act.busy ? <Spinner label="Importing…" /> : "Import"}
        </button>
        {check.busy && <Spinner label="Checking…" />}
      </div>
      <ErrorBox error={check.error ?? act.error} />
      {result && (
        <p className="saved" data-testid="import-result" role="status">
          Imported {Number(result.orders)} order{Number(result.orders) === 1 ? "" : "s"} with {Number(result.tickets)} ticket
          {Number(result.tickets) === 1 ? "" : "s"}.
        </p>
      )}
      {preview && file && <ImportPreviewView preview={preview} fileName={file.name} />}
    </div>
  );
}

function ImportPreviewView({ preview, fileName }: { preview: ImportPreview; fileName: string }) {
  const issues = Number(preview.issue_count);
  return (
    <div className="import-preview" data-testid="import-preview">
      <p data-testid="import-summary">
        <strong>{fileName}</strong>: {Number(preview.rows)} row{Number(preview.rows) === 1 ? "" : "s"} make{" "}
        <strong>{Number(preview.orders)}</strong> order{Number(preview.orders) === 1 ? "" : "s"} with <strong>{Number(preview.tickets)}</strong> ticket
        {Number(preview.tickets) === 1 ? "" : "s"} worth {formatMoneyList(preview.total)}.
      </p>
      {preview.by_type.length > 0 && (
        <p className="small">
          Per type:{" "}
          {preview.by_type.map((t, i) => (
            <span key={t.ticket_type_id} data-testid="import-type">
              {i > 0 ? ", " : ""}
              {t.name} × {Number(t.tickets)}
            </span>
          ))}
        </p>
      )}
      <p className="small muted">
        Columns used: {preview.columns.join(", ") || "none"}
        {preview.ignored_columns.length > 0 && (
          <span data-testid="import-ignored"> · ignored: {preview.ignored_columns.join(", ")}</span>
        )}
      </p>
      {issues > 0 ? (
        <>
          <p className="bad-text" data-testid="import-issue-count">
            {issues} problem{issues === 1 ? "" : "s"} to fix in the file before it can be imported
            {issues > preview.issues.length ? ` (the first ${preview.issues.length} are listed)` : ""}:
          </p>
          <table className="table">
            <thead>
              <tr>
                <th className="num">Line</th>
                <th>Column</th>
                <th>Problem</th>
              </tr>
            </thead>
            <tbody>
              {preview.issues.map((issue, i) => (
                <tr key={i} data-testid="import-issue">
                  <td className="num">{Number(issue.line) === 0 ? "file" : Number(issue.line)}</td>
                  <td className="mono">{issue.column ?? "—"}</td>
                  <td>{issue.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <p className="ok-text" data-testid="import-ready">
          No problems found.
        </p>
      )}
      {preview.sample.length > 0 && (
        <details>
          <summary>First orders as they will be made</summary>
          <table className="table">
            <thead>
              <tr>
                <th className="num">Line</th>
                <th>Order</th>
                <th>Buyer</th>
                <th>Tickets</th>
                <th>Payment</th>
                <th className="num">Total</th>
              </tr>
            </thead>
            <tbody>
              {preview.sample.map((o) => (
                <tr key={`${o.line}-${o.reference}`} data-testid="import-sample">
                  <td className="num">{Number(o.line)}</td>
                  <td className="mono">{o.reference}</td>
                  <td>{o.buyer_name ?? o.buyer_email ?? <span className="muted">—</span>}</td>
                  <td>{o.tickets.map(([type, attendee]) => (attendee ? `${type} (${attendee})` : type)).join(", ")}</td>
                  <td>{PAYMENT_LABELS[o.payment_method] ?? o.payment_method}</td>
                  <td className="num">{formatMoney(o.total)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </div>
  );
}
