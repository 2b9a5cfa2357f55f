/**
 * `cloudsync oplog follow` (issue 15 §1–2): continuous capture of the oplog into slices. Each
 * slice is a mongodump archive holding only `.oplog`, sealed and stored by the backup pipeline
 * (compress → encrypt → SHA-256 → store → confirm → manifest last) under `oplog/`, and the
 * position is saved atomically after each stored slice. The destination is the record: on start
 * the follower resumes after the newest slice that continues its state file's position, so a
 * `kill -9` at any moment (before the object, between object and manifest, between manifest and
 * state) loses no entry and stores none twice.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeArchive } from "../archive/writer.js";
import type { CompressionChoice } from "../compression/kinds.js";
import { MINUTE, parseDuration } from "../config/duration.js";
import { parseSize } from "../config/size.js";
import { acquireLock } from "../daemon/lock.js";
import { writeFileAtomic } from "../daemon/status.js";
import type { Destination } from "../destinations/destination.js";
import { ConfigError, NotFoundError, describeLocalIO } from "../errors.js";
import { compareTimes, formatTime, type OplogSliceInfo, type OplogTime } from "../manifest/manifest.js";
import { baseEndOf, listSlices, type SliceManifest } from "../manifest/slices.js";
import { listBackups } from "../manifest/store.js";
import { connectMongo, mongoError } from "../mongo/connect.js";
import { describeServer } from "../mongo/consistency.js";
import { oplogBounds, readOplog } from "../mongo/oplog-tail.js";
import { redactUri, type Secret } from "../secret.js";
import { VERSION } from "../version.js";
import { runBackupPipeline } from "./backup.js";
import type { EncryptionPlan } from "./encryption.js";

/** The follower's saved position. */
export interface FollowState {
  readonly format: 1;
  /** The destination the slices go to; a state file belongs to one. */
  readonly destination: string;
  /** The newest stored entry's `ts` (or the base's oplog end before the first slice). */
  readonly position: OplogTime;
  readonly lastSlice: string | null;
  readonly base: string;
  /** A gap found and not yet recorded in a stored slice. */
  readonly gap?: { readonly from: OplogTime; readonly to: OplogTime };
}

/** Options of `followOplog`. */
export interface FollowOptions {
  readonly uri: Secret;
  readonly destination: Destination;
  readonly compression: CompressionChoice;
  readonly encryption: EncryptionPlan;
  readonly statePath: string;
  /** A slice is cut this long after its first entry arrived (checked as entries come and when idle). */
  readonly sliceMs: number;
  /** …or once its entries reach this many bytes. */
  readonly sliceBytes: number;
  /** Capture what the oplog holds now, store it and return (instead of following forever). */
  readonly once?: boolean;
  /** How long a poll or awaitData read waits, in ms (default 1000). */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
  /** A line for the log: where it starts, how it reads, gaps, each stored slice. */
  readonly log: (line: string) => void;
  /** Told what happens, for a supervisor's status and metrics (the daemon's oplog stage). */
  readonly observer?: FollowObserver;
}

/**
 * What a follower tells its supervisor, as it happens. Each callback runs synchronously in the
 * follower and must not throw; state it is told about is already saved (position, gap).
 */
export interface FollowObserver {
  /** Capture starts after `position` (the resume point). */
  onStart?(start: { readonly position: OplogTime; readonly lastSlice: string | null; readonly base: string }): void;
  /** How the oplog is read, once it is known. */
  onMode?(mode: "tailable" | "polling"): void;
  /** An entry was read (not yet stored): the newest `ts` seen, for the lag. */
  onRead?(ts: OplogTime): void;
  /** A gap was found and saved in the state file (and will be recorded in the next slice). */
  onGap?(gap: { readonly from: OplogTime; readonly to: OplogTime }): void;
  /** A slice was stored, its manifest written and the position saved. */
  onSlice?(slice: SliceManifest): void;
}

/**
 * The slice limits from `--slice` (a duration up to 24 h, default 5m) and `--slice-size` (1KiB
 * to 1GiB, default 16MiB), as `oplog follow` and `daemon --oplog-follow` take them. Throws
 * ConfigError naming the flag.
 */
