// What the door shows for each verdict: colour, a headline readable from a distance, and the
// reason in plain words.
import type { Direction } from "../bindings/Direction";
import type { Verdict } from "../bindings/Verdict";
import type { RedeemAnswer } from "../bindings/RedeemAnswer";

export type Tone = "ok" | "warn" | "bad";

export type VerdictView = {
  tone: Tone;
  title: string;
  /** The reason in plain words, and what to do. */
  words: string;
  /** Only what to do; shown under the app's own explanation, which gives just the reason. */
  advice: string;
  sound: "ok" | "warn" | "bad";
};

export const ALL_VERDICTS: readonly Verdict[] = [
  "ok",
  "invalid",
  "revoked",
  "canceled",
  "blocked",
  "invalid_time",
  "product",
  "unpaid",
  "rules",
  "already_redeemed",
];

/** Each verdict's look; `words` here is the reason alone, what to do comes from ADVICE. */
const VIEWS: Record<Verdict, Omit<VerdictView, "sound" | "advice">> = {
  ok: { tone: "ok", title: "Admit", words: "Valid ticket." },
  invalid: {
    tone: "bad",
    title: "Not valid",
    words: "Not a ticket for this event: unknown, damaged or forged code.",
  },
  revoked: {
    tone: "bad",
    title: "Replaced code",
    words: "This code was replaced or withdrawn.",
  },
  canceled: {
    tone: "bad",
    title: "Cancelled",
    words: "The ticket or its order was cancelled or refunded.",
  },
  blocked: {
    tone: "bad",
    title: "Blocked",
    words: "This ticket is blocked.",
  },
  invalid_time: {
    tone: "bad",
    title: "Wrong time",
    words: "The ticket is not valid at this time.",
  },
  product: {
    tone: "bad",
    title: "Wrong entrance",
    words: "This ticket type is not admitted on this check-in list.",
  },
  unpaid: {
    tone: "bad",
    title: "Not paid",
    words: "The order is not paid yet.",
  },
  rules: {
    tone: "bad",
    title: "Not allowed now",
    words: "The entry rules refuse it (gate, admission time or number of entries).",
  },
  already_redeemed: {
    tone: "warn",
    title: "Already used",
    words: "This ticket was already used to enter.",
  },
};

/** The part of each verdict's words that says what to do, for verdicts that need an action. */
const ADVICE: Partial<Record<Verdict, string>> = {
  invalid: "Ask for the ticket again or look up the order.",
  revoked: "Ask for the newest ticket of the order.",
  canceled: "Send the guest to the box office.",
  blocked: "Call a supervisor.",
  unpaid: "Send the guest to the box office.",
};

export function verdictView(verdict: Verdict, direction: Direction = "entry"): VerdictView {
  const v = VIEWS[verdict];
  if (!v) return { tone: "bad", title: "Unknown answer", words: `The app answered "${String(verdict)}". Call a supervisor.`, advice: "Call a supervisor.", sound: "bad" };
  const title = verdict === "ok" && direction === "exit" ? "Exit OK" : v.title;
  const advice = ADVICE[verdict] ?? "";
  return { ...v, title, words: advice ? `${v.words} ${advice}` : v.words, advice, sound: v.tone };
}

/** The reason line: the app's own explanation when it gave one, else the plain words. */
export function verdictReason(answer: Pick<RedeemAnswer, "verdict" | "explanation" | "direction">): string {
  const own = answer.explanation.trim();
  const view = verdictView(answer.verdict, answer.direction);
  if (!own) return view.words;
  return own.charAt(0).toUpperCase() + own.slice(1);
}

/** What to do, when the reason line is the app's explanation (the plain words carry it otherwise). */
export function verdictAdvice(answer: Pick<RedeemAnswer, "verdict" | "explanation" | "direction">): string {
  if (!answer.explanation.trim()) return "";
  return verdictView(answer.verdict, answer.direction).advice;
}
