/**
 * Change-stream mode of the standby: follow the primary's cluster-wide change stream and apply
 * every insert, update, replace and delete of an included namespace to the standby, persisting
 * the resume token after each applied batch. Applying is idempotent (writes by `_id`, updates as
 * the post-image), so events replayed after a crash between a write and its token do no harm.
 */
import { MongoServerError, type ChangeStream, type ChangeStreamDocument, type Document, type MongoClient, type ResumeToken } from "mongodb";
import { RemoteError } from "../errors.js";
import { isCommandNotFound, mongoError, serverCode } from "../mongo/connect.js";
import { splitNamespace, type NamespaceFilter } from "../mongo/namespaces.js";
import type { Secret } from "../secret.js";

/** Why change streams cannot be used on this primary, or undefined when they can. */
export async function changeStreamUnavailable(primary: MongoClient): Promise<string | undefined> {
  const stream = primary.watch([], { maxAwaitTimeMS: 1 });
  try {
    await stream.tryNext();
    return undefined;
  } catch (err) {
    // Any refusal by the server means no change streams here: 40573 "only supported on replica
    // sets" from a standalone mongod, 40324 unknown stage, or a wire-compatible server that
    // rejects the cluster-wide aggregate (jongodb: "aggregate must be a string"). Network and
    // authentication failures are not refusals and propagate.
    if (err instanceof MongoServerError || isCommandNotFound(err)) {
      return `the primary cannot open a change stream (${(err as Error).message}); change streams need a replica set or sharded cluster`;
    }
    throw err;
  } finally {
    await stream.close().catch(() => undefined);
  }
}

/**
 * The primary's current position in its change stream, for starting to follow before an initial
 * copy (events during the copy are then replayed, harmlessly).
 */
export async function currentResumeToken(primary: MongoClient): Promise<ResumeToken> {
  const stream = primary.watch([], { maxAwaitTimeMS: 1 });
  try {
    await stream.tryNext();
    if (!stream.resumeToken) throw new RemoteError("mongodb watch", "the primary returned no resume token for a new change stream");
    return stream.resumeToken;
  } finally {
    await stream.close().catch(() => undefined);
  }
}

/** Outcome of one `followChanges` call. */
export interface FollowResult {
  readonly applied: number;
  /** Resume token after the last applied event (unchanged when nothing came). */
  readonly resumeToken: ResumeToken;
  /** Cluster time (seconds since the epoch) of the last applied event, if any. */
  readonly lastEventSeconds?: number;
  /** True when the stream had nothing more when the call returned. */
  readonly caughtUp: boolean;
}

/** Options of `followChanges`. */
export interface FollowOptions {
  readonly primary: MongoClient;
  readonly standby: MongoClient;
  readonly standbyUri: Secret;
  readonly filter: NamespaceFilter;
  readonly resumeToken: ResumeToken;
  /** Called with the new token after every applied batch; persist it before returning. */
  readonly onBatch: (token: ResumeToken, applied: number, lastEventSeconds: number | undefined) => Promise<void>;
  /** Stop once the stream has nothing more (`--once`). Otherwise run until `signal` aborts. */
  readonly untilCaughtUp: boolean;
  /** How long the server may hold an empty getMore, in ms; default 1000. */
  readonly maxAwaitTimeMS?: number;
  readonly signal?: AbortSignal;
  /** Called whenever the stream is idle (caught up), at most once per getMore. */
  readonly onIdle?: () => Promise<void>;
}

/**
 * One standby change: a document write (bulk-write operation) in `ns`, or a collection-level
 * change (the collection dropped, or renamed to `to`).
 */
export type Op = { ns: string; write: Document } | { ns: string; drop: true } | { ns: string; renameTo: string };

/**
 * Follows the primary's change stream from `resumeToken`. Throws RemoteError when either side
 * fails, and RemoteError (`mongodb watch`) when the resume token has fallen off the primary's
 * oplog (the standby then needs a fresh initial copy: delete the state file).
 */
