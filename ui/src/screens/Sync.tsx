import { useState, type FormEvent } from "react";

import { api } from "../api";
import type { IssuedPairingCode } from "../bindings/IssuedPairingCode";
import type { SyncConflicts } from "../bindings/SyncConflicts";
import type { SyncStatus } from "../bindings/SyncStatus";
import { Confirm, ErrorBox, Field, FieldError, Spinner, useAction } from "../components/common";
import { useSyncStatus } from "../components/SyncStatus";
import { useApp } from "../context";
import { localError, unplaced } from "../lib/errors";
import { ago, checkPairingCode, checkServerUrl, clockNote, conflictCount, ROLES, roleLabel, syncLine } from "../lib/sync";
import { formatInstant } from "../lib/time";

/** Settings → Server and sync: this device's pairing (connect, status, disconnect), and for
 * owners, pairing codes for other devices. */
export function SyncSection() {
  const { session, settings, setSettings } = useApp();
  const { status, setStatus } = useSyncStatus();
  const owner = session.role === "owner";
  const paired = !!status && status.state !== "unpaired";
  return (
    <div className="settings-grid" data-testid="sync-settings">
      {status === null ? (
        <div className="card">
          <Spinner label="Reading the sync status…" />
        </div>
      ) : paired ? (
        <>
          <PairedCard status={status} owner={owner} onChange={setStatus} />
          {conflictCount(status) > 0 && <ConflictsCard />}
        </>
      ) : owner ? (
        <ConnectCard
          initialUrl={settings.server_url ?? ""}
          onConnected={(s) => {
            setStatus(s);
            // The app keeps the paired address as this device's server address too.
            setSettings({ ...settings, server_url: s.server_url });
          }}
        />
      ) : (
        <div className="card">
          <h2>Server and sync</h2>
          <p className="muted">This device keeps all data on this computer. An owner can connect it to an Admit server here.</p>
        </div>
      )}
      {owner && status !== null && (
        // Keyed on the address, so pairing this device fills it in for the next code.
        <PairingCodeCard key={status.server_url ?? ""} defaultUrl={status.server_url ?? settings.server_url ?? ""} />
      )}
    </div>
  );
}

function ConnectCard({ initialUrl, onConnected }: { initialUrl: string; onConnected: (s: SyncStatus) => void }) {
  const [url, setUrl] = useState(initialUrl);
  const [code, setCode] = useState("");
  const connect = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const badUrl = checkServerUrl(url);
    if (badUrl) return connect.setError(localError(badUrl, "server_url"));
    const badCode = checkPairingCode(code);
    if (badCode) return connect.setError(localError(badCode, "code"));
    const s = await connect.run(() => api.connectServer({ server_url: url.trim(), code: code.trim() }));
    if (s) onConnected(s);
  };
  return (
    <div className="card" data-testid="sync-connect">
      <h2>Connect to a server</h2>
      <p className="muted small">
        Ask an owner for a pairing code (Settings → Pair another device, on a desk that reaches the server). This device keeps working on its own data and syncs with the
        server in the background.
      </p>
      <form className="form-grid" onSubmit={(e) => void submit(e)} noValidate aria-label="Connect to a server">
        <Field label="Server address" hint="e.g. https://tickets.example.org or http://192.168.1.20:8080" wide>
          <input data-testid="sync-server-url" value={url} onChange={(e) => setUrl(e.target.value)} spellCheck={false} autoComplete="off" placeholder="https://tickets.example.org" />
          <FieldError error={connect.error} field="server_url" />
        </Field>
        <Field label="Pairing code" hint="Twelve letters and digits; dashes and spaces do not matter" wide>
          <input data-testid="sync-code" className="pairing-input" value={code} onChange={(e) => setCode(e.target.value)} spellCheck={false} autoComplete="off" placeholder="7KQM-X3TA-9RWE" />
          <FieldError error={connect.error} field="code" />
        </Field>
        <div className="actions wide">
          <button type="submit" className="primary" data-testid="sync-connect-submit" disabled={connect.busy}>
            {connect.busy ? <Spinner label="Connecting…" /> : "Connect"}
          </button>
        </div>
      </form>
      <ErrorBox error={unplaced(connect.error, ["server_url", "code"])} />
    </div>
  );
}

