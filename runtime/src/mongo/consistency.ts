/**
 * Read consistency of a dump (issue 3 §1): what the server allows, and a report of what was
 * actually achieved — never more than that.
 *
 * - `snapshot`: every collection read at one cluster time (`readConcern: "snapshot"` through a
 *   snapshot session, MongoDB ≥ 5.0 replica sets). The report carries that cluster time.
 * - `oplog-window`: a replica set where snapshot reads were not possible; collections are read one
 *   after another at different times, and the report gives the oplog window the dump spanned, so
 *   `--oplog` plus `mongorestore --oplogReplay` can bring it to one point in time.
 * - `fuzzy`: a standalone server (no oplog, no snapshots) or a sharded cluster through mongos;
 *   each collection is read as it is when its cursor reaches it.
 */
import type { ClientSession, Document, MongoClient, Timestamp } from "mongodb";
import { serverCode } from "./connect.js";

/** The mode achieved; the manifest's `consistency.mode`. */
export type ConsistencyMode = "snapshot" | "oplog-window" | "fuzzy";

/** A BSON timestamp as plain numbers (seconds since the epoch, ordinal within the second). */
export interface ClusterTime {
  readonly t: number;
  readonly i: number;
}

/** Final consistency of a dump, shaped like the manifest's `consistency` field. */
export interface ConsistencyReport {
  readonly mode: ConsistencyMode;
  readonly detail: {
    readonly topology: Topology;
    /** For `snapshot`: the one cluster time every collection was read at. */
    readonly clusterTime?: ClusterTime;
    /** Replica sets: newest oplog entry before the first read and after the last. */
    readonly oplogWindow?: { readonly start: ClusterTime; readonly end: ClusterTime };
    /** Whether the `.oplog` namespace (the window's entries) is in the archive. */
    readonly oplogIncluded: boolean;
    /** Why a stronger mode was not achieved; empty for `snapshot`. */
    readonly reasons: readonly string[];
  };
}

/** Server topology as seen through `hello`. */
export type Topology = "standalone" | "replicaSet" | "sharded";

/** What `hello` and `buildInfo` say about the server. */
export interface ServerInfo {
  readonly topology: Topology;
  readonly version: string;
  /** Major.minor as numbers, e.g. [8, 0]. */
  readonly versionArray: readonly number[];
}

/** Reads topology and version. Throws the driver's error when the server does not answer. */
export async function describeServer(client: MongoClient): Promise<ServerInfo> {
  const admin = client.db("admin");
  const hello = await admin.command({ hello: 1 });
  const build = await admin.command({ buildInfo: 1 });
  const topology: Topology = hello.msg === "isdbgrid" ? "sharded" : typeof hello.setName === "string" ? "replicaSet" : "standalone";
  const version = String(build.version ?? "unknown");
  const versionArray = Array.isArray(build.versionArray) ? (build.versionArray as unknown[]).map(Number) : version.split(".").map((x) => Number.parseInt(x, 10) || 0);
  return { topology, version, versionArray };
}

/** Converts a driver Timestamp into plain numbers. */
export function toClusterTime(ts: Timestamp): ClusterTime {
  return { t: ts.high >>> 0, i: ts.low >>> 0 };
}

/**
 * The newest oplog entry's `ts` on a replica set member, or undefined when there is no readable
 * oplog (standalone, missing privileges). `probeOplog` says which.
 */
export async function newestOplogTime(client: MongoClient): Promise<Timestamp | undefined> {
  const probe = await probeOplog(client);
  return "ts" in probe ? probe.ts : undefined;
}

/** Server error codes of an authorization failure (Unauthorized, AuthenticationFailed). */
const UNAUTHORIZED_CODES: ReadonlySet<number> = new Set([13, 18]);

/**
 * Reads the newest oplog entry's `ts`, or says why there is none, in words for the manifest's
 * consistency reasons: no `local.oplog.rs` on this server (e.g. FerretDB, or a replica set
 * member started without one), an authorization failure (the credentials may not read `local`),
 * an empty oplog, or the server's own error. Never throws.
 */
export async function probeOplog(client: MongoClient): Promise<{ ts: Timestamp } | { reason: string }> {
  const local = client.db("local");
  let last: Document | undefined;
  let failure: unknown;
  try {
    [last] = await local.collection("oplog.rs").find({}, { sort: { $natural: -1 }, limit: 1, projection: { ts: 1 } }).toArray();
    if (last?.ts) return { ts: last.ts as Timestamp };
  } catch (err) {
    const code = serverCode(err);
    if (code !== undefined && UNAUTHORIZED_CODES.has(code)) return { reason: "the oplog (local.oplog.rs) is not readable with these credentials" };
    failure = err;
  }
  // A missing collection reads as empty on mongod and as an error on some servers (FerretDB
  // refuses the $natural sort on it): the catalog says which it is.
  const exists = await local
    .listCollections({ name: "oplog.rs" }, { nameOnly: true })
    .toArray()
    .then((c) => c.length > 0)
    .catch(() => undefined);
  if (exists === false) return { reason: NO_OPLOG };
  if (failure !== undefined) return { reason: `the oplog (local.oplog.rs) could not be read: ${(failure as Error).message}` };
  return { reason: "the oplog (local.oplog.rs) has no entries" };
}

const NO_OPLOG = "no oplog on this server: local.oplog.rs does not exist";

/** Server error codes meaning the snapshot's history is gone (SnapshotTooOld, SnapshotUnavailable). */
export const SNAPSHOT_LOST_CODES: ReadonlySet<number> = new Set([239, 246]);

/** True when `err` says the snapshot the dump reads at is no longer available. */
export function isSnapshotLost(err: unknown): boolean {
  const code = serverCode(err);
  return code !== undefined && SNAPSHOT_LOST_CODES.has(code);
}

/** Outcome of `openSnapshot`: a session pinned to one cluster time, or why there is none. */
export type SnapshotAttempt = { ok: true; session: ClientSession; clusterTime: ClusterTime } | { ok: false; reason: string };

/**
 * Opens a snapshot session and pins its cluster time with one small read of `probe` (a
 * `db.coll` that will be dumped). Snapshot sessions need a replica set (or sharded cluster) on
 * MongoDB ≥ 5.0; any refusal is returned as a reason rather than thrown, since the dump then
 * continues in a weaker mode and records why.
 */
export async function openSnapshot(client: MongoClient, server: ServerInfo, probe: { db: string; collection: string }): Promise<SnapshotAttempt> {
  if (server.topology === "standalone") return { ok: false, reason: "standalone server: snapshot reads need a replica set" };
  if ((server.versionArray[0] ?? 0) < 5) return { ok: false, reason: `server ${server.version}: snapshot reads outside transactions need MongoDB 5.0 or newer` };
  const session = client.startSession({ snapshot: true });
  try {
    await client.db(probe.db).collection(probe.collection).find({}, { session, limit: 1, raw: true }).toArray();
    // The driver pins the snapshot to the first read's atClusterTime (`snapshotTime`, not in its
    // public typings); operationTime of that read is the same point and is the fallback.
    const time = (session as unknown as { snapshotTime?: Timestamp }).snapshotTime ?? session.operationTime;
    if (!time) {
      // Not a refusal: the read succeeded, but with no time to pin, it was not a snapshot read.
      await session.endSession().catch(() => undefined);
      return { ok: false, reason: "the server ignored the snapshot read: its reply carried no operation time" };
    }
    return { ok: true, session, clusterTime: toClusterTime(time) };
  } catch (err) {
    await session.endSession().catch(() => undefined);
    return { ok: false, reason: `snapshot read refused: ${(err as Error).message}` };
  }
}
