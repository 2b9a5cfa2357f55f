import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ConfigError, LocalIOError, describeLocalIO } from "../errors.js";
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
  /** Why it is unhealthy (empty when healthy). */
  readonly problems: string[];
}

/**
 * Health of a daemon from its status: unhealthy when the last run failed, or when the last
 * success (or, before any, the daemon's start) is older than twice the schedule interval. A
 * daemon that has not run yet but started recently is healthy.
 */
export function assessStatus(status: DaemonStatus | undefined, now: Date = new Date()): Health {
  if (!status) return { healthy: false, problems: ["no status recorded: the daemon has not run with this state directory"] };
  const problems: string[] = [];
  if (status.lastRun && !status.lastRun.ok) {
    const failed = status.lastRun.stages.filter((s) => s.outcome === "failed").map((s) => `${s.stage}${s.message ? ` (${s.message})` : ""}`);
    problems.push(`last run ${status.lastRun.finishedAt} ${status.lastRun.interrupted ? "was interrupted" : "failed"}${failed.length ? `: ${failed.join("; ")}` : ""}`);
  }
  const since = status.lastSuccessAt ?? status.daemonStartedAt;
  const ageSeconds = (now.getTime() - Date.parse(since)) / 1000;
  if (ageSeconds > 2 * status.intervalSeconds) {
    problems.push(`${status.lastSuccessAt ? `last success ${status.lastSuccessAt}` : `no success since the daemon started ${status.daemonStartedAt}`} is older than twice the schedule interval (${Math.round((2 * status.intervalSeconds) / 60)} min)`);
  }
  return { healthy: problems.length === 0, problems };
}
