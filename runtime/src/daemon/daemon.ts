import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { BusyError } from "../errors.js";
import type { BackupManifest } from "../manifest/manifest.js";
import type { Secret } from "../secret.js";
import { nextRun, type CronSchedule } from "../config/cron.js";
import { sendHeartbeat } from "./heartbeat.js";
import { backupStage, cloudStage, metadataStage, pruneStage, verifyStage, type RunPlan, type StageResult } from "./jobs.js";
import { acquireLock } from "./lock.js";
import type { DaemonMetrics, Stage } from "./metrics.js";
import { startOplogStage, type BaseRunResult, type OplogStage } from "./oplog-stage.js";
import { assessStatus, isUnresolved, readStatus, writeFileAtomic, writeStatus, type DaemonStatus, type OplogFollowerStatus, type RunRecord, type StageOutcome } from "./status.js";

/** `--oplog-follow`: the follower run beside the schedule (see oplog-stage.ts). */
export interface OplogFollowSettings {
  readonly uri: Secret;
  readonly sliceMs: number;
  readonly sliceBytes: number;
  /** How long a poll or awaitData read waits, in ms. */
  readonly waitMs?: number;
  /** Backoff after a follower error or a failed base backup (default 1 s doubling to 5 min). */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number };
}

/** Settings of the daemon, resolved by the CLI. */
export interface DaemonOptions {
  readonly plan: RunPlan;
  readonly stateDir: string;
  readonly schedule: CronSchedule;
  /** The longest gap between runs (see scheduleIntervalSeconds), recorded for `cloudsync status`. */
  readonly intervalSeconds: number;
  /** Each scheduled run starts a random 0..jitterMs after its cron time. */
  readonly jitterMs: number;
  /** Dead-man's-switch URL pinged after each successful run. */
  readonly heartbeatUrl?: Secret;
  readonly metrics: DaemonMetrics;
  /** Aborting stops the current stage cleanly (no manifest for an abandoned backup), releases the lock and returns. */
  readonly signal: AbortSignal;
  readonly lockMaxAgeMs?: number;
  /** Follow the oplog into the primary destination beside the schedule (runDaemon only; the plan's backups must then be made with --oplog). */
  readonly oplog?: OplogFollowSettings;
  readonly now?: () => Date;
  readonly random?: () => number;
}

/** Outcome of one run: the record written to status.json and the first stage error (for the exit code). */
export interface RunOutcome {
  readonly record: RunRecord;
  readonly error?: unknown;
  /** The backup the run made, when it succeeded. */
  readonly manifest?: BackupManifest;
}

/** Lock file of the state directory. */
export function lockPath(stateDir: string): string {
  return join(stateDir, "daemon.lock");
}

/**
 * The daemon's mutable state between runs: what status.json says. Created by `openDaemon`, which
 * keeps the last success of a previous daemon (from status.json) so health survives restarts.
 */
interface DaemonState {
  daemonStartedAt: string;
  lastSuccessAt?: string;
  lastRun?: RunRecord;
  nextRunAt?: string;
  /** The follower status a previous daemon left, until this daemon's stage replaces it. */
  previousOplog?: OplogFollowerStatus;
  stage?: OplogStage;
}

async function openState(o: DaemonOptions): Promise<DaemonState> {
  const prev = await readStatus(o.stateDir).catch(() => undefined);
  if (prev?.lastSuccessAt) o.metrics.setLastSuccess(new Date(prev.lastSuccessAt));
  return { daemonStartedAt: (o.now ?? (() => new Date()))().toISOString(), lastSuccessAt: prev?.lastSuccessAt, lastRun: prev?.lastRun, previousOplog: prev?.oplog };
}

function statusOf(o: DaemonOptions, st: DaemonState): DaemonStatus {
  return {
    format: 1,
    pid: process.pid,
    schedule: o.schedule.source,
    intervalSeconds: o.intervalSeconds,
    daemonStartedAt: st.daemonStartedAt,
    ...(st.nextRunAt ? { nextRunAt: st.nextRunAt } : {}),
    ...(st.lastSuccessAt ? { lastSuccessAt: st.lastSuccessAt } : {}),
    ...(st.lastRun ? { lastRun: st.lastRun } : {}),
    // A --once run beside a following daemon keeps the follower's last status rather than dropping it.
    ...(st.stage ? { oplog: st.stage.status() } : st.previousOplog ? { oplog: st.previousOplog } : {}),
  };
}

