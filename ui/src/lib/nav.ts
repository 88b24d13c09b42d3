import type { Role } from "../bindings/Role";

export type ScreenName = "dashboard" | "events" | "boxoffice" | "orders" | "door" | "reports" | "settings";

export type NavItem = { screen: ScreenName; label: string };

const ALL: readonly NavItem[] = [
  { screen: "dashboard", label: "Dashboard" },
  { screen: "events", label: "Events" },
  { screen: "boxoffice", label: "Box office" },
  { screen: "orders", label: "Orders" },
  { screen: "door", label: "Door" },
  { screen: "reports", label: "Reports" },
  { screen: "settings", label: "Settings" },
];

const BY_ROLE: Record<Role, readonly ScreenName[]> = {
  owner: ["dashboard", "events", "boxoffice", "orders", "door", "reports", "settings"],
  manager: ["dashboard", "events", "boxoffice", "orders", "door", "reports", "settings"],
  // Reports for the box office: its own shift and printable tickets.
  box_office: ["boxoffice", "orders", "door", "reports"],
  door: ["door"],
};

/** The screens a role sees, in nav order; unknown roles see only the door. */
export function navFor(role: Role): NavItem[] {
  const allowed = BY_ROLE[role] ?? ["door"];
  return ALL.filter((i) => allowed.includes(i.screen));
}

export function homeFor(role: Role): ScreenName {
  return navFor(role)[0]?.screen ?? "door";
}

export function canSee(role: Role, screen: ScreenName): boolean {
  return navFor(role).some((i) => i.screen === screen);
}

/** Alt+1..9 picks the n-th visible screen. */
export function screenForShortcut(role: Role, key: string): ScreenName | null {
  if (!/^[1-9]$/.test(key)) return null;
  return navFor(role)[Number(key) - 1]?.screen ?? null;
}

export const ROLE_LABELS: Record<Role, string> = {
  owner: "Owner",
  manager: "Manager",
  box_office: "Box office",
  door: "Door",
};
