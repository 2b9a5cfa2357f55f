/**
 * `seed import`: loads a verified seed set into a server, idempotently. Documents are upserted
 * by `_id` (a replacement, so a second run matches every document and modifies none), index specs
 * are created with createIndexes (a no-op for an identical existing index), and collection options
 * (validators, collation, …) are applied when the collection is created.
 */
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { BSON, type AnyBulkWriteOperation, type Document, type MongoClient } from "mongodb";
import { IntegrityError, InterruptedError } from "../errors.js";
import { connectMongo, mongoError, serverCode } from "../mongo/connect.js";
import { splitNamespace } from "../mongo/namespaces.js";
import { redactUri, type Secret } from "../secret.js";
import { decodeExact, fromCanonicalLine, hasUndefined, toCanonicalLine } from "./canonical.js";
import type { SeedCollection } from "./layout.js";
import { verifySeedSet } from "./verify.js";

/** Options of `importSeed`. */
export interface SeedImportOptions {
  readonly uri: Secret;
  readonly dir: string;
  /** Verify and parse everything, connect to nothing, write nothing. */
  readonly dryRun?: boolean;
  /** Documents per bulk write; default 500. */
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  /** An already connected client (tests, library users); `uri` is then only used in messages. */
  readonly client?: MongoClient;
}

/** What happened to one collection. */
export interface SeedImportedCollection {
  readonly ns: string;
  /** Documents in the seed file. */
  readonly documents: number;
  /** Documents that did not exist and were inserted (0 in a dry run). */
  readonly inserted: number;
  /** Existing documents whose content differed and was replaced. */
  readonly updated: number;
  /** Existing documents already identical. */
  readonly unchanged: number;
  /** Index names sent to createIndexes (every spec but `_id_`; existing identical ones are kept). */
  readonly indexes: string[];
}

/** What `importSeed` did (or, with dryRun, would do). */
export interface SeedImportReport {
  readonly dir: string;
  readonly dryRun: boolean;
  readonly collections: SeedImportedCollection[];
  readonly warnings: string[];
}

/**
 * Imports the seed set in `dir`. Checksums are verified first (`verifySeedSet`): a damaged or
 * incomplete set throws IntegrityError naming the file before any connection is made, so nothing
 * is written. Each batch reads the existing documents with the same `_id`s first, then inserts the
 * missing, replaces the different and leaves the identical ones alone, so running it twice leaves
 * the server unchanged the second time (every document is reported `unchanged`). Not a
 * transaction: a concurrent writer may interleave. Documents holding the deprecated undefined type are stored as null (the
 * driver cannot write that type) and named in a warning. Throws RemoteError when the server
 * refuses a write; documents already written stay (re-running completes the import). An aborted
 * `signal` stops it at the next batch (the one in flight still lands): it then rejects with an
 * InterruptedError saying what had been written, or with the signal's reason when nothing had.
 */
export async function importSeed(opts: SeedImportOptions): Promise<SeedImportReport> {
  const dir = path.resolve(opts.dir);
  const index = await verifySeedSet(dir);
  const warnings: string[] = [];
  const dryRun = Boolean(opts.dryRun);
  const client = dryRun ? undefined : (opts.client ?? (await connectMongo(opts.uri)));
  // Documents each collection's completed bulk writes inserted or replaced, for an interrupt's message.
  const written = new Map<string, number>();
  try {
    const collections: SeedImportedCollection[] = [];
    for (const entry of index.collections) {
      opts.signal?.throwIfAborted();
      collections.push(await importCollection(client, dir, entry, opts, warnings, written));
    }
    return { dir, dryRun, collections, warnings };
  } catch (err) {
    const rows = [...written].filter(([, n]) => n > 0);
    if (!opts.signal?.aborted || rows.length === 0) throw err;
    const what = rows.map(([ns, n]) => `${n} documents of ${ns}`).join(", ");
    throw new InterruptedError(`seed import into ${redactUri(opts.uri.reveal())} interrupted: ${what} had been written and are kept; run the same import again to finish it (it is idempotent)`, { cause: opts.signal.reason });
  } finally {
    if (client && !opts.client) await client.close().catch(() => undefined);
  }
}

interface Pending {
  readonly doc: Document;
  readonly line: string;
}

/** A map key for an _id: its canonical Extended JSON. */
function idKey(id: unknown): string {
  return BSON.EJSON.stringify({ id }, { relaxed: false });
}

