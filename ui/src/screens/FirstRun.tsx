import { useState, type FormEvent } from "react";

import { api } from "../api";
import type { AppStatus } from "../bindings/AppStatus";
import type { SessionView } from "../bindings/SessionView";
import { ErrorBox, Field, Spinner, useAction } from "../components/common";
import { localError } from "../lib/errors";

/** First start: where the data lives, then the owner account. */
export function FirstRun({
  status,
  onStatus,
  onDone,
}: {
  status: AppStatus;
  onStatus: (s: AppStatus) => void;
  onDone: (s: SessionView) => void;
}) {
  const step = status.database === null ? 1 : 2;
  return (
    <div className="center-screen" data-testid="screen-first-run">
      <div className="card setup">
        <h1 className="brand">Welcome to Admit</h1>
        <ol className="steps" aria-label="Setup steps">
          <li className={step === 1 ? "current" : "done"}>Where data lives</li>
          <li className={step === 2 ? "current" : ""}>Owner account</li>
        </ol>
        {step === 1 ? <ChooseDatabase status={status} onStatus={onStatus} /> : <CreateOwner status={status} onDone={onDone} />}
      </div>
    </div>
  );
}

/** The backend's message starts lower-case and may lack a full stop. */
function sentence(text: string): string {
  const t = text.trim();
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : first + ".";
}

function ChooseDatabase({ status, onStatus }: { status: AppStatus; onStatus: (s: AppStatus) => void }) {
  const [location, setLocation] = useState("");
  const { run, busy, error, setError } = useAction();

  const choose = async (loc: string | null) => {
    const s = await run(() => api.chooseDatabase(loc));
    if (s) onStatus(s);
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const loc = location.trim();
    if (!loc) {
      setError(localError("Enter a file path or a postgres:// address, or use the default file."));
      return;
    }
    void choose(loc);
  };

  return (
    <div>
      {status.database_error && (
        <div className="error" role="alert" data-testid="database-error">
          <span className="error-text">
            <strong>The database Admit used last time could not be opened.</strong> {sentence(status.database_error)} Then choose the same place again
            below, or start over with the default file on this computer (the old data stays where it is).
          </span>
        </div>
      )}
      <p className="lead">Admit keeps events, sales and check-ins in a database. Most single-desk installations use the default file on this computer.</p>
      <div className="option">
        <div>
          <strong>This computer (recommended)</strong>
          <div className="muted mono small">{status.default_database}</div>
        </div>
        <button type="button" className="primary" data-testid="db-default" disabled={busy} onClick={() => void choose(null)}>
          Use default file
        </button>
      </div>
      <form className="option column" onSubmit={submit}>
        <Field label="Or another file path, or a PostgreSQL address shared by several desks" wide>
          <input
            data-testid="db-location"
            value={location}
            onChange={(e) => setLocation(e.target.value)}
            placeholder="/path/to/admit.db  or  postgres://user@host/admit"
            autoComplete="off"
            spellCheck={false}
            disabled={busy}
          />
        </Field>
        <div className="actions">
          <button type="submit" data-testid="db-continue" disabled={busy}>
            Continue
          </button>
        </div>
      </form>
      {busy && <Spinner label="Preparing the database… this can take a few seconds." />}
      <ErrorBox error={error} />
    </div>
  );
}

function CreateOwner({ status, onDone }: { status: AppStatus; onDone: (s: SessionView) => void }) {
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [password2, setPassword2] = useState("");
  const { run, busy, error, setError } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!username.trim()) return setError(localError("Enter a username.", "username"));
    if (!displayName.trim()) return setError(localError("Enter the name people see.", "display_name"));
    if (password.length < 8) return setError(localError("Use a password of at least 8 characters.", "password"));
    if (password !== password2) return setError(localError("The two passwords differ; type them again.", "password"));
    const s = await run(() => api.createOwner({ username: username.trim(), display_name: displayName.trim(), password, role: "owner" }));
    if (s) onDone(s);
  };

  return (
    <form onSubmit={(e) => void submit(e)} className="form-grid">
      <p className="lead wide">
        Data: <span className="mono small">{status.database}</span>
        <br />
        Create the owner account. The owner can do everything, including adding staff.
      </p>
      <Field label="Username">
        <input data-testid="owner-username" value={username} onChange={(e) => setUsername(e.target.value)} autoFocus autoComplete="username" />
      </Field>
      <Field label="Display name">
        <input data-testid="owner-display-name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} autoComplete="name" />
      </Field>
      <Field label="Password" hint="At least 8 characters">
        <input data-testid="owner-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
      </Field>
      <Field label="Password again">
        <input data-testid="owner-password2" type="password" value={password2} onChange={(e) => setPassword2(e.target.value)} autoComplete="new-password" />
      </Field>
      <div className="actions wide">
        {busy && <Spinner label="Creating the account…" />}
        <button type="submit" className="primary" data-testid="owner-create" disabled={busy}>
          Create owner and sign in
        </button>
      </div>
      <div className="wide">
        <ErrorBox error={error} />
      </div>
    </form>
  );
}
