// Seed export → import over a real wire connection: every BSON type the driver can write comes
// back with identical canonical Extended JSON, indexes are recreated, a second import changes
// nothing, and a damaged set is refused before anything is written.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Int32, MongoClient } from "mongodb";
import { ConfigError, IntegrityError } from "../../runtime/src/errors.js";
import { exportSeed } from "../../runtime/src/seed/export.js";
import { importSeed } from "../../runtime/src/seed/import.js";
import { toCanonicalLine } from "../../runtime/src/seed/canonical.js";
import { Secret } from "../../runtime/src/secret.js";
import { allBsonTypeDocuments } from "../support/bson-types.js";
import { spawnJongodb, type JongodbProcess } from "../support/mongo-service.js";
import { has, onEachServer, storable } from "../support/servers.js";
import { insertRaw, testClient, uniqueDb } from "../mongo/helpers.js";

const lines = async (client: MongoClient, db: string, coll: string): Promise<string[]> =>
  (await client.db(db).collection(coll).find({}, { raw: true }).toArray()).map((d) => toCanonicalLine(d as unknown as Uint8Array)).sort();

onEachServer("seed export and import", [], (server) => {
  const uri = server.uri;
  // Without the catalog (jongodb) the server cannot list collections or drop the database.
  const catalog = has(server, "catalog");
  const db = uniqueDb("seed");
  const ns = [`${db}.indexed`, `${db}.types`];
  let client: MongoClient;
  let target: { uri: string; client: MongoClient; server?: JongodbProcess };
  let work: string;
  let typed = 0;
  const expected = new Map<string, string[]>();

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "cloudsync-seed-"));
    client = await testClient(uri);
    typed = await insertRaw(client, `${db}.types`, storable(server, allBsonTypeDocuments().filter((d) => !toCanonicalLine(d).includes("$undefined"))));
    const indexed = client.db(db).collection<{ _id: number }>("indexed");
    await indexed.insertMany([3, 1, 2].map((i) => ({ _id: i, email: `u${i}@example.org`, n: new Int32(i) })));
    await indexed.createIndex({ email: 1 }, { name: "email_unique", unique: true });
    for (const c of ["indexed", "types"]) expected.set(c, await lines(client, db, c));
    // The import goes to an empty database: a second jongodb server (jongodb cannot drop
    // databases), or on a server with the catalog the same server once the export has been
    // taken and the database dropped.
    if (!catalog) {
      const server = await spawnJongodb();
      target = { uri: server.uri, client: await testClient(server.uri), server };
    } else {
      target = { uri, client };
    }
  }, 60_000);

  afterAll(async () => {
    if (target?.client !== client) await target?.client.close();
    await target?.server?.stop();
    if (catalog) await client?.db(db).dropDatabase().catch(() => undefined);
    await client?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("exports sorted canonical lines, index specs and checksums; the same data gives identical bytes", async () => {
    const dir = path.join(work, "one");
    const report = await exportSeed({ uri: new Secret(uri), dir, include: ns });
    expect(report.collections.map((c) => [c.ns, c.documents])).toEqual([
      [`${db}.indexed`, 3],
      [`${db}.types`, typed],
    ]);
    expect(report.warnings).toEqual(!catalog ? ns.map((n) => `${n}: the server has no listCollections; collection options, validators and UUID are not in the seed set`) : []);
    const data = await readFile(path.join(dir, `data/${db}/indexed.ejson`), "utf8");
    expect(data).toBe(
      [1, 2, 3].map((i) => `{"_id":{"$numberInt":"${i}"},"email":"u${i}@example.org","n":{"$numberInt":"${i}"}}\n`).join(""),
    );
    const meta = JSON.parse(await readFile(path.join(dir, `data/${db}/indexed.metadata.json`), "utf8")) as { indexes: Array<{ name: string }> };
    expect(meta.indexes.map((i) => i.name)).toEqual(["_id_", "email_unique"]);
    const sums = await readFile(path.join(dir, "SHA256SUMS"), "utf8");
    expect(sums.split("\n").filter(Boolean).map((l) => l.slice(66))).toEqual([
      `data/${db}/indexed.ejson`,
      `data/${db}/indexed.metadata.json`,
      `data/${db}/types.ejson`,
      `data/${db}/types.metadata.json`,
      "seed.json",
    ]);
    // Stock tools check a set: coreutils' sha256sum reads SHA256SUMS as written.
    expect(execFileSync("sha256sum", ["--check", "--strict", "SHA256SUMS"], { cwd: dir }).toString().split("\n").filter(Boolean).every((l) => l.endsWith(": OK"))).toBe(true);
    const again = path.join(work, "two");
    await exportSeed({ uri: new Secret(uri), dir: again, include: ns });
    expect(await readFile(path.join(again, "SHA256SUMS"), "utf8")).toBe(sums);
    expect((await readdir(work)).sort()).toEqual(["one", "two"]);
  });

  it("refuses a target directory that is not empty", async () => {
    const dir = path.join(work, "one");
    await expect(exportSeed({ uri: new Secret(uri), dir, include: ns })).rejects.toThrow(new ConfigError("--to", `${dir} exists and is not empty; choose a new directory (a seed set is written whole, never merged)`));
  });

  it("imports into an empty server with identical documents and indexes, and a second import changes nothing", async () => {
    const dir = path.join(work, "one");
    if (catalog) await client.db(db).dropDatabase();
    const first = await importSeed({ uri: new Secret(target.uri), dir });
    expect(first.collections).toEqual([
      { ns: `${db}.indexed`, documents: 3, inserted: 3, updated: 0, unchanged: 0, indexes: ["email_unique"] },
      { ns: `${db}.types`, documents: typed, inserted: typed, updated: 0, unchanged: 0, indexes: [] },
    ]);
    for (const c of ["indexed", "types"]) expect(await lines(target.client, db, c)).toEqual(expected.get(c));
    const names = (await target.client.db(db).collection("indexed").listIndexes().toArray()).map((i) => i.name as string).sort();
    expect(names).toEqual(["_id_", "email_unique"]);

    const second = await importSeed({ uri: new Secret(target.uri), dir });
    expect(second.collections.map((c) => [c.inserted, c.updated, c.unchanged])).toEqual([
      [0, 0, 3],
      [0, 0, typed],
    ]);
    for (const c of ["indexed", "types"]) expect(await lines(target.client, db, c)).toEqual(expected.get(c));
  });

  it("replaces a changed document by _id", async () => {
    await target.client.db(db).collection<{ _id: number }>("indexed").updateOne({ _id: 2 }, { $set: { email: "changed@example.org" } });
    const report = await importSeed({ uri: new Secret(target.uri), dir: path.join(work, "one") });
    expect(report.collections[0]).toEqual({ ns: `${db}.indexed`, documents: 3, inserted: 0, updated: 1, unchanged: 2, indexes: ["email_unique"] });
    expect(await lines(target.client, db, "indexed")).toEqual(expected.get("indexed"));
  });

  it("refuses a damaged set naming the file, before connecting (an unreachable server is never tried)", async () => {
    const dir = path.join(work, "two");
    await appendFile(path.join(dir, `data/${db}/indexed.ejson`), '{"_id":{"$numberInt":"9"}}\n');
    const nowhere = new Secret("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200");
    await expect(importSeed({ uri: nowhere, dir })).rejects.toThrow(IntegrityError);
    await expect(importSeed({ uri: nowhere, dir })).rejects.toThrow(new RegExp(`^seed data/${db}/indexed\\.ejson: SHA-256 [0-9a-f]{64} does not match [0-9a-f]{64} in SHA256SUMS`));
    await writeFile(path.join(dir, "extra.txt"), "x");
    await expect(importSeed({ uri: nowhere, dir })).rejects.toThrow(new IntegrityError("seed extra.txt: present but not listed in SHA256SUMS"));
  });

  it("dry run verifies and counts without connecting", async () => {
    const report = await importSeed({ uri: new Secret("mongodb://127.0.0.1:1"), dir: path.join(work, "one"), dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.collections.map((c) => [c.ns, c.documents, c.inserted])).toEqual([
      [`${db}.indexed`, 3, 0],
      [`${db}.types`, typed, 0],
    ]);
  });
});
