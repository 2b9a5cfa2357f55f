/**
 * The restore drill behind `verify --restore-to <scratch-uri>` (issue 3 §3): restore a backup's
 * archive into scratch databases, then prove the scratch copy holds exactly what the archive
 * holds — per collection the document count, the index specs and a content digest.
 *
 * The archive is in natural order, not `_id` order, so the archive side cannot be hashed in
 * `_id` order without buffering it; the drill therefore compares the order-independent
 * `setHash` (sum of per-document SHA-256 of canonical Extended JSON) of the archive's documents
 * with the scratch collection's. The `_id`-ordered `contentHash` is for database-to-database
 * comparisons (`describeDatabase` on both sides, e.g. a migration).
 */
import { randomBytes } from "node:crypto";
import { BSON, type Document } from "mongodb";
import type { ArchiveEvent, NamespaceMetadata } from "../archive/types.js";
import { InterruptedError } from "../errors.js";
import { redactUri, type Secret } from "../secret.js";
import { createDocumentDigest, describeDatabase, normalizeIndexSpec, type DocumentDigest } from "./compare.js";
import { connectMongo } from "./connect.js";
import { splitNamespace } from "./namespaces.js";
import { restoreToMongo, type RestoreProgress } from "./restore.js";

/** A new prefix for a drill's scratch databases, `cs_drill_<6 hex>_`: fresh names on every run. */
export function newScratchPrefix(): string {
  return `cs_drill_${randomBytes(3).toString("hex")}_`;
}

/** Options of `runRestoreDrill`. */
export interface DrillOptions {
  /** The scratch server. Databases named `<prefix><db>` are created there. */
  readonly scratchUri: Secret;
  /** Prefix of the scratch databases; default `cs_drill_<6 hex>_`. Keep db names under 64 bytes. */
  readonly prefix?: string;
  /** Drop the scratch databases afterwards (default true); a failure to drop is a warning. */
  readonly cleanup?: boolean;
  /** Expected counts by source namespace (the manifest's); default the archive's EOF counts. */
  readonly expected?: ReadonlyMap<string, number>;
  readonly batchSize?: number;
  readonly onProgress?: (p: RestoreProgress) => void;
  /**
   * Stops the drill at the next batch (or after the comparison in progress). Its scratch databases
   * are then dropped (unless `cleanup` is false) and the call rejects with an InterruptedError
   * saying what had been restored and whether the scratch databases are gone.
   */
  readonly signal?: AbortSignal;
}

/** One collection's drill result; `problems` says what differed, empty when `ok`. */
export interface DrillNamespace {
  readonly ns: string;
  readonly target: string;
  readonly expected: number;
  readonly restored: number;
  readonly counted: number;
  readonly indexesOk: boolean;
  readonly contentOk: boolean;
  readonly ok: boolean;
  readonly problems: string[];
}

/** The drill's outcome; `ok` only when every namespace is ok. */
export interface DrillReport {
  readonly namespaces: DrillNamespace[];
  readonly scratchDatabases: string[];
  readonly cleanedUp: boolean;
  readonly warnings: string[];
  readonly ok: boolean;
}

/**
 * Runs a restore drill over `events` (an archive being read back from a destination). Throws as
 * `restoreToMongo` does (IntegrityError for a damaged archive, RemoteError when the scratch
 * server fails), and the interrupted error described at `signal`; differences found after a
 * successful restore are reported, not thrown. The databases named with the prefix are the
 * drill's own: on any failure they are dropped (unless `cleanup` is false), as after a success.
 */
