import { useEffect, useState } from "react";

import { useApp } from "../context";
import { Kbd } from "../components/common";
import { SyncIndicator } from "../components/SyncStatus";
import { canSee, homeFor, navFor, ROLE_LABELS, screenForShortcut, type ScreenName } from "../lib/nav";
import { BoxOffice } from "./BoxOffice";
import { Dashboard } from "./Dashboard";
import { Door } from "./Door";
import { Events } from "./Events";
import { Orders } from "./Orders";
import { Reports } from "./Reports";
import { SettingsScreen } from "./Settings";

export function Shell() {
  const { session, logout } = useApp();
  const role = session.role;
  const items = navFor(role);
  const [screen, setScreen] = useState<ScreenName>(() => homeFor(role));

  useEffect(() => {
    if (!canSee(role, screen)) setScreen(homeFor(role));
  }, [role, screen]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const key = e.code.startsWith("Digit") ? e.code.slice(5) : e.key;
      const target = screenForShortcut(role, key);
      if (target) {
        e.preventDefault();
        setScreen(target);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [role]);

  return (
    <div className="shell">
      <header className="topbar no-print">
        <span className="brand small">Admit</span>
        <nav className="nav" aria-label="Screens">
          {items.map((item, i) => (
            <button
              key={item.screen}
              type="button"
              data-testid={`nav-${item.screen}`}
              className={item.screen === screen ? "nav-item active" : "nav-item"}
              aria-current={item.screen === screen ? "page" : undefined}
              title={`Alt+${i + 1}`}
              onClick={() => setScreen(item.screen)}
            >
              {item.label}
              <Kbd>{i + 1}</Kbd>
            </button>
          ))}
        </nav>
        <div className="topbar-right">
          <SyncIndicator />
          <span className="user" title={session.username}>
            {session.display_name} <span className="role">{ROLE_LABELS[role] ?? role}</span>
          </span>
          <button type="button" data-testid="logout" onClick={logout}>
            Sign out
          </button>
        </div>
      </header>
      <main className="main">
        {screen === "dashboard" && <Dashboard />}
        {screen === "events" && <Events />}
        {screen === "boxoffice" && <BoxOffice />}
        {screen === "orders" && <Orders />}
        {screen === "door" && <Door />}
        {screen === "reports" && <Reports />}
        {screen === "settings" && <SettingsScreen />}
      </main>
    </div>
  );
}