function PairedCard({ status, owner, onChange }: { status: SyncStatus; owner: boolean; onChange: (s: SyncStatus) => void }) {
  const now = new Date();
  const line = syncLine(status, now);
  const sync = useAction();
  const disconnect = useAction();
  const [confirming, setConfirming] = useState(false);
  const clock = clockNote(status.clock_offset_ms);
  const conflicts = conflictCount(status);
  const round = status.last_round;
  return (
    <div className="card" data-testid="sync-paired">
      <h2>Server and sync</h2>
      <dl className="sync-facts">
        <dt>Server</dt>
        <dd data-testid="sync-server">{status.server_url}</dd>
        <dt>This device</dt>
        <dd>
          {status.device_name} ({roleLabel(status.device_role)})
        </dd>
        <dt>Status</dt>
        <dd data-testid="sync-state" data-state={status.state}>
          {line.label}
        </dd>
        <dt>Last sync</dt>
        <dd>{status.last_sync_at ? `${formatInstant(status.last_sync_at)} (${ago(status.last_sync_at, now)})` : "Not yet"}</dd>
        <dt>Waiting to upload</dt>
        <dd data-testid="sync-waiting">{status.waiting ?? "—"}</dd>
        <dt>Conflicts</dt>
        <dd data-testid="sync-conflicts">
          {status.double_admissions === null && status.upload_conflicts === null
            ? "Not shown to this device's role"
            : `${conflicts} (${status.double_admissions ?? 0} double admissions, ${status.upload_conflicts ?? 0} uploads the server could not apply)`}
        </dd>
        {round && (
          <>
            <dt>Last round</dt>
            <dd>
              {round.uploaded} up, {round.downloaded} down
              {round.deferred ? `, ${round.deferred} held for the next round` : ""}
            </dd>
          </>
        )}
        {clock && (
          <>
            <dt>Clock</dt>
            <dd className="sync-note problem" data-testid="sync-clock">
              {clock} against the server; set this computer's clock, since scans and sales carry its time.
            </dd>
          </>
        )}
        {status.error && (
          <>
            <dt>Last problem</dt>
            <dd data-testid="sync-problem">{status.error}</dd>
          </>
        )}
      </dl>
      {status.state === "refused" && (
        <p className="error" role="alert">
          The server refused this device: it was probably revoked. Sync has stopped; what this device holds stays here. Disconnect it and pair it again with a new code.
        </p>
      )}
      <div className="actions">
        <button
          type="button"
          data-testid="sync-now-settings"
          disabled={sync.busy || status.state === "syncing"}
          onClick={() =>
            void sync.run(async () => {
              onChange(await api.syncNow());
            })
          }
        >
          {sync.busy ? <Spinner label="Syncing…" /> : "Sync now"}
        </button>
        {owner && !confirming && (
          <button type="button" className="danger" data-testid="sync-disconnect" onClick={() => setConfirming(true)}>
            Disconnect…
          </button>
        )}
      </div>
      {confirming && (
        <Confirm
          title="Disconnect from the server?"
          confirmLabel="Disconnect"
          danger
          busy={disconnect.busy}
          onNo={() => setConfirming(false)}
          onYes={() =>
            void disconnect.run(async () => {
              onChange(await api.disconnectServer());
              setConfirming(false);
            })
          }
        >
          <p data-testid="sync-disconnect-note">
            Sync with {status.server_url} stops.{" "}
            {status.waiting
              ? `${status.waiting} change${status.waiting === 1 ? "" : "s"} made here ${status.waiting === 1 ? "has" : "have"} not reached the server; they stay on this device and go up if it is paired with the server again.`
              : "Everything made here has reached the server."}{" "}
            Nothing is deleted from this device.
          </p>
        </Confirm>
      )}
      <ErrorBox error={sync.error ?? disconnect.error} />
    </div>
  );
}

/** The server's conflicts, asked for when a person wants to see them: each double admission
 * with who let the ticket in the second time, where and when, and the entry it collided with;
 * then uploads the server kept without applying them. */
