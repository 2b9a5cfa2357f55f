// `cloudsync standby` (issue 6 §5). Fallback mode between two jongodb servers and between two
// FerretDB servers (neither has change streams, so the standby must say so and converge by full
// copies); the backups mode from a local destination; and the change-stream mode, which runs on
// every test server with change streams (a real replica set at MONGODB_URI).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import { register } from "../../runtime/src/cli/commands/standby.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { createMongoDumpSource } from "../../runtime/src/mongo/dump.js";
import { runBackupPipeline } from "../../runtime/src/pipeline/backup.js";
import { Secret } from "../../runtime/src/secret.js";
import { runStandby } from "../../runtime/src/standby/standby.js";
import { ferretdbSkipReason, spawnFerretdb } from "../support/ferretdb-service.js";
import { JONGODB_BIN, spawnJongodb, type JongodbProcess } from "../support/mongo-service.js";
import { onEachServer } from "../support/servers.js";
import { existsSync } from "node:fs";
import { testClient, uniqueDb } from "../mongo/helpers.js";
import { runCommand } from "../support/in-process-cli.js";

const noJongodb = existsSync(JONGODB_BIN) ? undefined : `jongodb binary not found at ${JONGODB_BIN}`;
if (noJongodb) console.warn(`standby fallback tests skipped: ${noJongodb}`);

type Model = { _id: number; name: string; size?: number };

async function contents(client: MongoClient, ns: string): Promise<unknown[]> {
  const [db, coll] = [ns.slice(0, ns.indexOf(".")), ns.slice(ns.indexOf(".") + 1)];
  return client.db(db).collection(coll).find({}, { sort: { _id: 1 } }).toArray();
}

/** The pairs of private servers the full-copy fallback runs between. */
const pairs = [
  { label: "two jongodb servers", skip: noJongodb, catalog: false, start: () => Promise.all([spawnJongodb(), spawnJongodb()]) },
  // The primary names a replica set (rs0), as a user's FerretDB may: the change stream is refused all the same.
  { label: "two FerretDB servers", skip: ferretdbSkipReason(), catalog: true, start: () => Promise.all([spawnFerretdb({ replSet: "rs0" }), spawnFerretdb()]) },
];

