import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../runtime/src/config/config.js";
import { generateAgeIdentity, writeIdentityFile } from "../../runtime/src/crypto/index.js";
import { parseCron } from "../../runtime/src/config/cron.js";
import { lockPath, runDaemon, runOnce, type DaemonOptions, type RunOutcome } from "../../runtime/src/daemon/daemon.js";
import type { RunPlan } from "../../runtime/src/daemon/jobs.js";
import { createDaemonMetrics, serveMetrics } from "../../runtime/src/daemon/metrics.js";
import { assessStatus, readStatus } from "../../runtime/src/daemon/status.js";
import { openDestination } from "../../runtime/src/destinations/open.js";
import { BusyError, IntegrityError } from "../../runtime/src/errors.js";
import { listBackups } from "../../runtime/src/manifest/store.js";
import { loadDecryptionKeys, planEncryption } from "../../runtime/src/pipeline/encryption.js";
import { Secret } from "../../runtime/src/secret.js";
import { waitFor } from "../support/wait.js";
import { makeArchive } from "./helpers.js";

let dir: string;
let archive: { path: string; origin: string };
let hb: Server;
let hbUrl: string;
let pings: Array<{ method?: string; body: string }>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cloudsync-daemon-"));
  archive = await makeArchive(dir);
  pings = [];
  hb = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      pings.push({ method: req.method, body });
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

/** A plan backing up the archive to dir/backups (age-encrypted), optionally with the identity and a cloud copy. */
async function planFor(o: { identity?: boolean; cloud?: boolean; archivePath?: string } = {}): Promise<{ plan: RunPlan; logs: string[] }> {
  const { identity, recipient } = generateAgeIdentity();
  const idFile = join(dir, "identity.txt");
  await writeIdentityFile(idFile, identity, recipient);
  const config = loadConfig({ env: {}, flags: { recipients: [recipient], destination: join(dir, "backups"), ...(o.identity ? { identityFiles: [idFile] } : {}) } });
  const logs: string[] = [];
  const plan: RunPlan = {
    source: { kind: "archive", path: o.archivePath ?? archive.path },
    destination: openDestination(join(dir, "backups")),
    compression: { algorithm: "gzip", level: 1 },
    encryption: await planEncryption(config),
    ...(o.identity ? { decryption: await loadDecryptionKeys(config) } : {}),
    retention: { keepWithin: 7 * 86_400_000 },
    ...(o.cloud ? { cloud: openDestination(join(dir, "cloud")) } : {}),
    log: (l) => logs.push(l),
  };
  return { plan, logs };
}

function options(plan: RunPlan, signal: AbortSignal, extra: Partial<DaemonOptions> = {}): DaemonOptions {
  return { plan, stateDir: join(dir, "state"), schedule: parseCron("0 3 * * *"), intervalSeconds: 86_400, jitterMs: 0, metrics: createDaemonMetrics(), signal, ...extra };
}

