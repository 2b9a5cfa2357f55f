/**
 * Retention of oplog slices (issue 15 §4): which slices no kept base backup can use any more.
 * Pure: no I/O, no clock (the caller passes `now`). The rule is restic's: only what is provably
 * garbage goes, so a slice stays unless every kept base is shown not to need it.
 */
import { compareTimes, formatTime, type OplogTime } from "../manifest/manifest.js";
import { baseEndOf, chainOf, restorableWindows, type RestorableWindow, type Segment, type SliceManifest } from "../manifest/slices.js";
import type { BackupEntry } from "../manifest/store.js";

/** What the slice planner looks at. */
export interface SlicePruneInput {
  /** Every readable slice manifest, in oplog order (as `listSlices` returns them). */
  readonly slices: readonly SliceManifest[];
  /** The base backups the backup plan keeps (those without an oplog window need no slice). */
  readonly keptBases: readonly BackupEntry[];
  /** Keys of slice manifests that exist but cannot be read. */
  readonly unreadableSlices?: readonly string[];
  /** Keys of backup manifests that exist but cannot be read. */
  readonly unreadableBases?: readonly string[];
  /** Slices stored (manifest `completedAt`) less than this long before `now` are kept (milliseconds). */
  readonly grace: number;
  readonly now: Date;
}

/** A slice the plan removes, with the times it holds. */
export interface SliceRemoval {
  readonly id: string;
  readonly first: OplogTime;
  readonly last: OplogTime;
  readonly reason: string;
}

/**
 * The outcome of `planSlicePrune`. Every input slice appears once, in `keep` or `remove`, both in
 * oplog order, so `remove` is oldest first: the order to delete in.
 */
export interface SlicePrunePlan {
  readonly keep: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
  readonly remove: readonly SliceRemoval[];
  /** The kept bases' restorable windows once the removals are done (newest base end first). */
  readonly windows: readonly RestorableWindow[];
  /** Set when nothing may be removed at all, saying why (an unreadable manifest). */
  readonly blocked?: string;
}

/**
 * Decides which oplog slices to remove. A slice is removable only when it is provably useless to
 * every kept base:
 * - it lies in the chain segment that holds the oplog end of a kept base, and all its entries are
 *   at or before the end of the oldest such base (a restore from a base replays only what follows
 *   the base's end); or
 * - its segment holds no kept base's oplog end and ends before the oplog end of every kept base
 *   (a restore uses only the segment its base's end is in).
 * The first rule applies to the newest segment too (a base being made now ends after every kept
 * base, so it needs none of those slices), the second never does (the follower is extending that
 * segment, and a base being made now will start in it). And whatever those say, a slice is kept
 * when it is the newest slice (the follower continues from it), when it was stored less than `grace`
 * ago, when any slice or backup manifest cannot be read (where the unreadable one belongs is
 * unknown, so nothing is provably garbage; the plan says so in `blocked`), and when an older slice
 * is kept: removals are always the oldest slices, so what stays is still one unbroken chain from
 * its first slice on, and `oplog verify` finds no break that pruning made. No kept base's window
 * loses a slice: a restore to any time in it uses the same base and replays the same slices as
 * before (where a chain break made two segments overlap, it may use the other one, which also
 * reaches that time).
 */
export function planSlicePrune(input: SlicePruneInput): SlicePrunePlan {
  const { segments } = chainOf(input.slices);
  const windows = restorableWindows(input.keptBases, segments);
  const blocked = blockedBy(input);
  const keep: Array<{ id: string; reason: string }> = [];
  const remove: SliceRemoval[] = [];
  const ends = input.keptBases.map((b) => baseEndOf(b.manifest)).filter((e): e is OplogTime => e !== undefined);
  let keptBefore: string | undefined;
  segments.forEach((segment, index) => {
    for (const s of segment.slices) {
      const reason = blocked ?? keepReason(s, segment, index === segments.length - 1, windows, ends, input) ?? keptBefore;
      if (reason) {
        keep.push({ id: s.id, reason });
        keptBefore ??= `an older slice (${s.id}) is kept, and removing this one would leave a break in the chain after it`;
        continue;
      }
      remove.push({ id: s.id, first: s.oplog.first, last: s.oplog.last, reason: removeReason(segment, windows, ends) });
    }
  });
  const removed = new Set(remove.map((r) => r.id));
  const after = chainOf(input.slices.filter((s) => !removed.has(s.id))).segments;
  return { keep, remove, windows: restorableWindows(input.keptBases, after), ...(blocked ? { blocked } : {}) };
}

function blockedBy(input: SlicePruneInput): string | undefined {
  const slices = input.unreadableSlices ?? [];
  if (slices.length) return `slice manifest ${slices.join(", ")} cannot be read: where its entries sit in the chain is unknown, so no slice is removed until it is repaired or removed by hand`;
  const bases = input.unreadableBases ?? [];
  if (bases.length) return `backup manifest ${bases.join(", ")} cannot be read: its oplog window is unknown, so no slice is removed until it is repaired or removed by hand`;
  return undefined;
}

/** The windows whose base's oplog end lies in `segment`, oldest end first. */
function windowsIn(segment: Segment, windows: readonly RestorableWindow[]): RestorableWindow[] {
  return windows.filter((w) => w.segment === segment).sort((a, b) => compareTimes(a.from, b.from));
}

/** Why `s` must stay, or undefined when nothing keeps it. */
function keepReason(s: SliceManifest, segment: Segment, newest: boolean, windows: readonly RestorableWindow[], ends: readonly OplogTime[], input: SlicePruneInput): string | undefined {
  // The follower resumes after the newest slice and names it as the next one's previous.
  if (newest && s === segment.slices.at(-1)) return "the newest slice (the follower continues from it)";
  const stored = Date.parse(s.completedAt);
  if (!(input.now.getTime() - stored >= input.grace)) return "stored less than the grace period ago";
  const oldest = windowsIn(segment, windows)[0];
  if (oldest) return compareTimes(s.oplog.last, oldest.from) <= 0 ? undefined : `in the restorable window of base ${oldest.base} (${formatTime(oldest.from)} to ${formatTime(oldest.to)})`;
  // No kept base starts here yet, but a base backup made now will: its oplog end comes after
  // every stored entry, in the segment the follower is extending.
  if (newest) return "in the newest chain segment, which no kept base starts in yet (the follower extends it, and a base backup made now starts in it)";
  const later = ends.find((e) => compareTimes(segment.to, e) >= 0);
  return later ? `no kept base starts in its chain segment, but the segment ends at ${formatTime(segment.to)}, at or after the oplog end ${formatTime(later)} of a kept base` : undefined;
}

function removeReason(segment: Segment, windows: readonly RestorableWindow[], ends: readonly OplogTime[]): string {
  const oldest = windowsIn(segment, windows)[0];
  if (oldest) return `every entry is at or before ${formatTime(oldest.from)}, the oplog end of base ${oldest.base}, the oldest kept base in its chain segment`;
  const what = ends.length ? "ends before the oplog end of every kept base, and no kept base's window starts in it" : "is used by no kept base (none has an oplog window)";
  return `its chain segment (${formatTime(segment.from)} to ${formatTime(segment.to)}) ${what}`;
}
