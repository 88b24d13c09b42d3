import { useCallback, useEffect, useState, type FormEvent } from "react";

import { api } from "../api";
import type { MailSettings } from "../bindings/MailSettings";
import type { SmtpInput } from "../bindings/SmtpInput";
import type { SmtpSecurity } from "../bindings/SmtpSecurity";
import { ErrorBox, Field, FieldError, Spinner, useAction, useInterval } from "../components/common";
import { localError, unplaced } from "../lib/errors";
import { formatInstant } from "../lib/time";

const FIELDS = ["host", "port", "security", "username", "password", "from_address", "from_name"];
const DEFAULT_PORTS: Record<SmtpSecurity, number> = { none: 25, starttls: 587, tls: 465 };

type Draft = { host: string; port: string; security: SmtpSecurity; username: string; password: string; fromAddress: string; fromName: string };

function draftOf(m: MailSettings | null): Draft {
  const s = m?.smtp;
  return {
    host: s?.host ?? "",
    port: s ? String(s.port) : "",
    security: s?.security ?? "starttls",
    username: s?.username ?? "",
    password: "",
    fromAddress: s?.from_address ?? "",
    fromName: s?.from_name ?? "",
  };
}

/** "Outgoing mail (SMTP)": the server confirmations and waiting-list offers go out through. */
export function MailSection() {
  const [settings, setSettings] = useState<MailSettings | null>(null);
  const [f, setF] = useState<Draft>(() => draftOf(null));
  const [saved, setSaved] = useState(false);
  const [testTo, setTestTo] = useState("");
  const [tested, setTested] = useState<string | null>(null);
  const load = useAction();
  const save = useAction();
  const test = useAction();
  // A change answers the last complaint; the next attempt checks again.
  const set = (patch: Partial<Draft>) => {
    setF((d) => ({ ...d, ...patch }));
    save.setError(null);
    setSaved(false);
  };

  const refresh = useCallback(async (fill: boolean) => {
    try {
      const m = await api.getMailSettings();
      setSettings(m);
      if (fill) setF(draftOf(m));
    } catch (e) {
      load.setError(localError(`The mail settings could not be read: ${(e as { message?: string }).message ?? String(e)}`));
    }
  }, [load.setError]);

  useEffect(() => {
    void refresh(true);
  }, [refresh]);
  // How sending went changes in the background.
  useInterval(() => void refresh(false), 10_000);

  const input = (): SmtpInput | null => {
    if (!f.host.trim()) {
      save.setError(localError("Enter the mail server's host name, e.g. smtp.example.org.", "host"));
      return null;
    }
    let port: number | null = null;
    if (f.port.trim()) {
      port = Number(f.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        save.setError(localError("Port: a whole number from 1 to 65535, or empty for the usual one.", "port"));
        return null;
      }
    }
    return {
      host: f.host.trim(),
      port,
      security: f.security,
      username: f.username.trim() || null,
      password: f.password === "" ? null : f.password,
      from_address: f.fromAddress.trim(),
      from_name: f.fromName.trim() || null,
    };
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const i = input();
    if (!i) return;
    const m = await save.run(() => api.saveMailSettings(i));
    if (m) {
      setSettings(m);
      setF(draftOf(m));
      setSaved(true);
    }
  };

  const turnOff = async () => {
    setSaved(false);
    const m = await save.run(() => api.saveMailSettings(null));
    if (m) {
      setSettings(m);
      setF(draftOf(m));
    }
  };

  const sendTest = async () => {
    setTested(null);
    test.setError(null);
    const i = input();
    if (!i) return;
    if (!testTo.trim()) return test.setError(localError("Enter the address to send the test message to.", "to"));
    const done = await test.run(() => api.sendTestMail(i, testTo.trim()));
    if (done !== undefined) setTested(testTo.trim());
  };

  const w = settings?.worker;
  const passwordSet = settings?.smtp?.password_set ?? false;

  return (
    <div className="card" data-testid="mail-settings">
      <h2>Outgoing mail (SMTP)</h2>
      <p className="muted small">
        Order confirmations and waiting-list offers are queued with the sale and sent from here every few seconds; without a mail server they wait in the queue.
      </p>
      <ErrorBox error={load.error} />
      <form className="form-grid" onSubmit={(e) => void submit(e)} aria-label="Outgoing mail server" noValidate>
        <Field label="Host" hint="The mail server, e.g. smtp.example.org">
          <input data-testid="smtp-host" value={f.host} onChange={(e) => set({ host: e.target.value })} spellCheck={false} autoComplete="off" />
          <FieldError error={save.error} field="host" />
        </Field>
        <Field label="Security" hint="None only for a relay on this network">
          <select data-testid="smtp-security" value={f.security} onChange={(e) => set({ security: e.target.value as SmtpSecurity })}>
            <option value="starttls">STARTTLS</option>
            <option value="tls">TLS</option>
            <option value="none">None</option>
          </select>
          <FieldError error={save.error} field="security" />
        </Field>
        <Field label="Port" hint={`Empty: ${DEFAULT_PORTS[f.security]}`}>
          <input data-testid="smtp-port" inputMode="numeric" className="tiny" value={f.port} onChange={(e) => set({ port: e.target.value })} placeholder={String(DEFAULT_PORTS[f.security])} />
          <FieldError error={save.error} field="port" />
        </Field>
        <Field label="User name" hint="Empty: the server takes mail without logging in">
          <input data-testid="smtp-username" value={f.username} onChange={(e) => set({ username: e.target.value })} autoComplete="off" spellCheck={false} />
          <FieldError error={save.error} field="username" />
        </Field>
        <Field label="Password" hint={passwordSet ? "A password is saved; leave empty to keep it" : "Needed with a user name"}>
          <input
            data-testid="smtp-password"
            type="password"
            value={f.password}
            onChange={(e) => set({ password: e.target.value })}
            autoComplete="new-password"
            placeholder={passwordSet ? "••••••••" : ""}
          />
          <FieldError error={save.error} field="password" />
        </Field>
        <Field label="From address" hint="The sender buyers see">
          <input data-testid="smtp-from" type="email" value={f.fromAddress} onChange={(e) => set({ fromAddress: e.target.value })} autoComplete="off" spellCheck={false} />
          <FieldError error={save.error} field="from_address" />
        </Field>
        <Field label="From name" hint="e.g. Town Hall box office">
          <input data-testid="smtp-from-name" value={f.fromName} onChange={(e) => set({ fromName: e.target.value })} autoComplete="off" />
          <FieldError error={save.error} field="from_name" />
        </Field>
        <div className="actions wide">
          {save.busy && <Spinner label="Saving…" />}
          {saved && !save.busy && <span className="ok-text">Saved.</span>}
          {settings?.smtp && (
            <button type="button" data-testid="smtp-off" onClick={() => void turnOff()} disabled={save.busy}>
              Turn mail off
            </button>
          )}
          <button type="submit" className="primary" data-testid="smtp-save" disabled={save.busy}>
            Save mail settings
          </button>
        </div>
        <div className="wide">
          <ErrorBox error={unplaced(save.error, FIELDS)} onDismiss={() => save.setError(null)} />
        </div>
      </form>
      <div className="inline-form">
        <Field label="Send a test message to">
          <input data-testid="smtp-test-to" type="email" value={testTo} onChange={(e) => setTestTo(e.target.value)} autoComplete="off" placeholder="you@example.org" />
          <FieldError error={test.error} field="to" />
        </Field>
        <div className="actions">
          {tested && (
            <span className="ok-text" data-testid="smtp-test-sent">
              Sent to {tested}.
            </span>
          )}
          <button type="button" data-testid="smtp-test" onClick={() => void sendTest()} disabled={test.busy}>
            {test.busy ? <Spinner label="Sending…" /> : "Send test message"}
          </button>
        </div>
      </div>
      <ErrorBox error={unplaced(test.error, ["to"])} onDismiss={() => test.setError(null)} />
      {w && (
        <p className="muted small" data-testid="mail-worker">
          {settings?.smtp
            ? w.mail_at
              ? w.mail_error
                ? `Last attempt ${formatInstant(w.mail_at)}: ${w.mail_error}`
                : `Last checked ${formatInstant(w.mail_at)}${w.mail && w.mail.sent + w.mail.retried + w.mail.failed > 0 ? `: ${w.mail.sent} sent, ${w.mail.retried} to retry, ${w.mail.failed} given up` : ": nothing to send"}.`
              : "Sending starts within a few seconds."
            : "Mail is off: messages wait in the queue."}
          {w.housekeeping_error ? ` Housekeeping failed: ${w.housekeeping_error}` : ""}
        </p>
      )}
    </div>
  );
}
