/**
 * Reading the oplog from a position onwards (issue 15 §1), for the follower. It tails
 * `local.oplog.rs` with a tailable, awaitData cursor; a server that refuses one, or closes it at
 * the end of the oplog instead of waiting (FerretDB v1.24), is polled instead:
 * `find({ts: {$gte: last}}).sort({$natural: 1})` again after a short wait. Either way the cursor
 * asks for `$gte` the last position and drops entries at or before it by exact `ts` comparison,
 * so a tailable cursor always has a first match (mongod closes one that has none). That first
 * match is also the gap check: while the entry at the position is still in the oplog, nothing
 * after it can have been dropped, so the oplog's bounds are asked for only when a query's first
 * entry is not the position (or there is none). A poll is then one query, which matters where a
 * query costs a scan of the oplog: FerretDB v1.24 took 4.5-5.5 s for each, bounds included, with
 * 40 000 entries in its local.oplog.rs. And a tailable cursor is watched: every few idle waits
 * the oplog's newest entry is asked for, and a cursor that still has not returned an entry the
 * server held one check earlier is stale, so the reader polls instead. FerretDB v1.24 keeps such
 * a cursor open and never returns another entry once its oplog holds a few thousand.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Timestamp, type Document, type FindCursor, type MongoClient } from "mongodb";
import { compareTimes, formatTime, type OplogTime } from "../manifest/manifest.js";
import { mongoError } from "./connect.js";

/** What the reader yields: an entry, a sign that it is caught up, or a gap it found. */
export type OplogEvent =
  | { readonly kind: "entry"; readonly raw: Uint8Array; readonly ts: OplogTime }
  /** Caught up with the oplog for now (yielded at most once per wait). */
  | { readonly kind: "idle" }
  /** The oplog's oldest entry is newer than the position: entries after `from` and before `to` are gone. */
  | { readonly kind: "gap"; readonly from: OplogTime; readonly to: OplogTime };

/** Options of `readOplog`. */
export interface ReadOplogOptions {
  /** Entries after this position (exclusive) are read. */
  readonly after: OplogTime;
  /** Stop after the first entry at or past this time, or when caught up past it (`--once`). */
  readonly until?: () => OplogTime | undefined;
  /** How long a poll (or an awaitData getMore) waits for new entries, in ms. Default 1000. */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
  /** Told how the oplog is read, in words for a log line: once it is known, and if it changes (a stale tailable cursor). */
  readonly onMode?: (mode: "tailable" | "polling", why: string) => void;
}

/** The `ts` of the oplog's oldest and newest entries, or undefined when it is empty. */
export async function oplogBounds(client: MongoClient): Promise<{ oldest: OplogTime; newest: OplogTime } | undefined> {
  const oldest = await oplogEnd(client, 1);
  const newest = await oplogEnd(client, -1);
  return oldest && newest ? { oldest, newest } : undefined;
}

/** The `ts` of the oplog's first (1) or last (-1) entry in natural order, or undefined when it is empty. */
async function oplogEnd(client: MongoClient, order: 1 | -1): Promise<OplogTime | undefined> {
  const [doc] = await client.db("local").collection("oplog.rs").find({}, { sort: { $natural: order }, limit: 1, projection: { ts: 1 } }).toArray();
  return doc?.ts ? plain(doc.ts as Timestamp) : undefined;
}

/** A tailable cursor's idle waits between two looks at the oplog's newest entry. */
const STALE_CHECK_WAITS = 5;

function plain(ts: Timestamp): OplogTime {
  return { t: ts.high >>> 0, i: ts.low >>> 0 };
}

/** The `ts` of a raw oplog entry without decoding the document. */
export function rawTime(raw: Uint8Array): OplogTime {
  // Walk the top-level elements to "ts" (type 0x11, BSON Timestamp: increment then seconds, LE).
  const view = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let p = 4;
  while (p < view.length - 1) {
    const type = view[p]!;
    const nameEnd = view.indexOf(0, p + 1);
    const name = view.toString("utf8", p + 1, nameEnd);
    const v = nameEnd + 1;
    if (name === "ts" && type === 0x11) return { t: view.readUInt32LE(v + 4), i: view.readUInt32LE(v) };
    p = v + valueSize(view, type, v);
  }
  throw new Error("oplog entry without a ts timestamp");
}

function valueSize(b: Buffer, type: number, v: number): number {
  switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12: return 8;
    case 0x10: return 4;
    case 0x13: return 16;
    case 0x07: return 12;
    case 0x08: return 1;
    case 0x0a: case 0x06: case 0xff: case 0x7f: return 0;
    case 0x02: case 0x0d: case 0x0e: return 4 + b.readInt32LE(v);
    case 0x03: case 0x04: case 0x0f: return b.readInt32LE(v);
    case 0x05: return 5 + b.readInt32LE(v);
    case 0x0b: { const a = b.indexOf(0, v); return b.indexOf(0, a + 1) + 1 - v; }
    case 0x0c: return 4 + b.readInt32LE(v) + 12;
    default: throw new Error(`oplog entry with an unknown BSON type 0x${type.toString(16)}`);
  }
}

