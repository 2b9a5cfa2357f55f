// `cloudsync daemon` and `cloudsync status` as real processes: the installed entry point
// bin/cloudsync.js running the compiled program in dist/.
import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateAgeIdentity } from "../../runtime/src/crypto/index.js";
import { openDestination } from "../../runtime/src/destinations/open.js";
import { listBackups } from "../../runtime/src/manifest/store.js";
import { CLI } from "../support/cli.js";
import { waitFor } from "../support/wait.js";
import { DIST_SKIP, makeArchive } from "./helpers.js";


interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let archive: string;
let recipient: string;
let hb: Server;
let hbUrl: string;
let pings: string[];

/** The environment of a clean host: nothing of the developer's cloudsync settings leaks in. */
function env(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(CLOUDSYNC_|CLOUD_SYNC_|MONGODB_URI|AWS_)/.test(k)) out[k] = v;
  return { ...out, XDG_STATE_HOME: join(dir, "xdg") };
}

function spawnChild(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: dir, env: env(), stdio: ["ignore", "pipe", "pipe"] });
}

const stderrs = new WeakMap<ChildProcess, string>();
/** Whether the child has said it received a signal. */
const stderrSeen = (child: ChildProcess): boolean => (stderrs.get(child) ?? "").includes("received; stopping");

