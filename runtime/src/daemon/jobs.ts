import type { CompressionChoice } from "../compression/kinds.js";
import type { Destination } from "../destinations/destination.js";
import { IntegrityError } from "../errors.js";
import type { BackupManifest } from "../manifest/manifest.js";
import type { SyncMetadataOptions } from "../metadata/sync.js";
import { syncMetadata } from "../metadata/sync.js";
import { openArchiveSource } from "../pipeline/archive-source.js";
import { runBackupPipeline } from "../pipeline/backup.js";
import type { DecryptionKeys, EncryptionPlan } from "../pipeline/encryption.js";
import { backupFromMongo } from "../pipeline/mongo-backup.js";
import { verifyBackup, verifyChecksum } from "../pipeline/verify.js";
import type { RetentionPolicy } from "../retention/plan.js";
import { executePrune, planDestinationPrune } from "../retention/prune.js";
import type { Secret } from "../secret.js";
import { copyBackup } from "./copy.js";

/** Where each run's backup comes from. */
export type BackupSource =
  /** `oplog`: each backup is a base for point-in-time restores (`backup --oplog`), as `daemon --oplog-follow` needs. */
  | { readonly kind: "mongodb"; readonly uri: Secret; readonly include?: readonly string[]; readonly exclude?: readonly string[]; readonly oplog?: boolean }
  /** A mongodump archive file (or named pipe), read again on every run (tests, and hosts where mongodump runs separately). */
  | { readonly kind: "archive"; readonly path: string };

/** Everything a daemon run needs, resolved from the configuration before the first run. */
export interface RunPlan {
  readonly source: BackupSource;
  readonly destination: Destination;
  readonly compression: CompressionChoice;
  readonly encryption: EncryptionPlan;
  /** Keys for a full read-back verification; undefined → size and SHA-256 only (the backup host should not hold the identity). */
  readonly decryption?: DecryptionKeys;
  readonly retention: RetentionPolicy;
  /** The second (cloud) destination each new backup is copied to, if any. */
  readonly cloud?: Destination;
  /** Metadata sync settings when CLOUD_SYNC_ENABLED; `skip` says why it cannot run although enabled. */
  readonly metadata?: Omit<SyncMetadataOptions, "signal" | "log" | "watch" | "full" | "enabled"> | { readonly skip: string };
  readonly log: (line: string) => void;
}

/** What a stage reports on success; the daemon adds timing. */
export interface StageResult {
  readonly detail?: Record<string, unknown>;
  readonly note?: string;
}

/** Stage 1: one backup into the primary destination. Returns its manifest. */
export async function backupStage(plan: RunPlan, signal: AbortSignal): Promise<BackupManifest> {
  const common = { destination: plan.destination, compression: plan.compression, encryption: plan.encryption, signal };
  if (plan.source.kind === "mongodb") {
    const r = await backupFromMongo({ ...common, uri: plan.source.uri, include: plan.source.include, exclude: plan.source.exclude, oplog: plan.source.oplog });
    for (const w of r.warnings) plan.log(`warning: ${w}`);
    return r.manifest;
  }
  // A named pipe is fine too: mongodump --archive=<fifo> can feed the daemon without a temporary file.
  const archive = await openArchiveSource(plan.source.path, "--from-archive");
  const r = await runBackupPipeline({ ...common, source: archive.source, sourceInfo: archive.info });
  return r.manifest;
}

/** Whether `keys` can decrypt anything. */
function hasKeys(keys: DecryptionKeys | undefined): keys is DecryptionKeys {
  return Boolean(keys && (keys.ageIdentities.length > 0 || keys.passphrase || keys.openPgpPrivateKey));
}

/**
 * Stage 2: reads the new backup back. With decryption keys (or an unencrypted backup), the full
 * `verifyBackup`; without, size and SHA-256 against the manifest only (`verifyChecksum`), and says
 * so. Either way a verification record is stored, so prune's "newest verified" rule holds on a
 * host that has only the recipient. Throws when the backup does not verify.
 */
export async function verifyStage(plan: RunPlan, manifest: BackupManifest, signal: AbortSignal): Promise<StageResult> {
  if (hasKeys(plan.decryption) || manifest.encryption.scheme === "none") {
    const r = await verifyBackup(plan.destination, manifest.id, plan.decryption ?? { ageIdentities: [] }, { signal });
    if (!r.record.ok) {
      const bad = r.checks.filter((c) => !c.ok).map((c) => c.ns);
      throw new IntegrityError(`backup ${manifest.id} did not verify: ${bad.join(", ") || "see the verification record"}`);
    }
    return { detail: { level: "read", recordKey: r.recordKey } };
  }
  const r = await verifyChecksum(plan.destination, manifest.id, { signal });
  const note = "no identity configured on this host: checked the stored object's size and SHA-256 only (recorded as a checksum verification); run `cloudsync verify` where the identity is for a full check";
  return { note, detail: { level: "checksum", sha256: manifest.object.sha256, size: manifest.object.size, recordKey: r.recordKey } };
}

/** Stage 3: applies the retention policy to the primary destination. */
export async function pruneStage(plan: RunPlan): Promise<StageResult> {
  const planned = await planDestinationPrune(plan.destination, plan.retention);
  for (const p of [...planned.problems, ...planned.sliceProblems]) plan.log(`warning: ${p.key} is not a readable manifest and is left alone: ${p.message}`);
  if (planned.slices.blocked) plan.log(`warning: no oplog slice is pruned: ${planned.slices.blocked}`);
  const outcome = await executePrune(plan.destination, planned);
  return { detail: { kept: planned.plan.keep.length, deleted: outcome.deleted, slicesDeleted: outcome.slicesDeleted, orphansDeleted: outcome.orphansDeleted } };
}

/** Stage 4: copies the new backup to the cloud destination (object verified, manifest last). */
export async function cloudStage(plan: RunPlan, cloud: Destination, manifest: BackupManifest, signal: AbortSignal): Promise<StageResult> {
  const r = await copyBackup(plan.destination, cloud, manifest, { signal });
  return { detail: { destination: cloud.url, copied: r.copied, bytes: r.bytes, manifestKey: r.manifestKey } };
}

/** Stage 5: one metadata sync (only what changed). */
export async function metadataStage(plan: RunPlan, options: Omit<SyncMetadataOptions, "signal" | "log" | "watch" | "full" | "enabled">, signal: AbortSignal): Promise<StageResult> {
  const r = await syncMetadata({ ...options, enabled: true, signal, log: plan.log });
  return { detail: { pushed: r.pushed, deleted: r.deleted, unchanged: r.unchanged, invalid: r.invalid } };
}
