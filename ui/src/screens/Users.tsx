import { Fragment, useCallback, useEffect, useState, type FormEvent } from "react";

import { api } from "../api";
import type { Role } from "../bindings/Role";
import type { User } from "../bindings/User";
import { Confirm, ErrorBox, Field, Spinner, useAction } from "../components/common";
import { useApp } from "../context";
import { toAppError, type AppError } from "../lib/errors";
import { ROLE_LABELS } from "../lib/nav";
import { canManageUsers, checkPassword, MIN_PASSWORD, newUserInput, ROLE_DESCRIPTIONS, ROLES, sortUsers, userUpdate } from "../lib/users";

type Change = { role?: Role; active?: boolean; password?: string };

/** A change waiting for a yes: what to send, how to ask, and what to say once saved. */
type Pending = { user: User; change: Change; title: string; confirmLabel: string; danger: boolean; body: string; done: string };

function askActive(user: User, active: boolean): Pending {
  const who = `${user.display_name} (${user.username})`;
  return active
    ? {
        user,
        change: { active },
        title: `Reactivate ${user.display_name}?`,
        confirmLabel: "Reactivate",
        danger: false,
        body: `${who} will be able to sign in again as ${ROLE_LABELS[user.role]}.`,
        done: `${user.display_name} can sign in again.`,
      }
    : {
        user,
        change: { active },
        title: `Deactivate ${user.display_name}?`,
        confirmLabel: "Deactivate",
        danger: true,
        body: `${who} will no longer be able to sign in. Their sales and scans stay in the records, and the account can be reactivated later.`,
        done: `${user.display_name} can no longer sign in.`,
      };
}

// Asked too, because arrow keys on a focused select change its value at once.
function askRole(user: User, role: Role): Pending {
  return {
    user,
    change: { role },
    title: `Make ${user.display_name} ${ROLE_LABELS[role]}?`,
    confirmLabel: "Change role",
    danger: role === "owner",
    body: `${user.display_name} (${user.username}) becomes ${ROLE_DESCRIPTIONS[role].replace(" — ", ": ")}.`,
    done: `${user.display_name} is now ${ROLE_LABELS[role]}.`,
  };
}