interface Metadata {
  readonly options: Document;
  readonly indexes: Document[];
}

async function readMetadata(dir: string, entry: SeedCollection): Promise<Metadata> {
  let doc: Document;
  try {
    doc = BSON.EJSON.parse(await readFile(path.join(dir, entry.metadata), "utf8"), { relaxed: false }) as Document;
  } catch (err) {
    throw new IntegrityError(`seed ${entry.metadata}: not canonical Extended JSON (${(err as Error).message})`, { cause: err });
  }
  return { options: (doc.options as Document | undefined) ?? {}, indexes: Array.isArray(doc.indexes) ? (doc.indexes as Document[]) : [] };
}

async function importCollection(client: MongoClient | undefined, dir: string, entry: SeedCollection, opts: SeedImportOptions, warnings: string[], written: Map<string, number>): Promise<SeedImportedCollection> {
  const { db, collection } = splitNamespace(entry.ns);
  const meta = await readMetadata(dir, entry);
  const indexes = meta.indexes.filter((ix) => ix.name !== "_id_");
  const coll = client?.db(db).collection(collection);
  let inserted = 0;
  let updated = 0;
  let unchanged = 0;
  let documents = 0;
  const flush = async (batch: Pending[]): Promise<void> => {
    if (!coll || batch.length === 0) return;
    // Read before writing: comparing canonical lines gives exact inserted/updated/unchanged counts
    // on any server, and lets a document with top-level `$` keys (which a replacement may not
    // hold) be replaced by delete + insert.
    const existing = new Map<string, string>();
    const found = coll.find({ _id: { $in: batch.map((p) => p.doc._id) } }, { raw: true });
    for await (const raw of found as AsyncIterable<Uint8Array>) existing.set(idKey(decodeExact(raw)._id), toCanonicalLine(raw));
    const ops: AnyBulkWriteOperation[] = [];
    for (const p of batch) {
      const now = existing.get(idKey(p.doc._id));
      const filter = { _id: { $eq: p.doc._id } };
      if (now === undefined) {
        ops.push({ insertOne: { document: p.doc } });
        inserted++;
      } else if (now === p.line) {
        unchanged++;
      } else {
        if (Object.keys(p.doc).some((k) => k.startsWith("$"))) ops.push({ deleteOne: { filter } }, { insertOne: { document: p.doc } });
        else ops.push({ replaceOne: { filter, replacement: p.doc } });
        updated++;
      }
    }
    if (ops.length > 0) {
      const res = await coll.bulkWrite(ops, { ordered: true });
      written.set(entry.ns, (written.get(entry.ns) ?? 0) + res.insertedCount + res.modifiedCount);
    }
  };
  try {
    if (client && Object.keys(meta.options).length > 0) {
      await client.db(db).command({ create: collection, ...meta.options }).catch((err: unknown) => {
        // NamespaceExists: an existing collection keeps its own options (`db init` manages validators).
        if (serverCode(err) !== 48) throw err;
      });
    }
    let batch: Pending[] = [];
    const lines = createInterface({ input: createReadStream(path.join(dir, entry.data), "utf8"), crlfDelay: Infinity });
    for await (const line of lines) {
      opts.signal?.throwIfAborted();
      documents++;
      const doc = fromCanonicalLine(line, `${entry.data}:${documents}`);
      if (!("_id" in doc)) throw new IntegrityError(`seed ${entry.data}:${documents}: document has no _id`);
      if (hasUndefined(line)) warnings.push(`${entry.ns}: document ${BSON.EJSON.stringify({ _id: doc._id }, { relaxed: false })} holds the deprecated undefined type; stored as null`);
      batch.push({ doc, line });
      if (batch.length >= (opts.batchSize ?? 500)) {
        await flush(batch);
        batch = [];
      }
    }
    await flush(batch);
    if (documents !== entry.documents) throw new IntegrityError(`seed ${entry.data}: holds ${documents} documents but ${"seed.json"} says ${entry.documents}`);
    if (coll && indexes.length > 0) await coll.createIndexes(indexes as Parameters<typeof coll.createIndexes>[0]);
  } catch (err) {
    throw mongoError(err, `mongodb seed import ${entry.ns}`, opts.uri);
  }
  return { ns: entry.ns, documents, inserted, updated, unchanged, indexes: indexes.map((ix) => String(ix.name)) };
}
