// Shared pieces of the MongoDB tests: a client on the test server, unique database names, and
// the dump → archive → read → restore chain run exactly as the product runs it.
import { randomBytes } from "node:crypto";
import { BSON, MongoClient, MongoServerError, type Document } from "mongodb";
import { readAll } from "../support/streams.js";
import { readArchive } from "../../runtime/src/archive/reader.js";
import type { ArchiveEvent } from "../../runtime/src/archive/types.js";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import { createMongoDumpSource, type MongoDumpOptions, type MongoDumpSource } from "../../runtime/src/mongo/dump.js";
import { restoreToMongo, type RestoreOptions, type RestoreReport } from "../../runtime/src/mongo/restore.js";
import { Secret } from "../../runtime/src/secret.js";

/** A database name no other test uses. */
export function uniqueDb(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

/** Connects a plain driver client (for seeding and inspection, not under test). */
export async function testClient(uri: string): Promise<MongoClient> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  return client;
}

/**
 * Inserts raw BSON documents (decoded without promotion, re-encoded by the driver) one by one and
 * returns how many the server accepted. A document the server refuses (a real mongod may reject
 * an exotic value a test generator produced) is named in a warning, so the round trip then covers
 * what the server can hold rather than failing on the seed.
 */
export async function insertRaw(client: MongoClient, ns: string, raws: readonly Uint8Array[]): Promise<number> {
  const [db, ...rest] = ns.split(".");
  const coll = client.db(db as string).collection(rest.join("."));
  let accepted = 0;
  for (const raw of raws) {
    const doc: Document = BSON.deserialize(raw, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true });
    try {
      await coll.insertOne(doc);
      accepted++;
    } catch (err) {
      if (!(err instanceof MongoServerError)) throw err;
      console.warn(`seed ${ns}: the server refused ${BSON.EJSON.stringify(doc).slice(0, 160)}: ${err.message}`);
    }
  }
  return accepted;
}

/** Dumps with `dumpOpts` into an in-memory archive; returns the archive and the drained source. */
export async function dumpToArchive(uri: string, dumpOpts: Omit<MongoDumpOptions, "uri">, concurrency = 2): Promise<{ archive: Buffer; source: MongoDumpSource }> {
  const source = await createMongoDumpSource({ uri: new Secret(uri), concurrency, ...dumpOpts });
  try {
    const archive = await readAll(writeArchive(source, { concurrency, segmentBytes: 4096 }));
    return { archive, source };
  } finally {
    await source.close();
  }
}

/** Restores an in-memory archive through readArchive into `uri`. */
export async function restoreArchive(archive: Buffer, uri: string, restoreOpts: Omit<RestoreOptions, "uri">): Promise<RestoreReport> {
  return restoreToMongo(readArchive(chunks(archive)), { uri: new Secret(uri), ...restoreOpts });
}

/** The archive in 64 KiB chunks, as a file or network stream would deliver it. */
export async function* chunks(buf: Buffer, size = 65536): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** Every event of an archive, documents included (small archives only). */
export async function events(archive: Buffer): Promise<ArchiveEvent[]> {
  const out: ArchiveEvent[] = [];
  for await (const e of readArchive(chunks(archive))) out.push(e);
  return out;
}
