// `cloudsync daemon --oplog-follow` as a real process against a server with an oplog (FerretDB
// here, polled: it does not tail; mongod with MONGODB_URI): with no base backup it makes one with
// --oplog first, then stores chained slices of new writes while status and /metrics show the
// follower; SIGTERM mid-run and a restart leave one unbroken chain. And a real gap: a follower
// position older than the oplog's oldest entry, found while a live run holds the daemon's lock,
// shows in status (degraded, exit 1) and /metrics, a new base backup starts as soon as the lock
// is free, resolves the gap, and the heartbeat carries it.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient, Timestamp } from "mongodb";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { baseEndOf, chainOf, listSlices } from "../../runtime/src/manifest/slices.js";
import { compareTimes } from "../../runtime/src/manifest/manifest.js";
import { listBackups } from "../../runtime/src/manifest/store.js";
import { followStatePath } from "../../runtime/src/pipeline/oplog-follow.js";
import type { DaemonStatus } from "../../runtime/src/daemon/status.js";
import { CLI, CLI_SKIP, filesUnder, runCli } from "../support/cli.js";
import { spawnFerretdb, type FerretdbProcess } from "../support/ferretdb-service.js";
import { onEachServer } from "../support/servers.js";
import { waitFor } from "../support/wait.js";
import { DIST_SKIP } from "./helpers.js";

const SKIP = DIST_SKIP ?? CLI_SKIP;
if (SKIP) console.warn(`skipping daemon --oplog-follow process tests: ${SKIP}`);

