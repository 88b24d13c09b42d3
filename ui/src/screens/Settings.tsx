import { useEffect, useState, type FormEvent } from "react";

import { api } from "../api";
import type { DoorList } from "../bindings/DoorList";
import { ErrorBox, Field, Spinner, useAction } from "../components/common";
import { useApp } from "../context";
import { localError } from "../lib/errors";
import { applyTheme, type ThemeChoice } from "../lib/theme";
import { canConfigureMail, canViewUsers } from "../lib/users";
import { MailSection } from "./MailSettings";
import { SyncSection } from "./Sync";
import { UsersSection } from "./Users";

export function SettingsScreen() {
  const { settings, setSettings, setStatus, status, session } = useApp();
  const [deviceName, setDeviceName] = useState(settings.device_name);
  const [gate, setGate] = useState(settings.gate ?? "");
  const [listId, setListId] = useState(settings.default_list_id ?? "");
  const [theme, setTheme] = useState<ThemeChoice>(settings.theme);
  const [lists, setLists] = useState<DoorList[]>([]);
  const [saved, setSaved] = useState(false);
  const save = useAction();

  const [pin, setPin] = useState("");
  const [pin2, setPin2] = useState("");
  const [pinSaved, setPinSaved] = useState(false);
  const pinAction = useAction();
  const kiosk = useAction();

  useEffect(() => {
    let cancelled = false;
    // Only published events' lists: a draft's list cannot admit anyone yet.
    api.doorLists().then(
      (found) => {
        if (!cancelled) setLists(found);
      },
      () => {
        /* the picker then offers only what is saved */
      },
    );
    return () => {
      cancelled = true;
    };
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const s = await save.run(() =>
      api.saveSettings({
        device_name: deviceName.trim(),
        gate: gate.trim() || null,
        default_list_id: listId || null,
        theme,
        // Set when the device pairs with a server (below); kept as it is here.
        server_url: settings.server_url,
      }),
    );
    if (s) {
      setSettings(s);
      setSaved(true);
    }
  };

  const submitPin = async (e: FormEvent) => {
    e.preventDefault();
    setPinSaved(false);
    if (!/^\d{4,12}$/.test(pin)) return pinAction.setError(localError("Use 4 to 12 digits for the PIN.", "pin"));
    if (pin !== pin2) return pinAction.setError(localError("The two PINs differ; type them again.", "pin"));
    const s = await pinAction.run(() => api.setKioskPin(pin));
    if (s) {
      setSettings(s);
      setPin("");
      setPin2("");
      setPinSaved(true);
    }
  };

  const enterKiosk = async () => {
    const s = await kiosk.run(() => api.enterKiosk());
    if (s) setStatus(s);
  };

  return (
    <section className="screen" data-testid="screen-settings">
      <div className="screen-head">
        <h1>Settings</h1>
        <span className="muted small">
          Version {status.version}
          {status.database ? ` · Data: ${status.database}` : ""}
        </span>
      </div>
      <div className="settings-grid">
        <form className="card form-grid" onSubmit={(e) => void submit(e)}>
          <h2 className="wide">This device</h2>
          <Field label="Device name" hint="Shown on sign-in and in the audit log">
            <input data-testid="settings-device-name" value={deviceName} onChange={(e) => setDeviceName(e.target.value)} />
          </Field>
          <Field label="Gate" hint="Where this door scanner stands, e.g. North">
            <input data-testid="settings-gate" value={gate} onChange={(e) => setGate(e.target.value)} />
          </Field>
          <Field label="Default check-in list" hint="The door starts with this list">
            <select data-testid="settings-list" value={listId} onChange={(e) => setListId(e.target.value)}>
              <option value="">None</option>
              {listId && !lists.some((l) => l.list.id === listId) && <option value={listId}>Saved list</option>}
              {lists.map((l) => (
                <option key={l.list.id} value={l.list.id}>
                  {l.event.name} — {l.list.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Theme">
            <select
              data-testid="settings-theme"
              value={theme}
              onChange={(e) => {
                const t = e.target.value as ThemeChoice;
                setTheme(t);
                applyTheme(t);
              }}
            >
              <option value="system">Same as the system</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </Field>
          <div className="actions wide">
            {save.busy && <Spinner label="Saving…" />}
            {saved && !save.busy && <span className="ok-text">Saved.</span>}
            <button type="submit" className="primary" data-testid="settings-save" disabled={save.busy}>
              Save settings
            </button>
          </div>
          <div className="wide">
            <ErrorBox error={save.error} />
          </div>
        </form>
        <div className="card">
          <h2>Kiosk mode</h2>
          <p className="muted">
            Kiosk mode shows only the door scanner, full screen. Leaving it needs the PIN. {settings.kiosk_pin_set ? "A PIN is set." : "Set a PIN first."}
          </p>
          <form className="form-grid" onSubmit={(e) => void submitPin(e)}>
            <Field label={settings.kiosk_pin_set ? "New PIN" : "PIN"}>
              <input data-testid="kiosk-pin" type="password" inputMode="numeric" value={pin} onChange={(e) => setPin(e.target.value)} autoComplete="off" />
            </Field>
            <Field label="PIN again">
              <input data-testid="kiosk-pin2" type="password" inputMode="numeric" value={pin2} onChange={(e) => setPin2(e.target.value)} autoComplete="off" />
            </Field>
            <div className="actions wide">
              {pinSaved && <span className="ok-text">PIN saved.</span>}
              <button type="submit" data-testid="kiosk-pin-save" disabled={pinAction.busy}>
                {pinAction.busy ? <Spinner /> : "Save PIN"}
              </button>
            </div>
          </form>
          <ErrorBox error={pinAction.error} />
          <div className="actions">
            <button type="button" className="primary" data-testid="kiosk-enter" disabled={!settings.kiosk_pin_set || kiosk.busy} onClick={() => void enterKiosk()}>
              {kiosk.busy ? <Spinner label="Entering…" /> : "Enter kiosk mode"}
            </button>
          </div>
          <ErrorBox error={kiosk.error} />
        </div>
      </div>
      <SyncSection />
      {canConfigureMail(session.role) && <MailSection />}
      {canViewUsers(session.role) && <UsersSection />}
    </section>
  );
}