export async function runRestoreDrill(events: AsyncIterable<ArchiveEvent>, opts: DrillOptions): Promise<DrillReport> {
  const prefix = opts.prefix ?? newScratchPrefix();
  const metas = new Map<string, NamespaceMetadata>();
  const digests = new Map<string, DocumentDigest>();
  // Every scratch database the restore may have created, for dropping after a failure.
  const touched = new Set<string>();
  const written = new Map<string, RestoreProgress>();
  async function* tee(): AsyncGenerator<ArchiveEvent> {
    for await (const ev of events) {
      if (ev.kind === "metadata") metas.set(`${ev.meta.db}.${ev.meta.collection}`, ev.meta);
      if ((ev.kind === "documents" || ev.kind === "eof") && splitNamespace(ev.ns).db) touched.add(`${prefix}${splitNamespace(ev.ns).db}`);
      if (ev.kind === "documents") {
        let d = digests.get(ev.ns);
        if (!d) digests.set(ev.ns, (d = createDocumentDigest()));
        for (const doc of ev.docs) d.add(doc);
      }
      yield ev;
    }
  }
  const warnings: string[] = [];
  /** Drops what the drill created and passes on why it stopped: the interruption as said at `signal`. */
  const failed = async (err: unknown, dbs: readonly string[]): Promise<never> => {
    const dropped = opts.cleanup !== false && (await dropScratchDatabases(opts.scratchUri, dbs, warnings));
    if (!opts.signal?.aborted) throw err;
    const rows = [...written.values()].filter((p) => p.restored > 0);
    const what = rows.length ? `${rows.map((p) => `${p.restored} documents of ${p.ns} into ${p.target}`).join(", ")} had been restored` : "no documents had been restored";
    const cleaned = dbs.length === 0 ? "" : dropped ? `; scratch database(s) ${dbs.join(", ")} dropped` : `; ${warnings.join("; ")}`;
    throw new InterruptedError(`restore drill into ${redactUri(opts.scratchUri.reveal())} interrupted: ${what}${cleaned}; nothing was recorded`, { cause: opts.signal.reason });
  };
  const restored = await restoreToMongo(tee(), {
    uri: opts.scratchUri,
    rename: [{ from: "*.*", to: `${prefix}*.*` }],
    ...(opts.expected ? { expected: opts.expected } : {}),
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    onProgress: (p) => {
      written.set(p.target, p);
      opts.onProgress?.(p);
    },
    ...(opts.signal ? { signal: opts.signal } : {}),
  }).catch((err: unknown) => failed(err, [...touched].sort()));
  const scratchDatabases = [...new Set(restored.namespaces.map((n) => splitNamespace(n.target).db))].sort();
  let namespaces: DrillNamespace[];
  try {
    opts.signal?.throwIfAborted();
    const described = new Map((await describeDatabase(opts.scratchUri, restored.namespaces.map((n) => n.target))).map((d) => [d.ns, d]));
    namespaces = restored.namespaces.map((n): DrillNamespace => {
      const d = described.get(n.target);
      const problems: string[] = [];
      const counted = d?.count ?? 0;
      if (n.restored !== n.expected) problems.push(`${n.restored} documents restored, ${n.expected} expected`);
      if (counted !== n.expected) problems.push(`${counted} documents in the scratch collection, ${n.expected} expected`);
      const archiveDigest = (digests.get(n.ns) ?? createDocumentDigest()).hex();
      const contentOk = d?.setHash === archiveDigest;
      if (!contentOk) problems.push(`content digest ${d?.setHash ?? "none"} differs from the archive's ${archiveDigest}`);
      // A time-series collection's indexes live on the collection, not on its buckets.
      const bucket = splitNamespace(n.ns).collection.startsWith("system.buckets.");
      const expectedIndexes = bucket ? undefined : indexSpecsOf(metas.get(n.ns));
      const indexesOk = expectedIndexes === undefined || expectedIndexes.join("\n") === (d?.indexes ?? []).join("\n");
      if (!indexesOk) problems.push(`index specs differ: archive [${expectedIndexes?.join(", ")}], scratch [${d?.indexes.join(", ")}]`);
      return { ns: n.ns, target: n.target, expected: n.expected, restored: n.restored, counted, indexesOk, contentOk, ok: problems.length === 0, problems };
    });
    // The comparison takes no signal: an interrupt during it is honoured once it returns.
    opts.signal?.throwIfAborted();
  } catch (err) {
    return failed(err, scratchDatabases);
  }
  const cleanedUp = opts.cleanup !== false && (await dropScratchDatabases(opts.scratchUri, scratchDatabases, warnings));
  return { namespaces, scratchDatabases, cleanedUp, warnings, ok: namespaces.every((n) => n.ok) };
}

function indexSpecsOf(meta: NamespaceMetadata | undefined): string[] | undefined {
  if (!meta?.metadata) return undefined;
  const doc = BSON.EJSON.parse(meta.metadata, { relaxed: false }) as Document;
  return Array.isArray(doc.indexes) ? (doc.indexes as Document[]).map(normalizeIndexSpec).sort() : undefined;
}

/**
 * Drops the scratch databases `dbs` on `uri`. Never throws: each database that could not be
 * dropped adds a warning saying to drop it by hand, and the result is false.
 */
export async function dropScratchDatabases(uri: Secret, dbs: readonly string[], warnings: string[]): Promise<boolean> {
  if (dbs.length === 0) return true;
  let ok = true;
  try {
    const client = await connectMongo(uri);
    try {
      for (const db of dbs) {
        try {
          await client.db(db).dropDatabase();
        } catch (err) {
          ok = false;
          warnings.push(`scratch database ${db} was not dropped: ${(err as Error).message}; drop it by hand`);
        }
      }
    } finally {
      await client.close().catch(() => undefined);
    }
  } catch (err) {
    warnings.push(`scratch databases ${dbs.join(", ")} were not dropped: ${(err as Error).message}`);
    return false;
  }
  return ok;
}
