// The MongoDB source and sink wired into the product's backup pipeline (issue 3 §1, §2, §5):
// dump → archive → verify → gzip → SHA-256 → local destination → manifest, then read back →
// gunzip → archive events → restore. And the fault: the server killed mid-dump leaves no
// manifest and nothing listed.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { readArchive } from "../../runtime/src/archive/reader.js";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import { createDecompressor } from "../../runtime/src/compression/index.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { RemoteError } from "../../runtime/src/errors.js";
import { listBackups } from "../../runtime/src/manifest/store.js";
import { createMongoDumpSource } from "../../runtime/src/mongo/dump.js";
import { restoreToMongo } from "../../runtime/src/mongo/restore.js";
import { runBackupPipeline } from "../../runtime/src/pipeline/backup.js";
import type { EncryptionPlan } from "../../runtime/src/pipeline/encryption.js";
import { Secret } from "../../runtime/src/secret.js";
import { spawnFerretdb } from "../support/ferretdb-service.js";
import { spawnJongodb, type JongodbProcess } from "../support/mongo-service.js";
import { onEachServer } from "../support/servers.js";
import { testClient, uniqueDb } from "./helpers.js";

// Encryption has its own interop and tamper suites; here it would only slow the test down.
const plain: EncryptionPlan = { manifest: { scheme: "none", recipients: [] }, create: () => undefined };

onEachServer("backup pipeline from a live MongoDB", [], (server) => {
  const uri = server.uri;
  const src = uniqueDb("pipe_src");
  let root: string;
  let killable: JongodbProcess | undefined;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-mongo-pipe-"));
    const client = await testClient(uri);
    await client
      .db(src)
      .collection<{ _id: number }>("events")
      .insertMany(Array.from({ length: 1500 }, (_, i) => ({ _id: i, kind: i % 3 === 0 ? "sync" : "backup", at: new Date(1_700_000_000_000 + i * 60_000) })));
    await client.db(src).collection<{ _id: string; name: string; size: number }>("models").insertMany([{ _id: "m1", name: "tiny", size: 12 }, { _id: "m2", name: "small", size: 345 }]);
    await client.close();
  });
  afterEach(async () => {
    await killable?.kill();
    killable = undefined;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("stores a verified backup whose manifest records the dump's namespaces and consistency, and restores it", async () => {
    const dest = createLocalDestination(path.join(root, "ok"));
    const source = await createMongoDumpSource({ uri: new Secret(uri), include: [`${src}.events`, `${src}.models`], concurrency: 2 });
    const result = await runBackupPipeline({
      source: writeArchive(source, { concurrency: 2 }),
      sourceInfo: { kind: "mongodb", description: source.description },
      consistency: () => source.consistency(),
      destination: dest,
      compression: { algorithm: "gzip", level: 1 },
      encryption: plain,
    }).finally(() => source.close());
    // Namespaces are listed in the order their EOFs were written: the short one finishes first.
    expect(result.manifest.namespaces.map((n) => [n.ns, n.documents]).sort()).toEqual([
      [`${src}.events`, 1500],
      [`${src}.models`, 2],
    ]);
    expect(result.manifest.consistency).toEqual(source.consistency());
    expect(result.manifest.source).toEqual({ kind: "mongodb", description: source.description });
    expect((await listBackups(dest)).map((e) => e.manifest.id)).toEqual([result.manifest.id]);

    const target = uniqueDb("pipe_dst");
    const body = await dest.get(result.manifest.object.key);
    const report = await restoreToMongo(readArchive(Readable.from(body).pipe(createDecompressor("gzip"))), {
      uri: new Secret(uri),
      rename: [{ from: `${src}.*`, to: `${target}.*` }],
      expected: new Map(result.manifest.namespaces.map((n) => [n.ns, n.documents])),
    });
    expect([...report.namespaces].sort((a, b) => a.ns.localeCompare(b.ns))).toEqual([
      { ns: `${src}.events`, target: `${target}.events`, expected: 1500, restored: 1500, ok: true },
      { ns: `${src}.models`, target: `${target}.models`, expected: 2, restored: 2, ok: true },
    ]);
  });

  it("a server killed mid-dump fails the backup with a RemoteError and leaves no manifest and nothing listed", async () => {
    // A private server to kill: FerretDB in the FerretDB group, jongodb otherwise.
    killable = server.name === "FerretDB" ? await spawnFerretdb() : await spawnJongodb();
    const victim = killable;
    const client = await testClient(victim.uri);
    await client
      .db("fault")
      .collection<{ _id: number }>("big")
      .insertMany(Array.from({ length: 2000 }, (_, i) => ({ _id: i, pad: "q".repeat(200) })));
    await client.close();
    const dest = createLocalDestination(path.join(root, "fault"));
    const source = await createMongoDumpSource({ uri: new Secret(victim.uri), include: ["fault.big"], batchSize: 200, serverSelectionTimeoutMS: 1500 });
    let killed = false;
    const run = runBackupPipeline({
      source: writeArchive(source, { chunkBytes: 4096 }),
      sourceInfo: { kind: "mongodb", description: source.description },
      consistency: () => source.consistency(),
      destination: dest,
      compression: { algorithm: "gzip", level: 1 },
      encryption: plain,
      onProgress: (bytes) => {
        if (!killed && bytes > 0) {
          killed = true;
          void victim.kill();
        }
      },
    }).finally(() => source.close());
    await expect(run).rejects.toBeInstanceOf(RemoteError);
    await expect(run).rejects.toThrow(/^mongodb read fault\.big: .+ \(after \d+ documents\)$/);
    expect(await listBackups(dest)).toEqual([]);
    const leftovers: string[] = [];
    for await (const o of dest.list("")) leftovers.push(o.key);
    expect(leftovers).toEqual([]);
  });
});
