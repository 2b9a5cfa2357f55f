import type { Destination } from "../destinations/destination.js";
import { CloudsyncError } from "../errors.js";
import { listBackups } from "../manifest/store.js";
import { connectMongo } from "../mongo/connect.js";
import { redactText, type Secret } from "../secret.js";
import type { BackupSample, DatabaseMeasurement } from "./calculate.js";

/** Databases that hold the server's own data, never the user's. */
const SYSTEM_DATABASES = new Set(["admin", "local", "config"]);

/**
 * Measures the live database: listDatabases, then dbStats of every user database, summed. Never
 * throws: any failure (unreachable server, a server without these commands, no privilege)
 * becomes `{ known: false, reason }` with the connection string redacted, because an estimate
 * can still be made from the backups.
 */
export async function measureDatabase(uri: Secret, opts: { serverSelectionTimeoutMS?: number } = {}): Promise<DatabaseMeasurement> {
  let client: Awaited<ReturnType<typeof connectMongo>> | undefined;
  try {
    client = await connectMongo(uri, { serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5000 });
    const listed = await client.db("admin").command({ listDatabases: 1, nameOnly: true });
    const names = (listed.databases as Array<{ name: string }>).map((d) => d.name).filter((n) => !SYSTEM_DATABASES.has(n));
    const size = { dataBytes: 0, storageBytes: 0, indexBytes: 0, documents: 0, collections: 0, databases: names.length };
    for (const name of names) {
      const s = await client.db(name).command({ dbStats: 1, scale: 1 });
      size.dataBytes += Number(s.dataSize ?? 0);
      size.storageBytes += Number(s.storageSize ?? 0);
      size.indexBytes += Number(s.indexSize ?? 0);
      size.documents += Number(s.objects ?? 0);
      size.collections += Number(s.collections ?? 0);
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
export async function recentBackups(dest: Destination, opts: { limit?: number; onProblem?: (key: string, err: unknown) => void } = {}): Promise<BackupSample[]> {
  const entries = await listBackups(dest, { onProblem: opts.onProblem });
  return entries.slice(0, opts.limit ?? 30).map((e) => ({ id: e.manifest.id, createdAt: e.manifest.createdAt, size: e.manifest.object.size }));
}
