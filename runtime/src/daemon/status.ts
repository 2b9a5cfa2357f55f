import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ConfigError, LocalIOError, describeLocalIO } from "../errors.js";
import { formatTime, type OplogTime } from "../manifest/manifest.js";
import { isoOf } from "../manifest/slices.js";
import type { Stage } from "./metrics.js";

/** One stage's outcome in a run. `detail` holds figures and never secrets. */
export interface StageOutcome {
  readonly stage: Stage;
  readonly outcome: "ok" | "failed" | "skipped";
  readonly seconds: number;
  /** Why it failed or was skipped. */
  readonly message?: string;
  readonly detail?: Record<string, unknown>;
}

/** One finished run. */
export interface RunRecord {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  /** Whether a signal stopped it. */
  readonly interrupted: boolean;
  readonly seconds: number;
  readonly stages: readonly StageOutcome[];
  readonly backup?: { readonly id: string; readonly bytes: number; readonly archiveBytes: number; readonly documents: number };
  /** Why it ran outside the schedule, e.g. a new base backup after an oplog gap; absent for a scheduled run. */
  readonly reason?: string;
}

/** An oplog gap the daemon knows of: entries after `from` and before `to` are lost. */
export interface OplogGapRecord {
  readonly from: OplogTime;
  readonly to: OplogTime;
  /** When this daemon's follower found it (absent for a gap read from a stored slice). */
  readonly foundAt?: string;
  /** The slice that records it, once stored. */
  readonly slice?: string;
  /** When the daemon started a new base backup because of it. */
  readonly baseStartedAt?: string;
  /** The base backup whose oplog end is at or after `to` (restores resume from there), and when it completed. */
  readonly resolvedBy?: string;
  readonly resolvedAt?: string;
}

/** The daemon's oplog follower (`daemon --oplog-follow`), as status.json records it. */
export interface OplogFollowerStatus {
  /** starting; waiting-for-base (no base backup with an oplog window yet); following; restarting (after an error, with backoff); stopped. */
  readonly state: "starting" | "waiting-for-base" | "following" | "restarting" | "stopped";
  readonly destination: string;
  /** The follower's state file (its saved position). */
  readonly statePath: string;
  readonly mode?: "tailable" | "polling";
  /** The newest entry stored in a slice (restorable up to here), and its time. */
  readonly position?: OplogTime;
  readonly newestCapturedAt?: string;
  /** Seconds of oplog read but not yet stored (the newest entry read minus `position`). */
  readonly lagSeconds: number;
  readonly lastSlice?: { readonly id: string; readonly storedAt: string; readonly entries: number; readonly first: OplogTime; readonly last: OplogTime };
  /** Slices this daemon stored since it started. */
  readonly slices: number;
  /** Restarts after an error since the daemon started. */
  readonly restarts: number;
  readonly lastError?: { readonly at: string; readonly message: string };
  readonly updatedAt: string;
  /** Every unresolved gap, and the most recent resolved ones. */
  readonly gaps: readonly OplogGapRecord[];
}

/** `<state-dir>/status.json`: what `cloudsync status` reads. Written atomically after every run and at start. */
export interface DaemonStatus {
  readonly format: 1;
  readonly pid: number;
  readonly schedule: string;
  /** The longest gap between scheduled runs, in seconds: status reports overdue after twice this. */
  readonly intervalSeconds: number;
  /** When the daemon (or the --once run) started. */
  readonly daemonStartedAt: string;
  readonly nextRunAt?: string;
  readonly lastSuccessAt?: string;
  readonly lastRun?: RunRecord;
  /** Present when the daemon runs with --oplog-follow. */
  readonly oplog?: OplogFollowerStatus;
}

/** Path of the status file in `stateDir`. */
export function statusPath(stateDir: string): string {
  return join(stateDir, "status.json");
}

/**
 * Writes `text` to `path` atomically (temporary file in the same directory, fsync, rename), mode
 * 0600; creates the directory. Readers see the old or the new file, never a torn one. Throws
 * LocalIOError for disk full or permission problems.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
  try {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(tmp, "w", 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw describeLocalIO(err, `write ${path}`);
  }
}

/** Writes status.json atomically (see `writeFileAtomic`). */
export async function writeStatus(stateDir: string, status: DaemonStatus): Promise<void> {
  await writeFileAtomic(statusPath(stateDir), JSON.stringify(status, null, 2) + "\n");
}

