/**
 * The MongoDB sink of a restore: consumes archive events (header, prelude metadata, document
 * segments, EOFs) and recreates the collections in a live server — options and validators first,
 * documents in unordered batches, indexes after each namespace's data, views last — then checks
 * what got in against what the archive says should have.
 */
import { BSON, type Document, type MongoClient } from "mongodb";
import type { ArchiveEvent, NamespaceMetadata } from "../archive/types.js";
import { IntegrityError, InterruptedError, RemoteError } from "../errors.js";
import { redactUri, type Secret } from "../secret.js";
import { connectMongo, mongoError, serverCode } from "./connect.js";
import { createNamespaceFilter, createRenamer, splitNamespace, type RenameRule } from "./namespaces.js";

/** Progress of one target namespace, reported after every batch. */
export interface RestoreProgress {
  readonly ns: string;
  readonly target: string;
  readonly restored: number;
}

/** Options of `restoreToMongo`. */
export interface RestoreOptions {
  readonly uri: Secret;
  /** Restore only source namespaces matching these patterns (`db.coll`, `*` wildcards). Default: all. */
  readonly include?: readonly string[];
  /** Rename rules applied to source namespaces (`shop.*` → `drill_shop.*`); first match wins. */
  readonly rename?: readonly RenameRule[];
  /** Drop each target collection before restoring into it. Default false. */
  readonly drop?: boolean;
  /** Read and check the whole archive and report what would be restored, without connecting or writing. */
  readonly dryRun?: boolean;
  /** Documents per insertMany. Default 1000. */
  readonly batchSize?: number;
  /** Expected document counts by source namespace (from the manifest); default: the archive's EOF counts. */
  readonly expected?: ReadonlyMap<string, number>;
  readonly serverSelectionTimeoutMS?: number;
  readonly onProgress?: (p: RestoreProgress) => void;
  /**
   * Stops the restore: checked before every event and every batch, so at most the batch in flight
   * still lands. The call then rejects with an Error whose message says what had been written
   * (documents are not taken back) and whose `cause` is the signal's reason.
   */
  readonly signal?: AbortSignal;
}

/** One line of the restore table. `ok` is `restored === expected`. */
export interface RestoredNamespace {
  readonly ns: string;
  readonly target: string;
  readonly expected: number;
  readonly restored: number;
  readonly ok: boolean;
}

/** What a restore did. `ok` is true when every namespace's count matched. */
export interface RestoreReport {
  readonly namespaces: RestoredNamespace[];
  /** Views recreated from their definitions, as `target` namespaces. */
  readonly views: string[];
  /** Namespaces in the archive deliberately not restored, with the reason. */
  readonly skipped: Array<{ ns: string; reason: string }>;
  readonly dryRun: boolean;
  readonly ok: boolean;
}

interface Target {
  readonly ns: string;
  readonly target: string;
  readonly db: string;
  readonly collection: string;
  /** The prelude entry that describes the collection (for time-series, the user-facing one). */
  readonly meta: NamespaceMetadata | undefined;
  readonly parsed: ParsedMetadata;
  prepared: boolean;
  batch: Document[];
  restored: number;
  expected: number | undefined;
}

interface ParsedMetadata {
  readonly options: Document;
  readonly indexes: Document[];
  readonly type: string;
}

const AUTH_NAMESPACES = new Set(["admin.system.users", "admin.system.roles", "admin.system.version"]);

/**
 * Restores an archive's events into the server at `uri`. Documents are decoded without promoting
 * any value (Int32, Int64, Double, Decimal128, Binary subtypes keep their exact BSON types) and
 * inserted unordered; duplicate keys are counted as not restored rather than stopping the run.
 * The oplog and users/roles are skipped and listed in `skipped`.
 *
 * Throws IntegrityError when an EOF reports a CRC mismatch (nothing more is written after it),
 * RemoteError naming the target namespace and how many of its documents got in when the server
 * fails or dies mid-restore, ConfigError for bad include or rename patterns, and the interrupted
 * error described at `signal`.
 */
