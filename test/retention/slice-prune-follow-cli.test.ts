// `cloudsync prune` over what the real commands store: `backup --oplog` bases and `oplog follow
// --once` slices captured from a server with an oplog (FerretDB here; mongod with MONGODB_URI).
// Everything is minutes old, so prune deletes no slice (the grace period, the newest slice) while
// it deletes the older base, and the kept base's window still plans a restore at both ends.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { listSlices } from "../../runtime/src/manifest/slices.js";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { startPitrSource, type PitrSource } from "../support/pitr.js";
import { onEachServer } from "../support/servers.js";
import { SLOW } from "./helpers.js";

if (CLI_SKIP) console.warn(`skipping slice prune follow tests: ${CLI_SKIP}`);

onEachServer("prune over slices from oplog follow, as processes", ["oplog"], (server) => {
  if (CLI_SKIP) return;
  let source: PitrSource;
  let backups: string;
  let identity: string;
  const db = `slice_prune_${process.pid}_${Date.now().toString(36)}`;
  const bases: string[] = [];

  const follow = () => source.follow();
  const backup = async (): Promise<void> => {
    const r = await runCli(["backup", "--uri", server.uri, "--include", `${db}.*`, "--oplog", "--to", backups, "-r", source.recipient, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    bases.push(r.json<{ id: string }>().id);
  };

  beforeAll(async () => {
    source = await startPitrSource(server, db, "cloudsync-slice-prune-follow-", [{ _id: 1, n: 1 }, { _id: 2, n: 2 }]);
    ({ backups, identity } = source);
    bases.push(source.base.json<{ id: string }>().id);
    const items = source.client.db(db).collection<{ _id: number; n: number }>("items");
    await items.insertOne({ _id: 3, n: 3 });
    expect((await follow()).code).toBe(0);
    await backup();
    await items.insertOne({ _id: 4, n: 4 });
    expect((await follow()).code).toBe(0);
  }, SLOW);
  afterAll(async () => {
    await source?.stop([]);
  });

  it("deletes the older base but no slice (all within the grace period), and the kept window plans a restore at both ends", async () => {
    const before = (await listSlices(createLocalDestination(backups))).map((s) => s.id);
    expect(before.length).toBeGreaterThanOrEqual(2);
    const r = await runCli(["--json", "prune", "--from", backups, "--keep-last", "1", "--keep-within", "0"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{ deleted: string[]; slicesDeleted: string[]; slices: { keep: Array<{ id: string; reason: string }>; windows: Array<{ base: string; from: { ts: string }; to: { ts: string } }> } }>();
    expect(doc.deleted).toEqual([bases[0]]);
    expect(doc.slicesDeleted).toEqual([]);
    expect(doc.slices.keep.map((k) => k.id)).toEqual(before);
    expect(doc.slices.keep.at(-1)!.reason).toBe("the newest slice (the follower continues from it)");
    expect(doc.slices.keep.slice(0, -1).every((k) => k.reason === "stored less than the grace period ago")).toBe(true);
    expect((await listSlices(createLocalDestination(backups))).map((s) => s.id)).toEqual(before);
    expect(doc.slices.windows.map((w) => w.base)).toEqual([bases[1]]);
    for (const time of [doc.slices.windows[0]!.from.ts, doc.slices.windows[0]!.to.ts]) {
      const plan = await runCli(["restore", "--to-time", time, "--from", backups, "--to", server.uri, "-i", identity, "--dry-run", "--json"], { timeoutMs: 60_000 });
      expect(plan.code, `${time}: ${plan.stderr}`).toBe(0);
      expect(plan.json<{ base: { id: string } }>().base.id).toBe(bases[1]);
    }
  }, SLOW);
});