for (const pair of pairs) describe.skipIf(pair.skip)(`standby without change streams: ${pair.label}${pair.skip ? ` (skipped: ${pair.skip})` : ""}`, () => {
  let primary: JongodbProcess;
  let standby: JongodbProcess;
  let p: MongoClient;
  let s: MongoClient;
  let root: string;
  const db = uniqueDb("sb");
  const ns = `${db}.models`;

  beforeAll(async () => {
    [primary, standby] = await pair.start();
    p = await testClient(primary.uri);
    s = await testClient(standby.uri);
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-standby-"));
    await p.db(db).collection<Model>("models").insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i, name: `m${i}`, size: i })));
  }, 30_000);
  afterAll(async () => {
    await p?.close();
    await s?.close();
    await Promise.all([primary?.stop(), standby?.stop()]);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("says it falls back to full copies and why, and converges after inserts, updates and deletes (--once)", async () => {
    const state = path.join(root, "state.json");
    const first = await runCommand(register, ["standby", "--primary", primary.uri, "--standby", standby.uri, "--state", state, "--include", ns, "--once"]);
    expect(first.stderr).toBe("");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^standby mode: full-copy \(the primary cannot open a change stream \(.+\); change streams need a replica set or sharded cluster; falling back to a full copy of the included namespaces every 60 s\)\n/);
    expect(first.stdout).toMatch(/full-copy: lag \d+ s, 30 change\(s\) applied, 1 namespace\(s\)\n$/);
    expect(await contents(s, ns)).toEqual(await contents(p, ns));

    const coll = p.db(db).collection<Model>("models");
    await coll.insertOne({ _id: 100, name: "new" });
    await coll.updateOne({ _id: 3 }, { $set: { name: "renamed" }, $unset: { size: "" } });
    await coll.deleteMany({ _id: { $in: [7, 8] } });
    const second = await runCommand(register, ["--json", "standby", "--primary", primary.uri, "--standby", standby.uri, "--state", state, "--include", ns, "--once"]);
    expect(second.code).toBe(0);
    const out = JSON.parse(second.stdout) as { mode: string; ticks: number; status: { applied: number; lagSeconds: number; namespaces: string[] } };
    expect(out.mode).toBe("full-copy");
    expect(out.ticks).toBe(1);
    // One insert and one update written, two deletes: unchanged documents are not rewritten.
    expect(out.status.applied).toBe(4);
    expect(out.status.namespaces).toEqual([ns]);
    expect(out.status.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(await contents(s, ns)).toEqual(await contents(p, ns));
    expect(await s.db(db).collection<Model>("models").findOne({ _id: 3 })).toEqual({ _id: 3, name: "renamed" });
    expect(await s.db(db).collection("models").countDocuments()).toBe(29);

    const status = await runCommand(register, ["--json", "standby", "--state", state, "--status"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ mode: "full-copy", applied: 4, namespaces: [ns] });
    expect(await readFile(state, "utf8")).not.toContain("resumeToken");
  }, 60_000);

  it("stops between passes on abort (SIGTERM) with the state saved", async () => {
    const controller = new AbortController();
    const state = path.join(root, "abort.json");
    const ticks: number[] = [];
    const run = runStandby({
      primary: new Secret(primary.uri),
      standby: new Secret(standby.uri),
      statePath: state,
      include: [ns],
      intervalMs: 60_000,
      signal: controller.signal,
      onStatus: (st) => {
        ticks.push(st.applied);
        controller.abort(new Error("interrupted by SIGTERM"));
      },
    });
    const result = await run;
    expect(result.mode).toBe("full-copy");
    expect(ticks).toEqual([0]);
    expect(JSON.parse(await readFile(state, "utf8"))).toMatchObject({ version: 1, last: { mode: "full-copy", applied: 0 } });
  }, 60_000);

  it("--from-backups restores the latest backup into the standby, and skips it on the next pass", async () => {
    const dest = createLocalDestination(path.join(root, "backups"));
    await p.db(db).collection<Model>("models").insertOne({ _id: 200, name: "from-backup" });
    const source = await createMongoDumpSource({ uri: new Secret(primary.uri), include: [ns] });
    const backup = await runBackupPipeline({
      source: writeArchive(source),
      sourceInfo: { kind: "mongodb", description: source.description },
      destination: dest,
      compression: { algorithm: "gzip", level: 1 },
      encryption: { manifest: { scheme: "none", recipients: [] }, create: () => undefined },
    }).finally(() => source.close());
    const state = path.join(root, "backups.json");
    const keys = { ageIdentities: [] };
    const first = await runStandby({ standby: new Secret(standby.uri), statePath: state, include: [ns], once: true, backups: { dest, keys } });
    expect(first.mode).toBe("backups");
    expect(first.last?.applied).toBe(1);
    expect(await contents(s, ns)).toEqual(await contents(p, ns));
    const saved = JSON.parse(await readFile(state, "utf8")) as { backupId: string };
    expect(saved.backupId).toBe(backup.manifest.id);
    const again = await runStandby({ standby: new Secret(standby.uri), statePath: state, include: [ns], once: true, backups: { dest, keys } });
    expect(again.last?.applied).toBe(0);
  }, 60_000);

  it.skipIf(!pair.catalog)(`without --include on a server with the catalog, discovers the namespaces and copies them${pair.catalog ? "" : " (skipped: jongodb has no listDatabases)"}`, async () => {
    const run = await runCommand(register, ["standby", "--primary", primary.uri, "--standby", standby.uri, "--state", path.join(root, "discover.json"), "--once"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/full-copy: lag \d+ s, \d+ change\(s\) applied, 1 namespace\(s\)\n$/);
    expect(await contents(s, ns)).toEqual(await contents(p, ns));
  }, 60_000);

  it.skipIf(pair.catalog)(`without --include on a server that cannot list its collections, says to name them (exit 5)${pair.catalog ? " (skipped: this server has listDatabases)" : ""}`, async () => {
    const run = await runCommand(register, ["standby", "--primary", primary.uri, "--standby", standby.uri, "--state", path.join(root, "noinc.json"), "--once"]);
    expect(run.code).toBe(5);
    expect(run.stderr).toBe("cloudsync: mongodb listDatabases: the server does not support the listDatabases command, which finding every collection needs; name the collections instead with --include db.coll (repeatable), which skips discovery\n");
  }, 60_000);

  it("refuses --primary together with --from-backups, and a bad --interval, naming the flag (exit 2)", async () => {
    const both = await runCommand(register, ["standby", "--primary", primary.uri, "--standby", standby.uri, "--from-backups", root]);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe("cloudsync: --from-backups: reads backups instead of the primary; give --primary or --from-backups, not both\n");
    const interval = await runCommand(register, ["standby", "--primary", primary.uri, "--standby", standby.uri, "--interval", "5 minutes"]);
    expect(interval.code).toBe(2);
    expect(interval.stderr).toBe('cloudsync: --interval: invalid duration "5 minutes"; use whole numbers with the units s, m (minutes), h, d, w, mo (months, 30 days) or y (years, 365 days), summed largest first, e.g. 90s, 10m, 1h30m, 7d, 6mo (see Durations in the README)\n');
  });
});

onEachServer("standby following a change stream", ["changeStreams"], (server) => {
  it("copies first, then applies inserts, updates, replaces and deletes from the stream with the resume token persisted", async () => {
    const uri = server.uri;
    const target = await spawnJongodb();
    const root = await mkdtemp(path.join(tmpdir(), "cloudsync-standby-cs-"));
    const p = await testClient(uri);
    const s = await testClient(target.uri);
    const db = uniqueDb("sbcs");
    const ns = `${db}.models`;
    try {
      const coll = p.db(db).collection<Model>("models");
      await coll.insertMany([{ _id: 1, name: "a" }, { _id: 2, name: "b" }, { _id: 3, name: "c" }]);
      const state = path.join(root, "state.json");
      const opts = { primary: new Secret(uri), standby: new Secret(target.uri), statePath: state, include: [ns], once: true } as const;
      const first = await runStandby(opts);
      expect(first.mode).toBe("change-stream");
      expect(await contents(s, ns)).toEqual(await contents(p, ns));
      expect(await readFile(state, "utf8")).toContain("resumeToken");

      await coll.insertOne({ _id: 4, name: "d" });
      await coll.updateOne({ _id: 1 }, { $set: { name: "A" } });
      await coll.replaceOne({ _id: 2 }, { name: "B", size: 2 });
      await coll.deleteOne({ _id: 3 });
      const second = await runStandby(opts);
      expect(second.last).toMatchObject({ mode: "change-stream", applied: 4, lagSeconds: 0 });
      expect(await contents(s, ns)).toEqual([{ _id: 1, name: "A" }, { _id: 2, name: "B", size: 2 }, { _id: 4, name: "d" }]);
      // Replaying from an older token is harmless: the writes are idempotent.
      const third = await runStandby(opts);
      expect(third.last?.applied).toBe(0);
      expect(await contents(s, ns)).toEqual(await contents(p, ns));
    } finally {
      await p.db(db).dropDatabase().catch(() => undefined);
      await p.close();
      await s.close();
      await target.stop();
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);
});