export async function restoreToMongo(events: AsyncIterable<ArchiveEvent>, opts: RestoreOptions): Promise<RestoreReport> {
  const filter = createNamespaceFilter(opts.include);
  const rename = createRenamer(opts.rename);
  const batchSize = opts.batchSize ?? 1000;
  const client: MongoClient | undefined = opts.dryRun
    ? undefined
    : await connectMongo(opts.uri, opts.serverSelectionTimeoutMS ? { serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS } : {});
  const metas = new Map<string, NamespaceMetadata>();
  const targets = new Map<string, Target>();
  const skipped = new Map<string, string>();
  const done: RestoredNamespace[] = [];
  const views: string[] = [];

  const targetFor = (ns: string): Target | undefined => {
    const existing = targets.get(ns);
    if (existing) return existing;
    if (skipped.has(ns)) return undefined;
    // A view's (empty) segment: its definition is recreated at the end, see `views`.
    if (metas.get(ns)?.type === "view") return undefined;
    const why = skipReason(ns);
    if (why) {
      skipped.set(ns, why);
      return undefined;
    }
    const { db, collection } = splitNamespace(ns);
    const bucketOf = collection.startsWith("system.buckets.") ? collection.slice("system.buckets.".length) : undefined;
    const userNs = bucketOf && metas.get(`${db}.${bucketOf}`)?.type === "timeseries" ? `${db}.${bucketOf}` : ns;
    if (!filter.matches(userNs)) {
      skipped.set(ns, "not included");
      return undefined;
    }
    const userTarget = rename(userNs);
    const meta = metas.get(userNs);
    const target = userNs === ns ? userTarget : `${splitNamespace(userTarget).db}.system.buckets.${splitNamespace(userTarget).collection}`;
    const t: Target = {
      ns,
      target,
      ...splitNamespace(userTarget),
      meta,
      parsed: parseMetadata(meta, ns),
      prepared: false,
      batch: [],
      restored: 0,
      expected: undefined,
    };
    targets.set(ns, t);
    return t;
  };

  const stopIfAborted = (): void => {
    if (!opts.signal?.aborted) return;
    const written = [...targets.values()].filter((t) => t.restored > 0);
    const what = written.length ? `${written.map((t) => `${t.restored} documents of ${t.ns} into ${t.target}`).join(", ")} had been restored and are kept` : "no documents had been restored";
    const advice = written.length ? "; run the restore again with --drop to replace the partial collections" : "";
    throw new InterruptedError(`mongodb restore into ${redactUri(opts.uri.reveal())} interrupted: ${what}${advice}`, { cause: opts.signal.reason });
  };

  const flush = async (t: Target): Promise<void> => {
    if (t.batch.length === 0) return;
    stopIfAborted();
    const docs = t.batch;
    t.batch = [];
    if (!client) {
      t.restored += docs.length;
      return;
    }
    const coll = client.db(splitNamespace(t.target).db).collection(splitNamespace(t.target).collection);
    try {
      const res = await coll.insertMany(docs, { ordered: false });
      t.restored += res.insertedCount;
    } catch (err) {
      const inserted = (err as { insertedCount?: unknown; result?: { insertedCount?: unknown } }).insertedCount ?? (err as { result?: { insertedCount?: unknown } }).result?.insertedCount;
      // A bulk write error with per-document failures (duplicate keys, validation) is the data's,
      // not the connection's: count what got in and carry on, as mongorestore does.
      if (typeof inserted === "number" && (err as { writeErrors?: unknown }).writeErrors !== undefined && serverCode(err) !== undefined) {
        t.restored += inserted;
      } else {
        throw failure(err, t, `mongodb restore ${t.target}`, opts.uri);
      }
    }
    opts.onProgress?.({ ns: t.ns, target: t.target, restored: t.restored });
  };

  try {
    for await (const ev of events) {
      stopIfAborted();
      if (ev.kind === "metadata") {
        metas.set(`${ev.meta.db}.${ev.meta.collection}`, ev.meta);
      } else if (ev.kind === "documents") {
        const t = targetFor(ev.ns);
        if (!t) continue;
        if (!t.prepared) await prepare(client, t, opts.drop ?? false, opts.uri);
        for (const raw of ev.docs) {
          t.batch.push(BSON.deserialize(raw, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true }));
          if (t.batch.length >= batchSize) await flush(t);
        }
      } else if (ev.kind === "eof") {
        if (!ev.crcOk) throw new IntegrityError(`archive ${ev.ns}: CRC-64 of the documents does not match the EOF header; the archive is damaged, nothing more was restored`);
        const t = targetFor(ev.ns);
        if (!t) continue;
        if (!t.prepared) await prepare(client, t, opts.drop ?? false, opts.uri);
        await flush(t);
        t.expected = opts.expected?.get(ev.ns) ?? ev.documents;
        await buildIndexes(client, t, opts.uri);
        done.push({ ns: t.ns, target: t.target, expected: t.expected, restored: t.restored, ok: t.restored === t.expected });
      }
    }
    for (const [ns, meta] of metas) {
      if (meta.type !== "view" || !filter.matches(ns)) continue;
      const target = rename(ns);
      views.push(target);
      if (client) await createView(client, target, parseMetadata(meta, ns).options, opts.uri);
    }
    for (const t of targets.values()) {
      if (t.expected === undefined) throw new IntegrityError(`archive ${t.ns}: the stream ended without the namespace's EOF header; the archive is truncated`);
    }
  } finally {
    await client?.close().catch(() => undefined);
  }
  return {
    namespaces: done,
    views,
    skipped: [...skipped].map(([ns, reason]) => ({ ns, reason })),
    dryRun: Boolean(opts.dryRun),
    ok: done.every((n) => n.ok),
  };
}

