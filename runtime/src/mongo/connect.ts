/**
 * Connecting to MongoDB and turning driver failures into RemoteError, with the connection string
 * redacted everywhere it could appear (the driver echoes hosts, and sometimes the URI, in messages).
 */
import { MongoClient, type Db, type Document } from "mongodb";
import { CloudsyncError, RemoteError } from "../errors.js";
import { redactText, redactUri, type Secret } from "../secret.js";

/** Options for `connectMongo`. */
export interface ConnectOptions {
  /** How long to look for a usable server before failing; default 10 s. */
  readonly serverSelectionTimeoutMS?: number;
}

/**
 * Opens a client to `uri` and checks that a server answers (one `ping`). Throws RemoteError
 * (`mongodb connect <redacted uri>`) when no server is reachable in time or authentication
 * fails. The caller closes the client.
 */
export async function connectMongo(uri: Secret, opts: ConnectOptions = {}): Promise<MongoClient> {
  const shown = redactUri(uri.reveal());
  let client: MongoClient;
  try {
    client = new MongoClient(uri.reveal(), {
      serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 10_000,
      appName: "cloudsync",
      // Backups are long reads: never let the driver retry a read silently from a different
      // point, and never give up on an idle cursor between batches on the client side.
      retryReads: false,
    });
  } catch (err) {
    throw new RemoteError(`mongodb connect ${shown}`, `invalid connection string: ${redactText((err as Error).message, [uri])}`, { cause: err });
  }
  try {
    await client.db("admin").command({ ping: 1 });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw mongoError(err, `mongodb connect ${shown}`, uri);
  }
  return client;
}

/**
 * Wraps a driver error as RemoteError(`operation`, message) with `uri`'s secrets redacted.
 * CloudsyncErrors pass through unchanged.
 */
export function mongoError(err: unknown, operation: string, uri?: Secret): Error {
  if (err instanceof CloudsyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RemoteError(operation, redactText(message, uri ? [uri] : []), { cause: err });
}

/** Numeric server error code of a driver error, if any. */
export function serverCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

/** True when the server does not know the command (code 59), as some MongoDB-compatible servers answer. */
export function isCommandNotFound(err: unknown): boolean {
  return serverCode(err) === 59 || /no such (command|cmd)/i.test((err as Error | undefined)?.message ?? "");
}

/**
 * Runs a cursor-returning command (listCollections, listIndexes) and returns every document,
 * decoded without promoting values: Int32, Int64 and Double keep their BSON types, so the
 * canonical Extended JSON written to the archive says exactly what the server said.
 */
export async function cursorCommand(db: Db, command: Document): Promise<Document[]> {
  const exact = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;
  let reply = await db.command(command, exact);
  const out: Document[] = [...((reply.cursor?.firstBatch as Document[] | undefined) ?? [])];
  const ns = String(reply.cursor?.ns ?? "");
  const coll = ns.slice(ns.indexOf(".") + 1);
  while (reply.cursor?.id && !isZero(reply.cursor.id)) {
    reply = await db.command({ getMore: reply.cursor.id, collection: coll }, exact);
    out.push(...((reply.cursor?.nextBatch as Document[] | undefined) ?? []));
  }
  return out;
}

function isZero(id: unknown): boolean {
  if (typeof id === "number" || typeof id === "bigint") return Number(id) === 0;
  if (id && typeof (id as { isZero?: unknown }).isZero === "function") return (id as { isZero(): boolean }).isZero();
  return false;
}
