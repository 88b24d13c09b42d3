import { describe, expect, it } from "vitest";

import type { User } from "../bindings/User";
import { canConfigureMail, canManageUsers, canViewUsers, checkPassword, newUserInput, sortUsers, userUpdate } from "./users";

const meta = (version: number) => ({ created_at: "2026-05-01T10:00:00Z", updated_at: "2026-05-01T10:00:00Z", version });
const user = (over: Partial<User>): User => ({ id: "u", username: "x", display_name: "X", role: "door", active: true, meta: meta(1), ...over });

describe("users", () => {
  it("lets only owners manage and owners and managers look", () => {
    expect(canManageUsers("owner")).toBe(true);
    expect(canManageUsers("manager")).toBe(false);
    expect(canViewUsers("manager")).toBe(true);
    expect(canViewUsers("box_office")).toBe(false);
    expect(canViewUsers("door")).toBe(false);
  });

  it("lets owners and managers set up outgoing mail, as the app's roles do", () => {
    expect(canConfigureMail("owner")).toBe(true);
    expect(canConfigureMail("manager")).toBe(true);
    expect(canConfigureMail("box_office")).toBe(false);
    expect(canConfigureMail("door")).toBe(false);
  });

  it("checks the password length in characters, then that both match", () => {
    expect(checkPassword("short", "short")?.message).toContain("at least 8");
    expect(checkPassword("ääääääää", "ääääääää")).toBeNull();
    expect(checkPassword("correct horse", "correct hose")?.message).toContain("differ");
  });

  it("trims names and refuses usernames the app would refuse", () => {
    const ok = newUserInput({ username: " bea ", displayName: " Bea Berg ", password: "12345678", password2: "12345678", role: "manager" });
    expect(ok).toEqual({ input: { username: "bea", display_name: "Bea Berg", password: "12345678", role: "manager" } });
    const base = { displayName: "B", password: "12345678", password2: "12345678", role: "door" as const };
    expect("error" in newUserInput({ ...base, username: "be" })).toBe(true);
    expect("error" in newUserInput({ ...base, username: "bea berg" })).toBe(true);
    expect("error" in newUserInput({ ...base, username: "bea.berg@x" })).toBe(false);
    expect("error" in newUserInput({ ...base, username: "bea", displayName: "  " })).toBe(true);
  });

  it("sends only the changed field, with the version seen", () => {
    expect(userUpdate(user({ meta: meta(4) }), { active: false })).toEqual({ expected_version: 4, display_name: null, role: null, active: false, password: null });
    expect(userUpdate(user({}), { role: "manager" })).toMatchObject({ role: "manager", active: null, password: null });
  });

  it("lists active staff by role, then the deactivated", () => {
    const sorted = sortUsers([
      user({ id: "1", display_name: "Zed", role: "door" }),
      user({ id: "2", display_name: "Old", role: "owner", active: false }),
      user({ id: "3", display_name: "Ann", role: "owner" }),
      user({ id: "4", display_name: "Bea", role: "door" }),
    ]);
    expect(sorted.map((u) => u.id)).toEqual(["3", "4", "1", "2"]);
  });
});
