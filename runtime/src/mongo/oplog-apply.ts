/**
 * Replays oplog entries into a live server through the driver (issue 15 §3): the second half of a
 * point-in-time restore, after the base backup is restored. Entries are applied in the order
 * given, idempotently (an insert of a document the base already holds replaces it, a delete of a
 * missing one is a no-op), and every entry is accounted for: applied, or counted under a named
 * reason (no-op, not included, internal namespace, past the limit, uncommitted transaction).
 * An entry this applier cannot apply is an error naming its op and namespace, never skipped.
 */
import { BSON, type Document, type MongoClient, type Timestamp } from "mongodb";
import { ConfigError, IntegrityError } from "../errors.js";
import { compareTimes } from "../manifest/manifest.js";
import { serverCode } from "./connect.js";
import type { ClusterTime } from "./consistency.js";
import { createNamespaceFilter, createRenamer, splitNamespace, type RenameRule } from "./namespaces.js";
import { applyDocumentDiff } from "./oplog-diff.js";
import { indexSpecOf } from "./restore.js";

/** An oplog entry this applier cannot apply (its op and namespace are in the message). Exit code 4. */
export class OplogApplyError extends IntegrityError {
  constructor(
    readonly op: string,
    readonly ns: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`oplog replay ${op} ${ns}: ${message}`, options);
  }
}

/** An oplog entry's `ts` as plain numbers. Throws OplogApplyError when it has none. */
export function timeOf(entry: Document): ClusterTime {
  const ts = entry.ts as Timestamp | undefined;
  if (!ts || typeof ts !== "object" || !("high" in ts)) throw new OplogApplyError(String(entry.op), String(entry.ns), "the entry has no BSON timestamp ts");
  return { t: ts.high >>> 0, i: ts.low >>> 0 };
}

/** Options of `createOplogApplier`. */
export interface OplogApplyOptions {
  /** Apply only entries whose namespace matches (as restore's `--include`). */
  readonly include?: readonly string[];
  /** Rename rules, as restore's `--rename`. */
  readonly rename?: readonly RenameRule[];
  /** Apply entries with `ts` after this time only (exclusive); earlier ones count as `before`. */
  readonly after?: ClusterTime;
  /** Apply entries up to and including this time; later ones count as `beyond`. */
  readonly limit?: ClusterTime;
}

/** What a replay did, entry by entry (nested applyOps entries count one each). */
export interface OplogApplyReport {
  applied: number;
  /** `n` entries (and empty applyOps). */
  noops: number;
  /** Namespaces outside `include`. */
  notIncluded: number;
  /** config.*, local.* and admin.system.* (sessions, keys, the server's own bookkeeping). */
  internal: number;
  /** At or before `after` (already in the base). */
  before: number;
  /** After `limit`. */
  beyond: number;
  /** Operations of transactions with no commit at or before the limit, not applied. */
  uncommitted: number;
  /** Updates and deletes whose document was not in the target (already gone in the base's data). */
  missing: number;
  /** The newest `ts` applied. */
  last?: ClusterTime;
}

/** An applier bound to one target server. */
export interface OplogApplier {
  /** Applies one top-level oplog entry (as decoded with `decodeEntry`). */
  apply(entry: Document): Promise<void>;
  /** Ends the replay: transactions still open are counted `uncommitted`. Returns the report. */
  finish(): OplogApplyReport;
}

/** Decodes a raw oplog entry keeping exact BSON types (Int64, Decimal128, Timestamp). */
export function decodeEntry(raw: Uint8Array): Document {
  return BSON.deserialize(raw, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true });
}

const INTERNAL_DB = new Set(["config", "local"]);

/**
 * Creates an applier writing to `client`. Supported: `i`, `u` (`$v: 2` diffs, classic modifiers
 * and replacements), `d`, `n`, and the commands applyOps (nested; transactions split over several
 * entries with `partialTxn`, and prepared ones with commitTransaction/abortTransaction), create,
 * drop, renameCollection, createIndexes, startIndexBuild/commitIndexBuild/abortIndexBuild (the
 * index is built at its commit), dropIndexes, collMod and dropDatabase. Anything else throws
 * OplogApplyError; a server refusal throws OplogApplyError with the server's message as cause.
 * Throws ConfigError for bad include or rename patterns.
 */
