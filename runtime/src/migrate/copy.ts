/**
 * The copy half of `cloudsync migrate` (issue 6 §5): one server's collections into another through
 * the archive pipeline — live dump → archive writer → archive reader → restore — as one stream,
 * with no file in between, so what travels is exactly what a backup would hold and every
 * namespace's CRC and count are checked on the way in.
 */
import { readArchive } from "../archive/reader.js";
import { writeArchive } from "../archive/writer.js";
import { createMongoDumpSource, type DumpProgress } from "../mongo/dump.js";
import { restoreToMongo, type RestoreProgress, type RestoreReport } from "../mongo/restore.js";
import { InterruptedError } from "../errors.js";
import { redactUri, type Secret } from "../secret.js";

/** Options of `copyDatabase`. */
export interface CopyOptions {
  readonly from: Secret;
  readonly to: Secret;
  /** Namespace patterns to copy (`db.coll`, `*` wildcards); none = every database but local/config. */
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /** Drop each target collection before copying into it. Default false (documents already there stay). */
  readonly drop?: boolean;
  /** Collections read at once. Default 2. */
  readonly concurrency?: number;
  readonly serverSelectionTimeoutMS?: number;
  /**
   * Stops the copy: the dump's reads at once, the writes at the next batch (the batch in flight
   * still lands). `copyDatabase` then rejects with an InterruptedError saying how many documents of
   * each collection had been copied (they are kept).
   */
  readonly signal?: AbortSignal;
  readonly onDump?: (p: DumpProgress) => void;
  readonly onRestore?: (p: RestoreProgress) => void;
}

/** One namespace the copy would read, from the source's catalog (`dryRun`). */
export interface PlannedNamespace {
  readonly ns: string;
  readonly type: string;
  /** The catalog's estimate at planning time; absent when the server could not say. */
  readonly estimatedDocuments?: number;
}

/** What `planCopy` found. */
export interface CopyPlan {
  readonly from: string;
  readonly to: string;
  readonly namespaces: PlannedNamespace[];
  readonly warnings: readonly string[];
}

/** What `copyDatabase` did. */
export interface CopyReport extends CopyPlan {
  readonly restore: RestoreReport;
}

/**
 * Lists what `copyDatabase` with the same options would copy, reading no documents and writing
 * nothing. Throws ConfigError for bad patterns, RemoteError when the source cannot be reached.
 */
export async function planCopy(opts: CopyOptions): Promise<CopyPlan> {
  const source = await createMongoDumpSource(dumpOptions(opts));
  try {
    return {
      from: redactUri(opts.from.reveal()),
      to: redactUri(opts.to.reveal()),
      namespaces: source.prelude.map((m) => {
        const ns = `${m.db}.${m.collection}`;
        const data = m.type === "timeseries" ? `${m.db}.system.buckets.${m.collection}` : ns;
        const est = source.estimates.get(data);
        return { ns, type: m.type || "collection", ...(est ? { estimatedDocuments: est.documents } : {}) };
      }),
      warnings: source.warnings,
    };
  } finally {
    await source.close();
  }
}

/**
 * Copies the included collections from `from` to `to`, streaming (memory does not grow with the
 * data). Collections keep their names. Throws as `restoreToMongo` does: IntegrityError when a
 * namespace's CRC does not match, RemoteError naming the server and namespace when either side
 * fails; a count mismatch (duplicate `_id`s already in the target) is reported in
 * `restore.namespaces[].ok`, not thrown, and the interrupted error described at `signal`.
 */
export async function copyDatabase(opts: CopyOptions): Promise<CopyReport> {
  const source = await createMongoDumpSource(dumpOptions(opts));
  const archive = writeArchive(source, { concurrency: opts.concurrency ?? 2 });
  const written = new Map<string, RestoreProgress>();
  try {
    const restore = await restoreToMongo(readArchive(archive), {
      uri: opts.to,
      ...(opts.drop ? { drop: true } : {}),
      ...(opts.serverSelectionTimeoutMS ? { serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS } : {}),
      onProgress: (p) => {
        written.set(p.target, p);
        opts.onRestore?.(p);
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    }).catch((err: unknown) => {
      // Whichever side noticed first (the dump's reads or the restore's next batch), say what is in the target.
      if (!opts.signal?.aborted) throw err;
      const rows = [...written.values()].filter((p) => p.restored > 0);
      const what = rows.length ? `${rows.map((p) => `${p.restored} documents of ${p.ns}`).join(", ")} had been copied and are kept; run migrate again with --drop to replace the partial collections` : "no documents had been copied";
      throw new InterruptedError(`migrate to ${redactUri(opts.to.reveal())} interrupted: ${what}`, { cause: opts.signal.reason });
    });
    return {
      from: source.description,
      to: redactUri(opts.to.reveal()),
      namespaces: source.prelude.map((m) => ({ ns: `${m.db}.${m.collection}`, type: m.type || "collection" })),
      warnings: source.warnings,
      restore,
    };
  } finally {
    // A failed restore leaves the writer mid-stream: stop it before closing its cursors.
    archive.destroy();
    await source.close();
  }
}

function dumpOptions(opts: CopyOptions): Parameters<typeof createMongoDumpSource>[0] {
  return {
    uri: opts.from,
    ...(opts.include ? { include: opts.include } : {}),
    ...(opts.exclude ? { exclude: opts.exclude } : {}),
    concurrency: opts.concurrency ?? 2,
    ...(opts.serverSelectionTimeoutMS ? { serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onDump ? { onProgress: opts.onDump } : {}),
  };
}
