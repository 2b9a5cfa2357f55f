/**
 * `seed export`: reads collections from a live server into a seed set directory (see layout.ts).
 * Documents are sorted on the client with `compareBsonValues`, so the order does not depend on the
 * server; the price is that one collection's raw documents are held in memory while it is sorted,
 * which suits seed data (reference collections, fixtures), not whole production databases — those
 * are what `backup` is for.
 */
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { finished } from "node:stream/promises";
import { BSON, type Document, type MongoClient } from "mongodb";
import { ConfigError } from "../errors.js";
import { connectMongo, cursorCommand, mongoError, serverCode } from "../mongo/connect.js";
import { discoverCollections } from "../mongo/discover.js";
import { createNamespaceFilter } from "../mongo/namespaces.js";
import type { Secret } from "../secret.js";
import { decodeExact, toCanonicalLine } from "./canonical.js";
import { CHECKSUM_FILE, INDEX_FILE, SEED_FORMAT, SEED_VERSION, formatChecksums, pathsFor, type SeedCollection, type SeedIndex } from "./layout.js";
import { compareBsonValues } from "./order.js";

/** Options of `exportSeed`. */
export interface SeedExportOptions {
  readonly uri: Secret;
  /** Directory to create. It must not exist, or be empty. */
  readonly dir: string;
  /** Namespace patterns as backup's `--include`; all-literal lists work without listCollections. */
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly signal?: AbortSignal;
  /** An already connected client (tests, library users); `uri` is then only used in messages. */
  readonly client?: MongoClient;
}

/** What `exportSeed` wrote. */
export interface SeedExportReport {
  readonly dir: string;
  readonly collections: ReadonlyArray<SeedCollection & { readonly indexes: number }>;
  /** Things the user should know: skipped views, options the server could not list. */
  readonly warnings: string[];
}

/**
 * Writes a seed set of the matching collections into `dir`. The set is built in a temporary
 * sibling directory and renamed into place once SHA256SUMS (written last) is on disk, so `dir`
 * either does not exist or holds a complete set. Views and time-series collections are skipped
 * with a warning (a seed set holds plain documents). Throws ConfigError (`--to`) when `dir`
 * exists and is not empty, RemoteError when the server fails; on any error or abort the
 * temporary directory is removed.
 */
export async function exportSeed(opts: SeedExportOptions): Promise<SeedExportReport> {
  const dir = path.resolve(opts.dir);
  await assertFreeTarget(dir);
  const filter = createNamespaceFilter(opts.include ?? [], opts.exclude ?? []);
  const client = opts.client ?? (await connectMongo(opts.uri));
  const tmp = path.join(path.dirname(dir), `.${path.basename(dir)}.tmp-${randomBytes(4).toString("hex")}`);
  try {
    let discovery;
    try {
      discovery = await discoverCollections(client, filter);
    } catch (err) {
      throw mongoError(err, "mongodb list collections", opts.uri);
    }
    // Discovery words its warnings for backups; the same facts hold for a seed set.
    const warnings = discovery.warnings.map((w) => w.replace(/\bthe backup\b/g, "the seed set").replace(/nothing dumped/g, "nothing exported"));
    const sums = new Map<string, string>();
    const collections: Array<SeedCollection & { indexes: number }> = [];
    await mkdir(tmp, { recursive: true });
    const plans = [...discovery.plans].sort((a, b) => compareNs(`${a.db}.${a.collection}`, `${b.db}.${b.collection}`));
    for (const plan of plans) {
      opts.signal?.throwIfAborted();
      const ns = `${plan.db}.${plan.collection}`;
      if (plan.type !== "collection") {
        warnings.push(`${ns}: a ${plan.type} is not exported to a seed set; skipped`);
        continue;
      }
      const paths = pathsFor(plan.db, plan.collection);
      let indexes: Document[];
      let raws: Uint8Array[];
      try {
        indexes = await listIndexes(client, plan.db, plan.collection);
        raws = await readSorted(client, plan.db, plan.collection, opts.signal);
      } catch (err) {
        throw mongoError(err, `mongodb read ${ns}`, opts.uri);
      }
      sums.set(paths.metadata, await writeText(tmp, paths.metadata, `${BSON.EJSON.stringify({ options: plan.options, indexes }, { relaxed: false })}\n`));
      sums.set(paths.data, await writeLines(tmp, paths.data, raws, opts.signal));
      collections.push({ ns, data: paths.data, metadata: paths.metadata, documents: raws.length, indexes: indexes.length });
    }
    const index: SeedIndex = { format: SEED_FORMAT, version: SEED_VERSION, collections: collections.map(({ indexes: _i, ...c }) => c) };
    sums.set(INDEX_FILE, await writeText(tmp, INDEX_FILE, `${JSON.stringify(index, null, 2)}\n`));
    // Last: a set with SHA256SUMS is complete, and the rename below publishes it in one step.
    await writeText(tmp, CHECKSUM_FILE, formatChecksums(sums));
    opts.signal?.throwIfAborted();
    await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    await rename(tmp, dir);
    return { dir, collections, warnings };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    if (!opts.client) await client.close().catch(() => undefined);
  }
}

/** Namespaces compared by UTF-8 bytes, so the order never depends on a locale. */
function compareNs(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

async function assertFreeTarget(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    throw new ConfigError("--to", `cannot use ${dir}: ${code ?? (err as Error).message}`);
  }
  if (entries.length > 0) throw new ConfigError("--to", `${dir} exists and is not empty; choose a new directory (a seed set is written whole, never merged)`);
}

/**
 * Index specs without `v` and `ns` (they describe the server's catalog, not the index), sorted
 * by name, `key` first in its own order and the other options by name.
 */
async function listIndexes(client: MongoClient, db: string, collection: string): Promise<Document[]> {
  let specs: Document[] = [];
  try {
    specs = await cursorCommand(client.db(db), { listIndexes: collection });
  } catch (err) {
    if (serverCode(err) !== 26) throw err;
  }
  return specs
    .map(({ v: _v, ns: _ns, key, name, ...rest }) => {
      const out: Document = { name, key };
      for (const k of Object.keys(rest).sort()) out[k] = rest[k];
      return out;
    })
    .sort((a, b) => compareNs(String(a.name), String(b.name)));
}

async function readSorted(client: MongoClient, db: string, collection: string, signal?: AbortSignal): Promise<Uint8Array[]> {
  const keyed: Array<{ id: unknown; raw: Uint8Array }> = [];
  const cursor = client.db(db).collection(collection).find({}, { raw: true, batchSize: 1000 });
  for await (const raw of cursor as AsyncIterable<Uint8Array>) {
    signal?.throwIfAborted();
    keyed.push({ id: decodeExact(raw)._id, raw });
  }
  keyed.sort((a, b) => compareBsonValues(a.id, b.id));
  return keyed.map((k) => k.raw);
}

async function writeText(root: string, rel: string, text: string): Promise<string> {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, "utf8");
  await fsync(file);
  return createHash("sha256").update(text, "utf8").digest("hex");
}

async function writeLines(root: string, rel: string, raws: readonly Uint8Array[], signal?: AbortSignal): Promise<string> {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  const hash = createHash("sha256");
  const out = createWriteStream(file);
  try {
    for (const raw of raws) {
      signal?.throwIfAborted();
      const line = `${toCanonicalLine(raw)}\n`;
      hash.update(line, "utf8");
      if (!out.write(line)) await once(out, "drain");
    }
  } finally {
    out.end();
  }
  await finished(out);
  await fsync(file);
  return hash.digest("hex");
}

async function fsync(file: string): Promise<void> {
  const fh = await open(file, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
