// Round trip over a real wire connection (issue 3 §5): seed every BSON type and indexes (unique,
// compound, TTL, partial) → dump source → writeArchive → readArchive → restoreToMongo into another
// database → identical canonical Extended JSON per collection and identical index specs.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BSON, Double, Int32, Long, type MongoClient } from "mongodb";
import { RemoteError } from "../../runtime/src/errors.js";
import { canonicalJson, compareDescriptions, describeDatabase } from "../../runtime/src/mongo/compare.js";
import { createMongoDumpSource } from "../../runtime/src/mongo/dump.js";
import { Secret } from "../../runtime/src/secret.js";
import { allBsonTypeDocuments } from "../support/bson-types.js";
import { mongoSkipReason, mongoTestUri } from "../support/mongo-service.js";
import { onEachServer, storable } from "../support/servers.js";
import { dumpToArchive, events, insertRaw, restoreArchive, testClient, uniqueDb } from "./helpers.js";

onEachServer("round trip through the archive", [], (server) => {
  const uri = server.uri;
  const jongodb = server.name === "jongodb";
  // FerretDB v1.24.2 refuses TTL and partial indexes (NotImplemented) and some BSON values
  // (ferretdbCannotStore); those cases stay on the other servers.
  const ferretdb = server.name === "FerretDB";
  const src = uniqueDb("rt_src");
  const dst = uniqueDb("rt_dst");
  const names = ["types", "indexed", "many"];
  const srcNs = names.map((n) => `${src}.${n}`);
  let client: MongoClient;
  let typedCount = 0;

  beforeAll(async () => {
    client = await testClient(uri);
    // The all-types set minus the document that carries the deprecated `undefined` type: the
    // driver cannot insert that type (js-bson writes undefined as null), so it cannot be seeded.
    const typed = storable(server, allBsonTypeDocuments().filter((d) => !canonicalJson(d).includes('"undef"')));
    typedCount = await insertRaw(client, `${src}.types`, typed);
    const indexed = client.db(src).collection<{ _id: number }>("indexed");
    await indexed.insertMany(
      Array.from({ length: 30 }, (_, i) => ({ _id: i, email: `u${i}@example.org`, a: new Int32(i % 3), b: new Double(i / 2), at: new Date(1_700_000_000_000 + i), qty: Long.fromNumber(i * 10) })),
    );
    await indexed.createIndexes([
      { key: { email: 1 }, name: "email_unique", unique: true },
      { key: { a: 1, b: -1 }, name: "a_b" },
      ...(ferretdb
        ? []
        : [
            { key: { at: 1 }, name: "at_ttl", expireAfterSeconds: 3600 * 24 * 365 * 10 },
            { key: { qty: 1 }, name: "qty_partial", partialFilterExpression: { qty: { $gt: 50 } } },
          ]),
    ]);
    await client
      .db(src)
      .collection<{ _id: number }>("many")
      .insertMany(Array.from({ length: 2500 }, (_, i) => ({ _id: i, name: `item ${i}`, score: new Double(i / 7), tags: ["x", String(i % 11)] })));
  });

  afterAll(async () => {
    await client?.close();
  });

  it("restores identical documents and index specs into another database", async () => {
    const { archive, source } = await dumpToArchive(uri, { include: srcNs });
    expect(source.namespaces.map((n) => `${n.meta.db}.${n.meta.collection}`)).toEqual(srcNs);
    expect(source.estimates.get(`${src}.many`)?.documents).toBe(2500);
    const consistency = source.consistency();
    if (jongodb) {
      // jongodb answers hello without a setName: a standalone, so nothing stronger than fuzzy.
      expect(consistency).toEqual({ mode: "fuzzy", detail: { topology: "standalone", oplogIncluded: false, reasons: ["standalone server: no snapshot reads and no oplog"] } });
    } else {
      expect(["snapshot", "oplog-window", "fuzzy"]).toContain(consistency.mode);
    }

    const report = await restoreArchive(archive, uri, { rename: [{ from: `${src}.*`, to: `${dst}.*` }], batchSize: 1000 });
    // The report lists namespaces in the order their EOFs arrive, which a parallel dump varies.
    expect([...report.namespaces].sort((a, b) => names.indexOf(a.ns.slice(src.length + 1)) - names.indexOf(b.ns.slice(src.length + 1)))).toEqual(
      names.map((n, i) => {
        const expected = [typedCount, 30, 2500][i] as number;
        return { ns: `${src}.${n}`, target: `${dst}.${n}`, expected, restored: expected, ok: true };
      }),
    );
    expect(report.ok).toBe(true);

    const before = await describeDatabase(new Secret(uri), srcNs);
    const after = await describeDatabase(new Secret(uri), names.map((n) => `${dst}.${n}`));
    expect(compareDescriptions(before, after, (ns) => ns.replace(`${src}.`, `${dst}.`))).toEqual([]);
    expect(after.map((d) => d.count)).toEqual([typedCount, 30, 2500]);
    // jongodb accepts every seeded document; a real mongod is allowed to refuse some (see insertRaw).
    if (jongodb) expect(typedCount).toBe(allBsonTypeDocuments().length - 1);
    const ttlAndPartial = [
      // jongodb stores expireAfterSeconds as an Int64, mongod as an Int32: what matters is that
      // source and target agree, which compareDescriptions checked above.
      `{"name":"at_ttl","key":{"at":{"$numberInt":"1"}},"expireAfterSeconds":{"${jongodb ? "$numberLong" : "$numberInt"}":"315360000"}}`,
      '{"name":"qty_partial","key":{"qty":{"$numberInt":"1"}},"partialFilterExpression":{"qty":{"$gt":{"$numberInt":"50"}}}}',
    ];
    expect(after[1]?.indexes).toEqual([
      // jongodb lists the _id index with `unique: true`, mongod leaves it implicit; the
      // comparison leaves it out, as the _id index is always unique.
      '{"name":"_id_","key":{"_id":{"$numberInt":"1"}}}',
      '{"name":"a_b","key":{"a":{"$numberInt":"1"},"b":{"$numberInt":"-1"}}}',
      ...(ferretdb ? [] : ttlAndPartial.slice(0, 1)),
      '{"name":"email_unique","key":{"email":{"$numberInt":"1"}},"unique":true}',
      ...(ferretdb ? [] : ttlAndPartial.slice(1)),
    ]);

    // Per-document canonical Extended JSON, compared one by one for a readable failure.
    const ejson = async (db: string, coll: string) =>
      (await client.db(db).collection(coll).find({}, { raw: true, sort: { _id: 1 } }).toArray()).map((d) => canonicalJson(d as unknown as Uint8Array));
    expect(await ejson(dst, "types")).toEqual(await ejson(src, "types"));
  });

  it("keeps exact numeric types: Int64 beyond 2^53 stays Int64, Int32 and Double stay apart", async () => {
    const row = await client.db(dst).collection<{ _id: number; int64Big?: unknown }>("types").findOne({ _id: 2 }, { promoteLongs: false, promoteValues: false });
    expect(row?.int64Big).toBeInstanceOf(Long);
    expect((row?.int64Big as Long).toString()).toBe("9007199254740993");
    // On FerretDB the document with the whole double also holds NaN, which it cannot store.
    if (ferretdb) return;
    const nums = await client.db(dst).collection("types").findOne({ wholeDouble: { $exists: true } }, { raw: true });
    const json = nums ? canonicalJson(nums as unknown as Uint8Array) : "";
    expect(json).toContain('"wholeDouble":{"$numberDouble":"2.0"}');
    expect(json).toContain('"int32":{"$numberInt":"2"}');
  });

  it("carries documents into the archive as the server's raw bytes", async () => {
    const { archive } = await dumpToArchive(uri, { include: [`${src}.types`] }, 1);
    const archived = (await events(archive)).flatMap((e) => (e.kind === "documents" ? e.docs.map((d) => Buffer.from(d).toString("hex")) : []));
    const served = (await client.db(src).collection("types").find({}, { raw: true }).toArray()).map((d) => Buffer.from(d as unknown as Uint8Array).toString("hex"));
    expect(archived.sort()).toEqual(served.sort());
  });

  it("writes mongodump-style metadata: indexes, collectionName and type as canonical Extended JSON", async () => {
    const { source } = await dumpToArchive(uri, { include: [`${src}.indexed`] }, 1);
    const meta = source.prelude[0];
    expect(meta?.db).toBe(src);
    expect(meta?.collection).toBe("indexed");
    expect(meta?.type).toBe("collection");
    const parsed = BSON.EJSON.parse(meta?.metadata ?? "", { relaxed: false }) as Record<string, unknown>;
    expect(Object.keys(parsed).filter((k) => k !== "options" && k !== "uuid")).toEqual(["indexes", "collectionName", "type"]);
    expect(parsed.collectionName).toBe("indexed");
    // Creation order, as listIndexes gives it; FerretDB lists indexes by name.
    expect((parsed.indexes as Array<{ name: string }>).map((i) => i.name)).toEqual(ferretdb ? ["_id_", "a_b", "email_unique"] : ["_id_", "email_unique", "a_b", "at_ttl", "qty_partial"]);
    expect(meta?.metadata).toContain('"v":{"$numberInt":"2"}');
    if (jongodb) {
      // Exact namespaces skip discovery; options still come from listCollections, which jongodb
      // lacks: the dump goes on and says what is missing.
      expect(source.warnings).toEqual([`${src}.indexed: the server has no listCollections; collection options, validators and UUID are not in the backup`]);
    } else {
      expect(source.warnings).toEqual([]);
    }
  });

  // On servers with a replica set, server-features.test.ts covers --oplog.
  it.skipIf(!jongodb)(`refuses --oplog on a server without an oplog, naming the option${jongodb ? "" : " (skipped: covered by server-features.test.ts)"}`, async () => {
    await expect(createMongoDumpSource({ uri: new Secret(uri), include: [`${src}.many`], oplog: true })).rejects.toThrow(
      "oplog: --oplog needs a replica set with a readable oplog; this server is a standalone",
    );
  });

  it("stops reading when the signal aborts, with the caller's reason", async () => {
    const controller = new AbortController();
    const source = await createMongoDumpSource({ uri: new Secret(uri), include: [`${src}.many`], batchSize: 5, signal: controller.signal });
    let seen = 0;
    const run = (async () => {
      for await (const _doc of source.namespaces[0]!.documents) if (++seen === 10) controller.abort(new Error("interrupted by SIGTERM"));
    })();
    await expect(run).rejects.toThrow("interrupted by SIGTERM");
    expect(seen).toBe(10);
    await source.close();
  });

  it("never shows the connection string's password in errors", async () => {
    // Port 1 on loopback: nothing listens, so connecting fails fast and the error is shown.
    const secret = new Secret("mongodb://backup:s3cr3t-pw@127.0.0.1:1/?authSource=admin");
    const err = await createMongoDumpSource({ uri: secret, include: [`${src}.many`], serverSelectionTimeoutMS: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(String((err as Error).message)).not.toContain("s3cr3t-pw");
    expect(String((err as Error).message)).toMatch(/^mongodb connect mongodb:\/\/backup:\*\*redacted\*\*@127\.0\.0\.1:1\//);
  });

  it("a dry run reads and checks the archive and writes nothing", async () => {
    const { archive } = await dumpToArchive(uri, { include: [`${src}.many`] }, 1);
    const target = uniqueDb("rt_dry");
    const report = await restoreArchive(archive, uri, { rename: [{ from: `${src}.*`, to: `${target}.*` }], dryRun: true });
    expect(report).toEqual({ namespaces: [{ ns: `${src}.many`, target: `${target}.many`, expected: 2500, restored: 2500, ok: true }], views: [], skipped: [], dryRun: true, ok: true });
    expect(await client.db(target).collection("many").countDocuments()).toBe(0);
  });

  it("restores only included namespaces and lists the others as skipped", async () => {
    const { archive } = await dumpToArchive(uri, { include: [`${src}.indexed`, `${src}.many`] }, 2);
    const target = uniqueDb("rt_inc");
    const report = await restoreArchive(archive, uri, { include: [`${src}.ind*`], rename: [{ from: `${src}.*`, to: `${target}.*` }] });
    expect(report.namespaces).toEqual([{ ns: `${src}.indexed`, target: `${target}.indexed`, expected: 30, restored: 30, ok: true }]);
    expect(report.skipped).toEqual([{ ns: `${src}.many`, reason: "not included" }]);
  });
});

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shared/fixtures/mongodump/test.bar.archive");
const fixtureSkip = mongoSkipReason() ?? (existsSync(FIXTURE) ? undefined : `real mongodump fixture not found at ${FIXTURE} (only CI and developer machines have ../shared)`);
if (fixtureSkip) console.warn(`mongodump fixture restore skipped: ${fixtureSkip}`);

describe.skipIf(fixtureSkip)(`restoring an archive written by the real mongodump${fixtureSkip ? ` (skipped: ${fixtureSkip})` : ""}`, () => {
  it("restores test.bar and skips admin.system.version, saying why", async () => {
    const uri = mongoTestUri() as string;
    const target = uniqueDb("fixture");
    const report = await restoreArchive(await readFile(FIXTURE), uri, { rename: [{ from: "test.*", to: `${target}.*` }] });
    expect(report.namespaces).toEqual([{ ns: "test.bar", target: `${target}.bar`, expected: 1, restored: 1, ok: true }]);
    expect(report.skipped).toEqual([{ ns: "admin.system.version", reason: "users and roles are not restored here; use mongorestore --restoreDbUsersAndRoles on the archive" }]);
    const client = await testClient(uri);
    try {
      expect(await client.db(target).collection("bar").countDocuments()).toBe(1);
    } finally {
      await client.close();
    }
  });
});