async function saveState(o: DaemonOptions, st: DaemonState): Promise<void> {
  if (st.stage) o.metrics.setOplog(st.stage.figures());
  await writeStatus(o.stateDir, statusOf(o, st));
  // The same figures as /metrics, for node_exporter's textfile collector when the daemon is run with --once from cron.
  await writeFileAtomic(join(o.stateDir, "metrics.prom"), o.metrics.render());
}

/**
 * Performs one run under the lock: backup → verify → prune → cloud upload (when a cloud
 * destination is set) → metadata sync (when enabled). A failed stage skips the stages that depend
 * on it (everything after a failed backup or verify; prune and the cloud copy never run on an
 * unverified backup); an aborted signal stops the current stage and skips the rest. Afterwards
 * records metrics, writes status.json and metrics.prom atomically, and pings the heartbeat URL if
 * the run succeeded (a heartbeat failure is logged, never fatal). A lock held by a live run
 * throws BusyError before anything else happens.
 */
async function runLocked(o: DaemonOptions, st: DaemonState, reason?: string, onStarted?: (at: Date) => void): Promise<RunOutcome> {
  const now = o.now ?? (() => new Date());
  const log = o.plan.log;
  const lock = await acquireLock(lockPath(o.stateDir), { maxAgeMs: o.lockMaxAgeMs, warn: log, now });
  const started = now();
  onStarted?.(started);
  const stages: StageOutcome[] = [];
  let firstError: unknown;
  let manifest: BackupManifest | undefined;
  const step = async (stage: Stage, fn: () => Promise<StageResult>, skip?: string): Promise<boolean> => {
    if (o.signal.aborted || skip !== undefined) {
      stages.push({ stage, outcome: "skipped", seconds: 0, message: o.signal.aborted ? "interrupted" : skip });
      return false;
    }
    const t0 = performance.now();
    try {
      const r = await fn();
      const seconds = (performance.now() - t0) / 1000;
      stages.push({ stage, outcome: "ok", seconds, ...(r.note ? { message: r.note } : {}), ...(r.detail ? { detail: r.detail } : {}) });
      log(`${stage}: ok in ${seconds.toFixed(1)} s${r.note ? ` (${r.note})` : ""}`);
      return true;
    } catch (err) {
      const seconds = (performance.now() - t0) / 1000;
      const message = o.signal.aborted ? `interrupted: ${(err as Error).message}` : (err as Error).message;
      stages.push({ stage, outcome: "failed", seconds, message });
      log(`${stage}: FAILED after ${seconds.toFixed(1)} s: ${message}`);
      firstError ??= err;
      return false;
    }
  };
  try {
    log(`run started${reason ? ` now (${reason})` : ""} (${o.plan.source.kind === "archive" ? `archive ${o.plan.source.path}` : "MongoDB"} → ${o.plan.destination.url})`);
    const backedUp = await step("backup", async () => {
      manifest = await backupStage(o.plan, o.signal);
      return { detail: { id: manifest.id, key: manifest.object.key, bytes: manifest.object.size, documents: manifest.totals.documents } };
    });
    const verified = await step("verify", () => verifyStage(o.plan, manifest as BackupManifest, o.signal), backedUp ? undefined : "no new backup");
    const notVerified = verified ? undefined : "the new backup did not verify";
    await step("prune", () => pruneStage(o.plan), notVerified);
    if (o.plan.cloud) {
      const cloud = o.plan.cloud;
      await step("cloud-upload", () => cloudStage(o.plan, cloud, manifest as BackupManifest, o.signal), notVerified);
    }
    const md = o.plan.metadata;
    if (md) await step("metadata-sync", () => metadataStage(o.plan, md as Exclude<typeof md, { skip: string }>, o.signal), "skip" in md ? md.skip : undefined);
  } finally {
    await lock.release();
  }
  const finished = now();
  const ok = firstError === undefined && !o.signal.aborted;
  const record: RunRecord = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    ok,
    interrupted: o.signal.aborted,
    seconds: (finished.getTime() - started.getTime()) / 1000,
    stages,
    ...(manifest ? { backup: { id: manifest.id, bytes: manifest.object.size, archiveBytes: manifest.totals.archiveBytes, documents: manifest.totals.documents } } : {}),
    ...(reason ? { reason } : {}),
  };
  o.metrics.recordRun({ ok, finishedAt: finished, totalSeconds: record.seconds, stages, backup: record.backup });
  st.lastRun = record;
  if (ok) st.lastSuccessAt = record.finishedAt;
  if (ok && manifest) st.stage?.noteBase(manifest);
  await saveState(o, st);
  log(`run ${ok ? "succeeded" : record.interrupted ? "interrupted" : "FAILED"} in ${record.seconds.toFixed(1)} s${manifest ? ` (backup ${manifest.id})` : ""}`);
  if (ok && o.heartbeatUrl) {
    const hb = await sendHeartbeat(o.heartbeatUrl, { body: heartbeatBody(statusOf(o, st), record, now()) });
    if (!hb.ok) log(`warning: ${hb.error ?? "heartbeat failed"}`);
  }
  return firstError === undefined ? { record, ...(manifest ? { manifest } : {}) } : { record, error: firstError };
}

