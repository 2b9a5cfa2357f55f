/**
 * The live MongoDB source of a backup: discovers collections, reads their documents as raw BSON
 * and hands them to the archive writer (`writeArchive(source, { concurrency })`) in exactly its
 * input shape, with mongodump-compatible collection metadata, and reports the read consistency
 * it achieved.
 */
import { BSON, type ClientSession, type Document, type MongoClient, type Timestamp } from "mongodb";
import type { ArchiveHeader, ArchiveSourceNamespace, NamespaceMetadata } from "../archive/types.js";
import { ConfigError, InternalError, RemoteError } from "../errors.js";
import { redactUri, type Secret } from "../secret.js";
import { VERSION } from "../version.js";
import { connectMongo, cursorCommand, mongoError, serverCode } from "./connect.js";
import { describeServer, isSnapshotLost, newestOplogTime, openSnapshot, probeOplog, toClusterTime, type ClusterTime, type ConsistencyReport, type ServerInfo } from "./consistency.js";
import { discoverCollections, type CollectionPlan } from "./discover.js";
import { createNamespaceFilter } from "./namespaces.js";
import { idOrderOptions, rawIdOf, resumableByIdOrder } from "./resume.js";

/** Progress of one namespace, reported every 1,000 documents and once when it is done. */
export interface DumpProgress {
  readonly ns: string;
  readonly documents: number;
  readonly bytes: number;
  readonly done: boolean;
}

/** Options of `createMongoDumpSource`. */
export interface MongoDumpOptions {
  readonly uri: Secret;
  /** mongodump-style `--nsInclude` patterns (`db.coll`, `*` wildcards); none = every database except local and config. */
  readonly include?: readonly string[];
  /** mongodump-style `--nsExclude` patterns. */
  readonly exclude?: readonly string[];
  /** Also dump admin.system.users, admin.system.roles and admin.system.version. Default false. */
  readonly includeAuth?: boolean;
  /** Add the oplog entries written during the dump as the `.oplog` namespace (needs a replica set). */
  readonly oplog?: boolean;
  /** Read at one snapshot when the server allows it (default true); false reads each collection as it is. */
  readonly snapshot?: boolean;
  /** How many collections the archive writer interleaves; recorded in the archive header. Default 4. */
  readonly concurrency?: number;
  /** Documents per cursor batch; default: the server's (101, then up to 16 MiB per getMore). */
  readonly batchSize?: number;
  /** How long to wait for a usable server (connect, and after a connection drops). Default 10 s. */
  readonly serverSelectionTimeoutMS?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: DumpProgress) => void;
}

/**
 * A dump in the archive writer's input shape. `namespaces` are the data namespaces (a time-series
 * collection's documents are under `system.buckets.<name>`, the oplog under `.oplog`); `prelude`
 * lists every collection's metadata entry including views (which have no data). Each `documents`
 * iterable may be consumed once, concurrently with the others; it throws RemoteError naming the
 * namespace when the server fails or the connection drops.
 */
export interface MongoDumpSource {
  readonly header: ArchiveHeader;
  readonly namespaces: ArchiveSourceNamespace[];
  readonly prelude: NamespaceMetadata[];
  /** Things the user should know that did not stop the dump (e.g. options a server could not list). */
  readonly warnings: readonly string[];
  /** A redacted description of the source for the manifest, e.g. `mongodb://u:**redacted**@h/`. */
  readonly description: string;
  /**
   * Size estimates by data namespace (`db.coll`), from the catalog's counts and storage stats at
   * the start: for progress percentages and ETA only, never for checks. Absent when the server
   * could not say.
   */
  readonly estimates: ReadonlyMap<string, { documents: number; bytes?: number }>;
  /**
   * The consistency achieved. Final only once every `documents` iterable has been drained;
   * throws an Error when asked earlier.
   */
  consistency(): ConsistencyReport;
  /** Ends the snapshot session and closes the connection. Idempotent. */
  close(): Promise<void>;
}

const PROGRESS_EVERY = 1000;

/**
 * Connects, discovers what to dump and prepares the metadata; documents are read lazily as the
 * iterables are consumed. Throws ConfigError for bad patterns or `oplog` on a server without an
 * oplog, RemoteError when the server cannot be reached or refuses discovery. Documents are read
 * in natural order (the cheapest scan, needing no index; the archive does not depend on order and
 * comparisons sort by `_id` themselves), except under a snapshot, where ordinary collections are
 * read in `_id` order so a snapshot that expires mid-collection can be resumed (see readDocuments).
 */
