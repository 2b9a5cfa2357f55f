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
import type { Secret } from "../secret.js";
import { createDocumentDigest, describeDatabase, normalizeIndexSpec, type DocumentDigest } from "./compare.js";
import { connectMongo } from "./connect.js";
import { splitNamespace } from "./namespaces.js";
import { restoreToMongo, type RestoreProgress } from "./restore.js";

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
 * server fails); differences found after a successful restore are reported, not thrown.
 */
export async function runRestoreDrill(events: AsyncIterable<ArchiveEvent>, opts: DrillOptions): Promise<DrillReport> {
  const prefix = opts.prefix ?? `cs_drill_${randomBytes(3).toString("hex")}_`;
  const metas = new Map<string, NamespaceMetadata>();
  const digests = new Map<string, DocumentDigest>();
  async function* tee(): AsyncGenerator<ArchiveEvent> {
    for await (const ev of events) {
      if (ev.kind === "metadata") metas.set(`${ev.meta.db}.${ev.meta.collection}`, ev.meta);
      if (ev.kind === "documents") {
        let d = digests.get(ev.ns);
        if (!d) digests.set(ev.ns, (d = createDocumentDigest()));
        for (const doc of ev.docs) d.add(doc);
      }
      yield ev;
    }
  }
  const restored = await restoreToMongo(tee(), {
    uri: opts.scratchUri,
    rename: [{ from: "*.*", to: `${prefix}*.*` }],
    ...(opts.expected ? { expected: opts.expected } : {}),
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const scratchDatabases = [...new Set(restored.namespaces.map((n) => splitNamespace(n.target).db))].sort();
  const warnings: string[] = [];
  let namespaces: DrillNamespace[];
  try {
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
  } catch (err) {
    if (opts.cleanup !== false) await dropAll(opts.scratchUri, scratchDatabases, warnings);
    throw err;
  }
  const cleanedUp = opts.cleanup !== false && (await dropAll(opts.scratchUri, scratchDatabases, warnings));
  return { namespaces, scratchDatabases, cleanedUp, warnings, ok: namespaces.every((n) => n.ok) };
}

function indexSpecsOf(meta: NamespaceMetadata | undefined): string[] | undefined {
  if (!meta?.metadata) return undefined;
  const doc = BSON.EJSON.parse(meta.metadata, { relaxed: false }) as Document;
  return Array.isArray(doc.indexes) ? (doc.indexes as Document[]).map(normalizeIndexSpec).sort() : undefined;
}

async function dropAll(uri: Secret, dbs: readonly string[], warnings: string[]): Promise<boolean> {
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
