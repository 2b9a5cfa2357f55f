// Round trips through the stock MongoDB Database Tools (issue 11 §4 a–d), as processes:
//   (a) mongodump --archive | cloudsync backup --from-archive -, then cloudsync restore;
//   (b) cloudsync backup --uri, then the README's own line, age -d -i key | mongorestore --archive
//       --gzip (with --nsFrom/--nsTo into another database);
//   (c) cloudsync restore --to dir://, then mongorestore --dir (bsondump is not among the peers:
//       the npm repack has none);
//   (d) mongorestore --dryRun of each artifact kind (gzip, zstd through zstd -d, none).
// Each compares canonical Extended JSON per collection and the index specs with the source. The
// documents carry the BSON types the server stores faithfully (issue 11 §4 e): on FerretDB that
// leaves out Decimal128, MinKey, MaxKey and JavaScript code (it drops the connection on them),
// NaN, infinities, -0.0 (stored as 0.0) and nested arrays; the full set stays on the servers
// that hold it (test/mongo/roundtrip.test.ts).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Binary, BSONRegExp, Decimal128, Double, Int32, Long, ObjectId, Timestamp, UUID, type MongoClient } from "mongodb";
import { canonicalJson, compareDescriptions, describeDatabase } from "../../runtime/src/mongo/compare.js";
import { Secret } from "../../runtime/src/secret.js";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { mongoToolPath, mongoToolsSkipReason } from "../support/peers.js";
import { onEachServer, type TestServer } from "../support/servers.js";
import { testClient, uniqueDb } from "./helpers.js";

const toolsSkip = CLI_SKIP ?? mongoToolsSkipReason();
if (toolsSkip) console.warn(`stock-tools round trips skipped: ${toolsSkip}`);

/** Runs `cmd args`, feeding `input`; resolves with its exit code, stdout and stderr. */
function run(cmd: string, args: string[], input?: Buffer): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.end(input);
  });
}

/** The seed documents: every type `server` stores faithfully, integer and string `_id`s. */
function typedDocuments(server: TestServer): Record<string, unknown>[] {
  const docs: Record<string, unknown>[] = [
    { _id: new Int32(1), int32: new Int32(-7), int64: Long.fromString("9007199254740993"), double: new Double(2.0), frac: new Double(0.1) },
    { _id: new Int32(2), before1970: new Date(-86_400_000 * 400), epoch: new Date(0), after: new Date(Date.UTC(2038, 0, 19)) },
    { _id: "string-id", generic: new Binary(Buffer.from([0, 1, 2, 255]), 0), uuid: new UUID("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"), md5: new Binary(Buffer.alloc(16, 7), 5), user: new Binary(Buffer.from([9, 9]), 128) },
    { _id: Long.fromString("9007199254740995"), oid: new ObjectId("64b7f0c2a1b2c3d4e5f60718"), ts: new Timestamp({ t: 1_700_000_000, i: 3 }), re: new BSONRegExp("^a.b$", "im") },
    { _id: new Int32(3), nested: { a: { b: [1, "two", { c: null }] } }, flag: true, text: "é – ✓", empty: {} },
  ];
  // FerretDB v1.24.2 closes the connection on Decimal128 (see FERRETDB_GAPS).
  if (server.name !== "FerretDB") docs.push({ _id: new Int32(4), decimal: Decimal128.fromString("-12345.678901234567890123456789") });
  return docs;
}

