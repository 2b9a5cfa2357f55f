import type { Destination } from "../destinations/destination.js";
import { CloudsyncError } from "../errors.js";
import { listBackups } from "../manifest/store.js";
import { connectMongo } from "../mongo/connect.js";
import { discoverCollections } from "../mongo/discover.js";
import { createNamespaceFilter } from "../mongo/namespaces.js";
import { redactText, type Secret } from "../secret.js";
import type { BackupSample, DatabaseMeasurement } from "./calculate.js";

/**
 * Measures the live database: exactly the collections a plain `backup --uri` would dump (the
 * dump's own discovery, so admin's ordinary collections count and local, config and system
 * collections do not), each sized by `$collStats` storage statistics and summed. Never throws:
 * any failure (unreachable server, a server without these commands, no privilege) becomes
 * `{ known: false, reason }` with the connection string redacted, because an estimate can still
 * be made from the backups.
 */
export async function measureDatabase(uri: Secret, opts: { serverSelectionTimeoutMS?: number } = {}): Promise<DatabaseMeasurement> {
  let client: Awaited<ReturnType<typeof connectMongo>> | undefined;
  try {
    client = await connectMongo(uri, { serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5000 });
    const { plans } = await discoverCollections(client, createNamespaceFilter());
    const size = { dataBytes: 0, storageBytes: 0, indexBytes: 0, documents: 0, collections: plans.length, databases: new Set(plans.map((p) => p.db)).size };
    for (const plan of plans) {
      // A view's definition is its whole backup: no data to size.
      if (plan.dataCollection === undefined) continue;
      const [stats] = await client.db(plan.db).collection(plan.dataCollection).aggregate([{ $collStats: { storageStats: {} } }]).toArray();
      const s = (stats?.storageStats ?? {}) as Record<string, unknown>;
      size.dataBytes += Number(s.size ?? 0);
      size.storageBytes += Number(s.storageSize ?? 0);
      size.indexBytes += Number(s.totalIndexSize ?? 0);
      size.documents += Number(s.count ?? 0);
    }
    return { known: true, size };
  } catch (err) {
    // connectMongo's errors already show the URI without its password; driver errors may hold it whole.
    const message = (err as Error).message;
    return { known: false, reason: err instanceof CloudsyncError ? message : redactText(message, [uri]) };
  } finally {
    await client?.close().catch(() => undefined);
  }
}

/**
 * The newest `limit` complete backups in `dest` (default 30: a month of dailies), as samples for
 * the estimate. Unreadable manifests are reported through `onProblem` and skipped, as `list` does.
 */
export async function recentBackups(dest: Destination, opts: { limit?: number; onProblem?: (key: string, err: Error) => void } = {}): Promise<BackupSample[]> {
  const entries = await listBackups(dest, { onProblem: opts.onProblem });
  return entries.slice(0, opts.limit ?? 30).map((e) => ({ id: e.manifest.id, createdAt: e.manifest.createdAt, size: e.manifest.object.size }));
}
