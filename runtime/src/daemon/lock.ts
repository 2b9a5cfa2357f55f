import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { BusyError } from "../errors.js";

/** What a lock file holds (JSON). `token` tells this holder's lock from a previous one with the same pid. */
export interface LockInfo {
  readonly pid: number;
  readonly hostname: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly token: string;
}

/** A held lock. */
export interface Lock {
  readonly path: string;
  readonly info: LockInfo;
  /** Removes the lock file if it is still ours (not taken over meanwhile). Idempotent; never throws for a missing file. */
  release(): Promise<void>;
}

/** Options of `acquireLock`. */
export interface LockOptions {
  /** A lock older than this is stale whatever its pid (a hung run). Default 12 hours. */
  readonly maxAgeMs?: number;
  /** Told when a stale lock is taken over, with the reason. */
  readonly warn?: (line: string) => void;
  readonly now?: () => Date;
}

/** Default maximum age of a lock: longer than any sane backup run. */
export const DEFAULT_LOCK_MAX_AGE_MS = 12 * 3_600_000;

/** Whether process `pid` exists on this host (EPERM means it exists but is someone else's). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reads a lock file; undefined when it is missing, null when it exists but is not a lock (torn write). */
export async function readLock(path: string): Promise<LockInfo | null | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === "number" && typeof v.hostname === "string" && typeof v.startedAt === "string" && typeof v.token === "string") return v as LockInfo;
  } catch {
    // fall through: a crash between create and write leaves an empty file
  }
  return null;
}

/** Why an existing lock is stale, or undefined when its holder may still be running. */
function staleReason(info: LockInfo | null, mtime: Date, now: Date, maxAgeMs: number): string | undefined {
  if (info === null) return now.getTime() - mtime.getTime() > 10_000 ? "it is unreadable and older than 10 s" : undefined;
  const started = Date.parse(info.startedAt);
  if (!Number.isFinite(started) || now.getTime() - started > maxAgeMs) return `it is older than ${Math.round(maxAgeMs / 60_000)} min (started ${info.startedAt})`;
  if (info.hostname !== hostname()) return undefined;
  // In a container the daemon is always pid 1, so a lock naming our own pid is a previous incarnation's.
  if (info.pid === process.pid) return `its pid ${info.pid} is this process, restarted`;
  if (!isProcessAlive(info.pid)) return `its process ${info.pid} is not running`;
  return undefined;
}

/**
 * Takes the lock file at `path` (created with O_EXCL, mode 0600, holding pid, hostname, start time
 * and a random token). An existing lock is taken over, with a warning, when it is stale: its
 * process is gone (same host), it is older than `maxAgeMs`, or it is unreadable and older than
 * 10 s. A lock held by a live run throws BusyError naming the holder. Creates the directory.
 */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Lock> {
  const now = opts.now ?? (() => new Date());
  const maxAgeMs = opts.maxAgeMs ?? DEFAULT_LOCK_MAX_AGE_MS;
  await mkdir(dirname(path), { recursive: true });
  const info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: now().toISOString(), token: randomBytes(8).toString("hex") };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await open(path, "wx", 0o600);
      try {
        await fh.writeFile(JSON.stringify(info) + "\n");
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { path, info, release: () => releaseIfOurs(path, info.token) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const held = await readLock(path);
    if (held === undefined) continue;
    const mtime = await stat(path).then((s) => s.mtime, () => now());
    const reason = staleReason(held, mtime, now(), maxAgeMs);
    if (reason === undefined) {
      const holder = held ? `pid ${held.pid} on ${held.hostname}, since ${held.startedAt}` : "being written just now";
      throw new BusyError(`another cloudsync run holds the lock ${path} (${holder}); wait for it to finish`);
    }
    opts.warn?.(`warning: taking over stale lock ${path}: ${reason}`);
    // Rename rather than delete, so two processes taking over at once cannot both remove a fresh lock: only one rename of the stale file succeeds.
    const aside = `${path}.stale-${info.token}`;
    try {
      await rename(path, aside);
      await rm(aside, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  throw new BusyError(`could not take the lock ${path}: other runs keep taking it`);
}

async function releaseIfOurs(path: string, token: string): Promise<void> {
  const held = await readLock(path);
  if (held && held.token === token) await rm(path, { force: true });
}