/** Staff accounts. Managers may look; only owners may change anything. */
export function UsersSection() {
  const { session } = useApp();
  const manage = canManageUsers(session.role);
  const [users, setUsers] = useState<User[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<Pending | null>(null);
  const [resetting, setResetting] = useState<string | null>(null);
  const load = useAction();
  const change = useAction();
  const loadUsers = load.run;

  const reload = useCallback(async () => {
    const list = await loadUsers(() => api.listUsers());
    if (list) setUsers(sortUsers(list));
  }, [loadUsers]);

  useEffect(() => {
    void reload();
  }, [reload]);

  /** Whether the change was saved. A stale version means the row on screen is out of date, so it is replaced before saying so. */
  const apply = async (user: User, c: Change, done: string): Promise<boolean> => {
    setNotice(null);
    const saved = await change.run(async () => {
      try {
        return await api.updateUser(user.id, userUpdate(user, c));
      } catch (e) {
        const err = toAppError(e);
        if (err.code !== "stale") throw err;
        await reload();
        const stale: AppError = {
          code: "stale",
          message: `Someone else changed ${user.display_name} meanwhile. The list now shows the current details; check them and try again.`,
          field: null,
        };
        throw stale;
      }
    });
    if (!saved) return false;
    setUsers((list) => sortUsers((list ?? []).map((u) => (u.id === saved.id ? saved : u))));
    setNotice(done);
    return true;
  };

  const confirm = async () => {
    if (!confirming) return;
    await apply(confirming.user, confirming.change, confirming.done);
    setConfirming(null);
  };

  return (
    <section className="card" data-testid="users-section" aria-labelledby="users-heading">
      <div className="row-between">
        <h2 id="users-heading">Users</h2>
        {!manage && <span className="muted small">Only an owner can add users or change them.</span>}
      </div>
      {users === null && load.busy && <Spinner label="Loading users…" />}
      {load.error && (
        <div className="actions">
          <ErrorBox error={load.error} />
          <button type="button" data-testid="users-reload" onClick={() => void reload()} disabled={load.busy}>
            Try again
          </button>
        </div>
      )}
      {users && (
        <table className="table" data-testid="users-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Username</th>
              <th>Role</th>
              <th>Status</th>
              {manage && <th />}
            </tr>
          </thead>
          <tbody>
            {users.map((u) => {
              const self = u.id === session.user_id;
              return (
                <Fragment key={u.id}>
                  <tr data-testid="user-row" data-username={u.username} className={u.active ? "" : "inactive"}>
                    <td>
                      {u.display_name}
                      {self && <span className="muted"> (you)</span>}
                    </td>
                    <td className="mono">{u.username}</td>
                    <td>
                      {manage && !self ? (
                        <select
                          data-testid="user-row-role"
                          aria-label={`Role of ${u.display_name}`}
                          value={u.role}
                          disabled={change.busy}
                          onChange={(e) => setConfirming(askRole(u, e.target.value as Role))}
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {ROLE_LABELS[r]}
                            </option>
                          ))}
                        </select>
                      ) : (
                        <span data-testid="user-row-role-text" title={ROLE_DESCRIPTIONS[u.role]}>
                          {ROLE_LABELS[u.role] ?? u.role}
                        </span>
                      )}
                    </td>
                    <td data-testid="user-status">{u.active ? "Active" : "Deactivated"}</td>
                    {manage && (
                      <td className="right">
                        <div className="actions">
                          <button
                            type="button"
                            className="link"
                            data-testid="user-reset-password"
                            aria-expanded={resetting === u.id}
                            onClick={() => setResetting(resetting === u.id ? null : u.id)}
                          >
                            Reset password
                          </button>
                          {/* The app refuses to let owners lock themselves out; the buttons are not offered. */}
                          {!self &&
                            (u.active ? (
                              <button type="button" className="link" data-testid="user-deactivate" disabled={change.busy} onClick={() => setConfirming(askActive(u, false))}>
                                Deactivate
                              </button>
                            ) : (
                              <button type="button" className="link" data-testid="user-activate" disabled={change.busy} onClick={() => setConfirming(askActive(u, true))}>
                                Reactivate
                              </button>
                            ))}
                        </div>
                      </td>
                    )}
                  </tr>
                  {manage && resetting === u.id && (
                    <tr>
                      <td colSpan={5}>
                        <ResetPassword
                          user={u}
                          busy={change.busy}
                          onCancel={() => setResetting(null)}
                          onSave={async (password) => {
                            if (await apply(u, { password }, `New password saved for ${u.display_name}.`)) setResetting(null);
                          }}
                        />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      <div aria-live="polite">
        {notice && !change.busy && (
          <p className="ok-text" data-testid="users-notice">
            {notice}
          </p>
        )}
      </div>
      <ErrorBox error={change.error} onDismiss={() => change.setError(null)} />
      {manage && (
        <AddUser
          onAdded={(u) => {
            setUsers((list) => sortUsers([...(list ?? []).filter((x) => x.id !== u.id), u]));
            change.setError(null);
            setNotice(`Added ${u.display_name} as ${ROLE_LABELS[u.role]}.`);
          }}
        />
      )}
      {confirming && (
        <Confirm
          title={confirming.title}
          confirmLabel={confirming.confirmLabel}
          danger={confirming.danger}
          busy={change.busy}
          onNo={() => setConfirming(null)}
          onYes={() => void confirm()}
        >
          <p>{confirming.body}</p>
        </Confirm>
      )}
    </section>
  );
}

function ResetPassword({ user, busy, onSave, onCancel }: { user: User; busy: boolean; onSave: (password: string) => Promise<void>; onCancel: () => void }) {
  const [password, setPassword] = useState("");
  const [password2, setPassword2] = useState("");
  const [error, setError] = useState<AppError | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const bad = checkPassword(password, password2);
    setError(bad);
    if (!bad) await onSave(password);
  };

  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={`New password for ${user.display_name}`}>
      <Field label={`New password for ${user.display_name}`} hint={`At least ${MIN_PASSWORD} characters`}>
        <input data-testid="user-new-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" autoFocus />
      </Field>
      <Field label="Password again">
        <input data-testid="user-new-password2" type="password" value={password2} onChange={(e) => setPassword2(e.target.value)} autoComplete="new-password" />
      </Field>
      <div className="actions">
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" data-testid="user-reset-save" disabled={busy}>
          {busy ? <Spinner label="Saving…" /> : "Save password"}
        </button>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

function AddUser({ onAdded }: { onAdded: (u: User) => void }) {
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [password2, setPassword2] = useState("");
  // The least powerful role, so a slip gives too little access rather than too much.
  const [role, setRole] = useState<Role>("door");
  const { run, busy, error, setError } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const checked = newUserInput({ username, displayName, password, password2, role });
    if ("error" in checked) return setError(checked.error);
    const u = await run(() => api.createUser(checked.input));
    if (u) {
      setUsername("");
      setDisplayName("");
      setPassword("");
      setPassword2("");
      setRole("door");
      onAdded(u);
    }
  };

  return (
    <form className="form-grid add-user" onSubmit={(e) => void submit(e)} aria-labelledby="add-user-heading">
      <h3 className="wide" id="add-user-heading">
        Add a user
      </h3>
      <Field label="Username" hint="For signing in: letters, digits and . _ - @">
        <input data-testid="user-username" value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" spellCheck={false} />
      </Field>
      <Field label="Display name" hint="Shown on screen and in the records">
        <input data-testid="user-display-name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} autoComplete="off" />
      </Field>
      <Field label="Password" hint={`At least ${MIN_PASSWORD} characters`}>
        <input data-testid="user-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
      </Field>
      <Field label="Password again">
        <input data-testid="user-password2" type="password" value={password2} onChange={(e) => setPassword2(e.target.value)} autoComplete="new-password" />
      </Field>
      <Field label="Role" hint="What this person may do" wide>
        <select data-testid="user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_DESCRIPTIONS[r]}
            </option>
          ))}
        </select>
      </Field>
      <div className="actions wide">
        {busy && <Spinner label="Adding…" />}
        <button type="submit" className="primary" data-testid="user-add" disabled={busy}>
          Add user
        </button>
      </div>
      <div className="wide">
        <ErrorBox error={error} />
      </div>
    </form>
  );
}
