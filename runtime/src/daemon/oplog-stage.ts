/**
 * The daemon's oplog-follow stage (`cloudsync daemon --oplog-follow`, issue 15 §1–2): the
 * follower of pipeline/oplog-follow.ts run continuously beside the schedule, in the daemon's
 * process, into the primary destination, with its state file in the daemon's state directory.
 * It holds only the follower's lock (`<state file>.lock`, taken by followOplog), never the
 * daemon's, so scheduled runs and the follower run at the same time. It starts once a base backup with an oplog window exists (asking
 * the daemon for one when there is none), restarts after an error with exponential backoff, and
 * stops when the signal fires: the slice in progress is then either stored whole with its
 * manifest or not at all (its entries are read again from the saved position next time). Every
 * gap it finds, or finds recorded in the destination's slices, makes it ask the daemon for a new
 * base backup at once; a gap is resolved once a base backup whose oplog end is at or after the
 * gap's end exists.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { CompressionChoice } from "../compression/kinds.js";
import type { Destination } from "../destinations/destination.js";
import { NotFoundError } from "../errors.js";
import { compareTimes, formatTime, type BackupManifest, type OplogTime } from "../manifest/manifest.js";
import { baseEndOf, chainOf, isoOf, listSlices } from "../manifest/slices.js";
import { listBackups } from "../manifest/store.js";
import type { EncryptionPlan } from "../pipeline/encryption.js";
import { followOplog, followStatePath, loadFollowState } from "../pipeline/oplog-follow.js";
import type { Secret } from "../secret.js";
import type { OplogFigures } from "./metrics.js";
import { isUnresolved, type OplogFollowerStatus, type OplogGapRecord } from "./status.js";

/** What a run the stage asked for achieved: the base backup it made, when it succeeded. */
export interface BaseRunResult {
  readonly ok: boolean;
  readonly manifest?: BackupManifest;
  /** Why it did not run or failed, for the log. */
  readonly why?: string;
}

/** Options of `startOplogStage`. */
export interface OplogStageOptions {
  readonly uri: Secret;
  readonly destination: Destination;
  readonly compression: CompressionChoice;
  readonly encryption: EncryptionPlan;
  readonly stateDir: string;
  readonly sliceMs: number;
  readonly sliceBytes: number;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  /**
   * Asks the daemon for a run now (its backups are made with --oplog), giving `reason`; calls
   * `onStarted` when the run starts, and resolves when it has finished (or could not run).
   */
  readonly requestBase: (reason: string, onStarted: (at: Date) => void) => Promise<BaseRunResult>;
  /** Told whenever the status changes; `urgent` is false for a lag update only (each entry read: save those sparingly). */
  readonly onChange: (urgent: boolean) => void;
  /** The follower status a previous daemon left in status.json: its gaps carry over. */
  readonly previous?: OplogFollowerStatus;
  /** Backoff after an error: the first delay, doubled after each failure up to `maxMs`. Default 1 s to 5 min. */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number };
  /** How long a poll or awaitData read waits, in ms (the follower's default when absent). */
  readonly waitMs?: number;
  readonly now?: () => Date;
}

/** A running oplog stage. */
export interface OplogStage {
  /** Resolves once the signal fired and the follower has stopped (never rejects). */
  readonly done: Promise<void>;
  status(): OplogFollowerStatus;
  figures(): OplogFigures;
  /** A run completed with this backup: gaps its oplog end covers are resolved. */
  noteBase(manifest: BackupManifest): void;
}

/** Resolved gaps kept in the status besides every unresolved one. */
const RESOLVED_KEPT = 10;

const sameGap = (a: { from: OplogTime; to: OplogTime }, b: { from: OplogTime; to: OplogTime }): boolean => compareTimes(a.from, b.from) === 0 && compareTimes(a.to, b.to) === 0;

/**
 * `gaps` with each unresolved one that a base in `bases` covers (oplog end at or after the gap's
 * `to`) marked resolved by the oldest such base. Pure.
 */
export function resolveGaps(gaps: readonly OplogGapRecord[], bases: readonly BackupManifest[]): OplogGapRecord[] {
  const ends = bases.flatMap((m) => {
    const end = baseEndOf(m);
    return end ? [{ m, end }] : [];
  });
  ends.sort((a, b) => compareTimes(a.end, b.end));
  return gaps.map((g) => {
    if (!isUnresolved(g)) return g;
    const by = ends.find((e) => compareTimes(e.end, g.to) >= 0);
    return by ? { ...g, resolvedBy: by.m.id, resolvedAt: by.m.completedAt } : g;
  });
}

