/**
 * The one duration grammar of cloudsync, for every flag, environment variable and config key that
 * holds a length of time (`--keep-within`/`CLOUDSYNC_KEEP_WITHIN`/`keepWithin`, `--jitter`/
 * `CLOUDSYNC_JITTER`, `standby --interval`). Documented once, in the README's "Durations".
 *
 *     duration = "0" | term { term }      terms go from the largest unit to the smallest, each unit once
 *     term     = digits unit               a whole number: 90s, 10m, 1h30m, 7d, 2w, 6mo, 1y, 1y6mo
 *     unit     = "y" | "mo" | "w" | "d" | "h" | "m" | "s"
 *
 * `m` is minutes everywhere; months are `mo`. Calendar units have a fixed length: `d` = 24 h,
 * `w` = 7 d, `mo` = 30 d, `y` = 365 d (retention compares a backup's age with the duration, so
 * "6mo" keeps 180 days of backups whatever the month lengths). Lower case only, no spaces inside,
 * no fractions; a bare number other than `0` is refused (which unit would it be?). `0` and `0d`
 * are the same value and are accepted exactly where zero is.
 */
import { ConfigError } from "../errors.js";

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The units, largest first, in milliseconds. */
const UNITS: ReadonlyArray<readonly [unit: string, ms: number]> = [
  ["y", 365 * DAY],
  ["mo", 30 * DAY],
  ["w", 7 * DAY],
  ["d", DAY],
  ["h", HOUR],
  ["m", MINUTE],
  ["s", SECOND],
];

/** Nothing is longer than 1000 years: the result stays a safe integer and a valid date offset. */
const LONGEST = 1000 * 365 * DAY;

/** Where a user reads the grammar; every duration flag's --help and every duration error points here. */
export const DURATION_DOC = "see Durations in the README";

const ACCEPTED = `use whole numbers with the units s, m (minutes), h, d, w, mo (months, 30 days) or y (years, 365 days), summed largest first, e.g. 90s, 10m, 1h30m, 7d, 6mo (${DURATION_DOC})`;

/** What a setting accepts beyond the grammar. Bounds are in milliseconds and inclusive. */
export interface DurationRules {
  /** Whether `0` (or `0s`, `0d`, …) is accepted. Default false. */
  readonly allowZero?: boolean;
  /** Smallest accepted value other than zero. Default 1 s. */
  readonly min?: number;
  /** Largest accepted value. Default (and at most) 1000 years. */
  readonly max?: number;
  /**
   * Refuses the `m` unit, saying that months are `mo`: for settings where `m` used to mean months,
   * so an old value cannot silently become minutes.
   */
  readonly refuseMinutes?: boolean;
}

/**
 * Rules of a retention duration (`keep-within`): 0 (no time rule) or at least an hour, and never
 * in minutes. `m` meant months there before it meant minutes everywhere; refusing it (rather than
 * reading `30m` as 30 minutes) keeps an old `CLOUDSYNC_KEEP_WITHIN=30m` from shrinking 900 days of
 * protection to 30 minutes, which would let prune delete backups the user meant to keep.
 */
export const RETENTION: DurationRules = { allowZero: true, min: HOUR, refuseMinutes: true };

/** The outcome of `checkDuration`: the value, or what is wrong with the text (without the setting's name). */
export type DurationCheck = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly problem: string };

/**
 * Checks `text` against the grammar and `rules`. Pure; never throws. Surrounding white space is
 * ignored. For callers that collect every problem before failing (config loading); others use
 * `parseDuration`.
 */
export function checkDuration(text: string, rules: DurationRules = {}): DurationCheck {
  const s = text.trim();
  const terms = parseTerms(s);
  if (typeof terms === "string") return { ok: false, problem: `invalid duration "${text}"${terms ? ` (${terms})` : ""}; ${ACCEPTED}` };
  if (rules.refuseMinutes && terms.some(([, unit]) => unit === "m")) {
    const asMonths = terms.map(([n, unit]) => `${n}${unit === "m" ? "mo" : unit}`).join("");
    return { ok: false, problem: `"${s}" is refused: \`m\` is minutes; months are \`mo\` (${asMonths}); a retention time is given in h, d, w, mo or y, never in minutes (m meant months before)` };
  }
  const ms = terms.reduce((sum, [n, unit]) => sum + n * unitMs(unit), 0);
  const max = Math.min(rules.max ?? LONGEST, LONGEST);
  const min = rules.min ?? SECOND;
  if (ms === 0) return rules.allowZero ? { ok: true, ms } : { ok: false, problem: `must be at least ${formatDuration(min)}, got "${s}"` };
  if (ms < min) return { ok: false, problem: `must be ${rules.allowZero ? "0 or " : ""}at least ${formatDuration(min)}, got "${s}"` };
  if (!(ms <= max)) return { ok: false, problem: `must be at most ${formatDuration(max)}, got "${s}"` };
  return { ok: true, ms };
}

/**
 * Parses a duration into milliseconds. Throws ConfigError naming `name` (the flag, variable or
 * config key as the user wrote it) with the bad text and the accepted units when `text` is not in
 * the grammar or breaks `rules`.
 */
export function parseDuration(text: string, options: DurationRules & { readonly name: string }): number {
  const r = checkDuration(text, options);
  if (!r.ok) throw new ConfigError(options.name, r.problem);
  return r.ms;
}

/**
 * Formats milliseconds in the grammar's own notation with days as the largest unit, so that what
 * `mo` and `y` stand for shows (`30d`, `1d12h`, `1m15s`, `0s`). Rounds to whole seconds. `parts`
 * (default all) limits the output to that many units from the largest, dropping the rest (an ETA:
 * 3725 s with 2 parts is `1h2m`). Negative values get a leading `-`; a non-finite value is `?`.
 */
export function formatDuration(ms: number, options: { readonly parts?: number } = {}): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms < 0) return `-${formatDuration(-ms, options)}`;
  let rest = Math.round(ms / SECOND) * SECOND;
  const shown = UNITS.filter(([, size]) => size <= DAY);
  const first = shown.findIndex(([, size]) => rest >= size);
  if (first < 0) return "0s";
  let out = "";
  for (const [unit, size] of shown.slice(first, first + (options.parts ?? shown.length))) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) out += `${n}${unit}`;
  }
  return out;
}

/** The terms of `s` as [number, unit], or why it is not in the grammar ("" when nothing more specific can be said). */
function parseTerms(s: string): Array<[number, string]> | string {
  if (s === "") return "empty";
  if (/^\d+$/.test(s)) return Number(s) === 0 ? [[0, "s"]] : "a number needs a unit";
  const terms: Array<[number, string]> = [];
  const term = /(\d+)(mo|[ywdhms])/y;
  let rank = -1;
  while (term.lastIndex < s.length) {
    const m = term.exec(s);
    if (!m) return "";
    const r = UNITS.findIndex(([unit]) => unit === m[2]);
    if (r <= rank) return "units go largest first, each once";
    rank = r;
    terms.push([Number(m[1]), m[2] as string]);
  }
  return terms;
}

function unitMs(unit: string): number {
  return (UNITS.find(([u]) => u === unit) as readonly [string, number])[1];
}