describe("daemon run", () => {
  it("runs backup → verify → prune → cloud upload, serves /metrics, writes status.json, pings the heartbeat, releases the lock", async () => {
    const { plan, logs } = await planFor({ identity: true, cloud: true });
    const controller = new AbortController();
    const o = options(plan, controller.signal, { heartbeatUrl: new Secret(hbUrl) });
    const server = await serveMetrics(o.metrics, { host: "127.0.0.1", port: 0 });
    const runs: RunOutcome[] = [];
    const daemon = runDaemon({ ...o, runNow: true, onRun: (r) => runs.push(r) });
    try {
      const [run] = await waitFor("the first run", () => (runs.length ? runs : undefined));
      expect(run!.error).toBeUndefined();
      const r = run!.record;
      expect(r.ok).toBe(true);
      expect(r.stages.map((s) => [s.stage, s.outcome])).toEqual([
        ["backup", "ok"],
        ["verify", "ok"],
        ["prune", "ok"],
        ["cloud-upload", "ok"],
      ]);
      expect(r.stages[1]!.detail).toMatchObject({ level: "read" });

      const listed = await listBackups(plan.destination);
      expect(listed.map((b) => b.manifest.id)).toEqual([r.backup!.id]);
      const copied = await listBackups(plan.cloud!);
      expect(copied.map((b) => b.manifest)).toEqual([listed[0]!.manifest]);
      expect((await stat(join(dir, "cloud", listed[0]!.manifest.object.key))).size).toBe(listed[0]!.manifest.object.size);
      expect(r.backup).toEqual({ id: listed[0]!.manifest.id, bytes: listed[0]!.manifest.object.size, archiveBytes: listed[0]!.manifest.totals.archiveBytes, documents: listed[0]!.manifest.totals.documents });

      await waitFor("the heartbeat", () => pings.length === 1);
      expect(pings[0]!.method).toBe("POST");
      expect(JSON.parse(pings[0]!.body)).toMatchObject({ backup: r.backup!.id });

      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toContain('cloudsync_runs_total{outcome="success"} 1\n');
      expect(text).toContain('cloudsync_failures_total{stage="backup"} 0\n');
      expect(text).toContain(`cloudsync_backup_documents ${r.backup!.documents}\n`);
      expect(text).toContain(`cloudsync_backup_bytes ${r.backup!.bytes}\n`);
      expect(text).toMatch(/cloudsync_last_run_duration_seconds\{stage="cloud-upload"\} [\d.]+\n/);
      expect(text).toContain(`cloudsync_last_success_timestamp_seconds ${Math.round(Date.parse(r.finishedAt) / 1000)}\n`);
      expect(await readFile(join(dir, "state", "metrics.prom"), "utf8")).toContain('cloudsync_runs_total{outcome="success"} 1\n');

      const status = await waitFor("status with the next run", async () => ((await readStatus(join(dir, "state")))?.nextRunAt ? readStatus(join(dir, "state")) : undefined));
      expect(status.lastRun).toEqual(r);
      expect(status.lastSuccessAt).toBe(r.finishedAt);
      expect(new Date(status.nextRunAt!).getUTCHours()).toBe(3);
      expect(assessStatus(status)).toEqual({ healthy: true, level: "healthy", problems: [] });
      expect(existsSync(lockPath(join(dir, "state")))).toBe(false);
      expect(logs.join("\n")).not.toContain("secret-check-uuid");
    } finally {
      controller.abort();
      await daemon;
      await server.close();
    }
    expect(existsSync(lockPath(join(dir, "state")))).toBe(false);
  });

  it("without an identity verifies size and SHA-256 only and says so", async () => {
    const { plan } = await planFor();
    const { record } = await runOnce(options(plan, new AbortController().signal));
    expect(record.ok).toBe(true);
    const verify = record.stages.find((s) => s.stage === "verify")!;
    expect(verify.outcome).toBe("ok");
    expect(verify.detail).toMatchObject({ level: "checksum", recordKey: expect.stringMatching(/^verifications\//) });
    expect(verify.message).toBe("no identity configured on this host: checked the stored object's size and SHA-256 only (recorded as a checksum verification); run `cloudsync verify` where the identity is for a full check");
    // The record makes the backup count as verified for prune (issue 9 item 2).
    const [entry] = await listBackups(plan.destination, { withVerifications: true });
    expect(entry?.lastVerified).toMatchObject({ ok: true, level: "checksum" });
  });

  it("a failing backup counts a failure, skips the later stages, lists nothing, sends no heartbeat, and status turns unhealthy", async () => {
    const broken = join(dir, "broken.archive");
    await writeFile(broken, await readFile(archive.path));
    await truncate(broken, Math.floor((await stat(broken)).size / 2));
    const { plan } = await planFor({ archivePath: broken });
    const o = options(plan, new AbortController().signal, { heartbeatUrl: new Secret(hbUrl) });
    const outcome = await runOnce(o);
    expect(outcome.error).toBeInstanceOf(IntegrityError);
    expect(outcome.record.ok).toBe(false);
    expect(outcome.record.stages.map((s) => [s.stage, s.outcome, s.outcome === "skipped" ? s.message : ""])).toEqual([
      ["backup", "failed", ""],
      ["verify", "skipped", "no new backup"],
      ["prune", "skipped", "the new backup did not verify"],
    ]);
    expect(await listBackups(plan.destination)).toEqual([]);
    expect(o.metrics.render()).toContain('cloudsync_failures_total{stage="backup"} 1\n');
    expect(o.metrics.render()).toContain("cloudsync_last_run_success 0\n");
    const health = assessStatus(await readStatus(join(dir, "state")));
    expect(health.healthy).toBe(false);
    expect(health.problems[0]).toMatch(/^last run .+ failed: backup \(/);
    expect(pings).toEqual([]);
    expect(existsSync(lockPath(join(dir, "state")))).toBe(false);
  });

  it("--once meets a live lock with BusyError; a scheduled run skips and counts it", async () => {
    const { plan, logs } = await planFor();
    const state = join(dir, "state");
    await rm(state, { recursive: true, force: true });
    await mkdir(state, { recursive: true });
    await writeFile(lockPath(state), JSON.stringify({ pid: process.ppid, hostname: hostname(), startedAt: new Date().toISOString(), token: "other" }));
    await expect(runOnce(options(plan, new AbortController().signal))).rejects.toBeInstanceOf(BusyError);
    const controller = new AbortController();
    const o = options(plan, controller.signal);
    const daemon = runDaemon({ ...o, runNow: true });
    await waitFor("the skip", () => o.metrics.render().includes('cloudsync_runs_total{outcome="skipped"} 1\n'));
    controller.abort();
    await daemon;
    expect(logs.some((l) => l.startsWith("skipped this run: another cloudsync run holds the lock"))).toBe(true);
    expect(await listBackups(plan.destination)).toEqual([]);
  });

  it("a --once run keeps the follower status a following daemon wrote; a daemon without --oplog-follow drops it", async () => {
    const { plan } = await planFor();
    const state = join(dir, "state");
    await mkdir(state, { recursive: true });
    const oplog = { state: "following", destination: plan.destination.url, statePath: join(state, "oplog-x.json"), lagSeconds: 0, slices: 3, restarts: 0, updatedAt: "2026-12-01T00:00:00.000Z", gaps: [{ from: { t: 1000, i: 1 }, to: { t: 2000, i: 1 } }] };
    await writeFile(join(state, "status.json"), JSON.stringify({ format: 1, pid: 1, schedule: "0 3 * * *", intervalSeconds: 86_400, daemonStartedAt: new Date().toISOString(), oplog }));
    await runOnce(options(plan, new AbortController().signal));
    const kept = await readStatus(state);
    expect(kept?.oplog).toEqual(oplog);
    expect(assessStatus(kept).level).toBe("degraded");
    const controller = new AbortController();
    const daemon = runDaemon(options(plan, controller.signal));
    await waitFor("status with the next run", async () => (await readStatus(state))?.nextRunAt);
    controller.abort();
    await daemon;
    expect((await readStatus(state))?.oplog).toBeUndefined();
  });
});
