/**
 * Which collections a dump reads, and how: discovery through listDatabases / listCollections,
 * filtered by namespace patterns, with mongodump's special cases (views as definitions,
 * time-series through their buckets, users and roles only on request).
 */
import { BSON, type Document, type MongoClient } from "mongodb";
import { RemoteError } from "../errors.js";
import { cursorCommand, isCommandNotFound } from "./connect.js";
import type { NamespaceFilter } from "./namespaces.js";
import { splitNamespace } from "./namespaces.js";

/** One collection to dump. */
export interface CollectionPlan {
  readonly db: string;
  /** The user-facing name (for a time-series collection: its name, not the buckets'). */
  readonly collection: string;
  readonly type: "collection" | "view" | "timeseries";
  /** listCollections `options`, decoded without promoting values (validator, collation, capped, …). */
  readonly options: Document;
  /** Collection UUID as 32 lower-case hex digits, as mongodump writes it; absent when unknown. */
  readonly uuid?: string;
  /**
   * Where the documents are read from: the collection itself, `system.buckets.<name>` for
   * time-series, undefined for a view (its definition is its whole backup).
   */
  readonly dataCollection: string | undefined;
}

/** Result of discovery: the plans and anything the user should know (e.g. options not readable). */
export interface Discovery {
  readonly plans: CollectionPlan[];
  readonly warnings: string[];
}

/** Databases never dumped: `local` holds the oplog (dumped only as `.oplog`), `config` is cluster state. */
const SKIPPED_DATABASES = new Set(["local", "config"]);
/** admin collections that are users, roles and the auth schema version: only with includeAuth. */
const AUTH_COLLECTIONS = ["system.users", "system.roles", "system.version"];

/**
 * Lists what to dump. When every include pattern is an exact `db.coll`, database and collection
 * discovery is skipped (those namespaces are read directly, which also works on servers or
 * accounts without listDatabases); each one's options still come from listCollections, and a
 * server that lacks that command yields a warning and empty options rather than a failure.
 * Otherwise listDatabases and listCollections are required and their errors thrown.
 */
export async function discoverCollections(client: MongoClient, filter: NamespaceFilter, opts: { includeAuth?: boolean } = {}): Promise<Discovery> {
  const warnings: string[] = [];
  const plans: CollectionPlan[] = [];
  if (filter.exact) {
    for (const ns of filter.exact) {
      const { db, collection } = splitNamespace(ns);
      let infos: Document[] | undefined;
      try {
        infos = await cursorCommand(client.db(db), { listCollections: 1, filter: { name: collection } });
      } catch (err) {
        if (!isCommandNotFound(err)) throw err;
        warnings.push(`${ns}: the server has no listCollections; collection options, validators and UUID are not in the backup`);
      }
      if (infos === undefined) {
        plans.push({ db, collection, type: "collection", options: {}, dataCollection: collection });
      } else if (infos[0]) {
        plans.push(planFor(db, infos[0]));
      } else {
        warnings.push(`${ns}: no such collection; nothing dumped for it`);
      }
    }
    if (opts.includeAuth) {
      for (const c of AUTH_COLLECTIONS) {
        if (!plans.some((p) => p.db === "admin" && p.collection === c)) plans.push({ db: "admin", collection: c, type: "collection", options: {}, dataCollection: c });
      }
    }
    return { plans, warnings };
  }

  const dbs = await catalogCommand("listDatabases", () => client.db("admin").command({ listDatabases: 1, nameOnly: true }));
  const names = ((dbs.databases as Array<{ name: string }> | undefined) ?? []).map((d) => d.name).filter((n) => !SKIPPED_DATABASES.has(n)).sort();
  for (const db of names) {
    const infos = await catalogCommand("listCollections", () => cursorCommand(client.db(db), { listCollections: 1 }));
    infos.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    for (const info of infos) {
      const name = String(info.name);
      const isAuth = db === "admin" && AUTH_COLLECTIONS.includes(name);
      if (isAuth) {
        if (opts.includeAuth) plans.push(planFor(db, info));
        continue;
      }
      if (!dumpable(name)) continue;
      if (!filter.matches(`${db}.${name}`)) continue;
      plans.push(planFor(db, info));
    }
  }
  return { plans, warnings };
}

/**
 * Runs one catalog command of discovery. A server that does not have it (some MongoDB-compatible
 * servers lack listDatabases or listCollections) gets a RemoteError naming the refused command and
 * the way around it: exact `--include db.coll` patterns skip discovery altogether.
 */
async function catalogCommand<T>(command: "listDatabases" | "listCollections", run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!isCommandNotFound(err)) throw err;
    throw new RemoteError(`mongodb ${command}`, `the server does not support the ${command} command, which finding every collection needs; name the collections instead with --include db.coll (repeatable), which skips discovery`, { cause: err });
  }
}

/**
 * System collections are server bookkeeping, except `system.js` (stored functions, which
 * mongodump keeps). Views live in `system.views` but are dumped as their own entries, and
 * `system.buckets.*` through their time-series collection.
 */
function dumpable(name: string): boolean {
  return !name.startsWith("system.") || name === "system.js";
}

function planFor(db: string, info: Document): CollectionPlan {
  const collection = String(info.name);
  const type = info.type === "view" ? "view" : info.type === "timeseries" ? "timeseries" : "collection";
  const rawUuid = (info.info as Document | undefined)?.uuid;
  const uuid = rawUuid instanceof BSON.Binary ? Buffer.from(rawUuid.buffer).toString("hex") : undefined;
  const dataCollection = type === "view" ? undefined : type === "timeseries" ? `system.buckets.${collection}` : collection;
  return { db, collection, type, options: (info.options as Document | undefined) ?? {}, ...(uuid ? { uuid } : {}), dataCollection };
}
