/**
 * Retention planning: which backups a policy keeps and which it removes. Pure: no I/O, no clock
 * (the caller passes `now`), so the plan can be printed before anything is deleted and tested
 * exhaustively.
 */
import { formatDuration } from "../config/duration.js";
import { ConfigError } from "../errors.js";
import { newestFirst } from "../manifest/order.js";

/** One backup as retention sees it. `complete` means its manifest exists (an object without one is not a backup). */
export interface RetentionCandidate {
  readonly id: string;
  readonly createdAt: Date;
  /** When the backup last counted as verified (see `countsAsVerified`); absent if it does not. */
  readonly verifiedAt?: Date;
  /** What that verification checked ("checksum", "read", "restore-drill"), shown in the plan. */
  readonly verifiedLevel?: string;
  readonly complete: boolean;
}

/**
 * A retention policy, restic-like. Each `keep*` count keeps the newest backup of each of the last
 * N buckets (UTC calendar days, ISO-8601 weeks, UTC months) that contain a backup. `keepWithin`
 * (milliseconds) keeps everything younger than `now - keepWithin`. `orphanGrace` (milliseconds,
 * default one day) is how long an incomplete backup is left alone, since it may still be uploading.
 */
export interface RetentionPolicy {
  readonly keepLast?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepWithin?: number;
  readonly orphanGrace?: number;
}

/** The outcome of `planPrune`: every input id appears exactly once, in `keep` or in `remove`, newest first (`newestFirst`). */
export interface PrunePlan {
  readonly keep: Array<{ id: string; reasons: string[] }>;
  readonly remove: Array<{ id: string; reason: string }>;
}

const DAY = 86_400_000;

/** Default grace for incomplete backups (objects without a manifest): one day, per issue 3 §4. */
export const DEFAULT_ORPHAN_GRACE_MS = DAY;

/**
 * Decides which backups to keep under `policy` at time `now`. Rules:
 * - only complete backups count toward keep-last/daily/weekly/monthly;
 * - the newest complete backup is always kept ("newest complete (always kept)" when no rule keeps it);
 * - the newest complete, verified backup is always kept ("newest verified", with the level when
 *   given: a checksum-only verification counts), so a flood of new unverified backups cannot evict
 *   the last good one;
 * - nothing created after `now - keepWithin` is removed (complete or not);
 * - incomplete backups are removed once older than `orphanGrace`, otherwise kept ("in progress").
 * A backup kept by several rules lists every reason. Throws ConfigError (field named like the
 * CLI flag) for a negative or non-integer count, and when no keep rule at all is given, since an
 * empty policy would remove every backup.
 */
export function planPrune(backups: readonly RetentionCandidate[], policy: RetentionPolicy, now: Date): PrunePlan {
  validatePolicy(policy);
  const sorted = newestFirst(backups);
  const reasons = new Map<string, string[]>(sorted.map((b) => [b.id, []]));
  const add = (id: string, reason: string): void => {
    reasons.get(id)?.push(reason);
  };

  const complete = sorted.filter((b) => b.complete);
  complete.slice(0, policy.keepLast ?? 0).forEach((b, i) => add(b.id, `last ${i + 1}/${policy.keepLast}`));
  keepBuckets(complete, policy.keepDaily, "daily", dayKey, add);
  keepBuckets(complete, policy.keepWeekly, "weekly", isoWeekKey, add);
  keepBuckets(complete, policy.keepMonthly, "monthly", monthKey, add);

  const newestVerified = complete.find((b) => b.verifiedAt !== undefined);
  if (newestVerified) add(newestVerified.id, newestVerified.verifiedLevel ? `newest verified (${newestVerified.verifiedLevel})` : "newest verified");

  if (policy.keepWithin !== undefined) {
    const cutoff = now.getTime() - policy.keepWithin;
    for (const b of sorted) if (b.createdAt.getTime() > cutoff) add(b.id, `within ${formatDuration(policy.keepWithin)}`);
  }

  const grace = policy.orphanGrace ?? DEFAULT_ORPHAN_GRACE_MS;
  for (const b of sorted) {
    if (!b.complete && now.getTime() - b.createdAt.getTime() < grace) add(b.id, "incomplete, may still be in progress");
  }

  // Whatever the rules say, a prune never leaves a destination without its newest complete backup
  // (issue 9: default rules with no verification records once deleted every backup). Named only
  // when no rule kept it, so the plan says why it survived.
  const newestComplete = complete[0];
  if (newestComplete && reasons.get(newestComplete.id)?.length === 0) add(newestComplete.id, "newest complete (always kept)");

  const plan: PrunePlan = { keep: [], remove: [] };
  for (const b of sorted) {
    const r = reasons.get(b.id) ?? [];
    if (r.length > 0) plan.keep.push({ id: b.id, reasons: r });
    else plan.remove.push({ id: b.id, reason: b.complete ? "not kept by any rule" : "incomplete (no manifest) and older than the grace period" });
  }
  return plan;
}

function keepBuckets(
  ordered: readonly RetentionCandidate[],
  count: number | undefined,
  label: string,
  keyOf: (d: Date) => string,
  add: (id: string, reason: string) => void,
): void {
  if (!count) return;
  let seen = 0;
  let last: string | undefined;
  for (const b of ordered) {
    const key = keyOf(b.createdAt);
    if (key === last) continue;
    last = key;
    seen++;
    add(b.id, `${label} ${key}`);
    if (seen >= count) return;
  }
}

function validatePolicy(policy: RetentionPolicy): void {
  const counts: Array<[keyof RetentionPolicy, string]> = [
    ["keepLast", "keep-last"],
    ["keepDaily", "keep-daily"],
    ["keepWeekly", "keep-weekly"],
    ["keepMonthly", "keep-monthly"],
  ];
  for (const [key, flag] of counts) {
    const v = policy[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new ConfigError(flag, `must be a whole number ≥ 0, got ${v}`);
  }
  for (const [key, flag] of [["keepWithin", "keep-within"], ["orphanGrace", "orphan-grace"]] as const) {
    const v = policy[key];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new ConfigError(flag, `must be a duration ≥ 0, got ${v}`);
  }
  const any = counts.some(([key]) => (policy[key] ?? 0) > 0) || (policy.keepWithin ?? 0) > 0;
  if (!any) throw new ConfigError("keep-last", "no keep rule given (keep-last, keep-daily, keep-weekly, keep-monthly or keep-within); refusing to plan the removal of every backup");
}

/** UTC calendar day, `2026-11-24`. */
export function dayKey(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** UTC month, `2026-11`. */
export function monthKey(d: Date): string {
  return d.toISOString().slice(0, 7);
}

/** ISO-8601 week of the UTC date, `2026-W48`; the ISO year can differ from the calendar year near New Year. */
export function isoWeekKey(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  // The Thursday of the same ISO week decides the week-year (weeks start on Monday).
  const dow = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - dow);
  const year = t.getUTCFullYear();
  const week = Math.ceil(((t.getTime() - Date.UTC(year, 0, 1)) / DAY + 1) / 7);
  return `${year}-W${String(week).padStart(2, "0")}`;
}

// The duration grammar lives in config/duration.ts; re-exported for the library's `retention` namespace.
export { formatDuration, parseDuration } from "../config/duration.js";