/** A child daemon with its output collected as it comes. */
interface Child {
  readonly proc: ChildProcess;
  readonly stderr: () => string;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

onEachServer("daemon --oplog-follow, as a process", ["oplog"], (server) => {
  if (SKIP) return;
  let work: string;
  let recipient: string;
  let client: MongoClient;
  const db = `dfollow_${process.pid}_${Date.now().toString(36)}`;
  const children: ChildProcess[] = [];
  let own: FerretdbProcess | undefined;
  let uri = server.uri;

  /** The environment of a clean host: nothing of the developer's cloudsync settings leaks in. */
  const env = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(CLOUDSYNC_|CLOUD_SYNC_|MONGODB_URI|AWS_)/.test(k)) out[k] = v;
    return { ...out, XDG_STATE_HOME: join(work, "xdg") };
  };
  const daemon = (args: string[]): Child => {
    const proc = spawn(process.execPath, [CLI, "daemon", "--oplog-follow", "--schedule", "@yearly", "--uri", uri, "--include", `${db}.*`, "-r", recipient, "--metrics-port", "0", ...args], { cwd: work, env: env(), stdio: ["ignore", "pipe", "pipe"] });
    children.push(proc);
    let stdout = "";
    let stderr = "";
    proc.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => proc.on("close", (code) => resolve({ code, stdout, stderr })));
    return { proc, stderr: () => stderr, done };
  };
  const metricsOf = async (c: Child): Promise<string> => {
    const url = await waitFor("the metrics address", () => /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(c.stderr())?.[1]);
    return (await fetch(url)).text();
  };
  const statusFile = (stateDir: string): DaemonStatus | undefined => (existsSync(join(stateDir, "status.json")) ? (JSON.parse(readFileSync(join(stateDir, "status.json"), "utf8")) as DaemonStatus) : undefined);
  const insert = async (n: number, tag: string): Promise<void> => {
    await client.db(db).collection("items").insertOne({ n, tag, at: new Date() });
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-dfollow-"));
    recipient = (await runCli(["keys", "new", "--out", join(work, "identity.txt"), "--json"])).json<{ recipient: string }>().recipient;
    // On FerretDB a private server: the shared one's oplog fills with the whole suite's writes,
    // and each of its oplog queries then costs seconds (oplog-tail.test.ts covers that server).
    if (server.name === "FerretDB") {
      own = await spawnFerretdb({ replSet: "rs0", oplogBytes: 16 * 1024 * 1024 });
      uri = own.uri;
    }
    client = new MongoClient(uri);
    await client.connect();
    await insert(0, "seed");
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await client?.db(db).dropDatabase().catch(() => undefined);
    await client?.close();
    await own?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("makes a base backup with --oplog first, stores chained slices of new writes, shows the follower in status and /metrics; SIGTERM mid-run and a restart leave one unbroken chain", async () => {
    const backups = join(work, "backups");
    const state = join(work, "state");
    const dest = createLocalDestination(backups);
    const first = daemon(["--to", backups, "--state-dir", state, "--slice", "1s"]);
    const base = await waitFor("a base backup with an oplog window", async () => (await listBackups(dest)).find((b) => baseEndOf(b.manifest)), 60_000, first.stderr);
    let n = 1;
    const slices = await waitFor(
      "two stored slices",
      async () => {
        await insert(n++, "first");
        const s = await listSlices(dest);
        return s.length >= 2 ? s : undefined;
      },
      60_000,
      first.stderr,
    );
    expect(slices[0]!.oplog.after).toEqual(baseEndOf(base.manifest));
    const status = await waitFor("the follower in status.json", () => {
      const s = statusFile(state);
      return s?.oplog?.state === "following" && s.oplog.slices >= 2 ? s : undefined;
    });
    expect(status.lastRun?.reason).toBe(`no base backup with an oplog window in ${dest.url}: the oplog follower starts after one`);
    expect(status.lastRun?.backup?.id).toBe(base.manifest.id);
    const shown = await runCli(["status", "--state-dir", state, "--json"], { env: env() });
    expect(shown.code, shown.stdout).toBe(0);
    const doc = shown.json<{ healthy: boolean; health: string; status: DaemonStatus }>();
    expect(doc).toMatchObject({ healthy: true, health: "healthy" });
    expect(doc.status.oplog).toMatchObject({ destination: dest.url, statePath: followStatePath(state, dest.url), gaps: [], restarts: 0 });
    expect(doc.status.oplog?.lastSlice?.id).toMatch(/^\d{8}T\d{6}Z-/);
    expect(doc.status.oplog?.newestCapturedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const text = await runCli(["status", "--state-dir", state], { env: env() });
    expect(text.stdout).toMatch(/\n {2}oplog {9}following \((polling|tailable)\) into /);
    expect(text.stdout).toMatch(/\n {4}captured to \d+,\d+ \(\d{4}-.*Z\), lag \d+ s/);
    const metrics = await metricsOf(first);
    expect(metrics).toMatch(/\ncloudsync_oplog_follower_up 1\n/);
    expect(metrics).toMatch(/\ncloudsync_oplog_last_capture_timestamp_seconds \d{10}\n/);
    expect(metrics).toMatch(/\ncloudsync_oplog_slices_total [1-9]\d*\n/);
    expect(metrics).toContain("\ncloudsync_oplog_gaps_total 0\n");
    // A second follower of the same state file (by hand, beside the daemon) is refused: nothing stored twice.
    const byHand = await runCli(["oplog", "follow", "--once", "--uri", uri, "--to", backups, "-r", recipient, "--state", followStatePath(state, dest.url)], { env: env() });
    expect(byHand.code, byHand.stderr).toBe(7);
    expect(byHand.stderr).toContain(`cloudsync: another cloudsync run holds the lock ${followStatePath(state, dest.url)}.lock (pid ${first.proc.pid} on `);
    // SIGTERM while writes go on (a slice may be in progress): the daemon stops cleanly.
    for (let k = 0; k < 5; k++) await insert(n++, "before-term");
    first.proc.kill("SIGTERM");
    for (let k = 0; k < 5; k++) await insert(n++, "during-term");
    const stopped = await first.done;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toContain("daemon stopped");
    expect(existsSync(join(state, "daemon.lock"))).toBe(false);
    expect(existsSync(`${followStatePath(state, dest.url)}.lock`)).toBe(false);
    expect(statusFile(state)?.oplog?.state).toBe("stopped");
    // A restart resumes after the last stored slice: no base backup again, no entry twice.
    const before = (await listSlices(dest)).length;
    const second = daemon(["--to", backups, "--state-dir", state, "--slice", "1s"]);
    // Alone this takes 2-3 s. On the suite's shared FerretDB it took over 120 s: there its
    // tailable cursor went stale (see oplog-tail.test.ts), which the reader now detects.
    await waitFor(
      "a slice from the restarted daemon",
      async () => {
        await insert(n++, "after-restart");
        return (await listSlices(dest)).length > before + 1;
      },
      60_000,
      () => `the restarted daemon's log:\n${second.stderr()}\nthe first daemon's log:\n${stopped.stderr}`,
    );
    second.proc.kill("SIGTERM");
    expect((await second.done).code).toBe(0);
    expect((await listBackups(dest)).length).toBe(1);
    const all = await listSlices(dest);
    const { segments, gaps, problems } = chainOf(all);
    expect({ segments: segments.length, gaps, problems }).toEqual({ segments: 1, gaps: [], problems: [] });
    for (const s of all) expect(compareTimes(s.oplog.first, s.oplog.after), s.id).toBeGreaterThan(0);
    // Stored whole or not at all: every object under oplog/data/ is a listed slice's, no temporary file is left.
    expect(filesUnder(join(backups, "oplog", "data")).map((f) => `oplog/data/${f}`)).toEqual(all.map((sl) => sl.object.key).sort());
    expect(JSON.parse(readFileSync(followStatePath(state, dest.url), "utf8")).lastSlice).toBe(all.at(-1)!.id);
    // Every oplog entry from the base's end to the last stored one is in the chain exactly once
    // (writes after it were not yet in a stored slice at SIGTERM: the next start reads them again).
    const ts = (t: { t: number; i: number }): Timestamp => new Timestamp({ t: t.t, i: t.i });
    const inOplog = await client.db("local").collection("oplog.rs").countDocuments({ ts: { $gt: ts(baseEndOf(base.manifest)!), $lte: ts(all.at(-1)!.oplog.last) } });
    expect(all.reduce((sum, s) => sum + s.oplog.entries, 0)).toBe(inOplog);
  }, 180_000);

  it("a gap (position older than the oplog's oldest entry) shows in status, /metrics and the heartbeat; a new base backup starts once the lock is free and resolves it", async () => {
    const backups = join(work, "gapped");
    const state = join(work, "gap-state");
    const dest = createLocalDestination(backups);
    mkdirSync(state, { recursive: true });
    // The follower "was down" longer than the oplog window, and no base backup is newer than
    // the gap; a live run (this test process) holds the daemon's lock, so the new base waits.
    writeFileSync(followStatePath(state, dest.url), JSON.stringify({ format: 1, destination: dest.url, position: { t: 1000, i: 1 }, lastSlice: null, base: "20261201T000000Z-aaaaaa" }));
    writeFileSync(join(state, "daemon.lock"), JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), token: "test" }));
    const pings: Array<Record<string, unknown>> = [];
    const hb: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        pings.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(200).end("OK");
      });
    });
    await new Promise<void>((r) => hb.listen(0, "127.0.0.1", r));
    try {
      const c = daemon(["--to", backups, "--state-dir", state, "--slice", "1s", "--slice-size", "1MiB", "--heartbeat-url", `http://127.0.0.1:${(hb.address() as AddressInfo).port}/ping/check`]);
      const found = await waitFor("the gap in status.json", () => statusFile(state)?.oplog?.gaps.find((g) => g.from.t === 1000), 60_000);
      expect(found.resolvedBy).toBeUndefined();
      expect(found.foundAt).toMatch(/Z$/);
      await waitFor("the skipped base backup", () => c.stderr().includes("skipped this run: another cloudsync run holds the lock"));
      expect(c.stderr()).toContain("starting a new base backup at once: oplog gap after 1000,1: a new base backup (--oplog) so point-in-time restores resume");
      const degraded = await runCli(["status", "--state-dir", state, "--json"], { env: env() });
      expect(degraded.code).toBe(1);
      const doc = degraded.json<{ healthy: boolean; health: string; problems: string[] }>();
      expect(doc).toMatchObject({ healthy: false, health: "degraded" });
      expect(doc.problems.some((p) => p.startsWith(`oplog gap: the entries after 1000,1 (1970-01-01T00:16:40Z) and before ${found.to.t},${found.to.i} (`))).toBe(true);
      const text = await runCli(["status", "--state-dir", state], { env: env() });
      expect(text.stdout).toMatch(/^DEGRADED: /);
      expect(text.stdout).toContain("    gap         after 1000,1 (1970-01-01T00:16:40Z), before ");
      expect(text.stdout).toContain(": UNRESOLVED");
      const metrics = await metricsOf(c);
      expect(metrics).toContain("\ncloudsync_oplog_gaps_total 1\n");
      expect(metrics).toContain("\ncloudsync_oplog_unresolved_gaps 1\n");
      expect(pings).toEqual([]);

      // The lock is released: the retry (backoff from 1 s) makes the base backup, which resolves the gap.
      rmSync(join(state, "daemon.lock"));
      const resolved = await waitFor("the gap resolved", () => statusFile(state)?.oplog?.gaps.find((g) => g.from.t === 1000 && g.resolvedBy), 60_000);
      const [newBase] = await listBackups(dest);
      expect(resolved.resolvedBy).toBe(newBase!.manifest.id);
      expect(resolved.baseStartedAt).toMatch(/Z$/);
      expect(compareTimes(baseEndOf(newBase!.manifest)!, resolved.to)).toBeGreaterThanOrEqual(0);
      const st = statusFile(state)!;
      expect(st.lastRun?.reason).toBe("oplog gap after 1000,1: a new base backup (--oplog) so point-in-time restores resume");
      const ping = await waitFor("the heartbeat", () => pings[0]);
      expect(ping).toMatchObject({ backup: newBase!.manifest.id, health: "healthy", reason: st.lastRun?.reason, oplog: { unresolvedGaps: 0 } });
      expect((ping.oplog as { gaps: Array<{ from: unknown; resolvedBy: string }> }).gaps).toEqual([expect.objectContaining({ from: { t: 1000, i: 1 }, resolvedBy: newBase!.manifest.id })]);
      const healthy = await runCli(["status", "--state-dir", state, "--json"], { env: env() });
      expect(healthy.code, healthy.stdout).toBe(0);
      expect((await metricsOf(c)).includes("\ncloudsync_oplog_unresolved_gaps 0\n")).toBe(true);
      // The next stored slice records the gap, so list and restore see it too.
      await insert(1, "after-gap");
      const slice = await waitFor("the slice recording the gap", async () => (await listSlices(dest)).find((s) => s.oplog.gap), 60_000);
      expect(slice.oplog.gap?.from).toEqual({ t: 1000, i: 1 });
      c.proc.kill("SIGTERM");
      expect((await c.done).code).toBe(0);
    } finally {
      await new Promise((r) => hb.close(r));
    }
  }, 180_000);
});
