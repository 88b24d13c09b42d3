// Every failure the UI shows: a stable code, a message, the field at fault, and what to do.
import type { ErrorBody } from "../bindings/ErrorBody";

export type AppError = { code: string; message: string; field: string | null };

const HINTS: Record<string, string> = {
  unauthenticated: "Check the username and password and try again.",
  locked_out: "Wait until then, or ask an owner to help.",
  forbidden: "Your role may not do this. Ask a manager or owner.",
  not_found: "It may have been removed. Reload the screen.",
  conflict: "Reload to see the current state, then try again.",
  stale: "",
  sold_out: "Lower the quantity or choose another ticket type.",
  busy: "",
  internal: "Try again. If it keeps happening, restart Admit and tell a supervisor.",
  no_backend: "Start Admit from its desktop app; this page cannot work on its own.",
  invalid_input: "Correct the value and try again.",
};

export function isAppError(e: unknown): e is AppError {
  return typeof e === "object" && e !== null && typeof (e as AppError).code === "string" && typeof (e as AppError).message === "string";
}

/** Whatever a rejected call produced, as an AppError. */
export function toAppError(e: unknown): AppError {
  // The app leaves `field` out when no single field is at fault; the UI always has the key.
  if (isAppError(e)) return { code: e.code, message: e.message, field: (e as ErrorBody).field ?? null };
  if (e instanceof Error) return { code: "internal", message: e.message, field: null };
  if (typeof e === "string") {
    // Tauri reports argument mismatches and panics as plain strings.
    return { code: "internal", message: e, field: null };
  }
  return { code: "internal", message: "Something went wrong.", field: null };
}

export function hintFor(e: AppError): string {
  return HINTS[e.code] ?? "";
}

/** "message. hint" for one-line display. */
export function describe(e: unknown): string {
  const a = toAppError(e);
  const msg = a.message.trim();
  const hint = hintFor(a);
  const first = msg ? msg.charAt(0).toUpperCase() + msg.slice(1) : "Something went wrong";
  const sentence = /[.!?]$/.test(first) ? first : first + ".";
  return hint ? `${sentence} ${hint}` : sentence;
}

/** A problem the UI found before asking the app; the message already says what to do. */
export function localError(message: string, field: string | null = null): AppError {
  return { code: "check_input", message, field };
}

/** Whether `error` is about `field` (or one of its items, e.g. "ticket_ids[0]"). */
export function isAbout(error: AppError | null, field: string): boolean {
  const f = error?.field;
  return !!f && (f === field || f.startsWith(field + "[") || f.startsWith(field + "."));
}

/** `error` unless it belongs next to one of `shownFields`: what is left for the general box. */
export function unplaced(error: AppError | null, shownFields: readonly string[]): AppError | null {
  return error && shownFields.some((f) => isAbout(error, f)) ? null : error;
}

/**
 * The error as said next to its own field: the app's messages start with the field's name
 * ("from_address: is not an e-mail address"), which the position already says.
 */
export function describeAtField(e: AppError): string {
  const f = e.field;
  const msg = f && e.message.startsWith(f + ": ") ? e.message.slice(f.length + 2) : e.message;
  return describe({ ...e, message: msg });
}
