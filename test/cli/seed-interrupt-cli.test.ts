/**
 * Ctrl-C and SIGTERM stop `seed export` and `seed import` cleanly (issue 9, items 7 and 12), as
 * real processes getting real signals mid-work. An interrupted export publishes no seed set and
 * leaves no temporary directory, locally or in a destination (objects already pushed are deleted);
 * an interrupted import stops at the next batch and says how many documents it had written, which
 * is exactly what the server then holds.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COLLECTIONS } from "../../runtime/src/demo/collections.js";
import { CLI_SKIP, filesUnder, runCli } from "../support/cli.js";
import { insertDemoDocuments, interrupted, type Finished } from "../support/interrupt.js";
import { mongoSkipReason, mongoTestUri, spawnJongodb, type JongodbProcess } from "../support/mongo-service.js";

const SKIP = CLI_SKIP ?? mongoSkipReason();
if (SKIP) console.warn(`skipping seed interrupt process tests: ${SKIP}`);

/** Large enough that writing the set (or importing it) takes seconds, so the signal lands mid-way. */
const SOURCE_BYTES = 12 * 1024 * 1024;

/** The CLI's plain interrupt: 130, nothing on stdout, no crash report. */
function expectPlainInterrupt(end: Finished): void {
  expect(end.code, end.stderr).toBe(130);
  expect(end.signal).toBeNull();
  expect(end.stdout).toBe("");
  expect(end.stderr).toMatch(/^cloudsync: interrupted; nothing was written$/m);
  expect(end.stderr).not.toMatch(/please report|seed set written|stored as seed set/);
}

describe.skipIf(!!SKIP)("an interrupted seed export or import leaves nothing half-done, as a process receiving real signals", () => {
  const db = `seedint_${process.pid}_${Date.now().toString(36)}`;
  const includes = DEMO_COLLECTIONS.flatMap((c) => ["--include", `${db}.${c}`]);
  let work: string;
  let identity: string;
  let recipient: string;
  let target: JongodbProcess;
  let dst: MongoClient;
  let fresh = 0;

  /** A new empty parent directory, and a private TMPDIR, for one run. */
  function scratch(): { parent: string; tmp: string } {
    fresh += 1;
    const parent = join(work, `parent-${fresh}`);
    const tmp = join(work, `tmp-${fresh}`);
    mkdirSync(parent);
    mkdirSync(tmp);
    return { parent, tmp };
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-seed-interrupt-"));
    identity = join(work, "identity.txt");
    const made = await runCli(["keys", "new", "--out", identity, "--json"]);
    expect(made.code, made.stderr).toBe(0);
    recipient = made.json<{ recipient: string }>().recipient;
    const src = new MongoClient(mongoTestUri()!);
    try {
      await src.connect();
      await insertDemoDocuments(src, db, SOURCE_BYTES, 6);
    } finally {
      await src.close();
    }
    target = await spawnJongodb(60_000);
    dst = new MongoClient(target.uri);
    await dst.connect();
  }, 300_000);
  afterAll(async () => {
    await dst?.close();
    await target?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("seed export --to: SIGINT while the set is being written → exit 130, no set, no temporary directory", async () => {
    const s = scratch();
    // The set is built in `.set.tmp-*` beside the target; a data file with bytes in it means it is mid-way.
    const writing = (): boolean =>
      readdirSync(s.parent)
        .filter((n) => n.startsWith(".set.tmp-"))
        .some((d) => existsSync(join(s.parent, d, "data", db)) && readdirSync(join(s.parent, d, "data", db)).some((f) => f.endsWith(".ejson") && statSync(join(s.parent, d, "data", db, f)).size > 0));
    const end = await interrupted(["seed", "export", "--uri", mongoTestUri()!, ...includes, "--to", join(s.parent, "set")], { TMPDIR: s.tmp }, writing, "the seed files were being written", "SIGINT");
    expectPlainInterrupt(end);
    expect(readdirSync(s.parent)).toEqual([]);
    expect(readdirSync(s.tmp)).toEqual([]);
  }, 300_000);

  it("seed export --to-destination: SIGTERM once an object is stored → exit 130, the stored objects deleted, no set listed", async () => {
    const s = scratch();
    const dest = join(s.parent, "dest");
    // A stored object (not the `.…tmp-*` file of a put in progress): the push is past its first file.
    const stored = (): boolean => filesUnder(dest).some((f) => f.startsWith("seeds/") && !basename(f).startsWith("."));
    const end = await interrupted(["seed", "export", "--uri", mongoTestUri()!, ...includes, "--to-destination", dest, "-r", recipient], { TMPDIR: s.tmp }, stored, "the first seed object was stored", "SIGTERM");
    expectPlainInterrupt(end);
    expect(filesUnder(dest).filter((f) => f.startsWith("seeds/"))).toEqual([]);
    expect(readdirSync(s.tmp)).toEqual([]);
    const listed = await runCli(["seed", "list", "--from-destination", dest, "--json"]);
    expect(listed.json<{ ids: string[] }>().ids).toEqual([]);
  }, 300_000);

  it("seed import: SIGTERM once documents are arriving → exit 130, the written counts named, and the server holds exactly those", async () => {
    const s = scratch();
    const set = join(s.parent, "set");
    const exported = await runCli(["seed", "export", "--uri", mongoTestUri()!, ...includes, "--to", set, "--json"], { timeoutMs: 240_000 });
    expect(exported.code, exported.stderr).toBe(0);
    const total = exported.json<{ collections: Array<{ documents: number }> }>().collections.reduce((n, c) => n + c.documents, 0);
    const inTarget = async (): Promise<number[]> => Promise.all(DEMO_COLLECTIONS.map((c) => dst.db(db).collection(c).countDocuments()));
    const arriving = async (): Promise<boolean> => (await inTarget()).some((n) => n > 0);
    const end = await interrupted(["seed", "import", "--from", set, "--uri", target.uri], { TMPDIR: s.tmp }, arriving, "documents arrived", "SIGTERM");
    expect(end.code, end.stderr).toBe(130);
    expect(end.stdout).toBe("");
    expect(end.stderr).not.toMatch(/please report|seed set imported/);
    const m = /^cloudsync: seed import into .+ interrupted: (.+) had been written and are kept; run the same import again to finish it \(it is idempotent\)$/m.exec(end.stderr);
    expect(m, end.stderr).not.toBeNull();
    const said = new Map([...m![1]!.matchAll(/(\d+) documents of ([\w.]+)/g)].map((w) => [w[2]!, Number(w[1])]));
    const held = await inTarget();
    expect(DEMO_COLLECTIONS.map((c) => said.get(`${db}.${c}`) ?? 0)).toEqual(held);
    expect(held.reduce((a, b) => a + b, 0)).toBeLessThan(total);
  }, 300_000);
});
