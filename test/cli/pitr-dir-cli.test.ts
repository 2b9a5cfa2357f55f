// `restore --to-time T --to dir://` as processes (issue 15 §3, the stock-tools path): a base
// backup with --oplog, writes in three distinct seconds, capture with `oplog follow --once`, then
// the directory for the middle second. Its oplog.bson is read back and compared entry by entry
// with the server's own local.oplog.rs: the base's entries, then every captured entry after the
// base's end up to and including T, none after. The real mongorestore then replays it where a
// server has applyOps (the only command its --oplogReplay writes with): neither FerretDB v1.24.2
// nor jongodb has it (probed below, the skip names both), so here mongorestore is shown to read
// the directory and restore the base before the server refuses its first applyOps; with
// MONGODB_URI (the workflow's mongod) the replay runs whole and is compared with what was recorded
// at T. Refusals (--include, a time past the capture, a non-empty directory), --dry-run, a
// damaged slice and a SIGINT mid-write (nothing published), and the PITR restore drill
// (`verify --restore-to --to-time`).
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BSON, MongoClient, Timestamp, type Document } from "mongodb";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { compareTimes, type OplogTime } from "../../runtime/src/manifest/manifest.js";
import { listSlices } from "../../runtime/src/manifest/slices.js";
import { canonicalJson } from "../../runtime/src/mongo/compare.js";
import { oplogLimitAfter } from "../../runtime/src/pipeline/pitr.js";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { interrupted } from "../support/interrupt.js";
import { mongoToolPath, mongoToolsSkipReason } from "../support/peers.js";
import { nextSecond, startPitrSource, type Item, type PitrSource } from "../support/pitr.js";
import { onEachServer, testServers, type TestServer } from "../support/servers.js";

if (CLI_SKIP) console.warn(`skipping point-in-time dir:// CLI tests: ${CLI_SKIP}`);
const toolsSkip = mongoToolsSkipReason();

/** Runs `cmd args`; resolves with its exit code and stderr. */
function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/** The entries of a `.bson` file (documents back to back), decoded. */
function readBsonFile(file: string): Document[] {
  const buf = readFileSync(file);
  const docs: Document[] = [];
  for (let off = 0; off < buf.length; ) {
    const len = buf.readInt32LE(off);
    docs.push(BSON.deserialize(buf.subarray(off, off + len), { promoteValues: false }));
    off += len;
  }
  return docs;
}

const timeOf = (e: Document): OplogTime => ({ t: (e.ts as Timestamp).high >>> 0, i: (e.ts as Timestamp).low >>> 0 });
/** An entry as comparable text: its BSON re-encoded as canonical Extended JSON. */
const entryText = (e: Document): string => canonicalJson(BSON.serialize(e));

/** Why mongorestore --oplogReplay cannot replay into `server`, or undefined when it has applyOps. */
async function applyOpsMissing(server: TestServer): Promise<string | undefined> {
  if (server.absent) return server.absent;
  const client = new MongoClient(server.uri);
  try {
    await client.db("admin").command({ applyOps: [] });
    return undefined;
  } catch (err) {
    return `${server.name} refuses applyOps (${(err as Error).message})`;
  } finally {
    await client.close();
  }
}

it("oplogLimitAfter gives the ts just after T, as mongorestore's exclusive --oplogLimit takes it", () => {
  expect(oplogLimitAfter({ t: 1796235406, i: 3 })).toBe("1796235406:4");
  // An ISO second is (t, 2^32-1): the next one is the following second's ordinal 0.
  expect(oplogLimitAfter({ t: 1796235406, i: 0xffffffff })).toBe("1796235407:0");
});

