/**
 * `cloudsync standby`: keeps a standby MongoDB warm from a primary, in the best mode available —
 * following the change stream, or periodic full copies, or restoring the latest backup — and
 * reports its lag on every tick.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { MongoClient } from "mongodb";
import type { Destination } from "../destinations/destination.js";
import { ConfigError } from "../errors.js";
import { connectMongo } from "../mongo/connect.js";
import { createNamespaceFilter } from "../mongo/namespaces.js";
import type { DecryptionKeys } from "../pipeline/encryption.js";
import type { Secret } from "../secret.js";
import { changeStreamUnavailable, currentResumeToken, followChanges } from "./follow.js";
import { backupPass, fullCopyPass, standbyNamespaces, type PassResult } from "./passes.js";
import { loadState, saveState, type StandbyMode, type StandbyState, type StandbyStatus } from "./state.js";

/** Options of `runStandby`. */
export interface StandbyOptions {
  /** The primary; required unless `backups` is given. */
  readonly primary?: Secret;
  readonly standby: Secret;
  /** The state file (resume token, last status). */
  readonly statePath: string;
  /** Namespace patterns to mirror; none = every collection of the primary (needs listDatabases). */
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /** One pass (or drain the change stream until caught up) and return. */
  readonly once?: boolean;
  /** Time between passes, and between status reports in change-stream mode. Default 60 s. */
  readonly intervalMs?: number;
  /** Restore the latest backup from here instead of reading the primary. */
  readonly backups?: { readonly dest: Destination; readonly keys: DecryptionKeys };
  readonly signal?: AbortSignal;
  /** Called once with the mode chosen and why, before any work. */
  readonly onMode?: (mode: StandbyMode, reason: string) => void;
  /** Called after every tick with the status (also saved in the state file). */
  readonly onStatus?: (status: StandbyStatus) => void;
  readonly now?: () => Date;
}

/** What `runStandby` ended with. */
export interface StandbyRun {
  readonly mode: StandbyMode;
  readonly reason: string;
  readonly ticks: number;
  readonly last?: StandbyStatus;
}

/**
 * Runs the standby until `signal` aborts (then returns after the write in progress, with the
 * state saved) or, with `once`, after one pass. Throws ConfigError when neither `primary` nor
 * `backups` is given, RemoteError when a server fails, NotFoundError in backups mode when the
 * destination has no backup, IntegrityError when that backup fails its checks.
 */
export async function runStandby(opts: StandbyOptions): Promise<StandbyRun> {
  const now = opts.now ?? (() => new Date());
  const intervalMs = opts.intervalMs ?? 60_000;
  const include = opts.include ?? [];
  const exclude = opts.exclude ?? [];
  const filter = createNamespaceFilter(include, exclude);
  let state = await loadState(opts.statePath);
  const standby = await connectMongo(opts.standby);
  let primary: MongoClient | undefined;
  let ticks = 0;
  let last: StandbyStatus | undefined;
  try {
    let mode: StandbyMode;
    let reason: string;
    if (opts.backups) {
      mode = "backups";
      reason = `--from-backups: restoring the latest backup from ${opts.backups.dest.url} when a new one appears`;
    } else {
      if (!opts.primary) throw new ConfigError("--primary", "is required (or --from-backups <destination>)");
      primary = await connectMongo(opts.primary);
      const why = await changeStreamUnavailable(primary);
      mode = why ? "full-copy" : "change-stream";
      reason = why ? `${why}; falling back to a full copy of the included namespaces every ${intervalMs / 1000} s` : "the primary supports change streams: following them with a persisted resume token";
    }
    opts.onMode?.(mode, reason);

    const tick = async (applied: number, lagSeconds: number | undefined, namespaces: readonly string[], extra: Partial<StandbyState> = {}): Promise<void> => {
      ticks++;
      last = { mode, reason, at: now().toISOString(), ...(lagSeconds !== undefined ? { lagSeconds } : {}), applied, namespaces };
      state = { ...state, ...extra, last };
      await saveState(opts.statePath, state);
      opts.onStatus?.(last);
    };
    const lagOf = (readAt: Date): number => Math.max(0, Math.round((now().getTime() - readAt.getTime()) / 1000));
    const changes = (r: PassResult): number => r.namespaces.reduce((n, x) => n + x.written + x.deleted, 0);

    if (mode === "change-stream") {
      const p = primary as MongoClient;
      const namespaces = await standbyNamespaces(p, include, exclude);
      if (!state.resumeToken) {
        // Take the position first, then copy: changes made during the copy are replayed after
        // it, idempotently, so none is missed.
        const token = await currentResumeToken(p);
        const pass = await fullCopyPass(p, opts.primary as Secret, standby, opts.standby, namespaces, opts.signal);
        await tick(changes(pass), lagOf(pass.readAt), namespaces, { resumeToken: token });
      }
      let lastStatusAt = now().getTime();
      let pendingApplied = 0;
      let lag: number | undefined;
      await followChanges({
        primary: p,
        standby,
        standbyUri: opts.standby,
        filter,
        resumeToken: state.resumeToken!,
        untilCaughtUp: Boolean(opts.once),
        ...(opts.signal ? { signal: opts.signal } : {}),
        onBatch: async (token, applied, seconds) => {
          pendingApplied += applied;
          if (seconds !== undefined) lag = Math.max(0, Math.round(now().getTime() / 1000 - seconds));
          state = { ...state, resumeToken: token };
          await saveState(opts.statePath, state);
        },
        onIdle: async () => {
          if (now().getTime() - lastStatusAt < intervalMs) return;
          lastStatusAt = now().getTime();
          await tick(pendingApplied, 0, namespaces);
          pendingApplied = 0;
        },
      });
      // Caught up (or stopping): a caught-up stream has no lag; a stopped one reports the last event's.
      await tick(pendingApplied, opts.signal?.aborted ? lag : 0, namespaces);
      return { mode, reason, ticks, ...(last ? { last } : {}) };
    }

    for (;;) {
      if (opts.signal?.aborted) break;
      if (mode === "backups") {
        const b = opts.backups!;
        const pass = await backupPass(b.dest, b.keys, standby, opts.standby, { include, exclude, ...(state.backupId ? { lastBackupId: state.backupId } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
        // No new backup: nothing to write, but the standby keeps ageing.
        if (pass) await tick(changes(pass), lagOf(pass.readAt), pass.namespaces.map((n) => n.ns), { backupId: pass.backupId as string, readAt: pass.readAt.toISOString() });
        else await tick(0, state.readAt ? lagOf(new Date(state.readAt)) : undefined, state.last?.namespaces ?? []);
      } else {
        const p = primary as MongoClient;
        const namespaces = await standbyNamespaces(p, include, exclude);
        const pass = await fullCopyPass(p, opts.primary as Secret, standby, opts.standby, namespaces, opts.signal);
        await tick(changes(pass), lagOf(pass.readAt), namespaces, { readAt: pass.readAt.toISOString() });
      }
      if (opts.once) break;
      try {
        await sleep(intervalMs, undefined, opts.signal ? { signal: opts.signal } : {});
      } catch {
        break;
      }
    }
    return { mode, reason, ticks, ...(last ? { last } : {}) };
  } finally {
    await primary?.close().catch(() => undefined);
    await standby.close().catch(() => undefined);
  }
}