/** Starts the stage; see the module comment. */
export function startOplogStage(o: OplogStageOptions): OplogStage {
  const now = o.now ?? (() => new Date());
  const backoff = o.backoff ?? { firstMs: 1000, maxMs: 5 * 60_000 };
  const dest = o.destination;
  const statePath = followStatePath(o.stateDir, dest.url);
  let state: OplogFollowerStatus["state"] = "starting";
  let mode: OplogFollowerStatus["mode"];
  let position: OplogTime | undefined;
  let newestRead: OplogTime | undefined;
  let lastSlice: OplogFollowerStatus["lastSlice"];
  let slices = 0;
  let restarts = 0;
  let gapsFound = 0;
  let lastError: OplogFollowerStatus["lastError"];
  let gaps: OplogGapRecord[] = [...(o.previous?.destination === dest.url ? o.previous.gaps : [])];
  const ensuring = new Set<string>();

  const lag = (): number => (position && newestRead ? Math.max(0, newestRead.t - position.t) : 0);
  const status = (): OplogFollowerStatus => ({
    state,
    destination: dest.url,
    statePath,
    ...(mode ? { mode } : {}),
    ...(position ? { position, newestCapturedAt: isoOf(position) } : {}),
    lagSeconds: lag(),
    ...(lastSlice ? { lastSlice } : {}),
    slices,
    restarts,
    ...(lastError ? { lastError } : {}),
    updatedAt: now().toISOString(),
    gaps: [...gaps.filter(isUnresolved), ...gaps.filter((g) => !isUnresolved(g)).slice(-RESOLVED_KEPT)],
  });
  const figures = (): OplogFigures => ({
    up: state === "following",
    ...(position ? { lastCaptureSeconds: position.t } : {}),
    lagSeconds: lag(),
    slices,
    gapsFound,
    unresolvedGaps: gaps.filter(isUnresolved).length,
    restarts,
  });
  const changed = (urgent = true): void => {
    o.onChange(urgent);
  };

  /** Adds a gap unless known; returns the record kept. */
  const addGap = (g: OplogGapRecord): OplogGapRecord => {
    const i = gaps.findIndex((k) => sameGap(k, g));
    if (i < 0) {
      gaps.push(g);
      return g;
    }
    gaps[i] = { ...g, ...gaps[i]!, ...(g.slice && !gaps[i]!.slice ? { slice: g.slice } : {}) };
    return gaps[i]!;
  };
  const update = (g: { from: OplogTime; to: OplogTime }, patch: Partial<OplogGapRecord>): void => {
    gaps = gaps.map((k) => (sameGap(k, g) ? { ...k, ...patch } : k));
  };
  const unresolved = (g: { from: OplogTime; to: OplogTime }): boolean => gaps.some((k) => sameGap(k, g) && isUnresolved(k));

  /** Asks for base backups until one covers `gap` (backoff between attempts), or the signal fires. */
  const ensureBase = async (gap: { from: OplogTime; to: OplogTime }): Promise<void> => {
    const key = `${formatTime(gap.from)}-${formatTime(gap.to)}`;
    if (ensuring.has(key)) return;
    ensuring.add(key);
    try {
      let delay = backoff.firstMs;
      while (!o.signal.aborted && unresolved(gap)) {
        const reason = `oplog gap after ${formatTime(gap.from)}: a new base backup (--oplog) so point-in-time restores resume`;
        o.log(`starting a new base backup at once: ${reason}`);
        const r = await o.requestBase(reason, (at) => {
          update(gap, { baseStartedAt: at.toISOString() });
          changed();
        });
        if (r.manifest) noteBase(r.manifest);
        if (!unresolved(gap) || o.signal.aborted) return;
        const why = r.ok && r.manifest ? `base backup ${r.manifest.id} has no oplog end at or after ${formatTime(gap.to)}` : (r.why ?? "the run failed");
        o.log(`the base backup after the oplog gap did not resolve it (${why}); trying again in ${delay / 1000} s`);
        if (!(await pause(delay))) return;
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    } finally {
      ensuring.delete(key);
    }
  };
  const pause = async (ms: number): Promise<boolean> => {
    try {
      await sleep(ms, undefined, { signal: o.signal });
      return true;
    } catch {
      return false;
    }
  };
  const noteBase = (m: BackupManifest): void => {
    const before = gaps.filter(isUnresolved).length;
    gaps = resolveGaps(gaps, [m]);
    const resolved = before - gaps.filter(isUnresolved).length;
    if (resolved > 0) {
      o.log(`base backup ${m.id} resolves ${resolved} oplog gap${resolved === 1 ? "" : "s"}: point-in-time restores resume from its oplog end`);
      changed();
    }
  };

  /** Gaps already recorded in the destination (slices, the state file's pending one), resolved against its base backups. */
  const loadGaps = async (): Promise<void> => {
    const recorded = chainOf(await listSlices(dest)).gaps.map((g): OplogGapRecord => ({ from: g.from, to: g.to, slice: g.slice }));
    const pending = (await loadFollowState(statePath, dest.url).catch(() => undefined))?.gap;
    for (const g of [...recorded, ...(pending ? [pending] : [])]) addGap(g);
    if (gaps.some(isUnresolved)) gaps = resolveGaps(gaps, (await listBackups(dest)).map((b) => b.manifest));
  };

  const follow = async (): Promise<boolean> => {
    let stored = false;
    const startedAt = now().getTime();
    try {
      await loadGaps();
      for (const g of gaps.filter(isUnresolved)) void ensureBase(g);
      await followOplog({
        uri: o.uri,
        destination: dest,
        compression: o.compression,
        encryption: o.encryption,
        statePath,
        sliceMs: o.sliceMs,
        sliceBytes: o.sliceBytes,
        signal: o.signal,
        ...(o.waitMs ? { waitMs: o.waitMs } : {}),
        log: (line) => o.log(`oplog: ${line}`),
        observer: {
          onStart: (s) => {
            state = "following";
            position = s.position;
            newestRead = s.position;
            lastError = undefined;
            changed();
          },
          onMode: (m) => {
            mode = m;
            changed();
          },
          onRead: (ts) => {
            newestRead = ts;
            changed(false);
          },
          onGap: (g) => {
            gapsFound++;
            addGap({ from: g.from, to: g.to, foundAt: now().toISOString() });
            changed();
            void ensureBase(g);
          },
          onSlice: (m) => {
            stored = true;
            slices++;
            position = m.oplog.last;
            lastSlice = { id: m.id, storedAt: now().toISOString(), entries: m.oplog.entries, first: m.oplog.first, last: m.oplog.last };
            if (m.oplog.gap) addGap({ ...m.oplog.gap, slice: m.id });
            changed();
          },
        },
      });
      return true;
    } catch (err) {
      if (o.signal.aborted) return true;
      const message = (err as Error).message;
      lastError = { at: now().toISOString(), message };
      if (err instanceof NotFoundError) {
        state = "waiting-for-base";
        changed();
        o.log(`oplog follower: ${message}; starting a base backup (--oplog) now`);
        const r = await o.requestBase(`no base backup with an oplog window in ${dest.url}: the oplog follower starts after one`, () => undefined);
        if (r.manifest) noteBase(r.manifest);
        if (r.ok && r.manifest && baseEndOf(r.manifest)) return true;
        // Backoff, not an immediate retry: a server without an oplog would otherwise get a backup a second.
        o.log(`oplog follower: ${r.ok && r.manifest ? `base backup ${r.manifest.id} has no oplog window (is ${dest.url}'s source a replica set member?)` : `the base backup did not complete (${r.why ?? "the run failed"})`}`);
      } else {
        restarts++;
        state = "restarting";
        changed();
      }
      // A follower that stored something or ran a while was healthy: start the backoff over.
      return stored || now().getTime() - startedAt > backoff.maxMs;
    }
  };

  const loop = async (): Promise<void> => {
    let delay = backoff.firstMs;
    while (!o.signal.aborted) {
      const fresh = await follow();
      if (o.signal.aborted) break;
      if (fresh) delay = backoff.firstMs;
      o.log(`oplog follower: ${state === "restarting" ? `failed (${lastError?.message ?? "unknown error"}); restarting` : "trying again"} in ${delay / 1000} s`);
      if (!(await pause(delay))) break;
      delay = Math.min(delay * 2, backoff.maxMs);
    }
    state = "stopped";
    changed();
  };

  const done = loop().catch((err: unknown) => {
    o.log(`oplog follower stopped on an unexpected error: ${(err as Error).message}`);
  });
  return { done, status, figures, noteBase };
}