export async function createMongoDumpSource(opts: MongoDumpOptions): Promise<MongoDumpSource> {
  const filter = createNamespaceFilter(opts.include, opts.exclude);
  const description = redactUri(opts.uri.reveal());
  const client = await connectMongo(opts.uri, opts.serverSelectionTimeoutMS ? { serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS } : {});
  let session: ClientSession | undefined;
  try {
    const server = await describeServer(client);
    const discovery = await discoverCollections(client, filter, { includeAuth: opts.includeAuth });
    const prelude: NamespaceMetadata[] = [];
    const estimates = new Map<string, { documents: number; bytes?: number }>();
    for (const plan of discovery.plans) {
      const sized = plan.dataCollection === undefined ? undefined : await estimateSize(client, plan.db, plan.dataCollection);
      if (sized) estimates.set(`${plan.db}.${plan.dataCollection}`, sized);
      // `size` is the prelude's announced data size, as mongodump fills it from collStats.
      prelude.push({ db: plan.db, collection: plan.collection, metadata: await metadataFor(client, plan), size: sized?.bytes ?? 0, type: plan.type });
    }

    const reasons: string[] = [];
    const oplog = server.topology === "replicaSet" ? await probeOplog(client) : undefined;
    const oplogStart = oplog && "ts" in oplog ? oplog.ts : undefined;
    if (oplog && "reason" in oplog) reasons.push(oplog.reason);
    if (opts.oplog && !oplogStart) {
      throw new ConfigError("oplog", `--oplog needs a replica set with a readable oplog; this server is ${oplog && "reason" in oplog ? `a replica set, but ${oplog.reason}` : `a ${server.topology}`}`);
    }
    const dataPlans = discovery.plans.filter((p) => p.dataCollection !== undefined);
    const viewPlans = discovery.plans.filter((p) => p.dataCollection === undefined);
    let clusterTime: ClusterTime | undefined;
    if (opts.snapshot === false) reasons.push("snapshot reads turned off");
    else if (server.topology === "standalone") reasons.push("standalone server: no snapshot reads and no oplog");
    else if (dataPlans[0]) {
      const attempt = await openSnapshot(client, server, { db: dataPlans[0].db, collection: dataPlans[0].dataCollection as string });
      if (attempt.ok) {
        session = attempt.session;
        clusterTime = attempt.clusterTime;
      } else reasons.push(attempt.reason);
    }

    const state = createDrainState(dataPlans.length, viewPlans.length + (opts.oplog ? 1 : 0));
    let oplogEnd: Timestamp | undefined;
    const markEnd = async (): Promise<void> => {
      if (oplogStart && !oplogEnd) oplogEnd = (await newestOplogTime(client)) ?? oplogStart;
    };
    let lostReason: string | undefined;
    const reader: Reader = {
      client,
      session: () => (lostReason === undefined ? session : undefined),
      snapshotLost: (reason) => {
        lostReason ??= reason;
      },
      opts,
      clusterTime,
    };
    const namespaces: ArchiveSourceNamespace[] = dataPlans.map((plan) => ({
      meta: { db: plan.db, collection: plan.dataCollection as string, metadata: plan.type === "timeseries" ? "" : (prelude[discovery.plans.indexOf(plan)]?.metadata ?? ""), size: 0 },
      documents: readDocuments(reader, plan, state, opts.oplog ? async () => undefined : markEnd),
    }));
    // A view's segment is empty but present, as mongodump writes it: readers expect an EOF for
    // every prelude entry except time-series ones.
    for (const plan of viewPlans) {
      namespaces.push({ meta: prelude[discovery.plans.indexOf(plan)] as NamespaceMetadata, documents: noDocuments(state, opts.oplog ? async () => undefined : markEnd) });
    }
    if (opts.oplog && oplogStart) {
      const meta: NamespaceMetadata = { db: "", collection: "oplog", metadata: "", size: 0 };
      prelude.push(meta);
      namespaces.push({ meta, documents: readOplog(reader, oplogStart, state, markEnd, () => oplogEnd) });
    }
    if (namespaces.length === 0) await markEnd();

    let closed = false;
    return {
      header: { version: "0.1", serverVersion: server.version, toolVersion: `cloudsync ${VERSION}`, concurrentCollections: opts.concurrency ?? 4 },
      namespaces,
      prelude,
      warnings: discovery.warnings,
      description,
      estimates,
      consistency(): ConsistencyReport {
        if (!state.allDone()) throw new InternalError("consistency() asked before every namespace was read; drain the documents first");
        return report(server, lostReason === undefined ? clusterTime : undefined, oplogStart, oplogEnd, Boolean(opts.oplog), lostReason === undefined ? reasons : [...reasons, lostReason]);
      },
      async close() {
        if (closed) return;
        closed = true;
        await session?.endSession().catch(() => undefined);
        await client.close().catch(() => undefined);
      },
    };
  } catch (err) {
    await session?.endSession().catch(() => undefined);
    await client.close().catch(() => undefined);
    throw mongoError(err, `mongodb dump ${description}`, opts.uri);
  }
}

