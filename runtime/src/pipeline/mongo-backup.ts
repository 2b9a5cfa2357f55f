import type { CompressionChoice } from "../compression/kinds.js";
import { writeArchive } from "../archive/writer.js";
import type { Destination } from "../destinations/destination.js";
import type { ManifestConsistency } from "../manifest/manifest.js";
import { createMongoDumpSource, type DumpProgress } from "../mongo/dump.js";
import type { Secret } from "../secret.js";
import { runBackupPipeline, type BackupResult } from "./backup.js";
import type { EncryptionPlan } from "./encryption.js";

/** Input of `backupFromMongo`. */
export interface MongoBackupOptions {
  readonly uri: Secret;
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly includeAuth?: boolean;
  readonly oplog?: boolean;
  /** Collections read and interleaved at once (default 4). */
  readonly concurrency?: number;
  readonly destination: Destination;
  readonly compression: CompressionChoice;
  readonly encryption: EncryptionPlan;
  readonly signal?: AbortSignal;
  /** Archive bytes produced so far (for rate and ETA). */
  readonly onBytes?: (archiveBytes: number) => void;
  /** Per-namespace progress from the dump. */
  readonly onNamespace?: (p: DumpProgress) => void;
  /** Called once the source is open, with the total size estimate in bytes when the server gave one. */
  readonly onEstimate?: (bytes: number | undefined) => void;
}

/** A backup of a live MongoDB plus what the user should know about it. */
export interface MongoBackupResult extends BackupResult {
  readonly warnings: readonly string[];
}

/**
 * Backs up a live MongoDB: raw BSON from the driver → archive writer (collections interleaved) →
 * the backup pipeline (verify, compress, encrypt, hash, store, manifest last). The manifest's
 * consistency is what the dump achieved (snapshot / oplog-window / fuzzy, with reasons), asked for
 * only after every collection was read. A dropped connection fails the whole backup with a
 * RemoteError naming the namespace, and no manifest is written.
 */
export async function backupFromMongo(opts: MongoBackupOptions): Promise<MongoBackupResult> {
  const source = await createMongoDumpSource({
    uri: opts.uri,
    include: opts.include,
    exclude: opts.exclude,
    includeAuth: opts.includeAuth,
    oplog: opts.oplog,
    concurrency: opts.concurrency,
    signal: opts.signal,
    onProgress: opts.onNamespace,
  });
  try {
    let estimate: number | undefined = 0;
    for (const e of source.estimates.values()) estimate = e.bytes === undefined || estimate === undefined ? undefined : estimate + e.bytes;
    opts.onEstimate?.(source.estimates.size ? estimate : undefined);
    const archive = writeArchive({ header: source.header, namespaces: source.namespaces, prelude: source.prelude }, { concurrency: opts.concurrency ?? 4 });
    const result = await runBackupPipeline({
      source: archive,
      sourceInfo: { kind: "mongodb", description: source.description },
      consistency: () => {
        const c = source.consistency();
        return { mode: c.mode, detail: c.detail as unknown as Record<string, unknown> } satisfies ManifestConsistency;
      },
      destination: opts.destination,
      compression: opts.compression,
      encryption: opts.encryption,
      signal: opts.signal,
      onProgress: opts.onBytes,
    });
    return { ...result, warnings: source.warnings };
  } finally {
    await source.close();
  }
}
