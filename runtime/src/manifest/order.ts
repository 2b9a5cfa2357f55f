/**
 * The one ordering of backups (issue 9 §4: `list` and `latest` once sorted by id, prune by
 * `createdAt`, and two backups made in the same second came out in opposite orders). Everything
 * that says "newest" (list, latest, prune, the estimate) orders through here.
 */

/** What places a backup in time: when it started, and its id to break ties. */
export interface BackupTime {
  readonly id: string;
  /** When the backup started: the manifest's `createdAt` (ISO 8601) or a Date. */
  readonly createdAt: string | Date;
}

/**
 * Orders two backups newest first: the later `createdAt` (to the millisecond) first; equal times by
 * id, descending, so the order is total and the same on every run. A time that does not parse
 * sorts as the oldest (a manifest with one is refused by `parseManifest` anyway).
 */
export function compareNewestFirst(a: BackupTime, b: BackupTime): number {
  const ta = timeOf(a.createdAt);
  const tb = timeOf(b.createdAt);
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** A copy of `items` sorted newest first by `compareNewestFirst`; `placed` gives each item's time. */
export function newestFirst<T extends BackupTime>(items: readonly T[]): T[];
export function newestFirst<T>(items: readonly T[], placed: (item: T) => BackupTime): T[];
export function newestFirst<T>(items: readonly T[], placed: (item: T) => BackupTime = (item) => item as BackupTime): T[] {
  return [...items].sort((a, b) => compareNewestFirst(placed(a), placed(b)));
}

function timeOf(t: string | Date): number {
  const ms = typeof t === "string" ? Date.parse(t) : t.getTime();
  return Number.isNaN(ms) ? -Infinity : ms;
}
