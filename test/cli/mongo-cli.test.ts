import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient, Long, Decimal128, Double, Binary, ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { ferretdbSkipReason, spawnFerretdb, type FerretdbProcess } from "../support/ferretdb-service.js";
import { has, onEachServer } from "../support/servers.js";

if (CLI_SKIP) console.warn(`skipping CLI-over-MongoDB tests: ${CLI_SKIP}`);

/** The same URI with another database path, so the driver's default db does not matter. */
function withDb(uri: string, db: string): string {
  const u = new URL(uri);
  u.pathname = `/${db}`;
  return u.toString();
}

onEachServer("cloudsync backup --uri / restore --to mongodb:// / verify --restore-to, as processes", [], (server) => {
  if (CLI_SKIP) return;
  let work: string;
  let identity: string;
  let recipient: string;
  let client: MongoClient;
  const db = `cli_${process.pid}_${Date.now().toString(36)}`;
  const uri = () => server.uri;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-mongocli-"));
    identity = join(work, "identity.txt");
    recipient = (await runCli(["keys", "new", "--out", identity, "--json"])).json<{ recipient: string }>().recipient;
    client = new MongoClient(uri());
    await client.connect();
    const models = Array.from({ length: 250 }, (_, i) => ({
      _id: new ObjectId(),
      name: `model-${i}`,
      params: Long.fromString("9007199254740993"),
      ratio: i + 0.5,
      count: i,
      // FerretDB v1.24.2 drops the connection on Decimal128 (FERRETDB_GAPS).
      price: server.name === "FerretDB" ? new Double(12.345) : Decimal128.fromString("12.345"),
      blob: new Binary(Buffer.from([i & 255, 1, 2]), 0),
      born: new Date(-86_400_000 * i),
    }));
    await client.db(db).collection("models").insertMany(models);
    await client.db(db).collection<{ _id: number; kind: string; at: Date }>("events").insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: i, kind: "ping", at: new Date(1_700_000_000_000 + i) })));
  });
  afterAll(async () => {
    await client?.close();
  });

  it("backs up explicit namespaces, restores them renamed with identical documents, and drills a restore", async () => {
    const dest = join(work, "backups");
    const b = await runCli(["backup", "--uri", uri(), "--include", `${db}.models`, "--include", `${db}.events`, "--to", dest, "-r", recipient, "--json"]);
    expect(b.code, b.stderr).toBe(0);
    const out = b.json<{ id: string; totals: { namespaces: number; documents: number }; consistency: { mode: string } }>();
    expect(out.totals.namespaces).toBe(2);
    expect(out.totals.documents).toBe(290);
    expect(["snapshot", "oplog-window", "fuzzy"]).toContain(out.consistency.mode);

    const target = `${db}_r`;
    const r = await runCli(["restore", out.id, "--from", dest, "--to", withDb(uri(), "admin"), "--rename", `${db}.*:${target}.*`, "-i", identity, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = r.json<{ ok: boolean; namespaces: Array<{ ns: string; target: string; expected: number; restored: number }> }>();
    expect(report.ok).toBe(true);
    expect(report.namespaces.map((n) => [n.target, n.restored]).sort()).toEqual([
      [`${target}.events`, 40],
      [`${target}.models`, 250],
    ]);
    const original = await client.db(db).collection("models").find({}, { sort: { _id: 1 } }).toArray();
    const restored = await client.db(target).collection("models").find({}, { sort: { _id: 1 } }).toArray();
    expect(JSON.stringify(restored)).toBe(JSON.stringify(original));
    expect(restored[0]!.params).toBeInstanceOf(Long);

    const dry = await runCli(["restore", out.id, "--from", dest, "--to", uri(), "--include", `${db}.events`, "--dry-run", "--json", "-i", identity]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json<{ dryRun: boolean; namespaces: Array<{ ns: string }> }>().namespaces.map((n) => n.ns)).toEqual([`${db}.events`]);

    const v = await runCli(["verify", out.id, "--from", dest, "-i", identity, "--restore-to", uri(), "--json"]);
    if (v.code !== 0) console.warn(`restore drill output: ${v.stdout}\n${v.stderr}`);
    expect(v.json<{ level: string }>().level).toBe("restore-drill");
    // The drill drops its scratch databases afterwards, which needs the catalog's drop.
    if (has(server, "catalog")) expect(v.code).toBe(0);
  });
});

describe.skipIf(!!CLI_SKIP)("cloudsync backup --uri without a server", () => {
  let work: string;
  let recipient: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-mongocli-down-"));
    recipient = (await runCli(["keys", "new", "--out", join(work, "identity.txt"), "--json"])).json<{ recipient: string }>().recipient;
  });

  it("a server that is down fails the backup cleanly with exit 5 and nothing listed", async () => {
    const dest = join(work, "down");
    const r = await runCli(["backup", "--uri", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=1500", "--include", "x.y", "--to", dest, "-r", recipient]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^cloudsync: /m);
    const l = await runCli(["list", "--from", dest, "--json"]);
    expect(l.json<unknown[]>()).toEqual([]);
  });
});

