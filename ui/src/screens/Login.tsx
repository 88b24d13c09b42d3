import { useState, type FormEvent } from "react";

import { api } from "../api";
import type { AppStatus } from "../bindings/AppStatus";
import type { SessionView } from "../bindings/SessionView";
import { ErrorBox, Field, Spinner, useAction } from "../components/common";
import { localError } from "../lib/errors";

export function Login({ status, onLogin }: { status: AppStatus; onLogin: (s: SessionView) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const { run, busy, error, setError } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!username.trim() || !password) return setError(localError("Enter your username and password."));
    const s = await run(() => api.login(username.trim(), password));
    if (s) onLogin(s);
    else setPassword("");
  };

  return (
    <div className="center-screen" data-testid="screen-login">
      <form className="card narrow" onSubmit={(e) => void submit(e)}>
        <h1 className="brand">Admit</h1>
        <p className="muted">
          {status.settings.device_name ? `${status.settings.device_name} · ` : ""}Sign in to continue
        </p>
        <Field label="Username" wide>
          <input data-testid="login-username" value={username} onChange={(e) => setUsername(e.target.value)} autoFocus autoComplete="username" disabled={busy} />
        </Field>
        <Field label="Password" wide>
          <input data-testid="login-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" disabled={busy} />
        </Field>
        <div className="actions">
          {busy && <Spinner label="Signing in…" />}
          <button type="submit" className="primary" data-testid="login-submit" disabled={busy}>
            Sign in
          </button>
        </div>
        <ErrorBox error={error} />
        <p className="muted small footer-note">Version {status.version}</p>
      </form>
    </div>
  );
}
