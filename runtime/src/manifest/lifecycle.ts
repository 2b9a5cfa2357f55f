import type { Destination, ObjectInfo } from "../destinations/destination.js";
import { NotFoundError } from "../errors.js";
import { DATA_PREFIX, MANIFEST_PREFIX, VERIFICATION_PREFIX, manifestKeyFor, type BackupManifest } from "./manifest.js";
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

/** An object that belongs to no complete backup. */
export interface Orphan {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
  /** Why it is an orphan, for the printed plan. */
  readonly reason: string;
}

/**
 * Objects under data/ and verifications/ that no manifest references, older than `minAgeMs`
 * (an object whose id has a manifest object, even an unreadable one, is kept: that is a damaged
 * backup, reported by prune, not garbage)
 * (default one day: a backup still being written has its object but not yet its manifest, and
 * must never be taken for an orphan).
 */
export async function findOrphans(dest: Destination, now: Date, minAgeMs = 86_400_000): Promise<Orphan[]> {
  const ids = new Set<string>();
  const objects = new Set<string>();
  for await (const m of dest.list(MANIFEST_PREFIX)) {
    const id = m.key.slice(MANIFEST_PREFIX.length).replace(/\.json$/, "");
    ids.add(id);
  }
  // Object keys come from the manifests themselves, so renamed layouts stay correct.
  for (const e of await listBackups(dest)) objects.add(e.manifest.object.key);
  const old = (o: ObjectInfo): boolean => now.getTime() - o.lastModified.getTime() >= minAgeMs;
  const orphans: Orphan[] = [];
  for await (const o of dest.list(DATA_PREFIX)) {
    // A manifest that exists but cannot be read makes its object a damaged backup, never an orphan:
    // only an object with no manifest at all is provably an interrupted write.
    const id = o.key.slice(DATA_PREFIX.length).split(".")[0] ?? "";
    if (!objects.has(o.key) && !ids.has(id) && old(o)) orphans.push({ ...o, reason: "data object without a manifest (an interrupted or failed backup)" });
  }
  for await (const o of dest.list(VERIFICATION_PREFIX)) {
    const id = o.key.slice(VERIFICATION_PREFIX.length).split("/")[0] ?? "";
    if (!ids.has(id) && old(o)) orphans.push({ ...o, reason: `verification record of backup ${id}, which no longer exists` });
  }
  return orphans;
}

/** Deletes orphans found by `findOrphans`; a key already gone is not an error. */
export async function deleteOrphans(dest: Destination, orphans: readonly Orphan[]): Promise<void> {
  for (const o of orphans) {
    try {
      await dest.delete(o.key);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
}