// Paths that need a server of their own: discovery without --include sees every database on it,
// so it runs on a private FerretDB (replica set rs0, no oplog) that no other test writes to.
const privateSkip = CLI_SKIP ?? ferretdbSkipReason();
describe.skipIf(!!privateSkip)(`the catalog paths on a private FerretDB, as processes${privateSkip ? ` (skipped: ${privateSkip})` : ""}`, () => {
  let server: FerretdbProcess;
  let client: MongoClient;
  let work: string;
  let identity: string;
  let recipient: string;

  beforeAll(async () => {
    server = await spawnFerretdb({ replSet: "rs0" });
    work = mkdtempSync(join(tmpdir(), "cloudsync-mongocli-ferret-"));
    identity = join(work, "identity.txt");
    recipient = (await runCli(["keys", "new", "--out", identity, "--json"])).json<{ recipient: string }>().recipient;
    client = new MongoClient(server.uri);
    await client.connect();
    await client.db("shop").collection<{ _id: number }>("orders").insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i, total: i * 2 })));
    await client.db("shop").collection<{ _id: string }>("users").insertMany([{ _id: "ann" }, { _id: "bob" }]);
    await client.db("logs").collection<{ _id: number }>("events").insertMany(Array.from({ length: 5 }, (_, i) => ({ _id: i })));
    await client.db("admin").collection("settings").insertOne({ k: "v" });
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  const backup = async (extra: string[]) => {
    const dest = join(work, `b${Math.random().toString(36).slice(2, 8)}`);
    const r = await runCli(["backup", "--uri", server.uri, "--to", dest, "-r", recipient, "--json", ...extra]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ id: string; totals: { namespaces: number; documents: number }; consistency: unknown }>();
    const dry = await runCli(["restore", out.id, "--from", dest, "--to", server.uri, "--dry-run", "--json", "-i", identity]);
    expect(dry.code, dry.stderr).toBe(0);
    return { dest, out, namespaces: dry.json<{ namespaces: Array<{ ns: string }> }>().namespaces.map((n) => n.ns).sort() };
  };

  it("backup --uri with no --include discovers every database but local and config, and records why it is not a snapshot", async () => {
    const { out, namespaces } = await backup([]);
    // admin's own collections are dumped as mongodump does; its users and roles only with --include-auth.
    expect(namespaces).toEqual(["admin.settings", "logs.events", "shop.orders", "shop.users"]);
    expect(out.totals).toMatchObject({ namespaces: 4, documents: 38 });
    // FerretDB's hello names a replica set, but it has no oplog here and ignores readConcern
    // snapshot (its reply carries no cluster time): the dump falls back to fuzzy and says both,
    // naming the missing collection rather than blaming the credentials.
    expect(out.consistency).toEqual({
      mode: "fuzzy",
      detail: {
        topology: "replicaSet",
        oplogIncluded: false,
        reasons: ["no oplog on this server: local.oplog.rs does not exist", "the server ignored the snapshot read: its reply carried no operation time"],
      },
    });
  });

  it("--include and --exclude patterns narrow the discovery", async () => {
    expect((await backup(["--include", "shop.*", "--exclude", "shop.users"])).namespaces).toEqual(["shop.orders"]);
    expect((await backup(["--exclude", "shop.*", "--exclude", "admin.*"])).namespaces).toEqual(["logs.events"]);
  });

  it("restore --drop replaces the target collections instead of adding to them", async () => {
    const { dest, out } = await backup(["--include", "shop.*"]);
    const restore = () => runCli(["restore", out.id, "--from", dest, "--to", server.uri, "--rename", "shop.*:shop_copy.*", "--drop", "-i", identity, "--json"]);
    expect((await restore()).code).toBe(0);
    await client.db("shop_copy").collection<{ _id: number; total: number }>("orders").insertOne({ _id: 999, total: 0 });
    const again = await restore();
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ namespaces: Array<{ target: string; restored: number }> }>().namespaces.map((n) => [n.target, n.restored]).sort()).toEqual([
      ["shop_copy.orders", 30],
      ["shop_copy.users", 2],
    ]);
    expect(await client.db("shop_copy").collection("orders").countDocuments()).toBe(30);
    await client.db("shop_copy").dropDatabase();
  });

  it("estimate --uri sizes exactly what backup --uri dumps: admin's ordinary collections included", async () => {
    const r = await runCli(["estimate", "--uri", server.uri, "--from", join(work, "none"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const db = r.json<{ database: { known: boolean; documents: number; databases: number; collections: number; dataBytes: number } }>().database;
    // The same four namespaces and 38 documents as the discovery test's backup above.
    expect(db).toMatchObject({ known: true, documents: 38, databases: 3, collections: 4 });
    expect(db.dataBytes).toBeGreaterThan(0);
  });

  it("db init on a server without validators exits 5 saying so", async () => {
    const r = await runCli(["db", "init", "--uri", server.uri, "--database", "product"]);
    expect(r).toMatchObject({
      code: 5,
      stdout: "",
      stderr: "cloudsync: mongodb db init product.models: the server does not implement create with a validator, so validators cannot be applied; db init needs MongoDB (mongod or Atlas)\n",
    });
  });
});
