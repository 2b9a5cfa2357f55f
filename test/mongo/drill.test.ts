// The restore drill (verify --restore-to): an archive dumped from the test server is restored
// into scratch databases and checked for counts, index specs and content digests.
import { afterAll, beforeAll, expect, it } from "vitest";
import { BSON, type MongoClient } from "mongodb";
import type { ArchiveEvent } from "../../runtime/src/archive/types.js";
import { readArchive } from "../../runtime/src/archive/reader.js";
import { runRestoreDrill } from "../../runtime/src/mongo/drill.js";
import { Secret } from "../../runtime/src/secret.js";
import { allBsonTypeDocuments } from "../support/bson-types.js";
import { canonicalJson } from "../../runtime/src/mongo/compare.js";
import { has, onEachServer, storable } from "../support/servers.js";
import { chunks, dumpToArchive, insertRaw, testClient, uniqueDb } from "./helpers.js";

onEachServer("restore drill", [], (server) => {
  const uri = server.uri;
  const src = uniqueDb("drill_src");
  let client: MongoClient;
  let archive: Buffer;
  let typedCount = 0;

  beforeAll(async () => {
    client = await testClient(uri);
    typedCount = await insertRaw(client, `${src}.types`, storable(server, allBsonTypeDocuments().filter((d) => !canonicalJson(d).includes('"undef"'))));
    const orders = client.db(src).collection<{ _id: number }>("orders");
    await orders.insertMany(Array.from({ length: 1200 }, (_, i) => ({ _id: i, sku: `sku-${i % 40}`, qty: i % 7 })));
    await orders.createIndex({ sku: 1, qty: -1 }, { name: "sku_qty" });
    ({ archive } = await dumpToArchive(uri, { include: [`${src}.types`, `${src}.orders`] }));
  });

  afterAll(async () => {
    await client?.close();
  });

  it("restores into scratch databases and finds counts, indexes and content identical", async () => {
    const report = await runRestoreDrill(readArchive(chunks(archive)), { scratchUri: new Secret(uri), prefix: "cs_drill_t1_", batchSize: 500 });
    expect(report.namespaces.map((n) => [n.ns, n.target, n.expected, n.restored, n.counted, n.indexesOk, n.contentOk, n.ok, n.problems])).toEqual([
      [`${src}.types`, `cs_drill_t1_${src}.types`, typedCount, typedCount, typedCount, true, true, true, []],
      [`${src}.orders`, `cs_drill_t1_${src}.orders`, 1200, 1200, 1200, true, true, true, []],
    ]);
    expect(report.ok).toBe(true);
    expect(report.scratchDatabases).toEqual([`cs_drill_t1_${src}`]);
    if (!has(server, "catalog")) {
      // jongodb has no dropDatabase: the drill says so instead of failing.
      expect(report.cleanedUp).toBe(false);
      expect(report.warnings[0]).toMatch(new RegExp(`^scratch database cs_drill_t1_${src} was not dropped: .+; drop it by hand$`));
    } else {
      expect(report.cleanedUp).toBe(true);
      expect(report.warnings).toEqual([]);
    }
  });

  it("detects content that changed on the way in: a document without _id gets one from the server side", async () => {
    const doc = Buffer.from(BSON.serialize({ note: "no _id here" }));
    async function* archiveEvents(): AsyncGenerator<ArchiveEvent> {
      yield { kind: "header", header: { version: "0.1", serverVersion: "8.0.0", toolVersion: "test" } };
      yield { kind: "metadata", meta: { db: "capped_src", collection: "log", metadata: '{"indexes":[],"collectionName":"log","type":"collection"}', size: 0 } };
      yield { kind: "documents", ns: "capped_src.log", docs: [doc] };
      yield { kind: "eof", ns: "capped_src.log", documents: 1, bytes: doc.length, crc: 0n, computedCrc: 0n, crcOk: true };
    }
    const report = await runRestoreDrill(archiveEvents(), { scratchUri: new Secret(uri), prefix: "cs_drill_t3_", cleanup: false });
    const ns = report.namespaces[0];
    expect(ns?.counted).toBe(1);
    expect(ns?.contentOk).toBe(false);
    expect(ns?.problems[0]).toMatch(/^content digest [0-9a-f]{64} differs from the archive's [0-9a-f]{64}$/);
    expect(report.ok).toBe(false);
  });

  it("reports a count that disagrees with the manifest as a problem, not a pass", async () => {
    const report = await runRestoreDrill(readArchive(chunks(archive)), {
      scratchUri: new Secret(uri),
      prefix: "cs_drill_t2_",
      expected: new Map([[`${src}.orders`, 1201]]),
      cleanup: false,
    });
    const orders = report.namespaces.find((n) => n.ns === `${src}.orders`);
    expect(orders?.ok).toBe(false);
    expect(orders?.problems).toEqual(["1200 documents restored, 1201 expected", "1200 documents in the scratch collection, 1201 expected"]);
    expect(report.ok).toBe(false);
    expect(report.cleanedUp).toBe(false);
  });
});
