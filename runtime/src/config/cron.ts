import { ConfigError } from "../errors.js";

/**
 * A parsed five-field cron expression (minute hour day-of-month month day-of-week), evaluated in
 * UTC. Each set holds the values the field allows; `domRestricted`/`dowRestricted` record whether
 * the field was written without a leading `*`, which decides the day rule (see `matchesDay`).
 */
export interface CronSchedule {
  readonly source: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (a written 7 is stored as 0). */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names accepted for values, index + `nameBase` being the value. */
  readonly names?: readonly string[];
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  // 7 is Sunday too, as in Vixie cron; folded to 0 after parsing.
  { name: "day-of-week", min: 0, max: 7, names: DAY_NAMES, nameBase: 0 },
];

/**
 * Parses a cron expression: five space-separated fields, each `*`, a value, a range `a-b`, a
 * step `*∕n`, `a-b∕n` or `a∕n` (from a to the field's maximum), or a comma list of those; months
 * and weekdays also by three-letter English name (case-insensitive); `@hourly`, `@daily`,
 * `@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`. Throws ConfigError naming `field`
 * (default `schedule`, the config key) with the offending part for anything else, and for an
 * expression that never fires (e.g. `0 0 30 2 *`).
 */
export function parseCron(expr: string, field = "schedule"): CronSchedule {
  const text = expr.trim();
  const expanded = MACROS[text.toLowerCase()] ?? text;
  const parts = expanded.split(/\s+/).filter((p) => p.length > 0);
  if (parts.length !== 5) throw new ConfigError(field, `"${expr}" is not a cron expression: expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const sets = parts.map((p, i) => parseField(p, FIELDS[i] as FieldSpec, expr, field));
  const dow = sets[4] as Set<number>;
  if (dow.delete(7)) dow.add(0);
  const schedule: CronSchedule = {
    source: text,
    minutes: sets[0] as Set<number>,
    hours: sets[1] as Set<number>,
    daysOfMonth: sets[2] as Set<number>,
    months: sets[3] as Set<number>,
    daysOfWeek: dow,
    domRestricted: !(parts[2] as string).startsWith("*"),
    dowRestricted: !(parts[4] as string).startsWith("*"),
  };
  // 28 years is one full cycle of weekdays over leap years, so anything that can fire does so within it.
  if (search(schedule, new Date(Date.UTC(2000, 0, 1)), 28) === undefined) throw new ConfigError(field, `"${expr}" never fires (no such date)`);
  return schedule;
}

function parseField(text: string, spec: FieldSpec, expr: string, field: string): Set<number> {
  const out = new Set<number>();
  const bad = (why: string): never => {
    throw new ConfigError(field, `"${expr}": ${spec.name} field "${text}" ${why}`);
  };
  for (const item of text.split(",")) {
    if (item === "") bad("has an empty list item");
    const [rangePart, stepPart, extra] = item.split("/");
    if (extra !== undefined) bad("has more than one /");
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) < 1) bad(`has an invalid step "${stepPart}"`);
      step = Number(stepPart);
    }
    let lo: number;
    let hi: number;
    if (rangePart === "*") {
      lo = spec.min;
      hi = spec.max;
    } else {
      const bounds = (rangePart as string).split("-");
      if (bounds.length > 2) bad(`has an invalid range "${rangePart}"`);
      lo = valueOf(bounds[0] as string, spec, bad);
      hi = bounds.length === 2 ? valueOf(bounds[1] as string, spec, bad) : stepPart !== undefined ? spec.max : lo;
      if (lo > hi) bad(`has a backwards range "${rangePart}"`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function valueOf(token: string, spec: FieldSpec, bad: (why: string) => never): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (n < spec.min || n > spec.max) bad(`has ${n} outside ${spec.min}-${spec.max}`);
    return n;
  }
  const idx = spec.names?.indexOf(token.toLowerCase()) ?? -1;
  if (idx < 0) bad(`has an unknown value "${token}"`);
  return idx + (spec.nameBase ?? 0);
}

/**
 * The usual cron day rule: when both day-of-month and day-of-week are restricted (neither starts
 * with `*`), a day matches if EITHER matches; otherwise only the restricted one (or any day) counts.
 */
function matchesDay(s: CronSchedule, d: Date): boolean {
  const dom = s.daysOfMonth.has(d.getUTCDate());
  const dow = s.daysOfWeek.has(d.getUTCDay());
  if (s.domRestricted && s.dowRestricted) return dom || dow;
  if (s.domRestricted) return dom;
  if (s.dowRestricted) return dow;
  return true;
}

/** First matching minute strictly after `after`, searching at most `years` ahead; undefined if none. */
function search(s: CronSchedule, after: Date, years: number): Date | undefined {
  const t = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
  const limit = Date.UTC(after.getUTCFullYear() + years, after.getUTCMonth(), after.getUTCDate());
  // Each step jumps to the start of the next month, day, hour or minute that could match, so the
  // loop runs a few thousand times at most even for sparse schedules.
  while (t.getTime() <= limit) {
    if (!s.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!matchesDay(s, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!s.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
    } else if (!s.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
    } else {
      return t;
    }
  }
  return undefined;
}

/**
 * The first time strictly after `after` (to the minute, seconds zero) at which the schedule
 * fires, in UTC. Pure. `schedule` may be an expression (parsed with `parseCron`, which throws
 * ConfigError) or an already parsed schedule.
 */
export function nextRun(schedule: string | CronSchedule, after: Date): Date {
  const s = typeof schedule === "string" ? parseCron(schedule) : schedule;
  const next = search(s, after, 28);
  // parseCron proved the schedule fires within any 28-year window.
  if (next === undefined) throw new ConfigError("schedule", `"${s.source}" never fires (no such date)`);
  return next;
}

/**
 * The longest gap in seconds between consecutive runs among the next `runs` runs after `from` (at
 * least 2): what "one schedule interval" means for health checks. For `0 3 * * 1-5` it is the
 * weekend's three days, not one day, so a healthy Monday is not reported overdue.
 */
export function scheduleIntervalSeconds(schedule: string | CronSchedule, from: Date, runs = 16): number {
  const s = typeof schedule === "string" ? parseCron(schedule) : schedule;
  let prev = nextRun(s, from);
  let longest = 0;
  for (let i = 1; i < Math.max(2, runs); i++) {
    const next = nextRun(s, prev);
    longest = Math.max(longest, (next.getTime() - prev.getTime()) / 1000);
    prev = next;
  }
  return longest;
}
