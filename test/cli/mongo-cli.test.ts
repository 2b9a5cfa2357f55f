import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient, Long, Decimal128, Binary, ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { mongoSkipReason, mongoTestUri, needsRealMongod } from "../support/mongo-service.js";

const skip = CLI_SKIP ?? mongoSkipReason();
if (skip) console.warn(`skipping CLI-over-MongoDB tests: ${skip}`);

/** The same URI with another database path, so the driver's default db does not matter. */
function withDb(uri: string, db: string): string {
  const u = new URL(uri);
  u.pathname = `/${db}`;
  return u.toString();
}

describe.skipIf(!!skip)("cloudsync backup --uri / restore --to mongodb:// / verify --restore-to, as processes", () => {
  let work: string;
  let identity: string;
  let recipient: string;
  let client: MongoClient;
  const db = `cli_${process.pid}_${Date.now().toString(36)}`;
  const uri = () => mongoTestUri()!;

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
      price: Decimal128.fromString("12.345"),
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
    const drill = needsRealMongod("dropping the drill's scratch databases");
    if (v.code !== 0) console.warn(`restore drill output: ${v.stdout}\n${v.stderr}`);
    expect(v.json<{ level: string }>().level).toBe("restore-drill");
    if (!drill.skip) expect(v.code).toBe(0);
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
