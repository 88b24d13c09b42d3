// Staff accounts: who may manage them, what each role means in plain words, and the checks
// made before asking the app, so a typo costs no round trip and no audit entry.
import type { NewUserInput } from "../bindings/NewUserInput";
import type { Role } from "../bindings/Role";
import type { UpdateUserInput } from "../bindings/UpdateUserInput";
import type { User } from "../bindings/User";
import { localError, type AppError } from "./errors";

/** Most powerful first, so the picker reads as a ladder. */
export const ROLES: readonly Role[] = ["owner", "manager", "box_office", "door"];

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  owner: "Owner — everything, including managing users",
  manager: "Manager — events, sales, orders, reports and settings; not users",
  box_office: "Box office — sells tickets, finds and cancels orders, scans tickets",
  door: "Door — scans tickets only",
};

/** Mirrors the app's rule; the app enforces it either way. */
export function canManageUsers(role: Role): boolean {
  return role === "owner";
}

export function canViewUsers(role: Role): boolean {
  return role === "owner" || role === "manager";
}

/** The outgoing mail server: owners and managers (the app's ConfigureMail). */
export function canConfigureMail(role: Role): boolean {
  return role === "owner" || role === "manager";
}

export const MIN_PASSWORD = 8;

/** The same limits the app applies, worded as what to do. */
export function checkPassword(password: string, again: string): AppError | null {
  if ([...password].length < MIN_PASSWORD) return localError(`Use a password of at least ${MIN_PASSWORD} characters.`, "password");
  if (password !== again) return localError("The two passwords differ; type them again.", "password");
  return null;
}

export type NewUserForm = { username: string; displayName: string; password: string; password2: string; role: Role };

/** The input to send, or what to fix first. */
export function newUserInput(f: NewUserForm): { input: NewUserInput } | { error: AppError } {
  const username = f.username.trim();
  const displayName = f.displayName.trim();
  if ([...username].length < 3 || [...username].length > 64) return { error: localError("Use a username of 3 to 64 characters.", "username") };
  if (!/^[\p{L}\p{N}._@-]+$/u.test(username)) return { error: localError("A username may contain only letters, digits and . _ - @", "username") };
  if (!displayName) return { error: localError("Enter the name people see.", "display_name") };
  const bad = checkPassword(f.password, f.password2);
  if (bad) return { error: bad };
  return { input: { username, display_name: displayName, password: f.password, role: f.role } };
}

/** An update that changes only what is given; the version guards against a concurrent edit. */
export function userUpdate(user: User, change: { role?: Role; active?: boolean; password?: string; displayName?: string }): UpdateUserInput {
  return {
    expected_version: user.meta.version,
    display_name: change.displayName ?? null,
    role: change.role ?? null,
    active: change.active ?? null,
    password: change.password ?? null,
  };
}

/** Owners first, then by name; inactive accounts sink so the working staff stay on top. */
export function sortUsers(users: readonly User[]): User[] {
  return [...users].sort(
    (a, b) =>
      Number(b.active) - Number(a.active) ||
      ROLES.indexOf(a.role) - ROLES.indexOf(b.role) ||
      a.display_name.localeCompare(b.display_name) ||
      a.username.localeCompare(b.username),
  );
}