onEachServer("restore --to-time to a mongodump directory, as processes", ["oplog"], (server) => {
  if (CLI_SKIP) return;
  let work: string;
  let identity: string;
  let client: MongoClient;
  let backups: string;
  let baseEnd: OplogTime;
  let source: PitrSource;
  const src = `pitrdir_${process.pid}_${Date.now().toString(36)}`;
  /** The middle phase: its ISO second (the restore point) and the collection's content then. */
  let middle: { time: string; t: number; docs: Document[] };

  const follow = () => source.follow();
  const toDir = (dir: string, time: string, extra: string[] = [], from = backups) => runCli(["restore", "--to-time", time, "--from", from, "--to", `dir://${dir}`, "-i", identity, ...extra], { timeoutMs: 60_000 });
  /** What the server's own oplog holds for this test's collection after the base's end. */
  const serverEntries = async (): Promise<Document[]> =>
    client
      .db("local")
      .collection("oplog.rs")
      .find({ ns: `${src}.items`, ts: { $gt: new Timestamp({ t: baseEnd.t, i: baseEnd.i }) } }, { promoteValues: false })
      .sort({ $natural: 1 })
      .toArray();

  beforeAll(async () => {
    source = await startPitrSource(server, src, "cloudsync-pitrdir-", Array.from({ length: 10 }, (_, i) => ({ _id: i, n: i, state: "seed" })));
    ({ work, identity, client, backups } = source);
    const items = client.db(src).collection<Item>("items");
    baseEnd = source.base.json<{ consistency: { detail: { oplogWindow: { end: OplogTime } } } }>().consistency.detail.oplogWindow.end;
    await nextSecond();
    await items.insertMany([{ _id: 100, n: 100, state: "a" }]);
    await items.updateOne({ _id: 1 }, { $set: { state: "a" } });
    const first = await follow();
    expect(first.code, first.stderr).toBe(0);
    await nextSecond();
    // The middle second: the restore point is its ISO second, every entry of it included.
    const b = Date.now();
    await items.insertOne({ _id: 200, n: 200, state: "b" });
    await items.deleteOne({ _id: 2 });
    await items.updateOne({ _id: 3 }, { $set: { state: "b" } });
    expect(Math.floor(Date.now() / 1000), "the middle phase stayed in one second").toBe(Math.floor(b / 1000));
    const t = Math.floor(b / 1000);
    middle = { time: new Date(t * 1000).toISOString().replace(".000Z", "Z"), t, docs: await items.find({}).sort({ _id: 1 }).toArray() };
    await nextSecond();
    await items.insertOne({ _id: 300, n: 300, state: "c" });
    await items.updateOne({ _id: 200 }, { $set: { state: "c" } });
    const last = await follow();
    expect(last.code, last.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await source?.stop([]);
  });

  it("writes the base's dump and an oplog.bson holding exactly the entries up to and including T", async () => {
    const dir = join(work, "at-middle");
    const r = await toDir(dir, middle.time, ["--json"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{ target: string; base: { id: string; oplogEntries: number }; slices: Array<{ id: string }>; oplog: { baseEntries: number; sliceEntries: number; entries: number }; mongorestore: { command: string; oplogLimit: string } }>();
    expect(doc.target).toBe(dir);
    expect(doc.slices.length).toBe(2);
    expect(doc.mongorestore.command).toBe(`mongorestore --oplogReplay ${dir}`);
    // An ISO time is its whole second: mongorestore's exclusive limit is the next second's first ordinal.
    expect(doc.mongorestore.oplogLimit).toBe(`${middle.t + 1}:0`);
    expect(readdirSync(dir).sort()).toEqual(["oplog.bson", src].sort());
    expect(readdirSync(join(dir, src)).sort()).toEqual(["items.bson", "items.metadata.json"]);
    expect(readdirSync(work).filter((n) => n.includes(".tmp-"))).toEqual([]);

    const oplog = readBsonFile(join(dir, "oplog.bson"));
    expect(oplog.length).toBe(doc.oplog.entries);
    expect(doc.oplog.entries).toBe(doc.oplog.baseEntries + doc.oplog.sliceEntries);
    expect(doc.oplog.baseEntries).toBe(doc.base.oplogEntries);
    const target = { t: middle.t, i: 0xffffffff };
    // In oplog order, nothing after T, and the slices' part starts after the base's end.
    for (let k = 1; k < oplog.length; k++) expect(compareTimes(timeOf(oplog[k - 1]!), timeOf(oplog[k]!))).toBeLessThan(0);
    expect(oplog.every((e) => compareTimes(timeOf(e), target) <= 0)).toBe(true);
    expect(oplog.slice(doc.oplog.baseEntries).every((e) => compareTimes(timeOf(e), baseEnd) > 0)).toBe(true);
    // This collection's entries after the base's end: exactly the server's own up to T, in order.
    const fromServer = await serverEntries();
    const expected = fromServer.filter((e) => compareTimes(timeOf(e), target) <= 0).map(entryText);
    const inDir = oplog.slice(doc.oplog.baseEntries).filter((e) => e.ns === `${src}.items`).map(entryText);
    expect(inDir).toEqual(expected);
    expect(expected.length).toBeGreaterThanOrEqual(5);
    // The last phase's entries were captured, and left out.
    expect(fromServer.filter((e) => compareTimes(timeOf(e), target) > 0).length).toBeGreaterThanOrEqual(2);
    expect(r.stderr).toBe("");
  });

  it("prints the plan, the entry count and the mongorestore one-liner with its --drop advice", async () => {
    const dir = join(work, "text");
    const r = await toDir(dir, middle.time);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${dir} for ${middle.t},4294967295 (${middle.time}), laid out as mongodump --oplog lays out a dump:`);
    expect(r.stdout).toMatch(/^base \S+ \(oplog end \d+,\d+, \d+ entries of its own\)$/m);
    expect(r.stdout.match(/^slice \S+: \d+,\d+ to \d+,\d+, \d+ entries$/gm)?.length).toBe(2);
    expect(r.stdout).toMatch(/^oplog\.bson holds \d+ entries: the base's \d+, then \d+ slice entries after the base's end, up to and including \d+,4294967295/m);
    expect(r.stdout).toContain(`then: mongorestore --oplogReplay ${dir}\n`);
    expect(r.stdout).toContain("--drop to replace collections that already exist there");
    expect(r.stdout).toContain(`with --oplogLimit ${middle.t + 1}:0 (exclusive)`);
  });

  it("--dry-run names the same plan and entry count and writes nothing", async () => {
    const dir = join(work, "dry");
    const real = (await toDir(join(work, "dry-real"), middle.time, ["--json"])).json<{ oplog: { sliceEntries: number; entries: number } }>();
    const r = await toDir(dir, middle.time, ["--dry-run", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const plan = r.json<{ dryRun: boolean; slices: unknown[]; replayEntries: number; oplogEntries: number }>();
    expect(plan).toMatchObject({ dryRun: true, replayEntries: real.oplog.sliceEntries, oplogEntries: real.oplog.entries });
    expect(plan.slices.length).toBe(2);
    expect(existsSync(dir)).toBe(false);
  });

  it("refuses --include, --rename and --drop for dir://, a non-empty directory, and a time past the capture (exit 2)", async () => {
    const inc = await toDir(join(work, "inc"), middle.time, ["--include", `${src}.*`]);
    expect(inc.code).toBe(2);
    expect(inc.stderr).toContain("--to: --include, --rename and --drop apply to restores into MongoDB, not to dir:// targets (with --to-time too:");
    const full = join(work, "full");
    mkdirSync(full);
    writeFileSync(join(full, "x"), "");
    const busy = await toDir(full, middle.time);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`--to: ${full} exists and is not empty; restore into a new or empty directory`);
    const late = await toDir(join(work, "late"), "2099-01-01T00:00:00Z");
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/--to-time: 4070908800,4294967295 \(2099-01-01T00:00:00Z\) is after the newest captured oplog entry \(or no chain of slices reaches it\); the nearest restorable times are \d+,\d+ \(.*\) \(the latest before it, from base /);
    expect(existsSync(join(work, "late"))).toBe(false);
  });

  it("publishes nothing when a slice is damaged (exit 4), leaving no temporary directory", async () => {
    const copy = join(work, "damaged");
    cpSync(backups, copy, { recursive: true });
    const slices = await listSlices(createLocalDestination(copy));
    const file = join(copy, slices[1]!.object.key);
    const bytes = readFileSync(file);
    bytes.writeUInt8(bytes[bytes.length >> 1]! ^ 0x01, bytes.length >> 1);
    writeFileSync(file, bytes);
    const parent = join(work, "damaged-out");
    mkdirSync(parent);
    const r = await toDir(join(parent, "dump"), middle.time, [], copy);
    expect(r.code, r.stderr).toBe(4);
    expect(readdirSync(parent)).toEqual([]);
  });

  it("Ctrl-C while the directory is being written publishes nothing and leaves no temporary directory (exit 130)", async () => {
    // A base large enough that its directory takes a moment to write, in a destination of its own.
    const big = `${src}_big`;
    const bigDest = join(work, "big-backups");
    const filler = "x".repeat(8 * 1024);
    for (let k = 0; k < 4; k++) await client.db(big).collection<Item>("blobs").insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: k * 500 + i, filler })));
    const base = await runCli(["backup", "--uri", server.uri, "--include", `${big}.*`, "--oplog", "--to", bigDest, "-r", source.recipient, "--json"], { timeoutMs: 120_000 });
    expect(base.code, base.stderr).toBe(0);
    await nextSecond();
    await client.db(big).collection<Item>("blobs").insertOne({ _id: -1 });
    const at = Math.floor(Date.now() / 1000);
    await nextSecond();
    await client.db(big).collection("marker").insertOne({ after: true });
    const captured = await runCli(["oplog", "follow", "--uri", server.uri, "--to", bigDest, "-r", source.recipient, "--state", join(work, "big-state.json"), "--once", "--json"], { timeoutMs: 60_000 });
    expect(captured.code, captured.stderr).toBe(0);
    const parent = join(work, "big-out");
    mkdirSync(parent);
    const staging = (): boolean => readdirSync(parent).some((n) => n.startsWith(".dump.tmp-"));
    try {
      const end = await interrupted(["restore", "--to-time", String(at) + ",4294967295", "--from", bigDest, "--to", `dir://${join(parent, "dump")}`, "-i", identity], {}, staging, "the staging directory", "SIGINT");
      expect(end.code, end.stderr).toBe(130);
      expect(end.stdout).toBe("");
      expect(end.stderr).toMatch(/interrupted; nothing was written/);
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      await client.db(big).dropDatabase();
    }
  }, 180_000);

  type Drill = { ok: boolean; level: string; recorded: boolean; planned: number; replayed: number; scratchDatabases: string[]; cleanedUp: boolean; checks: Array<{ check: string; ok: boolean; detail: string }> };
  const drill = (extra: string[]) => runCli(["verify", "latest", "--to-time", middle.time, "--restore-to", server.uri, "--from", backups, "-i", identity, "--json", ...extra], { timeoutMs: 90_000 });

  it("verify --restore-to --to-time --keep: a point-in-time drill whose scratch copy holds the content recorded at T", async () => {
    const r = await drill(["--keep"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<Drill>();
    expect(doc).toMatchObject({ ok: true, level: "pitr-drill", recorded: false, cleanedUp: false });
    expect(doc.planned).toBe(doc.replayed);
    expect(doc.checks.map((c) => [c.check, c.ok])).toEqual([["namespaces", true], ["replay", true], ["base-counts", true]]);
    expect(doc.checks[2]!.detail).toContain("the base's counts against its manifest; not against a verification: ");
    const [scratch] = doc.scratchDatabases;
    expect(doc.scratchDatabases).toEqual([expect.stringMatching(new RegExp(`^cs_drill_[0-9a-f]{6}_${src}$`))]);
    try {
      expect(await client.db(scratch).collection("items").find({}).sort({ _id: 1 }).toArray()).toEqual(middle.docs);
    } finally {
      await client.db(scratch).dropDatabase();
    }
  });

  it("verify --restore-to --to-time compares the base's counts with its verification and drops its scratch databases", async () => {
    const base = source.base.json<{ id: string }>().id;
    const v = await runCli(["verify", base, "--from", backups, "-i", identity, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    const r = await drill([]);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<Drill>();
    expect(doc).toMatchObject({ ok: true, cleanedUp: true });
    expect(doc.checks.find((c) => c.check === "base-counts")?.detail).toMatch(/^the base's counts against its manifest and its read verification of /);
    const names = (await client.db("admin").admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name);
    expect(names.filter((n) => doc.scratchDatabases.includes(n))).toEqual([]);
    // The text form names each check and says nothing was recorded.
    const text = await runCli(["verify", base, "--to-time", middle.time, "--restore-to", server.uri, "--from", backups, "-i", identity], { timeoutMs: 90_000 });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`verified by point-in-time restore drill to ${middle.t},4294967295 (${middle.time}) into `);
    expect(text.stdout).toContain("scratch databases dropped; no verification record stored");
  });

  it("verify --to-time refuses without --restore-to, and with an id that is not the base the time picks (exit 2)", async () => {
    const alone = await runCli(["verify", "latest", "--to-time", middle.time, "--from", backups, "-i", identity]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--to-time: a point-in-time drill restores into a scratch server: give --restore-to <scratch mongodb:// URI> too");
    // A second backup without --oplog is no base: the time still picks the first.
    const other = await runCli(["backup", "--uri", server.uri, "--include", `${src}.*`, "--to", backups, "-r", source.recipient, "--json"]);
    expect(other.code, other.stderr).toBe(0);
    const id = other.json<{ id: string }>().id;
    const wrong = await runCli(["verify", id, "--to-time", middle.time, "--restore-to", server.uri, "--from", backups, "-i", identity]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`restores from base ${source.base.json<{ id: string }>().id}, not ${id}; give latest (the base the time picks) or that id`);
  });

  const candidates = [server, ...testServers().filter((s) => s.name === "jongodb")];
  let replayTarget: TestServer | undefined;
  let refusals: string[] = [];
  beforeAll(async () => {
    const why = await Promise.all(candidates.map(applyOpsMissing));
    replayTarget = candidates.find((_, k) => why[k] === undefined);
    refusals = why.filter((w): w is string => w !== undefined);
  });

  it("the real mongorestore --oplogReplay DIR gives the content recorded at T (where a server has applyOps)", async (ctx) => {
    if (toolsSkip) return ctx.skip(`needs the stock mongorestore: ${toolsSkip}`);
    if (!replayTarget) return ctx.skip(`mongorestore --oplogReplay replays through the applyOps command: ${refusals.join("; ")}`);
    const dir = join(work, "replay");
    const r = await toDir(dir, middle.time);
    expect(r.code, r.stderr).toBe(0);
    // mongorestore neither renames nor filters the oplog's namespaces: the replay goes back under
    // the source names, so the source database is dropped first (the content at T was recorded).
    // The directory's oplog.bson also holds the other databases' entries of those seconds (other
    // test files on the same server: drops, creates); replaying them would drop or clash with
    // their live databases, so mongorestore gets a copy keeping this database's entries only
    // (the directory's entries were compared with the server's above).
    const ours = join(work, "replay-ours");
    cpSync(dir, ours, { recursive: true });
    const raw = readFileSync(join(dir, "oplog.bson"));
    const kept: Buffer[] = [];
    for (let off = 0; off < raw.length; off += raw.readInt32LE(off)) {
      const entry = raw.subarray(off, off + raw.readInt32LE(off));
      if (String(BSON.deserialize(entry).ns).startsWith(`${src}.`)) kept.push(entry);
    }
    writeFileSync(join(ours, "oplog.bson"), Buffer.concat(kept));
    await client.db(src).dropDatabase();
    const restored = await run(mongoToolPath("mongorestore")!, [`--uri=${replayTarget.uri}`, "--oplogReplay", ours]);
    expect(restored.code, restored.stderr).toBe(0);
    const c = new MongoClient(replayTarget.uri);
    try {
      expect(await c.db(src).collection("items").find({}).sort({ _id: 1 }).toArray()).toEqual(middle.docs);
    } finally {
      await c.close();
    }
  });

  it("without applyOps, mongorestore --oplogReplay DIR restores the base, then names the refused applyOps", async (ctx) => {
    if (toolsSkip) return ctx.skip(`needs the stock mongorestore: ${toolsSkip}`);
    if (replayTarget) return ctx.skip(`${replayTarget.name} has applyOps: the full replay ran above`);
    const dir = join(work, "no-applyops");
    const r = await toDir(dir, middle.time);
    expect(r.code, r.stderr).toBe(0);
    // mongorestore refuses --nsFrom/--nsTo with --oplogReplay ("cannot use --oplogReplay with
    // namespace renames specified"): the base goes back under its own names.
    await client.db(src).dropDatabase();
    const restored = await run(mongoToolPath("mongorestore")!, [`--uri=${server.uri}`, "--oplogReplay", dir]);
    expect(restored.stderr).toContain("10 document(s) restored successfully. 0 document(s) failed to restore.");
    expect(restored.stderr).toContain("replaying oplog");
    expect(restored.stderr).toMatch(/applyOps.*no such command: 'applyOps'/);
    expect(restored.code).not.toBe(0);
    expect(await client.db(src).collection("items").countDocuments()).toBe(10);
  });
});
