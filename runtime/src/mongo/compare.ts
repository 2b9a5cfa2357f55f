/**
 * Content comparison of collections (issue 3 §3): per collection a document count, the index
 * specs in a normalized form and content hashes, so a restore drill or a migration can prove
 * that the target holds exactly what the source held.
 */
import { createHash } from "node:crypto";
import { BSON, type Document } from "mongodb";
import type { Secret } from "../secret.js";
import { connectMongo, cursorCommand, mongoError, serverCode } from "./connect.js";
import { splitNamespace } from "./namespaces.js";

/** Description of one collection. */
export interface CollectionDescription {
  readonly ns: string;
  readonly count: number;
  /**
   * Index specs as canonical Extended JSON, sorted by name: `key` kept in its order, `ns` and `v`
   * dropped (they describe the catalog, not the index), other options sorted by name.
   */
  readonly indexes: string[];
  /** SHA-256 (hex) of every document's canonical Extended JSON v2 plus "\n", in `_id` order. */
  readonly contentHash: string;
  /**
   * Order-independent digest (hex): the sum modulo 2^256 of each document's SHA-256 of its
   * canonical Extended JSON. Equal for the same multiset of documents however they are read, so
   * an archive stream can be digested without sorting (see `createDocumentDigest`).
   */
  readonly setHash: string;
}

/** Decodes raw BSON without promoting values, so canonical Extended JSON shows exact types. */
export function canonicalJson(raw: Uint8Array): string {
  return BSON.EJSON.stringify(BSON.deserialize(raw, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true }), { relaxed: false });
}

const MOD = 1n << 256n;

/** Accumulates the order-independent `setHash` of a stream of raw documents. */
export interface DocumentDigest {
  add(raw: Uint8Array): void;
  readonly count: number;
  /** The digest so far, 64 hex digits. */
  hex(): string;
}

/** Creates an empty digest; `hex()` of no documents is 64 zeros. */
export function createDocumentDigest(): DocumentDigest {
  let sum = 0n;
  let count = 0;
  return {
    add(raw) {
      sum = (sum + BigInt(`0x${createHash("sha256").update(canonicalJson(raw)).digest("hex")}`)) % MOD;
      count++;
    },
    get count() {
      return count;
    },
    hex: () => sum.toString(16).padStart(64, "0"),
  };
}

/** Normalizes one listIndexes entry (see CollectionDescription.indexes). */
export function normalizeIndexSpec(spec: Document): string {
  const { key, name, ns: _ns, v: _v, ...rest } = spec;
  // The _id index is unique by definition: jongodb lists `unique: true` on it, mongod and
  // FerretDB leave it implicit, and a migration between them must not count that as a difference.
  if (name === "_id_" && rest.unique === true) delete rest.unique;
  const sorted: Document = { name, key };
  for (const k of Object.keys(rest).sort()) sorted[k] = rest[k];
  return BSON.EJSON.stringify(sorted, { relaxed: false });
}

/**
 * Describes each `db.coll` in `namespaces` on the server at `uri`, reading documents in `_id`
 * order. A collection that does not exist describes as empty with no indexes. Throws RemoteError
 * (`mongodb describe <ns>`) when the server fails. Memory stays constant: documents are hashed as
 * they stream.
 */
export async function describeDatabase(uri: Secret, namespaces: readonly string[]): Promise<CollectionDescription[]> {
  const client = await connectMongo(uri);
  try {
    const out: CollectionDescription[] = [];
    for (const ns of namespaces) {
      const { db, collection } = splitNamespace(ns);
      try {
        let specs: Document[] = [];
        try {
          specs = await cursorCommand(client.db(db), { listIndexes: collection });
        } catch (err) {
          if (serverCode(err) !== 26) throw err;
        }
        const indexes = specs.map(normalizeIndexSpec).sort();
        const ordered = createHash("sha256");
        const digest = createDocumentDigest();
        const cursor = client.db(db).collection(collection).find({}, { raw: true, sort: { _id: 1 } });
        for await (const raw of cursor as AsyncIterable<Uint8Array>) {
          ordered.update(canonicalJson(raw)).update("\n");
          digest.add(raw);
        }
        out.push({ ns, count: digest.count, indexes, contentHash: ordered.digest("hex"), setHash: digest.hex() });
      } catch (err) {
        throw mongoError(err, `mongodb describe ${ns}`, uri);
      }
    }
    return out;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** One difference found by `compareDescriptions`. */
export interface DescriptionDifference {
  readonly ns: string;
  readonly what: "missing" | "count" | "indexes" | "content";
  readonly expected: string;
  readonly actual: string;
}

/**
 * Compares an expected description list with an actual one, matching `expected[i].ns` mapped
 * through `rename` (identity by default) to the actual ns. Returns every difference; empty means
 * identical counts, index specs and content.
 */
export function compareDescriptions(
  expected: readonly CollectionDescription[],
  actual: readonly CollectionDescription[],
  rename: (ns: string) => string = (ns) => ns,
): DescriptionDifference[] {
  const byNs = new Map(actual.map((d) => [d.ns, d]));
  const diffs: DescriptionDifference[] = [];
  for (const e of expected) {
    const ns = rename(e.ns);
    const a = byNs.get(ns);
    if (!a) {
      diffs.push({ ns, what: "missing", expected: e.ns, actual: "absent" });
      continue;
    }
    if (a.count !== e.count) diffs.push({ ns, what: "count", expected: String(e.count), actual: String(a.count) });
    if (a.indexes.join("\n") !== e.indexes.join("\n")) diffs.push({ ns, what: "indexes", expected: e.indexes.join(", "), actual: a.indexes.join(", ") });
    if (a.contentHash !== e.contentHash) diffs.push({ ns, what: "content", expected: e.contentHash, actual: a.contentHash });
  }
  return diffs;
}