function collect(child: ChildProcess): Promise<Run> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
    stderrs.set(child, stderr);
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const run = (args: string[]): Promise<Run> => collect(spawnChild(args));
const state = (): string => join(dir, "state");
const once = (extra: string[] = []): string[] => ["daemon", "--once", "--from-archive", archive, "--to", join(dir, "backups"), "-r", recipient, "--state-dir", state(), ...extra];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cloudsync-daemon-cli-"));
  archive = (await makeArchive(dir)).path;
  recipient = generateAgeIdentity().recipient;
  pings = [];
  hb = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      pings.push(`${req.method} ${req.url}`);
      res.writeHead(200).end("OK");
    });
  });
  await new Promise<void>((r) => hb.listen(0, "127.0.0.1", r));
  hbUrl = `http://127.0.0.1:${(hb.address() as AddressInfo).port}/ping/secret-check-uuid`;
});
afterEach(async () => {
  await new Promise((r) => hb.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(DIST_SKIP)(`cloudsync daemon / status as processes${DIST_SKIP ? ` (skipped: ${DIST_SKIP})` : ""}`, () => {
  it("--once backs up, verifies (SHA-256 only: no identity here), prunes, writes status.json and metrics.prom, pings the heartbeat; status is healthy", async () => {
    const r = await run([...once(["--heartbeat-url", hbUrl]), "--json"]);
    expect(r.stderr).not.toContain("secret-check-uuid");
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as { ok: boolean; stages: Array<{ stage: string; outcome: string }>; backup: { id: string } };
    expect(record.ok).toBe(true);
    expect(record.stages.map((s) => `${s.stage}:${s.outcome}`)).toEqual(["backup:ok", "verify:ok", "prune:ok"]);
    const listed = await listBackups(openDestination(join(dir, "backups")));
    expect(listed.map((b) => b.manifest.id)).toEqual([record.backup.id]);
    expect(pings).toEqual(["POST /ping/secret-check-uuid"]);
    const prom = await readFile(join(state(), "metrics.prom"), "utf8");
    expect(prom).toContain('cloudsync_runs_total{outcome="success"} 1\n');
    expect(prom).toContain(`cloudsync_backup_documents ${listed[0]!.manifest.totals.documents}\n`);
    expect(existsSync(join(state(), "daemon.lock"))).toBe(false);

    const s = await run(["status", "--state-dir", state(), "--json"]);
    expect(s.code, s.stderr).toBe(0);
    const status = JSON.parse(s.stdout) as { healthy: boolean; problems: string[]; status: { lastRun: { backup: { id: string } }; schedule: string } };
    expect(status.healthy).toBe(true);
    expect(status.problems).toEqual([]);
    expect(status.status.lastRun.backup.id).toBe(record.backup.id);
    expect(status.status.schedule).toBe("0 3 * * *");
    const human = await run(["status", "--state-dir", state()]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^healthy: schedule "0 3 \* \* \*" \(UTC\)/);
  });

  it("a failing stage exits with its code, counts the failure, and status exits 1", async () => {
    await truncate(archive, Math.floor((await stat(archive)).size / 2));
    const r = await run(once(["--heartbeat-url", hbUrl]));
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toMatch(/^run FAILED in [\d.]+ s\n {2}backup +failed/);
    expect(await readFile(join(state(), "metrics.prom"), "utf8")).toContain('cloudsync_failures_total{stage="backup"} 1\n');
    expect(await listBackups(openDestination(join(dir, "backups")))).toEqual([]);
    expect(pings).toEqual([]);
    const s = await run(["status", "--state-dir", state()]);
    expect(s.code).toBe(1);
    expect(s.stdout).toMatch(/^UNHEALTHY: /);
    expect(s.stdout).toMatch(/ {2}problem {7}last run .+ failed: backup \(/);
  });

  it("status exits 1 when no daemon ever ran", async () => {
    const s = await run(["status", "--state-dir", join(dir, "nothing"), "--json"]);
    expect(s.code).toBe(1);
    expect(JSON.parse(s.stdout)).toEqual({ healthy: false, health: "failing", problems: ["no status recorded: the daemon has not run with this state directory"], stateDir: join(dir, "nothing"), status: null });
  });

  it("--once exits 7 when a live run holds the lock", async () => {
    await mkdir(state(), { recursive: true });
    await writeFile(join(state(), "daemon.lock"), JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), token: "test" }));
    const r = await run(once());
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`cloudsync: another cloudsync run holds the lock ${join(state(), "daemon.lock")} (pid ${process.pid} on ${hostname()}`);
  });

  it("rejects a bad schedule naming the variable", async () => {
    const child = spawn(process.execPath, [CLI, ...once()], { cwd: dir, env: { ...env(), CLOUDSYNC_SCHEDULE: "0 25 * * *" }, stdio: ["ignore", "pipe", "pipe"] });
    const r = await collect(child);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cloudsync: CLOUDSYNC_SCHEDULE: "0 25 * * *": hour field "25" has 25 outside 0-23\n');
  });

  it("takes its settings from the config file too: stateDir and heartbeatUrl there are used by daemon --once, and status reads the same stateDir", async () => {
    const fromFile = join(dir, "state-from-file");
    await writeFile(join(dir, "cloudsync.config.json"), JSON.stringify({ stateDir: fromFile, heartbeatUrl: hbUrl, schedule: "@daily", jitter: "0", cloudPrefix: "/nightly/" }));
    const r = await run(["daemon", "--once", "--from-archive", archive, "--to", join(dir, "backups"), "-r", recipient]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(fromFile, "status.json"), "utf8"))).toMatchObject({ schedule: "@daily" });
    expect(pings).toEqual(["POST /ping/secret-check-uuid"]);
    expect(existsSync(join(dir, "xdg"))).toBe(false);
    const s = await run(["status", "--json"]);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ healthy: true, stateDir: fromFile });
  });

  it("validates every daemon setting at start-up, naming the config key or variable, even with --once", async () => {
    await writeFile(join(dir, "cloudsync.config.json"), JSON.stringify({ schedule: "0 25 * * *" }));
    const bad = await run(once());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('cloudsync: cloudsync.config.json: schedule: "0 25 * * *": hour field "25" has 25 outside 0-23\n');
    await rm(join(dir, "cloudsync.config.json"));
    const port = spawn(process.execPath, [CLI, ...once()], { cwd: dir, env: { ...env(), CLOUDSYNC_METRICS_PORT: "99999", CLOUDSYNC_HEARTBEAT_URL: "ftp://example.test/token" }, stdio: ["ignore", "pipe", "pipe"] });
    const r = await collect(port);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cloudsync: CLOUDSYNC_HEARTBEAT_URL: must be an http:// or https:// URL\n  CLOUDSYNC_METRICS_PORT: must be a whole number from 0 to 65535, got "99999"\n');
    expect(existsSync(state())).toBe(false);
  });

  it("refuses --oplog-follow with --once or --from-archive, and --slice without it, naming the flag or variable (exit 2, nothing written)", async () => {
    const withOnce = await run(["daemon", "--once", "--oplog-follow", "--uri", "mongodb://127.0.0.1:1", "--to", join(dir, "backups"), "-r", recipient, "--state-dir", state()]);
    expect(withOnce.code).toBe(2);
    expect(withOnce.stderr).toBe("cloudsync: --oplog-follow: follows the oplog continuously and cannot be combined with --once; run `cloudsync oplog follow --once` for a one-off capture\n");
    const fromArchive = await collect(spawn(process.execPath, [CLI, "daemon", "--from-archive", archive, "--to", join(dir, "backups"), "-r", recipient, "--state-dir", state()], { cwd: dir, env: { ...env(), CLOUDSYNC_OPLOG_FOLLOW: "true" }, stdio: ["ignore", "pipe", "pipe"] }));
    expect(fromArchive.code).toBe(2);
    expect(fromArchive.stderr).toBe("cloudsync: CLOUDSYNC_OPLOG_FOLLOW: needs a live MongoDB replica set member (--uri), not --from-archive: the oplog is read from the server the backups come from\n");
    const slice = await run([...once(), "--slice", "1m"]);
    expect(slice.code).toBe(2);
    expect(slice.stderr).toBe("cloudsync: --slice: only applies with --oplog-follow (or CLOUDSYNC_OPLOG_FOLLOW=true)\n");
    const badSize = await run(["daemon", "--oplog-follow", "--slice-size", "12", "--uri", "mongodb://127.0.0.1:1", "--to", join(dir, "backups"), "-r", recipient, "--state-dir", state()]);
    expect(badSize.code).toBe(2);
    expect(badSize.stderr).toBe('cloudsync: --slice-size: must be from 1KiB to 1GiB, got "12"\n');
    const badVariable = await collect(spawn(process.execPath, [CLI, ...once()], { cwd: dir, env: { ...env(), CLOUDSYNC_OPLOG_FOLLOW: "sometimes" }, stdio: ["ignore", "pipe", "pipe"] }));
    expect(badVariable.code).toBe(2);
    expect(badVariable.stderr).toBe('cloudsync: CLOUDSYNC_OPLOG_FOLLOW: must be true or false, got "sometimes"\n');
    expect(existsSync(state())).toBe(false);
  });

  it("status names the setting a damaged status.json came from: --state-dir, or CLOUDSYNC_STATE_DIR (exit 2)", async () => {
    await mkdir(state(), { recursive: true });
    await writeFile(join(state(), "status.json"), "{}");
    const flag = await run(["status", "--state-dir", state()]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe(`cloudsync: --state-dir: ${join(state(), "status.json")} is not a cloudsync status file: not a status file\n`);
    const variable = await collect(spawn(process.execPath, [CLI, "status"], { cwd: dir, env: { ...env(), CLOUDSYNC_STATE_DIR: state() }, stdio: ["ignore", "pipe", "pipe"] }));
    expect(variable.code).toBe(2);
    expect(variable.stderr).toBe(`cloudsync: CLOUDSYNC_STATE_DIR: ${join(state(), "status.json")} is not a cloudsync status file: not a status file\n`);
  });

  it("the scheduled daemon serves /metrics, writes status.json at start, and exits 0 on SIGTERM", async () => {
    const child = spawnChild(["daemon", "--schedule", "@yearly", "--metrics-port", "0", "--from-archive", archive, "--to", join(dir, "backups"), "-r", recipient, "--state-dir", state()]);
    const done = collect(child);
    const url = await waitFor("the metrics address", () => /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderrs.get(child) ?? "")?.[1]);
    // The metrics server answers before the first run is scheduled (the gauge reads 0 until then);
    // under load that gap is visible.
    const text = await waitFor("the next-run metric", async () => {
      const body = await (await fetch(url)).text();
      return /\ncloudsync_next_run_timestamp_seconds [1-9]\d*\n/.test(body) ? body : undefined;
    });
    expect(text).toContain("cloudsync_up 1\n");
    expect(text).toMatch(/\ncloudsync_next_run_timestamp_seconds \d{10}\n/);
    const status = await waitFor("status.json", async () => (existsSync(join(state(), "status.json")) ? (JSON.parse(await readFile(join(state(), "status.json"), "utf8")) as { schedule: string; nextRunAt?: string }) : undefined));
    expect(status.schedule).toBe("@yearly");
    child.kill("SIGTERM");
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("daemon stopped");
    expect(existsSync(join(state(), "daemon.lock"))).toBe(false);
  });

  it("SIGTERM mid-backup abandons it: no manifest listed, lock released, status records the interruption", async () => {
    const fifo = join(dir, "slow.archive");
    await new Promise<void>((resolve, reject) => spawn("mkfifo", [fifo]).on("exit", (c) => (c === 0 ? resolve() : reject(new Error(`mkfifo exited ${c}`)))));
    const child = spawnChild(["daemon", "--once", "--from-archive", fifo, "--to", join(dir, "backups"), "-r", recipient, "--state-dir", state()]);
    const done = collect(child);
    // Feed half the archive, then stall: the backup is running and holds the lock.
    const writer = createWriteStream(fifo);
    const half = Math.floor((await stat(archive)).size / 2);
    await new Promise<void>((resolve, reject) => createReadStream(archive, { end: half - 1 }).on("error", reject).on("end", resolve).pipe(writer, { end: false }));
    await waitFor("the lock", () => existsSync(join(state(), "daemon.lock")));
    // The lock is taken before the backup stage starts; a temporary object under data/ shows the
    // backup itself is under way, so the signal cannot land between stages.
    const data = join(dir, "backups", "data");
    await waitFor("the upload", () => existsSync(data) && readdirSync(data).some((f) => f.includes(".tmp-")));
    child.kill("SIGTERM");
    // A read already waiting on the pipe only returns when data or EOF arrives; closing our end
    // (as a producer killed with the daemon would) lets the aborted pipeline finish unwinding.
    await waitFor("the signal to be handled", () => stderrSeen(child));
    writer.end();
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain("SIGTERM received");
    expect(existsSync(join(state(), "daemon.lock"))).toBe(false);
    expect(await listBackups(openDestination(join(dir, "backups")))).toEqual([]);
    const status = JSON.parse(await readFile(join(state(), "status.json"), "utf8")) as { lastRun: { ok: boolean; interrupted: boolean; stages: Array<{ stage: string; outcome: string }> } };
    expect(status.lastRun.ok).toBe(false);
    expect(status.lastRun.interrupted).toBe(true);
    expect(status.lastRun.stages.map((s) => `${s.stage}:${s.outcome}`)).toEqual(["backup:failed", "verify:skipped", "prune:skipped"]);
  });
});
