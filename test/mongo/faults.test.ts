// Faults for real (issue 3 §5): a server killed with SIGKILL in the middle of a dump, and a target
// killed in the middle of a restore. Each test starts its own jongodb process so killing it
// disturbs nobody else; against a real mongod (MONGODB_URI) these still use jongodb, since the
// test must own the process it kills.
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { ArchiveEvent } from "../../runtime/src/archive/types.js";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import { RemoteError } from "../../runtime/src/errors.js";
import { createMongoDumpSource } from "../../runtime/src/mongo/dump.js";
import { restoreToMongo } from "../../runtime/src/mongo/restore.js";
import { Secret } from "../../runtime/src/secret.js";
import { JONGODB_BIN, spawnJongodb, type JongodbProcess } from "../support/mongo-service.js";
import { BSON } from "mongodb";
import { readAll } from "../support/streams.js";
import { testClient } from "./helpers.js";

const skip = existsSync(JONGODB_BIN) ? undefined : `jongodb binary not installed at ${JONGODB_BIN}`;
if (skip) console.warn(`mongo fault tests skipped: ${skip}`);

describe.skipIf(skip)(`faults${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let server: JongodbProcess | undefined;
  afterEach(async () => {
    await server?.kill();
    server = undefined;
  });

  it("kill -9 of the server mid-dump: the documents iterable throws a RemoteError naming the namespace", async () => {
    server = await spawnJongodb();
    const client = await testClient(server.uri);
    await client
      .db("fault")
      .collection<{ _id: number }>("big")
      .insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: i, pad: "p".repeat(100) })));
    await client.close();

    const source = await createMongoDumpSource({ uri: new Secret(server.uri), include: ["fault.big"], batchSize: 100, serverSelectionTimeoutMS: 1500 });
    let seen = 0;
    let caught: unknown;
    try {
      for await (const _doc of source.namespaces[0]!.documents) {
        // The first batch (100 documents) is already in hand; the kill lands before the getMore.
        if (++seen === 1) await server.kill();
      }
    } catch (err) {
      caught = err;
    } finally {
      await source.close();
    }
    expect(caught).toBeInstanceOf(RemoteError);
    expect((caught as RemoteError).operation).toBe("mongodb read fault.big");
    expect((caught as RemoteError).message).toMatch(/^mongodb read fault\.big: .+ \(after 100 documents\)$/);
    expect(seen).toBe(100);
  });

  it("kill -9 mid-dump also fails the archive stream, so no archive is ever completed", async () => {
    server = await spawnJongodb();
    const client = await testClient(server.uri);
    await client
      .db("fault")
      .collection<{ _id: number }>("big")
      .insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: i, pad: "p".repeat(100) })));
    await client.close();
    const source = await createMongoDumpSource({ uri: new Secret(server.uri), include: ["fault.big"], batchSize: 100, serverSelectionTimeoutMS: 1500 });
    const victim = server;
    const stream = writeArchive(source, { chunkBytes: 1024 });
    stream.once("data", () => void victim.kill());
    await expect(readAll(stream)).rejects.toThrow(/^mongodb read fault\.big: .+ \(after \d+ documents\)$/);
    await source.close();
  });

  it("a target killed mid-restore gives a RemoteError naming the namespace and how many documents got in", async () => {
    server = await spawnJongodb();
    const victim = server;
    const batchOf = (b: number) => Array.from({ length: 500 }, (_, i) => Buffer.from(BSON.serialize({ _id: b * 500 + i, v: `value ${i}` })));
    async function* events(): AsyncGenerator<ArchiveEvent> {
      yield { kind: "header", header: { version: "0.1", serverVersion: "8.0.0", toolVersion: "test" } };
      yield { kind: "metadata", meta: { db: "drill", collection: "orders", metadata: '{"indexes":[],"collectionName":"orders","type":"collection"}', size: 0 } };
      for (let batch = 0; batch < 10; batch++) {
        // Two batches of 500 go in; then the server dies before the third is written.
        if (batch === 2) await victim.kill();
        yield { kind: "documents", ns: "drill.orders", docs: batchOf(batch) };
      }
    }
    const run = restoreToMongo(events(), { uri: new Secret(server.uri), batchSize: 500, serverSelectionTimeoutMS: 1500, rename: [{ from: "drill.*", to: "scratch.*" }] });
    await expect(run).rejects.toBeInstanceOf(RemoteError);
    await expect(run).rejects.toThrow(/^mongodb restore scratch\.orders: .+; 1000 documents of drill\.orders had been restored into scratch\.orders$/);
  });
});