export function createOplogApplier(client: MongoClient, opts: OplogApplyOptions = {}): OplogApplier {
  const filter = createNamespaceFilter(opts.include);
  const rename = createRenamer(opts.rename);
  const mapped = Boolean(opts.include?.length || opts.rename?.length);
  const report: OplogApplyReport = { applied: 0, noops: 0, notIncluded: 0, internal: 0, before: 0, beyond: 0, uncommitted: 0, missing: 0 };
  /** Open transactions by session and transaction number: their operations so far. */
  const open = new Map<string, Document[]>();

  const collectionOf = (ns: string) => {
    const { db, collection } = splitNamespace(ns);
    return client.db(db).collection(collection);
  };

  /** The target namespace of `ns`, or undefined (counted) when it is not replayed. */
  const target = (ns: string): string | undefined => {
    const { db, collection } = splitNamespace(ns);
    if (INTERNAL_DB.has(db) || (db === "admin" && collection.startsWith("system."))) {
      report.internal++;
      return undefined;
    }
    if (!filter.matches(ns)) {
      report.notIncluded++;
      return undefined;
    }
    return rename(ns);
  };

  const fail = (op: string, ns: string, err: unknown): never => {
    throw new OplogApplyError(op, ns, `the server refused it: ${(err as Error).message}`, { cause: err });
  };

  const applyCrud = async (e: Document): Promise<void> => {
    const op = String(e.op);
    const ns = String(e.ns);
    const to = target(ns);
    if (!to) return;
    const coll = collectionOf(to);
    const o = e.o as Document | undefined;
    if (!o) throw new OplogApplyError(op, ns, "the entry has no o field");
    try {
      if (op === "i") {
        if (o._id === undefined) throw new OplogApplyError(op, ns, "the inserted document has no _id");
        await coll.replaceOne({ _id: o._id }, o, { upsert: true });
      } else if (op === "d") {
        const res = await coll.deleteOne({ _id: o._id });
        if (res.deletedCount === 0) report.missing++;
      } else {
        await applyUpdate(coll, e, op, ns, o, report);
      }
    } catch (err) {
      if (err instanceof OplogApplyError) throw err;
      fail(op, ns, err);
    }
    report.applied++;
  };

  const command = async (e: Document, time: ClusterTime): Promise<void> => {
    const ns = String(e.ns);
    const db = ns.slice(0, ns.indexOf("."));
    const o = (e.o ?? {}) as Document;
    const name = Object.keys(o)[0] ?? "";
    const on = (collection: unknown) => `${db}.${String(collection)}`;
    const run = async (targetNs: string, body: (db: string, coll: string) => Promise<unknown>, ignore: readonly number[] = []): Promise<void> => {
      const to = target(targetNs);
      if (!to) return;
      const { db: tdb, collection: tcoll } = splitNamespace(to);
      try {
        await body(tdb, tcoll);
      } catch (err) {
        const code = serverCode(err);
        if (code === undefined || !ignore.includes(code)) fail(`c ${name}`, targetNs, err);
      }
      report.applied++;
    };
    switch (name) {
      case "applyOps": {
        const ops = o.applyOps as Document[] | undefined;
        if (!Array.isArray(ops)) throw new OplogApplyError("c applyOps", ns, "applyOps is not an array");
        const key = e.lsid && e.txnNumber !== undefined ? `${BSON.EJSON.stringify(e.lsid)}:${String(e.txnNumber)}` : undefined;
        if (o.partialTxn === true || o.prepare === true) {
          // Not committed yet: held until its commit (a later applyOps without partialTxn, or
          // commitTransaction for a prepared one), dropped if the replay ends first.
          if (!key) throw new OplogApplyError("c applyOps", ns, "a partial or prepared transaction entry without lsid and txnNumber");
          open.set(key, [...(open.get(key) ?? []), ...ops]);
          return;
        }
        const held = key ? (open.get(key) ?? []) : [];
        if (key) open.delete(key);
        const all = [...held, ...ops];
        if (all.length === 0) report.noops++;
        for (const inner of all) await one({ ...inner, ts: e.ts }, time);
        return;
      }
      case "commitTransaction":
      case "abortTransaction": {
        const key = e.lsid && e.txnNumber !== undefined ? `${BSON.EJSON.stringify(e.lsid)}:${String(e.txnNumber)}` : undefined;
        const held = key ? open.get(key) : undefined;
        if (key) open.delete(key);
        if (!held) throw new OplogApplyError(`c ${name}`, ns, "no prepared transaction with this lsid and txnNumber came before it");
        if (name === "abortTransaction") {
          report.noops++;
          return;
        }
        for (const inner of held) await one({ ...inner, ts: e.ts }, time);
        return;
      }
      case "create": {
        const { create: coll, idIndex: _idIndex, ...options } = o;
        return run(on(coll), (d, c) => client.db(d).command({ create: c, ...options }), [48]);
      }
      case "drop":
        return run(on(o.drop), (d, c) => client.db(d).command({ drop: c }), [26]);
      case "createIndexes": {
        const { createIndexes: coll, ...spec } = o;
        return run(on(coll), (d, c) => client.db(d).command({ createIndexes: c, indexes: [indexSpecOf(spec)] }));
      }
      case "startIndexBuild":
        // The index is built when its build commits; an aborted build leaves nothing to undo.
        report.noops++;
        return;
      case "abortIndexBuild":
        report.noops++;
        return;
      case "commitIndexBuild": {
        const indexes = o.indexes as Document[] | undefined;
        if (!Array.isArray(indexes)) throw new OplogApplyError("c commitIndexBuild", ns, "commitIndexBuild has no indexes array");
        return run(on(o.commitIndexBuild), (d, c) => client.db(d).command({ createIndexes: c, indexes: indexes.map(indexSpecOf) }));
      }
      case "dropIndexes":
      case "deleteIndexes":
        return run(on(o[name]), (d, c) => client.db(d).command({ dropIndexes: c, index: o.index }), [26, 27]);
      case "collMod": {
        const { collMod: coll, ...changes } = o;
        return run(on(coll), (d, c) => client.db(d).command({ collMod: c, ...changes }));
      }
      case "renameCollection":
        return renameCollection(o, ns);
      case "dropDatabase": {
        // Another database's drop, when no --include pattern can reach this one, is not ours.
        if (opts.include?.length && !opts.include.some((p) => mayMatchDb(p, db))) {
          report.notIncluded++;
          return;
        }
        if (mapped) throw new OplogApplyError("c dropDatabase", ns, "dropDatabase cannot be replayed with --include or --rename (it would drop the whole target database); restore without them, or to a time before it");
        if (INTERNAL_DB.has(db) || db === "admin") {
          report.internal++;
          return;
        }
        try {
          await client.db(db).dropDatabase();
        } catch (err) {
          fail("c dropDatabase", ns, err);
        }
        report.applied++;
        return;
      }
      default:
        throw new OplogApplyError(`c ${name || "(empty)"}`, ns, "this command is not supported by the oplog replay; restore to a time before it");
    }
  };

  const renameCollection = async (o: Document, ns: string): Promise<void> => {
    const from = String(o.renameCollection);
    const to = String(o.to);
    const fromIn = filter.matches(from);
    const toIn = filter.matches(to);
    if (!fromIn && !toIn) {
      report.notIncluded++;
      return;
    }
    if (!fromIn) throw new OplogApplyError("c renameCollection", ns, `${from} → ${to} brings a collection from outside --include into it; include ${from} too`);
    const source = target(from)!;
    try {
      if (!toIn) {
        // The collection leaves the included set: at the restore's end it is not there.
        await collectionOf(source).drop().catch((err: unknown) => {
          if (serverCode(err) !== 26) throw err;
        });
      } else {
        await client.db("admin").command({ renameCollection: source, to: rename(to), dropTarget: Boolean(o.dropTarget) });
      }
    } catch (err) {
      fail("c renameCollection", from, err);
    }
    report.applied++;
  };

  const one = async (e: Document, time: ClusterTime): Promise<void> => {
    const op = String(e.op);
    if (op === "n") {
      report.noops++;
      return;
    }
    if (op === "i" || op === "u" || op === "d") return applyCrud(e);
    if (op === "c") return command(e, time);
    throw new OplogApplyError(op, String(e.ns), `unknown oplog op "${op}"`);
  };

  return {
    async apply(entry) {
      const time = timeOf(entry);
      if (opts.after && compareTimes(time, opts.after) <= 0) {
        report.before++;
        return;
      }
      if (opts.limit && compareTimes(time, opts.limit) > 0) {
        report.beyond++;
        return;
      }
      await one(entry, time);
      report.last = time;
    },
    finish() {
      for (const ops of open.values()) report.uncommitted += ops.length;
      open.clear();
      return { ...report };
    },
  };
}