export function sliceLimitsOf(slice: string | undefined, sliceSize: string | undefined): { sliceMs: number; sliceBytes: number } {
  const sliceMs = parseDuration(slice ?? "5m", { name: "--slice", max: 24 * 60 * MINUTE });
  const sliceBytes = parseSize(sliceSize ?? "16MiB", "--slice-size");
  if (sliceBytes < 1024 || sliceBytes > 1024 ** 3) throw new ConfigError("--slice-size", `must be from 1KiB to 1GiB, got "${sliceSize ?? ""}"`);
  return { sliceMs, sliceBytes };
}

/**
 * The default state file of a follower into `destinationUrl`: `<stateDir>/oplog-<12 hex of the
 * URL's SHA-256>.json`, so `cloudsync oplog follow` and `cloudsync daemon --oplog-follow` with the
 * same state directory and destination share one position.
 */
export function followStatePath(stateDir: string, destinationUrl: string): string {
  return join(stateDir, `oplog-${createHash("sha256").update(destinationUrl).digest("hex").slice(0, 12)}.json`);
}

/** What a follower run did. */
export interface FollowResult {
  readonly slices: SliceManifest[];
  readonly gaps: Array<{ from: OplogTime; to: OplogTime }>;
  readonly position: OplogTime;
  readonly mode?: "tailable" | "polling";
}

/** Reads a state file; undefined when there is none. Throws ConfigError (`--state`) for a foreign or damaged one. */
export async function loadFollowState(path: string, destination: string): Promise<FollowState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw describeLocalIO(err, `read ${path}`);
  }
  let state: FollowState;
  try {
    state = JSON.parse(text) as FollowState;
  } catch (err) {
    throw new ConfigError("--state", `${path} is not an oplog follower state file (${(err as Error).message}); move it away to resume from the destination's newest slice`);
  }
  if (state?.format !== 1 || !state.position || typeof state.base !== "string") throw new ConfigError("--state", `${path} is not a format 1 oplog follower state file; move it away to resume from the destination's newest slice`);
  if (state.destination !== destination) throw new ConfigError("--state", `${path} follows the oplog into ${state.destination}, not ${destination}; give each destination its own --state`);
  return state;
}

/**
 * Where capture resumes: after the newest slice that continues the state's position (walking the
 * `previous` links the state may not have seen: killed after a manifest, before the state), else
 * after the destination's newest slice, else at the newest base backup's oplog end. Throws
 * NotFoundError when there is no base backup with an oplog window (a point-in-time restore needs
 * one to start from).
 */
export async function resumePoint(dest: Destination, state: FollowState | undefined): Promise<{ position: OplogTime; lastSlice: string | null; base: string; from: string }> {
  const slices = await listSlices(dest);
  if (state) {
    let at = { position: state.position, lastSlice: state.lastSlice, base: state.base, from: state.lastSlice ? `slice ${state.lastSlice} (state file)` : `base backup ${state.base} (state file)` };
    for (;;) {
      const next = slices.find((s) => s.oplog.previous === at.lastSlice && compareTimes(s.oplog.after, at.position) === 0 && s.id !== at.lastSlice);
      if (!next) return at;
      at = { position: next.oplog.last, lastSlice: next.id, base: next.oplog.base, from: `slice ${next.id} (stored after the state file was written)` };
    }
  }
  const tip = slices.at(-1);
  if (tip) return { position: tip.oplog.last, lastSlice: tip.id, base: tip.oplog.base, from: `slice ${tip.id}, the newest in ${dest.url}` };
  const base = (await listBackups(dest)).find((b) => baseEndOf(b.manifest));
  if (!base) throw new NotFoundError(`no base backup with an oplog window in ${dest.url}: make one with \`cloudsync backup --oplog --to ${dest.url}\` first; a point-in-time restore starts from one`);
  return { position: baseEndOf(base.manifest)!, lastSlice: null, base: base.manifest.id, from: `base backup ${base.manifest.id}` };
}

/**
 * Follows the oplog at `uri` into slices in `destination` until the signal fires (or, with
 * `once`, until it has stored what the oplog held at the start). Entries read but not yet stored
 * when it stops are not lost: the next run reads them again from the saved position. Holds the
 * lock `<statePath>.lock` while it runs, so two followers of one state file (`oplog follow` by
 * hand beside `daemon --oplog-follow`) cannot both store a slice after the same position: the
 * second throws BusyError (a lock whose process is gone is taken over). Throws RemoteError when
 * the server or the destination fails, NotFoundError as `resumePoint` does.
 */
