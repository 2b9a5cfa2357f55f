// Oplog slices in a destination (issue 15): listing them, the chains they form, and the times a
// point-in-time restore can reach from each base backup. Pure over manifests except `listSlices`.
import { text } from "node:stream/consumers";
import type { Destination } from "../destinations/destination.js";
import { NotFoundError } from "../errors.js";
import { OPLOG_PREFIX, SLICE_MANIFEST_PREFIX, compareTimes, formatTime, idOfKey, parseManifest, type BackupManifest, type OplogTime } from "./manifest.js";
import type { BackupEntry } from "./store.js";

/** A stored oplog slice: a manifest with `kind: "oplog-slice"` (its `oplog` is always set). */
export type SliceManifest = BackupManifest & { readonly kind: "oplog-slice"; readonly oplog: NonNullable<BackupManifest["oplog"]> };

/** An oplog time as ISO 8601, to the second (the ordinal within the second is not a time). */
export function isoOf(ts: OplogTime): string {
  return new Date(ts.t * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/**
 * Every oplog slice in `dest` (under `oplog/manifests/`), in oplog order (by `first`, then id).
 * A manifest that cannot be parsed, or is not a slice's, is reported through `onProblem` and left
 * out: it never joins a chain.
 */
export async function listSlices(dest: Destination, onProblem?: (key: string, err: unknown) => void): Promise<SliceManifest[]> {
  const out: SliceManifest[] = [];
  for await (const info of dest.list(SLICE_MANIFEST_PREFIX)) {
    if (!info.key.endsWith(".json")) continue;
    try {
      const m = parseManifest(await text(await dest.get(info.key)), info.key);
      if (m.kind !== "oplog-slice") throw new Error(`manifest ${info.key}: not an oplog slice`);
      out.push(m as SliceManifest);
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      onProblem?.(info.key, err);
    }
  }
  return out.sort((a, b) => compareTimes(a.oplog.first, b.oplog.first) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * A run of slices with every entry in it: each slice continues from the previous one's `last`
 * and names it as `previous`. Entries after `from` (exclusive) up to `to` (inclusive) are all in
 * the segment's slices.
 */
export interface Segment {
  readonly from: OplogTime;
  readonly to: OplogTime;
  readonly slices: readonly SliceManifest[];
}

/** Lost entries: after `from`, before `to` (the oplog had rolled past `from` when it was read). */
export interface Gap {
  readonly from: OplogTime;
  readonly to: OplogTime;
  /** The slice that recorded it. */
  readonly slice: string;
}

/** A break in a chain found by `chainOf`: what is wrong, named by slice ids. */
export interface ChainProblem {
  readonly slice: string;
  readonly problem: string;
}

/**
 * Splits slices (in oplog order) into contiguous segments. A slice starts a new segment when it
 * records a gap (its segment then starts just before the gap's `to`, the oldest entry kept), or
 * when it does not continue the previous one (its `after` is not the previous `last`, or its
 * `previous` names another slice); the latter is also a problem.
 */
export function chainOf(slices: readonly SliceManifest[]): { segments: Segment[]; gaps: Gap[]; problems: ChainProblem[] } {
  const segments: Array<{ from: OplogTime; to: OplogTime; slices: SliceManifest[] }> = [];
  const gaps: Gap[] = [];
  const problems: ChainProblem[] = [];
  let prev: SliceManifest | undefined;
  for (const s of slices) {
    const o = s.oplog;
    const current = segments.at(-1);
    if (o.gap) {
      gaps.push({ from: o.gap.from, to: o.gap.to, slice: s.id });
      segments.push({ from: justBefore(o.gap.to), to: o.last, slices: [s] });
    } else if (current && prev && compareTimes(o.after, prev.oplog.last) === 0 && o.previous === prev.id) {
      current.to = o.last;
      current.slices.push(s);
    } else {
      if (prev) {
        const why = compareTimes(o.after, prev.oplog.last) !== 0 ? `continues from ${formatTime(o.after)}, but the slice before it (${prev.id}) ends at ${formatTime(prev.oplog.last)}` : `names ${o.previous ?? "no slice"} as its previous slice, not ${prev.id}`;
        problems.push({ slice: s.id, problem: why });
      }
      segments.push({ from: o.after, to: o.last, slices: [s] });
    }
    prev = s;
  }
  return { segments, gaps, problems };
}

function justBefore(ts: OplogTime): OplogTime {
  return ts.i > 0 ? { t: ts.t, i: ts.i - 1 } : { t: ts.t - 1, i: 0xffffffff };
}

/** The oplog end of a base backup made with `--oplog`, or undefined when it has none. */
export function baseEndOf(m: BackupManifest): OplogTime | undefined {
  // parseManifest does not require `consistency`, so a manifest without one has no oplog end.
  const d = (m.consistency as BackupManifest["consistency"] | undefined)?.detail as { oplogIncluded?: unknown; oplogWindow?: { end?: OplogTime } } | undefined;
  if (d?.oplogIncluded !== true || !d.oplogWindow?.end) return undefined;
  const end = d.oplogWindow.end;
  return Number.isInteger(end.t) && Number.isInteger(end.i) ? end : undefined;
}

/**
 * The times a base backup restores to: from its oplog end (its data is only consistent from
 * there) to the newest captured entry of the segment that holds that end; just its end when no
 * segment does.
 */
export interface RestorableWindow {
  readonly base: string;
  readonly from: OplogTime;
  readonly to: OplogTime;
  /** The slices replayed after the base's own oplog, in order (within `segment`). */
  readonly segment?: Segment;
}

/** The window of every base backup with an oplog end, newest base end first. */
export function restorableWindows(bases: readonly BackupEntry[], segments: readonly Segment[]): RestorableWindow[] {
  const out: RestorableWindow[] = [];
  for (const b of bases) {
    const end = baseEndOf(b.manifest);
    if (!end) continue;
    const segment = segments.find((s) => compareTimes(s.from, end) <= 0 && compareTimes(end, s.to) <= 0);
    out.push({ base: b.manifest.id, from: end, to: segment ? segment.to : end, ...(segment ? { segment } : {}) });
  }
  return out.sort((a, b) => compareTimes(b.from, a.from));
}

/**
 * The slice id a key under `oplog/` belongs to (`oplog/data/<id>.oplog.archive.gz.age` and
 * `oplog/manifests/<id>.json` → `<id>`); not checked against the id shape (see `isBackupId`).
 */
export function sliceIdOfKey(key: string): string {
  return idOfKey(key.startsWith(OPLOG_PREFIX) ? key.slice(OPLOG_PREFIX.length) : key);
}

/** The slices of `window`'s segment a restore from its base replays: those ending after the base's end. */
export function windowSlices(window: RestorableWindow): SliceManifest[] {
  return (window.segment?.slices ?? []).filter((s) => compareTimes(s.oplog.last, window.from) > 0);
}