export async function followChanges(opts: FollowOptions): Promise<FollowResult> {
  const stream: ChangeStream<Document, ChangeStreamDocument<Document>> = opts.primary.watch([], {
    resumeAfter: opts.resumeToken,
    fullDocument: "updateLookup",
    maxAwaitTimeMS: opts.maxAwaitTimeMS ?? 1000,
    promoteValues: false,
    promoteLongs: false,
    promoteBuffers: false,
    bsonRegExp: true,
  });
  let token = opts.resumeToken;
  let applied = 0;
  let lastEventSeconds: number | undefined;
  // A new stream's first answer (the aggregate) is usually empty even with events waiting; only
  // an empty getMore after it means the standby has caught up.
  let polls = 0;
  try {
    for (;;) {
      polls++;
      if (opts.signal?.aborted) return { applied, resumeToken: token, ...(lastEventSeconds !== undefined ? { lastEventSeconds } : {}), caughtUp: false };
      const batch: Op[] = [];
      let seen = 0;
      let ev: ChangeStreamDocument<Document> | null;
      let batchSeconds: number | undefined;
      try {
        while (seen < 500 && (ev = await stream.tryNext()) !== null) {
          seen++;
          const op = toWrite(ev);
          // Renamed out of the mirrored set: for the standby, the collection is gone.
          if (op && opts.filter.matches(op.ns)) batch.push("renameTo" in op && !opts.filter.matches(op.renameTo) ? { ns: op.ns, drop: true } : op);
          if ("clusterTime" in ev && ev.clusterTime) batchSeconds = ev.clusterTime.getHighBitsUnsigned();
          if (stream.resumeToken) token = stream.resumeToken;
          if (opts.signal?.aborted) break;
        }
      } catch (err) {
        if (serverCode(err) === 286 || serverCode(err) === 280) {
          throw new RemoteError("mongodb watch", `the resume token is no longer in the primary's oplog (${(err as Error).message}); delete the state file to start over with a full copy`, { cause: err });
        }
        throw mongoError(err, "mongodb watch");
      }
      // An empty batch still moves the token (post-batch resume token), so an idle primary's
      // oplog rolling over never strands the standby.
      if (stream.resumeToken) token = stream.resumeToken;
      await applyOps(opts.standby, opts.standbyUri, batch);
      applied += batch.length;
      if (batchSeconds !== undefined) lastEventSeconds = batchSeconds;
      await opts.onBatch(token, batch.length, batchSeconds);
      const caughtUp = seen < 500 && polls > 1 && !opts.signal?.aborted;
      if (caughtUp) {
        if (opts.untilCaughtUp) return { applied, resumeToken: token, ...(lastEventSeconds !== undefined ? { lastEventSeconds } : {}), caughtUp: true };
        await opts.onIdle?.();
      }
    }
  } finally {
    await stream.close().catch(() => undefined);
  }
}

/** The standby write for one change event; undefined for events the standby does not mirror. */
export function toWrite(ev: ChangeStreamDocument<Document>): Op | undefined {
  if (!("ns" in ev) || !ev.ns || !("coll" in ev.ns) || !ev.ns.coll) return undefined;
  const ns = `${ev.ns.db}.${ev.ns.coll}`;
  switch (ev.operationType) {
    case "insert":
    case "replace":
      return { ns, write: { replaceOne: { filter: { _id: ev.documentKey._id }, replacement: ev.fullDocument, upsert: true } } };
    case "update":
      // The post-image as of the lookup; null when the document was deleted since, in which case
      // the delete event follows and deleting now is the same end state.
      return ev.fullDocument
        ? { ns, write: { replaceOne: { filter: { _id: ev.documentKey._id }, replacement: ev.fullDocument, upsert: true } } }
        : { ns, write: { deleteOne: { filter: { _id: ev.documentKey._id } } } };
    case "delete":
      return { ns, write: { deleteOne: { filter: { _id: ev.documentKey._id } } } };
    // A dropDatabase is preceded by a drop event per collection, so mirroring drops covers it.
    case "drop":
      return { ns, drop: true };
    case "rename":
      return { ns, renameTo: `${ev.to.db}.${ev.to.coll}` };
    default:
      return undefined;
  }
}

async function applyOps(standby: MongoClient, uri: Secret, ops: readonly Op[]): Promise<void> {
  // Consecutive writes to one namespace go in one ordered bulk write: order matters within a
  // document's history (insert then delete), and runs keep the round trips few.
  let i = 0;
  while (i < ops.length) {
    const op = ops[i]!;
    const { db, collection } = splitNamespace(op.ns);
    try {
      if ("drop" in op) {
        i++;
        await standby.db(db).collection(collection).drop().catch((err: unknown) => {
          if (serverCode(err) !== 26) throw err;
        });
        continue;
      }
      if ("renameTo" in op) {
        i++;
        await standby.db("admin").command({ renameCollection: op.ns, to: op.renameTo, dropTarget: true }).catch((err: unknown) => {
          if (serverCode(err) !== 26) throw err;
        });
        continue;
      }
      const run: Document[] = [];
      for (let next = ops[i]; next && next.ns === op.ns && "write" in next; next = ops[++i]) run.push(next.write);
      await standby.db(db).collection(collection).bulkWrite(run as never, { ordered: true });
    } catch (err) {
      throw mongoError(err, `mongodb standby ${op.ns}`, uri);
    }
  }
}