onEachServer("round trips through the stock mongodump and mongorestore", ["catalog"], (server) => {
  const uri = server.uri;
  const src = uniqueDb("stock_src");
  const names = ["indexed", "typed"];
  let client: MongoClient;
  let work: string;
  let identity: string;
  let recipient: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-stock-"));
    client = await testClient(uri);
    await client.db(src).collection("typed").insertMany(typedDocuments(server) as never[]);
    const indexed = client.db(src).collection<{ _id: number }>("indexed");
    await indexed.insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: i, email: `u${i}@example.org`, a: new Int32(i % 3), b: new Double(i / 2) })));
    await indexed.createIndexes([
      { key: { email: 1 }, name: "email_unique", unique: true },
      { key: { a: 1, b: -1 }, name: "a_b" },
    ]);
    if (toolsSkip) return;
    identity = join(work, "identity.txt");
    recipient = (await runCli(["keys", "new", "--out", identity, "--json"])).json<{ recipient: string }>().recipient;
  });

  afterAll(async () => {
    await client?.close();
  });

  /** Documents as canonical Extended JSON in `_id` order, and index specs, per collection. */
  async function expectSameAs(dst: string, opts: { indexes?: boolean } = {}): Promise<void> {
    const ejson = async (db: string, coll: string) => (await client.db(db).collection(coll).find({}, { raw: true, sort: { _id: 1 } }).toArray()).map((d) => canonicalJson(d as unknown as Uint8Array));
    for (const n of names) expect(await ejson(dst, n), `${dst}.${n}`).toEqual(await ejson(src, n));
    if (opts.indexes === false) return;
    const before = await describeDatabase(new Secret(uri), names.map((n) => `${src}.${n}`));
    const after = await describeDatabase(new Secret(uri), names.map((n) => `${dst}.${n}`));
    expect(compareDescriptions(before, after, (ns) => ns.replace(`${src}.`, `${dst}.`))).toEqual([]);
    expect(after.find((d) => d.ns === `${dst}.indexed`)?.indexes).toContain('{"name":"email_unique","key":{"email":{"$numberInt":"1"}},"unique":true}');
  }

  it.skipIf(toolsSkip)(`(a) mongodump --archive | cloudsync backup --from-archive -, then cloudsync restore, gives identical documents and indexes${toolsSkip ? ` (skipped: ${toolsSkip})` : ""}`, async () => {
    const dump = await run(mongoToolPath("mongodump")!, [`--uri=${uri}`, `--db=${src}`, "--archive"]);
    expect(dump.code, dump.stderr).toBe(0);
    const dest = join(work, "from-archive");
    const b = await runCli(["backup", "--from-archive", "-", "--to", dest, "-r", recipient, "--json"], { input: dump.stdout });
    expect(b.code, b.stderr).toBe(0);
    const id = b.json<{ id: string }>().id;
    const dst = uniqueDb("stock_a");
    const r = await runCli(["restore", id, "--from", dest, "--to", uri, "--rename", `${src}.*:${dst}.*`, "-i", identity, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ ok: boolean; namespaces: Array<{ target: string; restored: number }> }>().namespaces.map((n) => [n.target, n.restored]).sort()).toEqual([
      [`${dst}.indexed`, 40],
      [`${dst}.typed`, typedDocuments(server).length],
    ]);
    await expectSameAs(dst);
  });

  it.skipIf(toolsSkip)(`(b) cloudsync backup --uri, then age -d -i key | mongorestore --archive --gzip --nsFrom --nsTo, gives identical documents and indexes${toolsSkip ? ` (skipped: ${toolsSkip})` : ""}`, async () => {
    const dest = join(work, "from-uri");
    const b = await runCli(["backup", "--uri", uri, "--include", `${src}.*`, "--to", dest, "-r", recipient, "--json"]);
    expect(b.code, b.stderr).toBe(0);
    const id = b.json<{ id: string }>().id;
    const artifact = readdirSync(join(dest, "data")).find((f) => f.startsWith(id) && f.endsWith(".archive.gz.age"));
    expect(artifact, `no ${id}.archive.gz.age in ${dest}/data`).toBeDefined();
    const dst = uniqueDb("stock_b");
    // The README's stock-tools line, with the renaming a restore beside the source needs.
    const line = `age -d -i "$1" "$2" | "$3" --uri="$4" --archive --gzip --nsFrom="$5" --nsTo="$6"`;
    const restored = await run("sh", ["-c", line, "sh", identity, join(dest, "data", artifact!), mongoToolPath("mongorestore")!, uri, `${src}.*`, `${dst}.*`]);
    await expectRestored(restored, dst);
  });

  /**
   * mongorestore's outcome into `dst`: every document, and on FerretDB the one failure it has.
   * mongorestore 100.7.0 sends each index with an "ns" option, which FerretDB refuses: the
   * documents are all in, the secondary indexes are not, and mongorestore exits 1.
   */
  async function expectRestored(restored: { code: number | null; stderr: string }, dst: string): Promise<void> {
    expect(restored.stderr).toContain(`${40 + typedDocuments(server).length} document(s) restored successfully. 0 document(s) failed to restore.`);
    if (server.name === "FerretDB") {
      expect(restored.code).toBe(1);
      expect(restored.stderr).toContain(`Failed: ${dst}.indexed: error creating indexes for ${dst}.indexed: createIndex error: (BadValue) Index option "ns" is unknown`);
      await expectSameAs(dst, { indexes: false });
      return;
    }
    expect(restored.code, restored.stderr).toBe(0);
    await expectSameAs(dst);
  }

  it.skipIf(toolsSkip)(`(c) cloudsync restore --to dir://, then mongorestore --dir, gives identical documents and indexes${toolsSkip ? ` (skipped: ${toolsSkip})` : ""}`, async () => {
    const dest = join(work, "to-dir");
    const b = await runCli(["backup", "--uri", uri, "--include", `${src}.*`, "--to", dest, "-r", recipient, "--json"]);
    expect(b.code, b.stderr).toBe(0);
    const dir = join(work, "dump");
    const r = await runCli(["restore", b.json<{ id: string }>().id, "--from", dest, "--to", `dir://${dir}`, "-i", identity]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(dir, src)).sort()).toEqual(["indexed.bson", "indexed.metadata.json", "typed.bson", "typed.metadata.json"]);
    const dst = uniqueDb("stock_c");
    await expectRestored(await run(mongoToolPath("mongorestore")!, [`--uri=${uri}`, `--dir=${dir}`, `--nsFrom=${src}.*`, `--nsTo=${dst}.*`]), dst);
  });

  for (const [compress, ext, unpack] of [
    ["gzip", ".archive.gz.age", ""],
    ["zstd", ".archive.zst.age", " | zstd -d"],
    ["none", ".archive.age", ""],
  ] as const) {
    it.skipIf(toolsSkip)(`(d) mongorestore --dryRun reads a --compress ${compress} artifact${toolsSkip ? ` (skipped: ${toolsSkip})` : ""}`, async () => {
      const dest = join(work, `dry-${compress}`);
      const b = await runCli(["backup", "--uri", uri, "--include", `${src}.*`, "--compress", compress, "--to", dest, "-r", recipient, "--json"]);
      expect(b.code, b.stderr).toBe(0);
      const artifact = join(dest, "data", `${b.json<{ id: string }>().id}${ext}`);
      const gzip = compress === "gzip" ? " --gzip" : "";
      const line = `age -d -i "$1" "$2"${unpack} | "$3" --uri="$4" --archive${gzip} --dryRun --nsFrom="$5" --nsTo="$6"`;
      const dry = await run("sh", ["-c", line, "sh", identity, artifact, mongoToolPath("mongorestore")!, uri, `${src}.*`, `${uniqueDb("stock_d")}.*`]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stderr).toContain("dry run completed");
    });
  }
});
