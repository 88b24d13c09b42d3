export type ThemeChoice = "light" | "dark" | "system";

let mediaListener: ((e: MediaQueryListEvent) => void) | null = null;

function systemDark(): boolean {
  return typeof window !== "undefined" && !!window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
}

export function resolveTheme(choice: ThemeChoice, prefersDark: boolean): "light" | "dark" {
  if (choice === "light" || choice === "dark") return choice;
  return prefersDark ? "dark" : "light";
}

/** Set data-theme on <html>; "system" follows the OS and keeps following it. */
export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  root.dataset.theme = resolveTheme(choice, systemDark());
  root.dataset.themeChoice = choice;
  const mq = window.matchMedia?.("(prefers-color-scheme: dark)");
  if (mq && mediaListener) mq.removeEventListener("change", mediaListener);
  mediaListener = null;
  if (mq && choice === "system") {
    mediaListener = (e) => {
      root.dataset.theme = e.matches ? "dark" : "light";
    };
    mq.addEventListener("change", mediaListener);
  }
}
