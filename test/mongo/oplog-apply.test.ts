// The oplog replay against real servers: the mongod 8 fixture script of oplog-fixtures.ts applied
// up to and including each step's second, into a fresh database, and the content compared with
// what the step expects. Servers without the catalog commands (jongodb: no create, drop or
// renameCollection) replay the CRUD and transaction entries only.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Document, MongoClient } from "mongodb";
import { createOplogApplier } from "../../runtime/src/mongo/oplog-apply.js";
import { lacks, onEachServer } from "../support/servers.js";
import { testClient, uniqueDb } from "./helpers.js";
import { scenario, second } from "./oplog-fixtures.js";

const CRUD_ONLY = new Set(["create", "drop", "renameCollection", "startIndexBuild", "commitIndexBuild", "createIndexes", "dropIndexes"]);

onEachServer("oplog replay of mongod 8 entries", [], (server) => {
  let client: MongoClient;
  const dbs: string[] = [];
  const catalog = lacks(server, ["catalog"]);

  beforeAll(async () => {
    client = await testClient(server.uri);
  });
  afterAll(async () => {
    for (const db of dbs) await client?.db(db).dropDatabase().catch(() => undefined);
    await client?.close();
  });

  const contents = async (db: string, coll: string): Promise<Document[]> => client.db(db).collection(coll).find({}).sort({ _id: 1 }).toArray();

  for (const step of scenario("x").steps) {
    // Without the catalog the script stops before the rename (which would need renameCollection).
    const skip = catalog && step.s >= 7 ? catalog : undefined;
    it.skipIf(skip !== undefined)(`up to and including second ${step.s}${skip ? ` (skipped: ${skip})` : ""}`, async () => {
      const db = uniqueDb("oplog_apply");
      dbs.push(db);
      const { entries } = scenario(db);
      const applier = createOplogApplier(client, { limit: { t: second(step.s), i: 0xffffffff } });
      const fed = entries.filter((e) => !(catalog && e.op === "c" && CRUD_ONLY.has(Object.keys(e.o as Document)[0]!)));
      for (const e of fed) await applier.apply(e);
      const report = applier.finish();
      const expected = step.expected.c ?? [];
      const byId = (a: Document, b: Document) => String(a._id).localeCompare(String(b._id));
      expect((await contents(db, "c")).sort(byId)).toEqual([...expected].sort(byId));
      expect(await contents(db, "d")).toEqual([]);
      if (!catalog) {
        const names = (await client.db(db).collection("c").indexes().catch(() => [])).map((ix) => String(ix.name)).filter((n) => n !== "_id_");
        expect(names.sort()).toEqual(step.indexes);
      }
      expect(report.beyond).toBe(fed.filter((e) => (e.ts as { high: number }).high > second(step.s)).length);
      // The transaction opened at second 6 never commits: its insert is counted, never applied.
      expect(report.uncommitted).toBe(step.s >= 6 ? 1 : 0);
    });
  }

  it(`maps namespaces with --include and --rename during the replay`, async () => {
    const db = uniqueDb("oplog_src");
    const to = uniqueDb("oplog_dst");
    dbs.push(db, to);
    const { entries } = scenario(db);
    const applier = createOplogApplier(client, { include: [`${db}.c`], rename: [{ from: `${db}.*`, to: `${to}.*` }], limit: { t: second(2), i: 0xffffffff } });
    for (const e of entries) if (!(catalog && e.op === "c")) await applier.apply(e);
    const report = applier.finish();
    expect(await contents(db, "c")).toEqual([]);
    expect((await contents(to, "c")).map((d) => d.name)).toEqual(expect.arrayContaining(["B", "replaced"]));
    expect(report.applied).toBeGreaterThan(0);
  });
});