/**
 * The JSON the heartbeat carries: the run's backup and duration, the health `assessStatus`
 * gives (healthy, degraded or failing, with the problems), and with --oplog-follow the
 * follower's position and lag and its gaps (unresolved ones, and the recent resolved ones with
 * the base backup that resolved each).
 */
export function heartbeatBody(status: DaemonStatus, record: RunRecord, now: Date): Record<string, unknown> {
  const health = assessStatus(status, now);
  const f = status.oplog;
  return {
    backup: record.backup?.id,
    seconds: record.seconds,
    ...(record.reason ? { reason: record.reason } : {}),
    health: health.level,
    problems: health.problems,
    ...(f
      ? { oplog: { state: f.state, position: f.position ?? null, newestCapturedAt: f.newestCapturedAt ?? null, lagSeconds: f.lagSeconds, unresolvedGaps: f.gaps.filter(isUnresolved).length, gaps: f.gaps } }
      : {}),
  };
}

/**
 * `--once`: one run now (no jitter), with status.json and metrics written. Throws BusyError
 * (exit 7) when another run holds the lock; otherwise resolves with the outcome, failed or not.
 */
export async function runOnce(o: DaemonOptions): Promise<RunOutcome> {
  const st = await openState(o);
  st.nextRunAt = nextRun(o.schedule, (o.now ?? (() => new Date()))()).toISOString();
  o.metrics.setNextRun(new Date(st.nextRunAt));
  return runLocked(o, st);
}

/**
 * The scheduled daemon: writes status.json at start (so `cloudsync status` is healthy before the
 * first run), optionally runs at once (`runNow`), then sleeps until each cron time plus a random
 * jitter and runs. A run that finds the lock held by a live run is skipped and logged. With
 * `oplog`, the oplog stage follows beside the schedule and may ask for a run at once (no base
 * backup with an oplog window yet, or a gap): that run starts as soon as the current one (if
 * any) ends, and records why it ran. Returns when `signal` aborts (after the current stage
 * stops, the lock is released and the follower has stopped); a run's failure never stops the
 * daemon.
 */