function skipReason(ns: string): string | undefined {
  if (ns === ".oplog") return "oplog entries are not replayed here; for a point-in-time restore use mongorestore --oplogReplay on the archive";
  if (AUTH_NAMESPACES.has(ns)) return "users and roles are not restored here; use mongorestore --restoreDbUsersAndRoles on the archive";
  return undefined;
}

function parseMetadata(meta: NamespaceMetadata | undefined, ns: string): ParsedMetadata {
  if (!meta?.metadata) return { options: {}, indexes: [], type: meta?.type || "collection" };
  let doc: Document;
  try {
    doc = BSON.EJSON.parse(meta.metadata, { relaxed: false }) as Document;
  } catch (err) {
    throw new IntegrityError(`archive ${ns}: collection metadata is not valid Extended JSON (${(err as Error).message})`, { cause: err });
  }
  const indexes = Array.isArray(doc.indexes) ? (doc.indexes as Document[]) : [];
  return { options: (doc.options as Document | undefined) ?? {}, indexes, type: String(doc.type ?? meta.type ?? "collection") };
}

/**
 * Drops the target if asked, then creates it explicitly when it has options to carry (validator,
 * collation, capped, time-series, …); a plain collection is created by its first insert, or
 * explicitly at its EOF when it turned out empty. An existing target is kept and filled.
 */
async function prepare(client: MongoClient | undefined, t: Target, drop: boolean, uri: Secret): Promise<void> {
  t.prepared = true;
  if (!client) return;
  const db = client.db(t.db);
  try {
    if (drop) await db.collection(t.collection).drop().catch((err: unknown) => {
      if (serverCode(err) !== 26) throw err;
    });
    if (Object.keys(t.parsed.options).length > 0) await create(client, t.db, t.collection, t.parsed.options);
  } catch (err) {
    throw failure(err, t, `mongodb create ${t.db}.${t.collection}`, uri);
  }
}

async function create(client: MongoClient, db: string, collection: string, options: Document): Promise<void> {
  try {
    await client.db(db).command({ create: collection, ...options });
  } catch (err) {
    // NamespaceExists: restoring into an existing collection keeps it, as mongorestore does.
    if (serverCode(err) !== 48) throw err;
  }
}

/** An index spec as createIndexes takes it, from listIndexes or an oplog entry. */
export function indexSpecOf(ix: Document): Document {
  // `ns` is an old listIndexes field that createIndexes rejects; `v` picks the current format.
  const { ns: _ns, v: _v, ...spec } = ix;
  return spec;
}

async function buildIndexes(client: MongoClient | undefined, t: Target, uri: Secret): Promise<void> {
  if (!client) return;
  const specs = t.parsed.indexes
    .filter((ix) => ix.name !== "_id_")
    .map(indexSpecOf);
  try {
    if (t.restored === 0 && Object.keys(t.parsed.options).length === 0 && specs.length === 0) await create(client, t.db, t.collection, {});
    if (specs.length > 0) await client.db(t.db).command({ createIndexes: t.collection, indexes: specs });
  } catch (err) {
    throw failure(err, t, `mongodb createIndexes ${t.db}.${t.collection}`, uri);
  }
}

async function createView(client: MongoClient, target: string, options: Document, uri: Secret): Promise<void> {
  const { db, collection } = splitNamespace(target);
  try {
    await create(client, db, collection, options);
  } catch (err) {
    throw mongoError(err, `mongodb create view ${target}`, uri);
  }
}

function failure(err: unknown, t: Target, operation: string, uri: Secret): Error {
  const wrapped = mongoError(err, operation, uri);
  if (!(wrapped instanceof RemoteError)) return wrapped;
  return new RemoteError(operation, `${wrapped.message.slice(operation.length + 2)}; ${t.restored} documents of ${t.ns} had been restored into ${t.target}`, { cause: err });
}