function ConflictsCard() {
  const load = useAction();
  const [conflicts, setConflicts] = useState<SyncConflicts | null>(null);
  const show = () =>
    void load.run(async () => {
      setConflicts(await api.syncConflicts());
    });
  return (
    <div className="card wide" data-testid="sync-conflict-list">
      <h2>Conflicts</h2>
      {conflicts === null ? (
        <div className="actions">
          <button type="button" data-testid="sync-conflicts-show" disabled={load.busy} onClick={show}>
            {load.busy ? <Spinner label="Asking the server…" /> : "Show conflicts"}
          </button>
        </div>
      ) : (
        <>
          <h3>Double admissions</h3>
          {conflicts.double_admissions.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Gate</th>
                  <th>Device</th>
                  <th>Ticket</th>
                  <th>Earlier entry</th>
                </tr>
              </thead>
              <tbody>
                {conflicts.double_admissions.map((d) => (
                  <tr key={d.scan_id} data-testid="double-admission">
                    <td className="nowrap">{formatInstant(d.at)}</td>
                    <td>{d.gate ?? "—"}</td>
                    <td className="mono small">{d.device_id ?? "—"}</td>
                    <td className="mono small">{d.ticket_id ?? "—"}</td>
                    <td>{d.explanation}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Uploads not applied</h3>
          {conflicts.uploads.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>When</th>
                  <th>What</th>
                  <th>Device</th>
                  <th>Why</th>
                </tr>
              </thead>
              <tbody>
                {conflicts.uploads.map((u) => (
                  <tr key={u.entry_id} data-testid="upload-conflict">
                    <td className="nowrap">{formatInstant(u.at)}</td>
                    <td>{u.entity}</td>
                    <td className="mono small">{u.device_id}</td>
                    <td>{u.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="actions">
            <button type="button" data-testid="sync-conflicts-show" disabled={load.busy} onClick={show}>
              {load.busy ? <Spinner label="Asking the server…" /> : "Ask again"}
            </button>
          </div>
        </>
      )}
      <ErrorBox error={load.error} />
    </div>
  );
}

function PairingCodeCard({ defaultUrl }: { defaultUrl: string }) {
  const [url, setUrl] = useState(defaultUrl);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState("door");
  const [minutes, setMinutes] = useState("15");
  const [issued, setIssued] = useState<IssuedPairingCode | null>(null);
  const make = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const badUrl = checkServerUrl(url);
    if (badUrl) return make.setError(localError(badUrl, "server_url"));
    if (!name.trim()) return make.setError(localError("Name the device, e.g. North door 2.", "name"));
    const m = Number(minutes);
    if (!Number.isInteger(m) || m < 1 || m > 1440) return make.setError(localError("Between 1 and 1440 minutes (a day).", "expires_in_minutes"));
    setIssued(null);
    const code = await make.run(() =>
      api.createPairingCode({ server_url: url.trim(), username: username.trim(), password, name: name.trim(), role, expires_in_minutes: m }),
    );
    if (code) setIssued(code);
  };
  const fields = ["server_url", "username", "password", "name", "role", "expires_in_minutes"];
  return (
    <div className="card" data-testid="pairing-code-card">
      <h2>Pair another device</h2>
      <p className="muted small">Log in to the server as an owner to make a one-time code. The password is used for this request only and is not kept.</p>
      <form className="form-grid" onSubmit={(e) => void submit(e)} noValidate aria-label="Make a pairing code">
        <Field label="Server address" wide>
          <input data-testid="pair-server-url" value={url} onChange={(e) => setUrl(e.target.value)} spellCheck={false} autoComplete="off" placeholder="https://tickets.example.org" />
          <FieldError error={make.error} field="server_url" />
        </Field>
        <Field label="Server user name">
          <input data-testid="pair-username" value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" spellCheck={false} />
          <FieldError error={make.error} field="username" />
        </Field>
        <Field label="Password">
          <input data-testid="pair-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="off" />
          <FieldError error={make.error} field="password" />
        </Field>
        <Field label="Device name" hint="e.g. North door 2">
          <input data-testid="pair-name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
          <FieldError error={make.error} field="name" />
        </Field>
        <Field label="Role">
          <select data-testid="pair-role" value={role} onChange={(e) => setRole(e.target.value)}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
          <FieldError error={make.error} field="role" />
        </Field>
        <Field label="Good for (minutes)" hint="15 by default, at most 1440">
          <input data-testid="pair-minutes" inputMode="numeric" className="tiny" value={minutes} onChange={(e) => setMinutes(e.target.value)} />
          <FieldError error={make.error} field="expires_in_minutes" />
        </Field>
        <div className="actions wide">
          <button type="submit" className="primary" data-testid="pair-make" disabled={make.busy}>
            {make.busy ? <Spinner label="Asking the server…" /> : "Make a pairing code"}
          </button>
        </div>
      </form>
      <ErrorBox error={unplaced(make.error, fields)} />
      {issued && (
        <div className="pairing-issued" data-testid="pairing-issued">
          <p>
            Type this code on the device ({issued.name}, {roleLabel(issued.role)}) under Settings → Connect to a server, with the address {issued.server_url}. It works once.
          </p>
          <div className="row-between">
            <div>
              <div className="pairing-code" data-testid="pairing-code">
                {issued.code}
              </div>
              <p className="muted" data-testid="pairing-expires">
                Good until {formatInstant(issued.expires_at)}
              </p>
            </div>
            <img className="pairing-qr" data-testid="pairing-qr" alt={`QR code of the pairing code ${issued.code}`} src={`data:image/svg+xml,${encodeURIComponent(issued.qr_svg)}`} />
          </div>
        </div>
      )}
    </div>
  );
}