/**
 * Yields the oplog's entries after `opts.after`, in oplog order, forever (or until `until`),
 * with an `idle` event whenever it has caught up, and a `gap` event first when the oplog no
 * longer holds the entry after the position. Throws RemoteError when the server fails, and the
 * signal's reason when it fires.
 */
export async function* readOplog(client: MongoClient, opts: ReadOplogOptions): AsyncGenerator<OplogEvent> {
  const coll = client.db("local").collection("oplog.rs");
  const wait = opts.waitMs ?? 1000;
  let position = opts.after;
  /** After a gap the oldest entry itself is wanted: entries at or after it are read. */
  let inclusive = false;
  let mode: "tailable" | "polling" | undefined;
  /** The position the oplog's bounds were last checked at: a gap there has been looked for. */
  let checkedAt: OplogTime | undefined;
  const reached = (): boolean => {
    const until = opts.until?.();
    return until !== undefined && compareTimes(position, until) >= 0;
  };
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      /** Whether the entry at the position must be the query's first (else the bounds are checked). */
      const expectPosition = !inclusive && (checkedAt === undefined || compareTimes(checkedAt, position) !== 0);
      const query: Document = { ts: { $gte: new Timestamp({ t: position.t, i: position.i }) } };
      let cursor: FindCursor<Uint8Array> | undefined;
      let ended = false;
      let got = 0;
      let fresh = 0;
      /** The query's first entry was not the position: the bounds are checked before reading on. */
      let check = false;
      /** Idle waits of this tailable cursor, and the oplog's newest entry at the last look (when past the position). */
      let idle = 0;
      let owed: OplogTime | undefined;
      let stale = false;
      try {
        if (mode !== "polling") {
          cursor = coll.find(query, { tailable: true, awaitData: true, maxAwaitTimeMS: wait, raw: true, ...(opts.signal ? { signal: opts.signal } : {}) }) as unknown as FindCursor<Uint8Array>;
        } else {
          cursor = coll.find(query, { sort: { $natural: 1 }, raw: true, batchSize: 1000, ...(opts.signal ? { signal: opts.signal } : {}) }) as unknown as FindCursor<Uint8Array>;
        }
        for (;;) {
          let raw: Uint8Array | null;
          try {
            raw = await cursor.tryNext();
          } catch (err) {
            if (mode === undefined && got === 0 && !opts.signal?.aborted) {
              mode = "polling";
              opts.onMode?.("polling", `the server refused a tailable awaitData cursor on local.oplog.rs (${(err as Error).message}); polling every ${wait} ms`);
              break;
            }
            throw err;
          }
          if (raw === null) {
            if (cursor.closed || cursor.killed || mode === "polling") {
              ended = true;
              break;
            }
            if (mode === undefined) {
              mode = "tailable";
              opts.onMode?.("tailable", "tailing local.oplog.rs with a tailable awaitData cursor");
            }
            if (reached()) return;
            yield { kind: "idle" };
            if (++idle % STALE_CHECK_WAITS === 0) {
              if (owed && compareTimes(position, owed) < 0) {
                stale = true;
                break;
              }
              const newest = await oplogEnd(client, -1);
              owed = newest && compareTimes(newest, position) > 0 ? newest : undefined;
            }
            continue;
          }
          got++;
          const ts = rawTime(raw);
          if (got === 1 && expectPosition && compareTimes(ts, position) !== 0) {
            check = true;
            break;
          }
          if (inclusive ? compareTimes(ts, position) < 0 : compareTimes(ts, position) <= 0) continue;
          inclusive = false;
          position = ts;
          fresh++;
          yield { kind: "entry", raw, ts };
          if (reached()) return;
        }
      } finally {
        await cursor?.close().catch(() => undefined);
      }
      if (check || (ended && got === 0 && expectPosition)) {
        // The entry at the position is gone: entries after it may have been dropped.
        checkedAt = position;
        const bounds = await oplogBounds(client);
        if (bounds && compareTimes(bounds.oldest, position) > 0) {
          yield { kind: "gap", from: position, to: bounds.oldest };
          position = bounds.oldest;
          inclusive = true;
        }
        continue;
      }
      if (stale) {
        mode = "polling";
        opts.onMode?.("polling", `the tailable cursor on local.oplog.rs stopped returning entries: the server has held ${formatTime(owed!)} for ${STALE_CHECK_WAITS} waits, the cursor's newest is ${formatTime(position)}; polling every ${wait} ms instead`);
        continue;
      }
      if (ended && mode === undefined) {
        mode = "polling";
        opts.onMode?.("polling", `the server closed the tailable cursor on local.oplog.rs at the end of the oplog instead of waiting (it does not tail); polling every ${wait} ms from ${formatTime(position)}`);
      }
      if (ended) {
        if (reached()) return;
        // New entries came: ask again at once; none: caught up, wait before the next poll.
        if (fresh === 0) {
          yield { kind: "idle" };
          await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : {});
        }
      }
    }
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    throw mongoError(err, "mongodb read local.oplog.rs");
  }
}
