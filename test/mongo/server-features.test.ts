// What each server allows, run on every test server through the feature × server harness:
// discovery with wildcard patterns, validators and collection options, views, time-series,
// snapshot and oplog consistency, --oplog, --drop. A test needing a feature a server lacks skips
// there with "needs <feature>, which <server> lacks"; what a server has decides what is seeded
// and expected (FerretDB: the catalog and capped collections, no validators, views or
// time-series; a replica set without snapshot reads).
import { afterAll, beforeAll, expect, it } from "vitest";
import { BSON, type MongoClient } from "mongodb";
import { ConfigError } from "../../runtime/src/errors.js";
import { compareDescriptions, describeDatabase } from "../../runtime/src/mongo/compare.js";
import { createMongoDumpSource } from "../../runtime/src/mongo/dump.js";
import { Secret } from "../../runtime/src/secret.js";
import { has, lacks, onEachServer } from "../support/servers.js";
import { dumpToArchive, events, restoreArchive, testClient, uniqueDb } from "./helpers.js";

onEachServer("what the server allows", [], (server) => {
  const uri = server.uri;
  const src = uniqueDb("feat_src");
  let client: MongoClient;
  let replicaSet = false;
  const catalog = lacks(server, ["catalog"]);

  beforeAll(async () => {
    client = await testClient(uri);
    replicaSet = typeof (await client.db("admin").command({ hello: 1 })).setName === "string";
    const db = client.db(src);
    if (has(server, "validators")) {
      await db.createCollection("validated", {
        validator: { $jsonSchema: { bsonType: "object", required: ["sku"], properties: { sku: { bsonType: "string" } } } },
        validationLevel: "strict",
        validationAction: "error",
      });
    }
    await db.collection("validated").insertMany([{ sku: "a" }, { sku: "b" }]);
    if (has(server, "catalog")) {
      await db.createCollection("capped", { capped: true, size: 65536, max: 100 });
      await db.collection("capped").insertMany([{ n: 1 }, { n: 2 }]);
    }
    await db.collection("plain").insertMany([{ _id: 1, v: 1 } as never, { _id: 2, v: 2 } as never]);
    await db.collection("excluded").insertOne({ x: 1 });
    if (has(server, "views")) await db.createCollection("big_orders", { viewOn: "plain", pipeline: [{ $match: { v: { $gt: 1 } } }] });
    if (has(server, "timeseries")) {
      await db.createCollection("weather", { timeseries: { timeField: "at", metaField: "station", granularity: "hours" } });
      await db.collection("weather").insertMany(Array.from({ length: 12 }, (_, i) => ({ at: new Date(Date.UTC(2026, 0, 1, i)), station: { id: i % 2 }, temp: i / 2 })));
    }
  });

  afterAll(async () => {
    await client?.db(src).dropDatabase().catch(() => undefined);
    await client?.close();
  });

  it.skipIf(catalog)(`discovers with wildcard include/exclude: views as definitions, time-series through their buckets${catalog ? ` (skipped: ${catalog})` : ""}`, async () => {
    const views = has(server, "views");
    const timeseries = has(server, "timeseries");
    const source = await createMongoDumpSource({ uri: new Secret(uri), include: [`${src}.*`], exclude: [`${src}.excluded`] });
    try {
      expect(source.prelude.map((m) => `${m.collection}:${m.type}`)).toEqual([
        ...(views ? ["big_orders:view"] : []),
        "capped:collection",
        "plain:collection",
        "validated:collection",
        ...(timeseries ? ["weather:timeseries"] : []),
      ]);
      // The view has an empty segment of its own (mongodump writes one), after the collections.
      expect(source.namespaces.map((n) => n.meta.collection)).toEqual(["capped", "plain", "validated", ...(timeseries ? ["system.buckets.weather"] : []), ...(views ? ["big_orders"] : [])]);
      if (views) {
        const view = BSON.EJSON.parse(source.prelude[0]?.metadata ?? "{}") as { options: { viewOn: string; pipeline: unknown[] }; indexes: unknown[] };
        expect(view.options.viewOn).toBe("plain");
        expect(view.options.pipeline).toEqual([{ $match: { v: { $gt: 1 } } }]);
        expect(view.indexes).toEqual([]);
      }
      expect(source.prelude.find((m) => m.collection === "validated")?.metadata).toMatch(/"uuid":"[0-9a-f]{32}"/);
    } finally {
      await source.close();
    }
  });

  it.skipIf(catalog)(`round-trips validators, capped options, views and time-series into another database${catalog ? ` (skipped: ${catalog})` : ""}`, async () => {
    const dst = uniqueDb("feat_dst");
    const { archive } = await dumpToArchive(uri, { include: [`${src}.*`], exclude: [`${src}.excluded`] });
    const report = await restoreArchive(archive, uri, { rename: [{ from: `${src}.*`, to: `${dst}.*` }] });
    expect(report.ok).toBe(true);
    expect(report.views).toEqual(has(server, "views") ? [`${dst}.big_orders`] : []);
    const options = async (db: string) =>
      Object.fromEntries((await client.db(db).listCollections().toArray()).filter((c) => !c.name.startsWith("system.")).map((c) => [c.name, BSON.EJSON.stringify((c as { options?: unknown }).options ?? {})]));
    const expected = await options(src);
    delete expected.excluded;
    expect(await options(dst)).toEqual(expected);
    if (has(server, "validators")) await expect(client.db(dst).collection("validated").insertOne({ nosku: true })).rejects.toThrow(/Document failed validation/);
    if (has(server, "views")) expect(await client.db(dst).collection("big_orders").find({}, { projection: { _id: 1 } }).toArray()).toEqual([{ _id: 2 }]);
    if (has(server, "timeseries")) {
      const measurements = async (db: string) => (await client.db(db).collection("weather").find({}, { sort: { at: 1 }, projection: { _id: 0 } }).toArray()).map((d) => BSON.EJSON.stringify(d));
      expect(await measurements(dst)).toEqual(await measurements(src));
    }
    const names = ["validated", "capped", "plain"];
    expect(compareDescriptions(await describeDatabase(new Secret(uri), names.map((n) => `${src}.${n}`)), await describeDatabase(new Secret(uri), names.map((n) => `${dst}.${n}`)), (ns) => ns.replace(`${src}.`, `${dst}.`))).toEqual([]);
    await client.db(dst).dropDatabase();
  });

  it("records the consistency achieved: snapshot with its cluster time on a replica set, fuzzy on a standalone", async () => {
    const { source } = await dumpToArchive(uri, { include: [`${src}.plain`, `${src}.validated`] });
    const c = source.consistency();
    if (replicaSet && !has(server, "snapshotReads")) {
      // FerretDB accepts readConcern snapshot but ignores it: the read carries no cluster time,
      // so the dump falls back to the oplog window and says why.
      expect(c.mode).toBe("oplog-window");
      expect(c.detail.reasons).toEqual(["the server ignored the snapshot read: its reply carried no operation time"]);
      expect(c.detail.oplogWindow && c.detail.oplogWindow.start.t <= c.detail.oplogWindow.end.t).toBe(true);
    } else if (replicaSet) {
      expect(c.mode).toBe("snapshot");
      expect(c.detail.clusterTime?.t).toBeGreaterThan(0);
      expect(c.detail.reasons).toEqual([]);
      expect(c.detail.oplogWindow && c.detail.oplogWindow.start.t <= c.detail.oplogWindow.end.t).toBe(true);
    } else {
      expect(c).toEqual({ mode: "fuzzy", detail: { topology: "standalone", oplogIncluded: false, reasons: ["standalone server: no snapshot reads and no oplog"] } });
    }
  });

  it("without snapshots a replica set dump records the oplog window and why", async () => {
    const { source } = await dumpToArchive(uri, { include: [`${src}.plain`], snapshot: false });
    const c = source.consistency();
    if (replicaSet) {
      expect(c.mode).toBe("oplog-window");
      expect(c.detail.reasons).toEqual(["snapshot reads turned off"]);
      expect(c.detail.oplogWindow).toBeDefined();
    } else {
      expect(c.mode).toBe("fuzzy");
    }
  });

  it("--oplog adds the .oplog namespace on a replica set and is refused on a standalone", async () => {
    if (!replicaSet) {
      await expect(createMongoDumpSource({ uri: new Secret(uri), include: [`${src}.plain`], oplog: true })).rejects.toThrow(ConfigError);
      return;
    }
    const { archive, source } = await dumpToArchive(uri, { include: [`${src}.plain`], oplog: true });
    expect(source.consistency().detail.oplogIncluded).toBe(true);
    const eofs = (await events(archive)).filter((e) => e.kind === "eof").map((e) => (e.kind === "eof" ? e.ns : ""));
    expect(eofs).toContain(".oplog");
    expect(eofs).toContain(`${src}.plain`);
  });

  const snapshots = lacks(server, ["snapshotReads"]);
  it.skipIf(snapshots)(`a snapshot lost mid-collection is resumed by _id: every document exactly once, and the mode downgraded with the reason${snapshots ? ` (skipped: ${snapshots})` : ""}`, async () => {
    const admin = client.db("admin");
    const before = await admin.command({ getParameter: 1, minSnapshotHistoryWindowInSeconds: 1 });
    // A zero history window lets the server discard the snapshot as soon as other writes move on.
    await admin.command({ setParameter: 1, minSnapshotHistoryWindowInSeconds: 0 });
    try {
      await client.db(src).collection<{ _id: number }>("churn").insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i })));
      const source = await createMongoDumpSource({ uri: new Secret(uri), include: [`${src}.churn`], batchSize: 50 });
      const ids: number[] = [];
      try {
        for await (const raw of source.namespaces[0]!.documents) {
          ids.push(Number((BSON.deserialize(raw) as { _id: number })._id));
          if (ids.length === 60) {
            for (let i = 0; i < 20; i++) await client.db(src).collection("churn_other").insertOne({ i }, { writeConcern: { w: "majority" } });
            await new Promise((r) => setTimeout(r, 1500));
          }
        }
      } finally {
        await source.close();
      }
      expect(ids).toEqual(Array.from({ length: 300 }, (_, i) => i));
      const c = source.consistency();
      if (c.mode === "snapshot") {
        // The server kept the history after all: nothing to resume, and the claim stands.
        expect(c.detail.reasons).toEqual([]);
      } else {
        expect(c.mode).toBe("oplog-window");
        expect(c.detail.clusterTime).toBeUndefined();
        expect(c.detail.reasons.at(-1)).toMatch(new RegExp(`^the snapshot expired after \\d+ documents of ${src}\\.churn \\(`));
      }
    } finally {
      await admin.command({ setParameter: 1, minSnapshotHistoryWindowInSeconds: before.minSnapshotHistoryWindowInSeconds ?? 300 });
    }
  });

  it.skipIf(catalog)(`--drop replaces the target instead of adding to it${catalog ? ` (skipped: ${catalog})` : ""}`, async () => {
    const dst = uniqueDb("feat_drop");
    const { archive } = await dumpToArchive(uri, { include: [`${src}.plain`] });
    const opts = { rename: [{ from: `${src}.*`, to: `${dst}.*` }], drop: true };
    await restoreArchive(archive, uri, opts);
    await client.db(dst).collection("plain").insertOne({ _id: 99 } as never);
    const second = await restoreArchive(archive, uri, opts);
    expect(second.namespaces).toEqual([{ ns: `${src}.plain`, target: `${dst}.plain`, expected: 2, restored: 2, ok: true }]);
    expect(await client.db(dst).collection("plain").countDocuments()).toBe(2);
    await client.db(dst).dropDatabase();
  });

  it.skipIf(catalog)(`a full discovery skips local and config${catalog ? ` (skipped: ${catalog})` : ""}`, async () => {
    const source = await createMongoDumpSource({ uri: new Secret(uri) });
    try {
      const dbs = new Set(source.prelude.map((m) => m.db));
      expect(dbs.has("local")).toBe(false);
      expect(dbs.has("config")).toBe(false);
      expect(dbs.has(src)).toBe(true);
    } finally {
      await source.close();
    }
  });
});