/** Reads status.json; undefined when there is none yet. Throws ConfigError for a file that is not a status. */
export async function readStatus(stateDir: string): Promise<DaemonStatus | undefined> {
  const path = statusPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new LocalIOError(`read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const notStatus = (why: string): ConfigError => new ConfigError("stateDir", `${path} is not a cloudsync status file: ${why}`);
  let v: DaemonStatus;
  try {
    v = JSON.parse(text) as DaemonStatus;
  } catch (err) {
    throw notStatus((err as Error).message);
  }
  if (v?.format !== 1 || typeof v.intervalSeconds !== "number") throw notStatus("not a status file");
  return v;
}

/** What `assessStatus` concluded. */
export interface Health {
  readonly healthy: boolean;
  /**
   * failing: backups themselves are in trouble (last run failed, overdue, no status); degraded:
   * backups run but point-in-time coverage is not whole (an unresolved oplog gap, a follower that
   * is restarting or waiting for a base backup); healthy otherwise.
   */
  readonly level: "healthy" | "degraded" | "failing";
  /** Why it is unhealthy (empty when healthy), failing ones first. */
  readonly problems: string[];
}

/** An oplog time in words: `t,i (ISO)`. */
export function describeTime(ts: OplogTime): string {
  return `${formatTime(ts)} (${isoOf(ts)})`;
}

/** Whether a gap still keeps restores from resuming: no base backup newer than it yet. */
export function isUnresolved(gap: OplogGapRecord): boolean {
  return gap.resolvedBy === undefined;
}

/**
 * Health of a daemon from its status. Failing when the last run failed, or when the last success
 * (or, before any, the daemon's start) is older than twice the schedule interval; a daemon that
 * has not run yet but started recently is healthy. Degraded (with --oplog-follow) for every
 * unresolved oplog gap — a gap is not healthy until a base backup newer than it exists — and
 * while the follower restarts after an error or waits for a base backup.
 */
export function assessStatus(status: DaemonStatus | undefined, now: Date = new Date()): Health {
  if (!status) return { healthy: false, level: "failing", problems: ["no status recorded: the daemon has not run with this state directory"] };
  const failing: string[] = [];
  if (status.lastRun && !status.lastRun.ok) {
    const failed = status.lastRun.stages.filter((s) => s.outcome === "failed").map((s) => `${s.stage}${s.message ? ` (${s.message})` : ""}`);
    failing.push(`last run ${status.lastRun.finishedAt} ${status.lastRun.interrupted ? "was interrupted" : "failed"}${failed.length ? `: ${failed.join("; ")}` : ""}`);
  }
  const since = status.lastSuccessAt ?? status.daemonStartedAt;
  const ageSeconds = (now.getTime() - Date.parse(since)) / 1000;
  if (ageSeconds > 2 * status.intervalSeconds) {
    failing.push(`${status.lastSuccessAt ? `last success ${status.lastSuccessAt}` : `no success since the daemon started ${status.daemonStartedAt}`} is older than twice the schedule interval (${Math.round((2 * status.intervalSeconds) / 60)} min)`);
  }
  const degraded: string[] = [];
  const f = status.oplog;
  if (f) {
    for (const g of f.gaps.filter(isUnresolved)) {
      degraded.push(`oplog gap: the entries after ${describeTime(g.from)} and before ${describeTime(g.to)} are lost; restores cannot reach times between them, and none after them until a base backup newer than the gap completes (${g.baseStartedAt ? `one started ${g.baseStartedAt}` : "none started yet"})`);
    }
    if (f.state === "restarting") degraded.push(`oplog follower failed${f.lastError ? ` ${f.lastError.at}: ${f.lastError.message}` : ""}; restarting (${f.restarts} restart${f.restarts === 1 ? "" : "s"} so far)`);
    if (f.state === "waiting-for-base") degraded.push(`oplog follower is waiting for a base backup with an oplog window in ${f.destination}${f.lastError ? ` (${f.lastError.message})` : ""}`);
  }
  const problems = [...failing, ...degraded];
  return { healthy: problems.length === 0, level: failing.length ? "failing" : degraded.length ? "degraded" : "healthy", problems };
}