/** Catalog count and data size of a collection; undefined when the server cannot tell (never fatal). */
async function estimateSize(client: MongoClient, db: string, collection: string): Promise<{ documents: number; bytes?: number } | undefined> {
  try {
    const documents = await client.db(db).collection(collection).estimatedDocumentCount();
    try {
      const [stats] = await client.db(db).collection(collection).aggregate([{ $collStats: { storageStats: {} } }]).toArray();
      const bytes = Number((stats?.storageStats as Document | undefined)?.size);
      return Number.isFinite(bytes) ? { documents, bytes } : { documents };
    } catch {
      return { documents };
    }
  } catch {
    return undefined;
  }
}

function report(server: ServerInfo, clusterTime: ClusterTime | undefined, start: Timestamp | undefined, end: Timestamp | undefined, oplogIncluded: boolean, reasons: string[]): ConsistencyReport {
  const oplogWindow = start && end ? { start: toClusterTime(start), end: toClusterTime(end) } : undefined;
  const base = { topology: server.topology, oplogIncluded, ...(oplogWindow ? { oplogWindow } : {}) };
  if (clusterTime) return { mode: "snapshot", detail: { ...base, clusterTime, reasons: [] } };
  if (oplogWindow) return { mode: "oplog-window", detail: { ...base, reasons } };
  return { mode: "fuzzy", detail: { ...base, reasons } };
}

/**
 * Metadata as mongodump writes `<coll>.metadata.json`: `{options, indexes, uuid, collectionName,
 * type}` as canonical Extended JSON v2, `options` left out when empty. Index specs come from
 * listIndexes decoded without promotion so `{"v": {"$numberInt": "2"}}` stays an Int32. A view has
 * no indexes; its options are its definition (viewOn, pipeline).
 */
async function metadataFor(client: MongoClient, plan: CollectionPlan): Promise<string> {
  let indexes: Document[] = [];
  if (plan.type !== "view") {
    try {
      indexes = await cursorCommand(client.db(plan.db), { listIndexes: plan.collection });
    } catch (err) {
      // NamespaceNotFound: the collection vanished or was never created; it has no indexes.
      if (serverCode(err) !== 26) throw err;
    }
  }
  const doc: Document = {};
  if (Object.keys(plan.options).length > 0) doc.options = plan.options;
  doc.indexes = indexes;
  if (plan.uuid) doc.uuid = plan.uuid;
  doc.collectionName = plan.collection;
  doc.type = plan.type;
  return BSON.EJSON.stringify(doc, { relaxed: false });
}

/** Tracks which namespaces have finished, so the oplog slice and the final report wait for all. */
interface DrainState {
  /** Marks one namespace (data or oplog) finished, successfully or not; true when it was the last. */
  finish(): boolean;
  allDone(): boolean;
  /** Marks one data namespace finished. */
  dataFinished(): void;
  /** Resolves once every data namespace has finished. */
  readonly dataDone: Promise<void>;
}

function createDrainState(dataCount: number, extra: number): DrainState {
  const total = dataCount + extra;
  let finished = 0;
  let dataLeft = dataCount;
  let resolveData: () => void = () => undefined;
  const dataDone = new Promise<void>((r) => (resolveData = r));
  if (dataCount === 0) resolveData();
  return {
    finish: () => ++finished >= total,
    allDone: () => finished >= total,
    dataDone,
    dataFinished: () => {
      if (--dataLeft <= 0) resolveData();
    },
  };
}

interface Reader {
  readonly client: MongoClient;
  /** The snapshot session, until the snapshot is lost. */
  session(): ClientSession | undefined;
  /** Records that the snapshot was lost (first reason wins); later reads go without it. */
  snapshotLost(reason: string): void;
  readonly opts: MongoDumpOptions;
  readonly clusterTime: ClusterTime | undefined;
}

/**
 * Reads one collection. With a snapshot, ordinary collections are read in `_id` order so that a
 * snapshot lost mid-collection (the dump outlived the server's history window) can be resumed
 * from the last `_id` without a snapshot — every document still exactly once — and the dump's
 * consistency downgraded with the reason. Without a snapshot (or for capped and time-series
 * collections) the natural order is used: the cheapest scan, needing no index.
 */
