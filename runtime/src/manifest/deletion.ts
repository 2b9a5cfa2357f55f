// Removing backups from a destination: deleting one whole backup or oplog slice (manifest first),
// and finding and deleting orphans, the objects no readable manifest references (crash leftovers).
import type { Destination, ObjectInfo } from "../destinations/destination.js";
import { NotFoundError } from "../errors.js";
import { DATA_PREFIX, MANIFEST_PREFIX, SLICE_DATA_PREFIX, SLICE_MANIFEST_PREFIX, VERIFICATION_PREFIX, idOfKey, manifestKeyFor, sliceManifestKeyFor, type BackupManifest } from "./manifest.js";
import { listSlices, sliceIdOfKey, type SliceManifest } from "./slices.js";
import { listBackups } from "./store.js";

/**
 * Deletes one backup: the manifest first, so the backup stops being listed at once, then its data
 * object and verification records. If a later step fails, what is left is an orphan that
 * `findOrphans` reports and the next prune removes. Idempotent.
 */
export async function deleteBackup(dest: Destination, manifest: BackupManifest): Promise<void> {
  await dest.delete(manifestKeyFor(manifest.id));
  await dest.delete(manifest.object.key);
  for await (const v of dest.list(`${VERIFICATION_PREFIX}${manifest.id}/`)) await dest.delete(v.key);
}

/**
 * Deletes one oplog slice: its manifest first, so it leaves the chain at once, then its data
 * object. Interrupted in between, the data object is an orphan (`findOrphans`), never a listed
 * slice without data. Idempotent (as `Destination.delete` is).
 */
export async function deleteSlice(dest: Destination, slice: SliceManifest): Promise<void> {
  await dest.delete(sliceManifestKeyFor(slice.id));
  await dest.delete(slice.object.key);
}

/** An object that belongs to no complete backup or slice. */
export interface Orphan {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
  /** Why it is an orphan, for the printed plan. */
  readonly reason: string;
  /** A temporary file of an interrupted write (`Destination.temporaryFiles`), not an object. */
  readonly temporary?: true;
}

/**
 * Objects under data/, oplog/data/ and verifications/ that no manifest references, and temporary files of
 * interrupted writes (where the destination has them), older than `minAgeMs` (default one day: a
 * backup still being written has its object or temporary file but not yet its manifest, and must
 * never be taken for an orphan). An object whose id has a manifest object, even an unreadable one,
 * is kept: that is a damaged backup, reported by prune, not garbage. The same holds for a slice's
 * data object and the slice manifests under oplog/manifests/. `known.slices`, when the caller has
 * just listed them (`listSlices`), saves reading every slice manifest again.
 */
export async function findOrphans(dest: Destination, now: Date, minAgeMs = 86_400_000, known: { slices?: readonly SliceManifest[] } = {}): Promise<Orphan[]> {
  const ids = new Set<string>();
  const objects = new Set<string>();
  for await (const m of dest.list(MANIFEST_PREFIX)) {
    ids.add(idOfKey(m.key));
  }
  // Object keys come from the manifests themselves, so renamed layouts stay correct.
  for (const e of await listBackups(dest)) objects.add(e.manifest.object.key);
  const old = (o: ObjectInfo): boolean => now.getTime() - o.lastModified.getTime() >= minAgeMs;
  const orphans: Orphan[] = [];
  for await (const o of dest.list(DATA_PREFIX)) {
    // A manifest that exists but cannot be read makes its object a damaged backup, never an orphan:
    // only an object with no manifest at all is provably an interrupted write.
    if (!objects.has(o.key) && !ids.has(idOfKey(o.key)) && old(o)) orphans.push({ ...o, reason: "data object without a manifest (an interrupted or failed backup)" });
  }
  const sliceIds = new Set<string>();
  for await (const m of dest.list(SLICE_MANIFEST_PREFIX)) sliceIds.add(sliceIdOfKey(m.key));
  const sliceObjects = new Set((known.slices ?? (await listSlices(dest))).map((s) => s.object.key));
  for await (const o of dest.list(SLICE_DATA_PREFIX)) {
    if (!sliceObjects.has(o.key) && !sliceIds.has(sliceIdOfKey(o.key)) && old(o)) orphans.push({ ...o, reason: "oplog slice data object without a manifest (an interrupted capture, or a prune interrupted after the slice's manifest)" });
  }
  for await (const o of dest.list(VERIFICATION_PREFIX)) {
    const id = idOfKey(o.key);
    if (!ids.has(id) && old(o)) orphans.push({ ...o, reason: `verification record of backup ${id}, which no longer exists` });
  }
  // The process writing it was killed (a finished or failed write removes its temporary file), and
  // a live write keeps touching it, so one untouched for the grace period is garbage.
  for await (const t of dest.temporaryFiles?.list() ?? []) {
    if (old(t)) orphans.push({ ...t, reason: "temporary file of an interrupted write (the process was killed mid-backup)", temporary: true });
  }
  return orphans;
}

/** Deletes orphans found by `findOrphans`; a key already gone is not an error. */
export async function deleteOrphans(dest: Destination, orphans: readonly Orphan[]): Promise<void> {
  for (const o of orphans) {
    try {
      if (o.temporary) await dest.temporaryFiles?.remove(o.key);
      else await dest.delete(o.key);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
}
