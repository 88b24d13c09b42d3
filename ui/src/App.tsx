import { useCallback, useEffect, useMemo, useState } from "react";

import { api } from "./api";
import type { AppStatus } from "./bindings/AppStatus";
import type { SessionView } from "./bindings/SessionView";
import type { Settings } from "./bindings/Settings";
import { ErrorBox, Spinner } from "./components/common";
import { AppContext, type AppCtx } from "./context";
import { toAppError, type AppError } from "./lib/errors";
import { applyTheme } from "./lib/theme";
import { FirstRun } from "./screens/FirstRun";
import { Kiosk } from "./screens/Kiosk";
import { Login } from "./screens/Login";
import { Shell } from "./screens/Shell";

export function App() {
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [loadError, setLoadError] = useState<AppError | null>(null);

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      setStatus(await api.appStatus());
    } catch (e) {
      setLoadError(toAppError(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    applyTheme(status?.settings.theme ?? "system");
  }, [status?.settings.theme]);

  const setSession = useCallback((session: SessionView | null) => {
    setStatus((s) => (s ? { ...s, session } : s));
  }, []);

  const ctx = useMemo<AppCtx | null>(() => {
    if (!status?.session) return null;
    return {
      status,
      session: status.session,
      settings: status.settings,
      setStatus,
      setSettings: (settings: Settings) => setStatus((s) => (s ? { ...s, settings } : s)),
      logout: () => {
        void api.logout().finally(() => setSession(null));
      },
    };
  }, [status, setSession]);

  if (!status) {
    return (
      <div className="center-screen" data-testid="screen-loading">
        <div className="card narrow">
          <h1 className="brand">Admit</h1>
          {loadError ? (
            <>
              <ErrorBox error={loadError} />
              <button type="button" className="primary" onClick={() => void load()}>
                Try again
              </button>
            </>
          ) : (
            <Spinner label="Opening…" />
          )}
        </div>
      </div>
    );
  }

  if (status.needs_setup) {
    return <FirstRun status={status} onStatus={setStatus} onDone={(session) => void load().then(() => setSession(session))} />;
  }

  if (!ctx) {
    return <Login status={status} onLogin={(session) => void load().then(() => setSession(session))} />;
  }

  return <AppContext.Provider value={ctx}>{status.kiosk ? <Kiosk /> : <Shell />}</AppContext.Provider>;
}
