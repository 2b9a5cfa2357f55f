/**
 * Makes standby collections equal to a stream of source documents without dropping them (a
 * standby stays readable throughout, and some servers cannot drop): documents whose bytes differ
 * are replaced by `_id` (upsert), identical ones are left alone, and once the source is finished
 * every standby document the source did not have is deleted. Re-running a pass is harmless.
 */
import { createHash } from "node:crypto";
import { BSON, type AnyBulkWriteOperation, type Document, type MongoClient } from "mongodb";
import { mongoError } from "../mongo/connect.js";
import { splitNamespace } from "../mongo/namespaces.js";
import type { Secret } from "../secret.js";

/** Decoding that keeps every BSON type exactly (Int32 stays Int32, Double stays Double). */
export const EXACT = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

/** Changes one reconciled namespace needed. */
export interface ReconciledNamespace {
  readonly ns: string;
  readonly documents: number;
  readonly written: number;
  readonly deleted: number;
}

/** A pass over some namespaces; `add` in any interleaving, then `finish` once. */
export interface Reconciler {
  /** Brings `docs` (raw BSON of namespace `ns`) into the standby. */
  add(ns: string, docs: readonly Uint8Array[]): Promise<void>;
  /**
   * Declares `ns` part of the pass even when the source yields no document for it, so an emptied
   * source collection empties the standby's.
   */
  touch(ns: string): Promise<void>;
  /** Deletes what the source no longer has and reports each namespace touched, sorted by name. */
  finish(): Promise<ReconciledNamespace[]>;
  /** Documents written to the standby so far (completed batches), by namespace: what an interrupted pass left. */
  written(): Array<{ readonly ns: string; readonly written: number }>;
}

interface Pending {
  readonly ns: string;
  /** Canonical `_id` → SHA-256 of the standby document's bytes, for documents not yet seen. */
  readonly unseen: Map<string, string>;
  ops: AnyBulkWriteOperation<Document>[];
  documents: number;
  written: number;
}

const BATCH = 500;

function idKey(id: unknown): string {
  return BSON.EJSON.stringify({ _id: id } as Document, { relaxed: false });
}

/**
 * Creates a reconciler writing through `client` to the standby at `uri` (for error messages).
 * Memory: one `_id` key and hash per standby document of each namespace in the pass (about
 * 100 bytes each); change-stream mode needs none of this. Throws RemoteError
 * (`mongodb standby <ns>`) when the standby fails.
 */
export function createReconciler(client: MongoClient, uri: Secret): Reconciler {
  const pending = new Map<string, Pending>();

  async function open(ns: string): Promise<Pending> {
    const found = pending.get(ns);
    if (found) return found;
    const { db, collection } = splitNamespace(ns);
    const unseen = new Map<string, string>();
    try {
      for await (const raw of client.db(db).collection(collection).find({}, { raw: true }) as AsyncIterable<Uint8Array>) {
        const doc = BSON.deserialize(raw, EXACT);
        unseen.set(idKey(doc._id), createHash("sha256").update(raw).digest("hex"));
      }
    } catch (err) {
      throw mongoError(err, `mongodb standby ${ns}`, uri);
    }
    const p: Pending = { ns, unseen, ops: [], documents: 0, written: 0 };
    pending.set(ns, p);
    return p;
  }

  async function flush(p: Pending): Promise<void> {
    if (p.ops.length === 0) return;
    const { db, collection } = splitNamespace(p.ns);
    const ops = p.ops;
    p.ops = [];
    try {
      await client.db(db).collection(collection).bulkWrite(ops, { ordered: false });
    } catch (err) {
      throw mongoError(err, `mongodb standby ${p.ns}`, uri);
    }
    p.written += ops.length;
  }

  return {
    async add(ns, docs) {
      const p = await open(ns);
      for (const raw of docs) {
        p.documents++;
        const doc = BSON.deserialize(raw, EXACT);
        const key = idKey(doc._id);
        const had = p.unseen.get(key);
        p.unseen.delete(key);
        if (had === createHash("sha256").update(raw).digest("hex")) continue;
        p.ops.push({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } });
        if (p.ops.length >= BATCH) await flush(p);
      }
    },
    async touch(ns) {
      await open(ns);
    },
    async finish() {
      const out: ReconciledNamespace[] = [];
      for (const p of pending.values()) {
        await flush(p);
        const { db, collection } = splitNamespace(p.ns);
        const ids = [...p.unseen.keys()].map((k) => (BSON.EJSON.parse(k, { relaxed: false }) as Document)._id as unknown);
        try {
          for (let i = 0; i < ids.length; i += BATCH) await client.db(db).collection(collection).deleteMany({ _id: { $in: ids.slice(i, i + BATCH) } } as Document);
        } catch (err) {
          throw mongoError(err, `mongodb standby ${p.ns}`, uri);
        }
        out.push({ ns: p.ns, documents: p.documents, written: p.written, deleted: ids.length });
      }
      return out.sort((a, b) => a.ns.localeCompare(b.ns));
    },
    written() {
      return [...pending.values()].map((p) => ({ ns: p.ns, written: p.written }));
    },
  };
}
