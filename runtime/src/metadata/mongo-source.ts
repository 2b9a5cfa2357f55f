import { MongoClient, type ChangeStream, type Collection, type Document, type ResumeToken } from "mongodb";
import { RemoteError } from "../errors.js";
import { redactText, type Secret } from "../secret.js";
import { PUBLIC_MODEL_FIELDS, projectPublic, type PublicModel } from "./public-schema.js";

/** Where the home machine keeps its model catalogue. */
export interface MongoSourceOptions {
  /** Connection string (a `Secret` when it carries a password). */
  readonly uri: Secret | string;
  /** Database name. Default `models`. */
  readonly database?: string;
  /** Collection name. Default `models`. */
  readonly collection?: string;
}

/**
 * One change seen by a watcher: a public document to upsert, or "rescan" when a document went
 * away (a delete event names only `_id`, which need not be the public id; a full diff finds it).
 */
export type ModelChange = { readonly kind: "upsert"; readonly model: PublicModel } | { readonly kind: "rescan" };

/** An open connection to the catalogue. */
export interface MongoModelSource {
  /** Every model, projected to public fields (projection requested, and enforced in code). */
  scan(): AsyncIterable<PublicModel>;
  /** Models whose `updatedAt` is after `since` (ISO), oldest first (the polling watcher). */
  changedSince(since: string | undefined): AsyncIterable<PublicModel>;
  /**
   * Opens a change stream (resuming after `resumeToken` when given). Resolves to `{ unsupported }` with
   * the reason when the server does not support change streams (standalone, or a server
   * without the command), so the caller falls back to polling.
   */
  openChangeStream(resumeToken: unknown): Promise<{ stream: ChangeStream } | { unsupported: string }>;
  close(): Promise<void>;
}

/** The projection sent to the server: only public fields (`_id` stands in for a missing `id`). */
export const PUBLIC_PROJECTION: Readonly<Record<string, 1>> = Object.fromEntries([["_id", 1], ...PUBLIC_MODEL_FIELDS.map((f) => [f, 1])]);

/**
 * Connects to the catalogue. Throws `RemoteError("mongodb connect", …)` (password redacted)
 * when the server cannot be reached within 10 s.
 */
export async function openMongoSource(opts: MongoSourceOptions): Promise<MongoModelSource> {
  const uri = typeof opts.uri === "string" ? opts.uri : opts.uri.reveal();
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, appName: "cloudsync-sync-metadata" });
  try {
    await client.connect();
  } catch (err) {
    throw new RemoteError("mongodb connect", redactText((err as Error).message, [uri]), { cause: err });
  }
  const coll: Collection<Document> = client.db(opts.database ?? "models").collection(opts.collection ?? "models");
  return {
    async *scan() {
      for await (const doc of coll.find({}, { projection: PUBLIC_PROJECTION, sort: { _id: 1 } })) yield projectPublic(doc);
    },
    async *changedSince(since) {
      // Sources store updatedAt as a Date or as an ISO string; match either.
      const filter = since ? { $or: [{ updatedAt: { $gt: new Date(since) } }, { updatedAt: { $gt: since } }] } : {};
      for await (const doc of coll.find(filter, { projection: PUBLIC_PROJECTION, sort: { updatedAt: 1 } })) yield projectPublic(doc);
    },
    async openChangeStream(resumeToken) {
      try {
        const stream = coll.watch([], { fullDocument: "updateLookup", ...(resumeToken ? { resumeAfter: resumeToken as ResumeToken } : {}) });
        // watch() is lazy: ask for the first batch now so "unsupported" surfaces here, not later.
        await stream.tryNext();
        return { stream };
      } catch (err) {
        return { unsupported: redactText((err as Error).message, [uri]) };
      }
    },
    close: () => client.close(),
  };
}

/**
 * Turns a change event into a public change, or undefined for events that do not change a
 * document (drop, invalidate…). The full document is projected in code: a change stream sends
 * every field.
 */
export function changeFromEvent(ev: Document): ModelChange | undefined {
  const op = ev.operationType as string;
  if ((op === "insert" || op === "update" || op === "replace") && ev.fullDocument) return { kind: "upsert", model: projectPublic(ev.fullDocument as Record<string, unknown>) };
  // A delete, or an update whose document was deleted before the lookup.
  if (op === "delete" || op === "update" || op === "replace") return { kind: "rescan" };
  return undefined;
}
