import { createContext, useContext } from "react";

import type { AppStatus } from "./bindings/AppStatus";
import type { SessionView } from "./bindings/SessionView";
import type { Settings } from "./bindings/Settings";

export type AppCtx = {
  status: AppStatus;
  session: SessionView;
  settings: Settings;
  setStatus: (s: AppStatus) => void;
  setSettings: (s: Settings) => void;
  logout: () => void;
};

export const AppContext = createContext<AppCtx | null>(null);

export function useApp(): AppCtx {
  const c = useContext(AppContext);
  if (!c) throw new Error("useApp outside the app");
  return c;
}
