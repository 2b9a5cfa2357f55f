/**
 * The standby's periodic passes, for when change streams are unavailable: a full copy of the
 * included namespaces read live from the primary, or the latest backup read from a destination.
 * Both feed a reconciler, so the standby converges to the source without being dropped.
 */
import type { MongoClient } from "mongodb";
import type { Destination } from "../destinations/destination.js";
import { InterruptedError } from "../errors.js";
import { findBackup } from "../manifest/store.js";
import { mongoError } from "../mongo/connect.js";
import { discoverCollections } from "../mongo/discover.js";
import { createNamespaceFilter, splitNamespace } from "../mongo/namespaces.js";
import type { DecryptionKeys } from "../pipeline/encryption.js";
import { openBackup } from "../pipeline/restore.js";
import type { Secret } from "../secret.js";
import { createReconciler, type ReconciledNamespace, type Reconciler } from "./reconcile.js";

/** What one pass did. `readAt` is when the data it copied was read (the pass's lag reference). */
export interface PassResult {
  readonly namespaces: ReconciledNamespace[];
  readonly readAt: Date;
  /** The backup restored (`backups` mode), when one was. */
  readonly backupId?: string;
}

/**
 * The namespaces a pass covers: the include patterns as given when every one is an exact
 * `db.coll` (no discovery needed, so this works on servers without listCollections), otherwise
 * the primary's collections matching them (views and time-series excluded: a view has no
 * documents and buckets are server-managed). Throws RemoteError when the primary cannot list
 * its databases or collections.
 */
export async function standbyNamespaces(primary: MongoClient, include: readonly string[], exclude: readonly string[] = []): Promise<string[]> {
  const filter = createNamespaceFilter(include, exclude);
  if (filter.exact) return [...filter.exact];
  let plans: Awaited<ReturnType<typeof discoverCollections>>["plans"];
  try {
    ({ plans } = await discoverCollections(primary, filter));
  } catch (err) {
    throw mongoError(err, "mongodb primary: listing collections (name them with --include db.coll to skip this)");
  }
  return plans.filter((p) => p.type === "collection").map((p) => `${p.db}.${p.collection}`);
}

/**
 * What a pass stopped by `signal` rejects with: an InterruptedError saying how many documents it
 * had written to the standby (they stay; nothing was deleted, since deletions come only at the end
 * of a pass), or the signal's reason when it had written none.
 */
function interruptedPass(rec: Reconciler, signal: AbortSignal): unknown {
  const rows = rec.written().filter((w) => w.written > 0);
  if (rows.length === 0) return signal.reason;
  const what = rows.map((w) => `${w.written} documents of ${w.ns}`).join(", ");
  return new InterruptedError(`standby pass interrupted: ${what} had been written to the standby and are kept, nothing was deleted; the next pass completes it (the state file still describes the last complete pass)`, { cause: signal.reason });
}

/** Runs `pass`; once `signal` has fired, any failure is reported as `interruptedPass` says. */
async function stoppable<T>(rec: Reconciler, signal: AbortSignal | undefined, pass: () => Promise<T>): Promise<T> {
  try {
    return await pass();
  } catch (err) {
    throw signal?.aborted ? interruptedPass(rec, signal) : err;
  }
}

/**
 * Copies `namespaces` from the primary to the standby, one collection at a time. Throws
 * RemoteError naming the server side (`mongodb primary <ns>` / `mongodb standby <ns>`). `signal`
 * stops it at the next batch, with the error described at `interruptedPass`.
 */
export async function fullCopyPass(primary: MongoClient, primaryUri: Secret, standby: MongoClient, standbyUri: Secret, namespaces: readonly string[], signal?: AbortSignal): Promise<PassResult> {
  const readAt = new Date();
  const rec = createReconciler(standby, standbyUri);
  return stoppable(rec, signal, () => copyAll(primary, primaryUri, rec, namespaces, readAt, signal));
}

async function copyAll(primary: MongoClient, primaryUri: Secret, rec: Reconciler, namespaces: readonly string[], readAt: Date, signal?: AbortSignal): Promise<PassResult> {
  for (const ns of namespaces) {
    signal?.throwIfAborted();
    const { db, collection } = splitNamespace(ns);
    await rec.touch(ns);
    let batch: Uint8Array[] = [];
    try {
      for await (const raw of primary.db(db).collection(collection).find({}, { raw: true }) as AsyncIterable<Uint8Array>) {
        batch.push(raw);
        if (batch.length >= 500) {
          await rec.add(ns, batch);
          batch = [];
          signal?.throwIfAborted();
        }
      }
    } catch (err) {
      throw mongoError(err, `mongodb primary ${ns}`, primaryUri);
    }
    await rec.add(ns, batch);
  }
  return { namespaces: await rec.finish(), readAt };
}

/**
 * Restores the latest backup in `dest` into the standby, limited to namespaces matching
 * `include`/`exclude`. Returns undefined without touching the standby when the latest backup is
 * `lastBackupId` (already restored). The object's size and SHA-256 are confirmed before any
 * document is applied (see openBackup); throws NotFoundError when `dest` holds no backup. `signal`
 * stops it at the next batch, with the error described at `interruptedPass`.
 */
export async function backupPass(dest: Destination, keys: DecryptionKeys, standby: MongoClient, standbyUri: Secret, opts: { include?: readonly string[]; exclude?: readonly string[]; lastBackupId?: string; signal?: AbortSignal }): Promise<PassResult | undefined> {
  const { manifest } = await findBackup(dest, "latest");
  if (manifest.id === opts.lastBackupId) return undefined;
  const filter = createNamespaceFilter(opts.include, opts.exclude);
  const opened = await openBackup(dest, manifest.id, keys, opts.signal ? { signal: opts.signal } : {});
  const rec = createReconciler(standby, standbyUri);
  return stoppable(rec, opts.signal, async () => {
    try {
      for await (const ev of opened.events) {
        // Only ordinary data namespaces: the oplog, views and time-series buckets are not mirrored.
        if (ev.kind === "metadata" && (!ev.meta.type || ev.meta.type === "collection") && ev.meta.db && filter.matches(`${ev.meta.db}.${ev.meta.collection}`)) await rec.touch(`${ev.meta.db}.${ev.meta.collection}`);
        if (ev.kind === "documents" && ev.ns !== ".oplog" && filter.matches(ev.ns) && !splitNamespace(ev.ns).collection.startsWith("system.")) await rec.add(ev.ns, ev.docs);
        opts.signal?.throwIfAborted();
      }
    } finally {
      await opened.cleanup();
    }
    return { namespaces: await rec.finish(), readAt: new Date(manifest.createdAt), backupId: manifest.id };
  });
}
