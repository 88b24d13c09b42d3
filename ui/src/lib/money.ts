// Money in the UI is always integer minor units plus an ISO 4217 code, as on the Rust side.
import type { Money } from "../bindings/Money";

/** Currencies whose minor unit is not 2 digits (ISO 4217, same table as the Rust side). */
const EXPONENTS: Record<string, number> = {
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0,
  VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
};

/** Every currency the Rust side accepts. */
export const CURRENCIES: readonly string[] = (
  "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP " +
  "BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP " +
  "GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR " +
  "KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK " +
  "MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR " +
  "SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS " +
  "UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL"
).split(" ");

const KNOWN = new Set(CURRENCIES);

/** Largest amount accepted for one price (as on the Rust side). */
export const MAX_MINOR = 1_000_000_000_000;

export function isCurrency(code: string): boolean {
  return KNOWN.has(code.trim().toUpperCase());
}

/** Digits after the decimal point: 0 for JPY, 2 for EUR, 3 for KWD. */
export function currencyExponent(code: string): number {
  const c = code.trim().toUpperCase();
  if (!KNOWN.has(c)) throw new MoneyError(`Unknown currency "${code.trim()}". Use a code such as EUR.`);
  return EXPONENTS[c] ?? 2;
}

export class MoneyError extends Error {}

/**
 * Parse what a person typed ("12.50", "12,5", "1 200", "€ 8") into minor units of `currency`.
 * Throws MoneyError with a message that says what to type instead.
 */
export function parseAmount(input: string, currency: string): number {
  const exp = currencyExponent(currency);
  const s = input.trim().replace(/[\s\u00a0\u202f']/g, "").replace(/^[^\d.,-]+|[^\d.,]+$/g, "");
  if (s === "") throw new MoneyError("Enter an amount such as " + example(exp) + ".");
  if (s.startsWith("-")) throw new MoneyError("The amount must not be negative.");
  // One separator: it is the decimal point, whether "." or ",". Both: the last one is.
  const lastDot = s.lastIndexOf(".");
  const lastComma = s.lastIndexOf(",");
  const decimalAt = Math.max(lastDot, lastComma);
  let whole = s;
  let frac = "";
  if (decimalAt >= 0) {
    const sep = s.charAt(decimalAt);
    const other = sep === "." ? "," : ".";
    const occurrences = s.split(sep).length - 1;
    if (occurrences > 1 && !s.includes(other)) {
      // "1.200.000" — thousands separators only.
      const groups = s.split(sep);
      if (!groups.every((g, i) => (i === 0 ? /^\d{1,3}$/ : /^\d{3}$/).test(g))) {
        throw new MoneyError("Enter an amount such as " + example(exp) + ".");
      }
      whole = groups.join("");
    } else if (occurrences === 1 && !s.includes(other) && exp === 0 && s.length - decimalAt - 1 === 3) {
      // "1,200" or "1.200" in a currency without decimals: a thousands separator.
      whole = s.split(sep).join("");
    } else {
      whole = s.slice(0, decimalAt).split(other).join("");
      frac = s.slice(decimalAt + 1);
      if (frac === "") throw new MoneyError("Enter digits after the decimal point, e.g. " + example(exp) + ".");
    }
  }
  if (whole === "") whole = "0";
  if (!/^\d+$/.test(whole) || (frac !== "" && !/^\d+$/.test(frac))) {
    throw new MoneyError("Enter an amount such as " + example(exp) + ".");
  }
  if (frac.length > exp) {
    throw new MoneyError(
      exp === 0
        ? `${currency.toUpperCase()} has no decimal places; enter a whole number.`
        : `${currency.toUpperCase()} allows ${exp} decimal places.`,
    );
  }
  if (whole.replace(/^0+/, "").length > 15) throw new MoneyError("The amount is too large.");
  const minor = Number(whole) * 10 ** exp + (frac === "" ? 0 : Number(frac.padEnd(exp, "0")));
  if (!Number.isSafeInteger(minor) || minor > MAX_MINOR) throw new MoneyError("The amount is too large.");
  return minor;
}

function example(exp: number): string {
  return exp === 0 ? "1200" : "12." + "5".padEnd(exp, "0");
}

/** Minor units as a plain decimal string for inputs: 1250 EUR → "12.50", 1200 JPY → "1200". */
export function toDecimal(minor: number, currency: string): string {
  const exp = currencyExponent(currency);
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  if (exp === 0) return sign + String(abs);
  const p = 10 ** exp;
  return sign + String(Math.floor(abs / p)) + "." + String(abs % p).padStart(exp, "0");
}

/** For people: "€12.50", "¥1,200", "KWD 1.250" in the given locale (default: the machine's). */
export function formatMoney(m: Money, locale?: string): string {
  const exp = currencyExponent(m.currency);
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency: m.currency,
      minimumFractionDigits: exp,
      maximumFractionDigits: exp,
    }).format(m.minor / 10 ** exp);
  } catch {
    return `${toDecimal(m.minor, m.currency)} ${m.currency}`;
  }
}

/** Sum amounts per currency, keeping the order currencies first appear in. */
export function sumByCurrency(amounts: readonly Money[]): Money[] {
  const out: Money[] = [];
  for (const a of amounts) {
    const found = out.find((o) => o.currency === a.currency);
    if (found) found.minor += a.minor;
    else out.push({ minor: a.minor, currency: a.currency });
  }
  return out;
}

export function formatMoneyList(amounts: readonly Money[], locale?: string): string {
  if (amounts.length === 0) return "—";
  return amounts.map((a) => formatMoney(a, locale)).join(" + ");
}

export type ChangeResult =
  | { kind: "exact" }
  | { kind: "change"; minor: number }
  | { kind: "short"; minor: number };

/** Cash at the counter: what to give back, or how much is still missing. */
export function cashChange(totalMinor: number, givenMinor: number): ChangeResult {
  if (!Number.isSafeInteger(totalMinor) || !Number.isSafeInteger(givenMinor)) {
    throw new MoneyError("Amounts must be whole minor units.");
  }
  const diff = givenMinor - totalMinor;
  if (diff === 0) return { kind: "exact" };
  return diff > 0 ? { kind: "change", minor: diff } : { kind: "short", minor: -diff };
}