export async function followOplog(opts: FollowOptions): Promise<FollowResult> {
  // Never stale by age: a follower runs for months; a dead holder is detected by its pid.
  const lock = await acquireLock(`${opts.statePath}.lock`, { maxAgeMs: Number.POSITIVE_INFINITY, warn: opts.log });
  try {
    return await followLocked(opts);
  } finally {
    await lock.release();
  }
}

async function followLocked(opts: FollowOptions): Promise<FollowResult> {
  const dest = opts.destination;
  const state = await loadFollowState(opts.statePath, dest.url);
  const start = await resumePoint(dest, state);
  let position = start.position;
  let lastSlice = start.lastSlice;
  const base = start.base;
  let pendingGap = state?.gap;
  const description = redactUri(opts.uri.reveal());
  const stored: SliceManifest[] = [];
  const gaps: Array<{ from: OplogTime; to: OplogTime }> = [];
  let mode: "tailable" | "polling" | undefined;
  const observer = opts.observer ?? {};

  const client = await connectMongo(opts.uri);
  try {
    const server = await describeServer(client).catch((err: unknown) => {
      throw mongoError(err, `mongodb hello ${description}`, opts.uri);
    });
    const until = opts.once ? (await oplogBounds(client))?.newest ?? position : undefined;
    opts.log(`following the oplog of ${description} into ${dest.url} after ${formatTime(position)}, from ${start.from}`);
    observer.onStart?.({ position, lastSlice, base });
    const save = (): Promise<void> =>
      writeFileAtomic(opts.statePath, JSON.stringify({ format: 1, destination: dest.url, position, lastSlice, base, ...(pendingGap ? { gap: pendingGap } : {}) } satisfies FollowState, null, 2) + "\n");

    let buffer: Uint8Array[] = [];
    let bytes = 0;
    let first: OplogTime | undefined;
    let last: OplogTime | undefined;
    let opened = 0;
    const cut = async (): Promise<void> => {
      if (!first || !last) return;
      const slice: OplogSliceInfo = { after: position, first, last, entries: buffer.length, previous: lastSlice, base, ...(pendingGap ? { gap: pendingGap } : {}) };
      const docs = buffer;
      const result = await runBackupPipeline({
        source: writeArchive({ header: { version: "0.1", serverVersion: server.version, toolVersion: `cloudsync ${VERSION}` }, namespaces: [{ meta: { db: "", collection: "oplog", metadata: "", size: 0 }, documents: docs }] }),
        sourceInfo: { kind: "mongodb", description },
        consistency: () => ({ mode: "oplog-window", detail: { oplogWindow: { start: first!, end: last! } } }),
        destination: dest,
        compression: opts.compression,
        encryption: opts.encryption,
        slice,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      position = last;
      lastSlice = result.manifest.id;
      pendingGap = undefined;
      await save();
      stored.push(result.manifest as SliceManifest);
      observer.onSlice?.(result.manifest as SliceManifest);
      opts.log(`stored slice ${result.manifest.id}: ${slice.entries} entries, ${formatTime(first)} to ${formatTime(last)} (${result.manifest.object.size} bytes)`);
      buffer = [];
      bytes = 0;
      first = last = undefined;
    };

    for await (const ev of readOplog(client, { after: position, until: () => until, ...(opts.waitMs ? { waitMs: opts.waitMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}), onMode: (m, why) => {
      mode = m;
      opts.log(why);
      observer.onMode?.(m);
    } })) {
      if (ev.kind === "gap") {
        pendingGap = { from: ev.from, to: ev.to };
        gaps.push(pendingGap);
        opts.log(`gap: the oplog no longer holds the entries after ${formatTime(ev.from)} (its oldest entry is ${formatTime(ev.to)}); they are lost, restores cannot reach times between them, take a new base backup (\`cloudsync backup --oplog\`)`);
        await save();
        observer.onGap?.(pendingGap);
        continue;
      }
      if (ev.kind === "entry") {
        if (!first) {
          first = ev.ts;
          opened = Date.now();
        }
        last = ev.ts;
        observer.onRead?.(ev.ts);
        buffer.push(ev.raw);
        bytes += ev.raw.byteLength;
        if (bytes >= opts.sliceBytes) await cut();
      }
      if (first && Date.now() - opened >= opts.sliceMs) await cut();
    }
    await cut();
    return { slices: stored, gaps, position, ...(mode ? { mode } : {}) };
  } finally {
    await client.close().catch(() => undefined);
  }
}
