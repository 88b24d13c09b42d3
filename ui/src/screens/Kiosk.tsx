import { useEffect, useRef, useState, type FormEvent } from "react";

import { api } from "../api";
import { ErrorBox, Spinner, useAction } from "../components/common";
import { useApp } from "../context";
import { Door } from "./Door";
import { SyncIndicator } from "../components/SyncStatus";

/** Only the door, full screen. Leaving needs the PIN. */
export function Kiosk() {
  const { setStatus, settings } = useApp();
  const [asking, setAsking] = useState(false);
  const [pin, setPin] = useState("");
  const { run, busy, error, setError } = useAction();
  const pinInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (asking) pinInput.current?.focus();
  }, [asking]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const s = await run(() => api.leaveKiosk(pin));
    setPin("");
    if (s) setStatus(s);
  };

  const close = () => {
    setAsking(false);
    setPin("");
    setError(null);
  };

  return (
    <div className="kiosk" data-testid="screen-kiosk">
      <div className="kiosk-top">
        <span className="brand small">{settings.device_name || "Admit"}</span>
        <SyncIndicator showSyncNow={false} />
      </div>
      <Door kiosk paused={asking} />
      <button type="button" className="kiosk-exit" data-testid="kiosk-leave" data-keep-focus aria-label="Leave kiosk mode" onClick={() => setAsking(true)}>
        ⋯
      </button>
      {asking && (
        <div className="modal-backdrop" onKeyDown={(e) => e.key === "Escape" && close()}>
          <form className="modal" role="dialog" aria-modal="true" aria-label="Leave kiosk mode" onSubmit={(e) => void submit(e)}>
            <h2>Leave kiosk mode</h2>
            <input
              ref={pinInput}
              data-testid="kiosk-leave-pin"
              type="password"
              inputMode="numeric"
              autoComplete="off"
              placeholder="PIN"
              value={pin}
              onChange={(e) => setPin(e.target.value)}
            />
            <ErrorBox error={error} />
            <div className="actions">
              <button type="button" data-testid="kiosk-leave-cancel" onClick={close}>
                Back to scanning
              </button>
              <button type="submit" className="primary" data-testid="kiosk-leave-submit" disabled={busy || !pin}>
                {busy ? <Spinner /> : "Leave"}
              </button>
            </div>
          </form>
        </div>
      )}
    </div>
  );
}