async function* readDocuments(r: Reader, plan: CollectionPlan, state: DrainState, onLast: () => Promise<void>): AsyncGenerator<Uint8Array> {
  const ns = `${plan.db}.${plan.dataCollection}`;
  let documents = 0;
  let bytes = 0;
  let ok = false;
  let session = r.session();
  const byId = session !== undefined && resumableByIdOrder(plan);
  let lastId: Buffer | undefined;
  let skipEqual = false;
  const base = { raw: true, ...(r.opts.batchSize ? { batchSize: r.opts.batchSize } : {}), ...(r.opts.signal ? { signal: r.opts.signal } : {}) };
  try {
    while (true) {
      const cursor = r.client
        .db(plan.db)
        .collection(plan.dataCollection as string)
        .find({}, { ...base, ...(session ? { session } : {}), ...(byId ? idOrderOptions(lastId) : {}) });
      try {
        for await (const doc of cursor as AsyncIterable<Uint8Array>) {
          r.opts.signal?.throwIfAborted();
          if (byId) {
            const id = rawIdOf(doc);
            // `min` is inclusive: the document we stopped at comes again first.
            if (skipEqual && id && lastId && id.equals(lastId)) {
              skipEqual = false;
              continue;
            }
            skipEqual = false;
            lastId = id;
          }
          documents++;
          bytes += doc.byteLength;
          if (documents % PROGRESS_EVERY === 0) r.opts.onProgress?.({ ns, documents, bytes, done: false });
          yield doc;
        }
        break;
      } catch (err) {
        if (!(byId && session && isSnapshotLost(err) && !r.opts.signal?.aborted)) throw err;
        r.snapshotLost(`the snapshot expired after ${documents} documents of ${ns} (the dump outlived the server's snapshot history window, minSnapshotHistoryWindowInSeconds); the rest of the dump was read without a snapshot`);
        session = undefined;
        skipEqual = lastId !== undefined;
      } finally {
        await cursor.close().catch(() => undefined);
      }
    }
    ok = true;
    r.opts.onProgress?.({ ns, documents, bytes, done: true });
  } catch (err) {
    // Interrupted on purpose (SIGINT/SIGTERM): the caller's reason, not a server failure.
    if (r.opts.signal?.aborted) throw r.opts.signal.reason ?? err;
    throw readFailure(err, ns, documents, r.clusterTime);
  } finally {
    state.dataFinished();
    const last = state.finish();
    if (ok && last) await onLast();
  }
}

/** The empty document stream of a view; it only marks itself finished (and may end the window). */
async function* noDocuments(state: DrainState, onLast: () => Promise<void>): AsyncGenerator<Uint8Array> {
  if (state.finish()) await onLast();
  yield* [];
}

async function* readOplog(
  r: Reader,
  start: Timestamp,
  state: DrainState,
  markEnd: () => Promise<void>,
  end: () => Timestamp | undefined,
): AsyncGenerator<Uint8Array> {
  const ns = ".oplog";
  let documents = 0;
  let bytes = 0;
  try {
    // The slice can only be cut once every collection has been read: it spans the whole dump.
    await state.dataDone;
    await markEnd();
    const stop = end() ?? start;
    const cursor = r.client
      .db("local")
      .collection("oplog.rs")
      .find({ ts: { $gt: start, $lte: stop } }, { raw: true, hint: { $natural: 1 }, ...(r.opts.signal ? { signal: r.opts.signal } : {}) });
    try {
      for await (const doc of cursor as AsyncIterable<Uint8Array>) {
        r.opts.signal?.throwIfAborted();
        documents++;
        bytes += doc.byteLength;
        yield doc;
      }
    } finally {
      await cursor.close().catch(() => undefined);
    }
    r.opts.onProgress?.({ ns, documents, bytes, done: true });
  } catch (err) {
    // Interrupted on purpose (SIGINT/SIGTERM): the caller's reason, not a server failure.
    if (r.opts.signal?.aborted) throw r.opts.signal.reason ?? err;
    throw readFailure(err, ns, documents, undefined);
  } finally {
    state.finish();
  }
}

function readFailure(err: unknown, ns: string, documents: number, clusterTime: ClusterTime | undefined): Error {
  const op = `mongodb read ${ns}`;
  if (isSnapshotLost(err) && clusterTime) {
    return new RemoteError(
      op,
      `the snapshot at cluster time ${clusterTime.t}.${clusterTime.i} expired after ${documents} documents: the dump outlived the server's snapshot history window (minSnapshotHistoryWindowInSeconds, default 300 s); raise it, or dump without a snapshot (oplog-window consistency)`,
      { cause: err },
    );
  }
  const wrapped = mongoError(err, op);
  if (wrapped instanceof RemoteError) return new RemoteError(op, `${wrapped.message.slice(op.length + 2)} (after ${documents} documents)`, { cause: err });
  return wrapped;
}