async function applyUpdate(coll: ReturnType<ReturnType<MongoClient["db"]>["collection"]>, e: Document, op: string, ns: string, o: Document, report: OplogApplyReport): Promise<void> {
  const query = e.o2 as Document | undefined;
  if (!query || query._id === undefined) throw new OplogApplyError(op, ns, "the update has no o2 with the document's _id");
  const version = numberOf(o.$v);
  if (version === 2) {
    if (typeof o.diff !== "object" || o.diff === null) throw new OplogApplyError(op, ns, "a $v:2 update without a diff document");
    const before = await coll.findOne({ _id: query._id }, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true });
    if (!before) {
      report.missing++;
      return;
    }
    const after = applyDocumentDiff(before, o.diff as Document);
    await coll.replaceOne({ _id: query._id }, after);
    return;
  }
  const { $v: _v, ...rest } = o;
  const keys = Object.keys(rest);
  if (keys.length > 0 && keys.every((k) => k.startsWith("$"))) {
    // FerretDB writes an update as `$set` of the whole new document, _id included; setting _id to
    // the value it has is a no-op that some servers still refuse, so it is left out.
    const modifiers: Document = { ...rest };
    if (isDoc(modifiers.$set) && "_id" in modifiers.$set && sameValue(modifiers.$set._id, query._id)) {
      const { _id: _same, ...set } = modifiers.$set;
      if (Object.keys(set).length) modifiers.$set = set;
      else delete modifiers.$set;
    }
    if (Object.keys(modifiers).length === 0) return;
    const res = await coll.updateOne({ _id: query._id }, modifiers);
    if (res.matchedCount === 0) report.missing++;
    return;
  }
  if (keys.some((k) => k.startsWith("$"))) throw new OplogApplyError(op, ns, `the update mixes modifiers and fields (${keys.join(", ")})`);
  const res = await coll.replaceOne({ _id: query._id }, rest);
  if (res.matchedCount === 0) report.missing++;
}

