/**
 * Pruning a destination by policy (issue 3 §4): list complete backups, oplog slices and orphans,
 * plan with the pure `planPrune` and `planSlicePrune`, and only then — unless it is a dry run —
 * delete. The plan is returned in full so the caller can print it before acting
 * (`planDestinationPrune`, then `executePrune`).
 */
import type { Destination } from "../destinations/destination.js";
import { deleteBackup, deleteOrphans, deleteSlice, findOrphans, type Orphan } from "../manifest/deletion.js";
import type { BackupManifest } from "../manifest/manifest.js";
import { listSlices, type SliceManifest } from "../manifest/slices.js";
import { listBackups } from "../manifest/store.js";
import { DEFAULT_ORPHAN_GRACE_MS, planPrune, type PrunePlan, type RetentionPolicy } from "./plan.js";
import { planSlicePrune, type SlicePrunePlan } from "./slices.js";

/** A plan for one destination: which backups and oplog slices stay, which go, and which orphans are cleaned. */
export interface DestinationPrunePlan {
  readonly destination: string;
  readonly plan: PrunePlan;
  /** Manifests by backup id, for deleting and for printing sizes and dates. */
  readonly manifests: ReadonlyMap<string, BackupManifest>;
  readonly orphans: readonly Orphan[];
  /** Manifests that could not be read: never deleted, reported. */
  readonly problems: ReadonlyArray<{ key: string; message: string }>;
  /** Which oplog slices stay and which go (`planSlicePrune`), and the windows that stay restorable. */
  readonly slices: SlicePrunePlan;
  /** Slice manifests by id, for deleting. */
  readonly sliceManifests: ReadonlyMap<string, SliceManifest>;
  /** Slice manifests that could not be read: never deleted, reported; while there is one, no slice is removed. */
  readonly sliceProblems: ReadonlyArray<{ key: string; message: string }>;
}

/**
 * Lists the destination and plans under `policy` at `now`. Only complete backups (with a
 * manifest) are candidates; a backup counts as verified when its newest verification record is a
 * success at any level, checksum-only included (see `countsAsVerified`). Orphans are objects no
 * manifest references and temporary files of interrupted writes, older than `policy.orphanGrace`
 * (default one day, so an upload in progress is never taken for one). Oplog slices are planned
 * against the backups the plan keeps (see `planSlicePrune`), with the same grace. Throws
 * ConfigError for a bad policy (see planPrune) and the destination's errors.
 */
export async function planDestinationPrune(dest: Destination, policy: RetentionPolicy, now: Date = new Date()): Promise<DestinationPrunePlan> {
  const problems: Array<{ key: string; message: string }> = [];
  const entries = await listBackups(dest, { withVerifications: true, onProblem: (key, err) => problems.push({ key, message: err.message }) });
  const manifests = new Map(entries.map((e) => [e.manifest.id, e.manifest]));
  const plan = planPrune(
    entries.map((e) => ({
      id: e.manifest.id,
      createdAt: new Date(e.manifest.createdAt),
      complete: true,
      ...(e.lastVerified ? { verifiedAt: new Date(e.lastVerified.verifiedAt), verifiedLevel: e.lastVerified.level } : {}),
    })),
    policy,
    now,
  );
  const grace = policy.orphanGrace ?? DEFAULT_ORPHAN_GRACE_MS;
  const sliceProblems: Array<{ key: string; message: string }> = [];
  const slices = await listSlices(dest, (key, err) => sliceProblems.push({ key, message: err instanceof Error ? err.message : String(err) }));
  const kept = new Set(plan.keep.map((k) => k.id));
  const slicePlan = planSlicePrune({
    slices,
    keptBases: entries.filter((e) => kept.has(e.manifest.id)),
    unreadableSlices: sliceProblems.map((p) => p.key),
    unreadableBases: problems.map((p) => p.key),
    grace,
    now,
  });
  const orphans = await findOrphans(dest, now, grace, { slices });
  return { destination: dest.url, plan, manifests, orphans, problems, slices: slicePlan, sliceManifests: new Map(slices.map((s) => [s.id, s])), sliceProblems };
}

/** What `executePrune` deleted. */
export interface PruneOutcome {
  readonly deleted: string[];
  /** Ids of the oplog slices deleted, oldest first. */
  readonly slicesDeleted: string[];
  readonly orphansDeleted: string[];
}

/**
 * Deletes what `planned` says to remove: backups, then oplog slices, each oldest first and each
 * manifest before its data (so an interruption leaves orphans for the next run rather than listed
 * backups or slices without data), then the orphans. Idempotent: running it again after a failure
 * finishes the job. Throws the destination's errors; what was deleted before the error stays
 * deleted.
 */
export async function executePrune(dest: Destination, planned: DestinationPrunePlan): Promise<PruneOutcome> {
  const deleted: string[] = [];
  for (const r of [...planned.plan.remove].reverse()) {
    const manifest = planned.manifests.get(r.id);
    if (!manifest) continue;
    await deleteBackup(dest, manifest);
    deleted.push(r.id);
  }
  const slicesDeleted: string[] = [];
  for (const r of planned.slices.remove) {
    const slice = planned.sliceManifests.get(r.id);
    if (!slice) continue;
    await deleteSlice(dest, slice);
    slicesDeleted.push(r.id);
  }
  await deleteOrphans(dest, planned.orphans);
  return { deleted, slicesDeleted, orphansDeleted: planned.orphans.map((o) => o.key) };
}