export async function runDaemon(o: DaemonOptions & { readonly runNow?: boolean; readonly onRun?: (r: RunOutcome) => void }): Promise<void> {
  const now = o.now ?? (() => new Date());
  const random = o.random ?? Math.random;
  const st = await openState(o);
  // A daemon started without --oplog-follow has no follower: an earlier one's status would be stale.
  if (!o.oplog) st.previousOplog = undefined;
  await saveState(o, st);
  const once = async (reason?: string, onStarted?: (at: Date) => void): Promise<BaseRunResult> => {
    try {
      // Not `o.onRun?.(await …)`: an optional call skips evaluating its arguments when onRun is absent.
      const outcome = await runLocked(o, st, reason, onStarted);
      o.onRun?.(outcome);
      const why = outcome.error === undefined ? undefined : (outcome.error as Error).message;
      return { ok: outcome.record.ok, ...(outcome.manifest ? { manifest: outcome.manifest } : {}), ...(why ? { why } : {}) };
    } catch (err) {
      if (!(err instanceof BusyError)) throw err;
      o.metrics.recordSkip();
      o.plan.log(`skipped this run: ${err.message}`);
      return { ok: false, why: err.message };
    }
  };
  // Runs asked for outside the schedule, coalesced: every asker waits for the same next run.
  let urgent: { reasons: string[]; waiters: Array<{ resolve: (r: BaseRunResult) => void; onStarted: (at: Date) => void }> } | undefined;
  let wake: AbortController | undefined;
  const requestBase = (reason: string, onStarted: (at: Date) => void): Promise<BaseRunResult> =>
    new Promise((resolve) => {
      if (o.signal.aborted) return resolve({ ok: false, why: "the daemon is stopping" });
      urgent ??= { reasons: [], waiters: [] };
      if (!urgent.reasons.includes(reason)) urgent.reasons.push(reason);
      urgent.waiters.push({ resolve, onStarted });
      wake?.abort();
    });
  let lastFollowerSave = 0;
  if (o.oplog) {
    const p = o.plan;
    st.stage = startOplogStage({
      uri: o.oplog.uri,
      destination: p.destination,
      compression: p.compression,
      encryption: p.encryption,
      stateDir: o.stateDir,
      sliceMs: o.oplog.sliceMs,
      sliceBytes: o.oplog.sliceBytes,
      signal: o.signal,
      log: p.log,
      requestBase,
      onChange: (urgent) => {
        const stage = st.stage;
        if (stage) o.metrics.setOplog(stage.figures());
        // The lag changes with every entry read: /metrics shows it live, status.json every 10 s.
        if (!urgent && now().getTime() - lastFollowerSave < 10_000) return;
        lastFollowerSave = now().getTime();
        void saveState(o, st).catch((err: unknown) => p.log(`warning: ${(err as Error).message}`));
      },
      ...(st.previousOplog ? { previous: st.previousOplog } : {}),
      ...(o.oplog.backoff ? { backoff: o.oplog.backoff } : {}),
      ...(o.oplog.waitMs ? { waitMs: o.oplog.waitMs } : {}),
      now,
    });
  }
  try {
    if (o.runNow) await once();
    while (!o.signal.aborted) {
      if (urgent) {
        const u = urgent;
        urgent = undefined;
        const r = await once(u.reasons.join("; "), (at) => u.waiters.forEach((w) => w.onStarted(at)));
        u.waiters.forEach((w) => w.resolve(r));
        continue;
      }
      const at = scheduledAt(o.schedule, now(), o.jitterMs, random);
      st.nextRunAt = at.toISOString();
      o.metrics.setNextRun(at);
      await saveState(o, st);
      o.plan.log(`next run at ${st.nextRunAt}`);
      wake = new AbortController();
      // A run asked for while status.json was being written found no sleep to cut short.
      if (urgent) continue;
      const slept = await sleepUntil(at, AbortSignal.any([o.signal, wake.signal]), now);
      wake = undefined;
      if (o.signal.aborted) break;
      // Woken early for a run asked for: the loop's top runs it.
      if (slept) await once();
    }
  } finally {
    const u = urgent as typeof urgent;
    u?.waiters.forEach((w) => w.resolve({ ok: false, why: "the daemon is stopping" }));
    await st.stage?.done;
    if (st.stage) await saveState(o, st).catch(() => undefined);
  }
}

/**
 * When the next scheduled run starts: the schedule's next time after `now` plus a random delay of
 * 0 up to (not including) `jitterMs`, drawn from `random` (0 ≤ random() < 1). Pure given `random`.
 */
export function scheduledAt(schedule: CronSchedule, now: Date, jitterMs: number, random: () => number = Math.random): Date {
  return new Date(nextRun(schedule, now).getTime() + Math.floor(random() * jitterMs));
}

/** Sleeps until `at` in slices (timers cap near 24.8 days, and the clock may jump); false when aborted. */
async function sleepUntil(at: Date, signal: AbortSignal, now: () => Date): Promise<boolean> {
  while (now().getTime() < at.getTime()) {
    try {
      await sleep(Math.min(at.getTime() - now().getTime(), 60_000), undefined, { signal });
    } catch {
      return false;
    }
  }
  return !signal.aborted;
}