function isDoc(v: unknown): v is Document {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function sameValue(a: unknown, b: unknown): boolean {
  return BSON.EJSON.stringify({ v: a }, { relaxed: false }) === BSON.EJSON.stringify({ v: b }, { relaxed: false });
}

function numberOf(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  if (typeof v === "object" && v !== null && "value" in v) return Number((v as { value: unknown }).value);
  return Number(v);
}

/**
 * Parses a `--to-time` value: `t,i` (an oplog timestamp: seconds since the epoch and the ordinal
 * within the second) or an ISO-8601 time, which means the end of its second (every entry of that
 * second, `i` = 2^32−1). Throws ConfigError naming `field` otherwise.
 */
export function parseOplogTime(text: string, field: string): ClusterTime {
  const m = /^(\d+),(\d+)$/.exec(text.trim());
  if (m) {
    const t = Number(m[1]);
    const i = Number(m[2]);
    if (t <= 0xffffffff && i <= 0xffffffff) return { t, i };
  }
  if (/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/.test(text.trim())) {
    const ms = Date.parse(text.trim());
    if (!Number.isNaN(ms)) return { t: Math.floor(ms / 1000), i: 0xffffffff };
  }
  throw new ConfigError(field, `"${text}" is not a time; use ISO 8601 with a zone (2026-12-02T18:30:05Z, meaning that whole second) or an oplog timestamp t,i (1796235406,3)`);
}

/** Whether namespace pattern `pattern` (`db.coll`, `*` wildcards) can match a namespace of database `db`. */
function mayMatchDb(pattern: string, db: string): boolean {
  const dot = pattern.search(/(?<!\\)\./);
  const dbPart = dot < 0 ? pattern : pattern.slice(0, dot);
  if (!dbPart.includes("*")) return dbPart.replace(/\\(.)/g, "$1") === db;
  return createNamespaceFilter([`${dbPart}.*`]).matches(`${db}.x`);
}
