// `cloudsync migrate` between two separate servers (issue 6 §5): the copy through the archive
// pipeline, the verification table, a tampered target detected with exit code 4, and --dry-run.
// It runs from each test server into a fresh server of another kind: FerretDB → jongodb, and
// jongodb (or a real mongod) → FerretDB (jongodb when FerretDB is not built).
import { afterAll, beforeAll, expect, it } from "vitest";
import type { MongoClient } from "mongodb";
import { register } from "../../runtime/src/cli/commands/migrate.js";
import { copyDatabase } from "../../runtime/src/migrate/copy.js";
import { verifyMigration } from "../../runtime/src/migrate/verify.js";
import { Secret } from "../../runtime/src/secret.js";
import { ferretdbSkipReason, spawnFerretdb } from "../support/ferretdb-service.js";
import { spawnJongodb, type JongodbProcess } from "../support/mongo-service.js";
import { testClient, uniqueDb } from "../mongo/helpers.js";
import { runCommand } from "../support/in-process-cli.js";
import { onEachServer } from "../support/servers.js";

onEachServer("cloudsync migrate into a fresh server of another kind", [], (server) => {
  const fromUri = server.uri;
  const db = uniqueDb("mig");
  let target: JongodbProcess;
  let src: MongoClient;
  let dst: MongoClient;

  beforeAll(async () => {
    target = server.name === "FerretDB" || ferretdbSkipReason() ? await spawnJongodb() : await spawnFerretdb();
    src = await testClient(fromUri);
    dst = await testClient(target.uri);
    await src.db(db).collection<{ _id: number }>("models").insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: i, name: `model-${i}`, size: i * 7 })));
    await src.db(db).collection("models").createIndex({ name: 1 }, { name: "by_name", unique: true });
    await src.db(db).collection<{ _id: string; spdx: string }>("licences").insertMany([{ _id: "mit", spdx: "MIT" }, { _id: "apache", spdx: "Apache-2.0" }]);
  }, 30_000);
  afterAll(async () => {
    await src?.close();
    await dst?.close();
    await target?.stop();
  });

  const include = (): string[] => [`${db}.models`, `${db}.licences`];

  it("copies the included collections and proves them identical: counts, index specs, content hashes", async () => {
    const report = await copyDatabase({ from: new Secret(fromUri), to: new Secret(target.uri), include: include() });
    expect(report.restore.namespaces.map((n) => [n.ns, n.expected, n.restored, n.ok]).sort()).toEqual([
      [`${db}.licences`, 2, 2, true],
      [`${db}.models`, 250, 250, true],
    ]);
    const v = await verifyMigration(new Secret(fromUri), new Secret(target.uri), include());
    expect(v.differences).toEqual([]);
    expect(v.collections).toEqual([
      { ns: `${db}.models`, sourceCount: 250, targetCount: 250, indexesOk: true, contentOk: true, ok: true },
      { ns: `${db}.licences`, sourceCount: 2, targetCount: 2, indexesOk: true, contentOk: true, ok: true },
    ]);
    expect(await dst.db(db).collection("models").findOne({ _id: 17 } as never)).toEqual({ _id: 17, name: "model-17", size: 119 });
  }, 60_000);

  it("--verify exits 4 and names the collection when the target was tampered with", async () => {
    await dst.db(db).collection("models").updateOne({ _id: 5 } as never, { $set: { size: -1 } });
    const v = await verifyMigration(new Secret(fromUri), new Secret(target.uri), include());
    expect(v.ok).toBe(false);
    expect(v.differences.map((d) => [d.ns, d.what])).toEqual([[`${db}.models`, "content"]]);

    // A second copy without --drop inserts nothing over existing _ids (reported: 0 of 250
    // copied), so the tampering stays and the verification that follows must name it.
    const run = await runCommand(register, ["--json", "migrate", "--from", fromUri, "--to", target.uri, "--include", `${db}.models`, "--verify"]);
    expect(run.stderr).not.toContain("cloudsync:");
    expect(run.code).toBe(4);
    const out = JSON.parse(run.stdout) as { ok: boolean; namespaces: Array<{ ns: string; restored: number }>; verification: { differences: Array<{ ns: string; what: string }> } };
    expect(out.ok).toBe(false);
    expect(out.namespaces.map((n) => [n.ns, n.restored])).toEqual([[`${db}.models`, 0]]);
    expect(out.verification.differences.map((d) => [d.ns, d.what])).toEqual([[`${db}.models`, "content"]]);
  }, 60_000);

  it("a deleted target document shows as a count and a content difference", async () => {
    await dst.db(db).collection("models").deleteOne({ _id: 3 } as never);
    const v = await verifyMigration(new Secret(fromUri), new Secret(target.uri), [`${db}.models`]);
    expect(v.differences.map((d) => [d.what, d.expected, d.actual]).slice(0, 1)).toEqual([["count", "250", "249"]]);
    expect(v.differences.map((d) => d.what)).toEqual(["count", "content"]);
  }, 60_000);

  it("--verify-only copies nothing and prints the comparison table, exit 4 while the target differs", async () => {
    const run = await runCommand(register, ["migrate", "--from", fromUri, "--to", target.uri, "--include", `${db}.models`, "--include", `${db}.licences`, "--verify-only"]);
    expect(run.code).toBe(4);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toBe(`compared 2 collection(s) of ${fromUri} with ${target.uri}: DIFFERENT`);
    expect(lines[1]).toMatch(/^NAMESPACE\s+SOURCE\s+TARGET\s+INDEXES\s+CONTENT\s+OK$/);
    expect(lines.slice(2, 4).map((l) => l.split(/\s+/))).toEqual([
      [`${db}.models`, "250", "249", "ok", "DIFFER", "NO"],
      [`${db}.licences`, "2", "2", "ok", "ok", "yes"],
    ]);
    expect(await dst.db(db).collection("models").countDocuments()).toBe(249);
  }, 60_000);

  it("--dry-run lists the collections and writes nothing", async () => {
    const fresh = uniqueDb("mig_dry");
    await src.db(fresh).collection("events").insertMany([{ _id: 1 }, { _id: 2 }] as never[]);
    const run = await runCommand(register, ["migrate", "--from", fromUri, "--to", target.uri, "--include", `${fresh}.events`, "--dry-run"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`would copy 1 collection(s) from ${fromUri.replace(/\/$/, "")}`);
    expect(run.stdout).toMatch(new RegExp(`${fresh}\\.events\\s+collection\\s+(2|\\?)`));
    expect(await dst.db(fresh).collection("events").countDocuments()).toBe(0);
  }, 60_000);

  it("refuses a --to that is not a MongoDB URI, naming the flag (exit 2), and never prints a password", async () => {
    const run = await runCommand(register, ["migrate", "--from", "mongodb://admin:hunter2secret@127.0.0.1:1/", "--to", "atlas"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("cloudsync: --to: must be a mongodb:// or mongodb+srv:// connection string\n");
    const down = await runCommand(register, ["migrate", "--from", "mongodb://admin:hunter2secret@127.0.0.1:1/?serverSelectionTimeoutMS=300", "--to", target.uri]);
    expect(down.code).toBe(5);
    expect(down.stderr).toContain("mongodb connect mongodb://admin:**redacted**@127.0.0.1:1/");
    expect(down.stderr).not.toContain("hunter2secret");
  }, 60_000);
});
