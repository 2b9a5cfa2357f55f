/**
 * Point-in-time restore (issue 15 §3): the newest base backup whose oplog end is at or before the
 * time and whose chain of slices reaches it, restored as any backup is, then its own oplog
 * entries and the slices' entries replayed up to and including the time (`ts` compared exactly).
 */
import type { Document } from "mongodb";
import type { ArchiveEvent } from "../archive/types.js";
import type { Destination } from "../destinations/destination.js";
import { ConfigError, IntegrityError, NotFoundError } from "../errors.js";
import { compareTimes, formatTime, type BackupManifest, type OplogTime } from "../manifest/manifest.js";
import { chainOf, isoOf, listSlices, restorableWindows, type Gap, type RestorableWindow, type SliceManifest } from "../manifest/slices.js";
import { listBackups } from "../manifest/store.js";
import { connectMongo } from "../mongo/connect.js";
import type { RenameRule } from "../mongo/namespaces.js";
import { createOplogApplier, decodeEntry, type OplogApplyReport } from "../mongo/oplog-apply.js";
import { rawTime } from "../mongo/oplog-tail.js";
import { restoreToMongo, type RestoreReport } from "../mongo/restore.js";
import type { Secret } from "../secret.js";
import type { DecryptionKeys } from "./encryption.js";
import { fetchVerified } from "./fetch.js";
import type { ArtifactLayers } from "./decode.js";
import { openManifest, restoreManifestToDirectory, type NamespaceCheck } from "./restore.js";

/** The archive namespace of the oplog (mongodump's `oplog.bson`). */
const OPLOG_NS = ".oplog";

/** What a restore to `target` will use. */
export interface PitrPlan {
  readonly target: OplogTime;
  readonly base: BackupManifest;
  /** The base's oplog end: its data plus its own oplog entries are the database at this time. */
  readonly baseEnd: OplogTime;
  /** Entries of the base's own `.oplog` namespace (all at or before `baseEnd`). */
  readonly baseEntries: number;
  /** Slices replayed after the base's oplog, in chain order. */
  readonly slices: readonly SliceManifest[];
  readonly windows: readonly RestorableWindow[];
  readonly gaps: readonly Gap[];
}

/** `t,i (ISO second)`, for messages. */
function describeTime(ts: OplogTime): string {
  return `${formatTime(ts)} (${isoOf(ts)})`;
}

/**
 * Plans a restore to `target` from what `dest` holds. Throws NotFoundError when there is no base
 * backup with an oplog window, and ConfigError (`--to-time`) when the time falls inside a gap,
 * before every base's oplog end, or after the newest captured entry, naming the nearest
 * restorable times on either side.
 */
export async function planPointInTime(dest: Destination, target: OplogTime): Promise<PitrPlan> {
  const bases = await listBackups(dest);
  const { segments, gaps } = chainOf(await listSlices(dest));
  const windows = restorableWindows(bases, segments);
  if (windows.length === 0) throw new NotFoundError(`no base backup with an oplog window in ${dest.url}: make one with \`cloudsync backup --oplog\`, then capture with \`cloudsync oplog follow\``);
  const window = windows.find((w) => compareTimes(w.from, target) <= 0 && compareTimes(target, w.to) <= 0);
  if (!window) {
    const earlier = windows.filter((w) => compareTimes(w.to, target) < 0).sort((a, b) => compareTimes(b.to, a.to))[0];
    const later = windows.filter((w) => compareTimes(w.from, target) > 0).sort((a, b) => compareTimes(a.from, b.from))[0];
    const gap = gaps.find((g) => compareTimes(g.from, target) < 0 && compareTimes(target, g.to) < 0);
    const why = gap
      ? `falls in a gap of the captured oplog: the entries after ${describeTime(gap.from)} and before ${describeTime(gap.to)} were lost (slice ${gap.slice})`
      : later && !earlier
        ? "is before the oplog end of every base backup"
        : "is after the newest captured oplog entry (or no chain of slices reaches it)";
    const nearest = [earlier ? `${describeTime(earlier.to)} (the latest before it, from base ${earlier.base})` : undefined, later ? `${describeTime(later.from)} (the earliest after it, base ${later.base})` : undefined].filter(Boolean).join(" and ");
    throw new ConfigError("--to-time", `${describeTime(target)} ${why}; the nearest restorable times are ${nearest}; \`cloudsync list --json\` shows every window`);
  }
  const base = bases.find((b) => b.manifest.id === window.base)!.manifest;
  const slices = (window.segment?.slices ?? []).filter((s) => compareTimes(s.oplog.last, window.from) > 0 && compareTimes(s.oplog.first, target) <= 0);
  const baseEntries = base.namespaces.find((n) => n.ns === OPLOG_NS)?.documents ?? 0;
  return { target, base, baseEnd: window.from, baseEntries, slices, windows, gaps };
}

/** Options of `restoreToTime`. */
export interface PitrOptions {
  readonly uri: Secret;
  readonly include?: readonly string[];
  readonly rename?: readonly RenameRule[];
  readonly drop?: boolean;
  readonly signal?: AbortSignal;
}

/** What a point-in-time restore did. */
export interface PitrReport {
  readonly restore: RestoreReport;
  readonly replay: OplogApplyReport;
  /**
   * Top-level entries of the replay's window handed to the applier: the base's own, then the
   * slices' after the base's end up to and including the target. Each was applied or counted under
   * a reason in `replay`; one the applier could not apply stopped the restore with an error.
   */
  readonly entries: number;
  readonly ok: boolean;
}

/**
 * Carries out `plan` into the server at `uri`: restores the base (as `restore` does, its `.oplog`
 * kept aside in memory), replays the base's entries, then each slice's entries after the base's
 * end up to and including the target. Every slice is confirmed (size, SHA-256) before it is
 * read, and its CRC and entry count are checked against its manifest (IntegrityError otherwise).
 * Throws OplogApplyError for an entry the replay cannot apply.
 */
export async function restoreToTime(dest: Destination, plan: PitrPlan, keys: DecryptionKeys, opts: PitrOptions): Promise<PitrReport> {
  const baseOplog: Uint8Array[] = [];
  const opened = await openManifest(dest, plan.base, keys, opts.signal ? { signal: opts.signal } : {});
  let restore: RestoreReport;
  try {
    async function* keepOplog(): AsyncGenerator<ArchiveEvent> {
      for await (const ev of opened.events) {
        if (ev.kind === "documents" && ev.ns === OPLOG_NS) for (const d of ev.docs) baseOplog.push(Buffer.from(d));
        yield ev;
      }
    }
    restore = await restoreToMongo(keepOplog(), {
      uri: opts.uri,
      ...(opts.include ? { include: opts.include } : {}),
      ...(opts.rename ? { rename: opts.rename } : {}),
      drop: Boolean(opts.drop),
      expected: new Map(plan.base.namespaces.map((n) => [n.ns, n.documents])),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } finally {
    await opened.cleanup();
  }
  const client = await connectMongo(opts.uri);
  try {
    const applier = createOplogApplier(client, { ...(opts.include ? { include: opts.include } : {}), ...(opts.rename ? { rename: opts.rename } : {}), limit: plan.target });
    for (const raw of baseOplog) await applier.apply(decodeEntry(raw));
    let alreadyInBase = 0;
    let entries = baseOplog.length;
    for await (const raw of sliceEntries(dest, plan.slices, keys, opts.signal)) {
      opts.signal?.throwIfAborted();
      if (compareTimes(rawTime(raw), plan.baseEnd) <= 0) {
        alreadyInBase++;
        continue;
      }
      if (replayed(plan, raw)) entries++;
      await applier.apply(decodeEntry(raw));
    }
    const replay = applier.finish();
    replay.before += alreadyInBase;
    return { restore, replay, entries, ok: restore.ok };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * Counts the entries a restore to `plan.target` would replay (after the base's end, at or before
 * the target), reading every slice as the restore would: size, SHA-256, decryption, CRC, counts.
 */
export async function countReplay(dest: Destination, plan: PitrPlan, keys: DecryptionKeys, signal?: AbortSignal): Promise<number> {
  let n = 0;
  for await (const raw of sliceEntries(dest, plan.slices, keys, signal)) if (replayed(plan, raw)) n++;
  return n;
}

/** Whether a slice entry belongs to the replay of `plan`: after the base's end, at or before the target. */
function replayed(plan: PitrPlan, raw: Uint8Array): boolean {
  const ts = rawTime(raw);
  return compareTimes(ts, plan.baseEnd) > 0 && compareTimes(ts, plan.target) <= 0;
}

/**
 * Every entry of `slices`, in order, as raw BSON. Each slice is fetched and confirmed against its
 * manifest first; its `.oplog` CRC and its entry count must match the manifest, or this throws
 * IntegrityError naming the slice (after the entries read so far were yielded: a consumer that
 * publishes anything must do so only once the iteration ended). Stopping the iteration early
 * removes the downloaded copy.
 */
export async function* sliceEntries(dest: Destination, slices: readonly SliceManifest[], keys: DecryptionKeys, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  for (const slice of slices) {
    const opened = await openManifest(dest, slice, keys, signal ? { signal } : {});
    try {
      let seen = 0;
      let ended = false;
      for await (const ev of opened.events) {
        if (ev.kind === "documents") {
          if (ev.ns !== OPLOG_NS) throw new IntegrityError(`oplog slice ${slice.id}: holds namespace ${ev.ns}; a slice holds only .oplog`);
          for (const d of ev.docs) {
            seen++;
            yield d;
          }
        } else if (ev.kind === "eof") {
          if (!ev.crcOk) throw new IntegrityError(`oplog slice ${slice.id}: the CRC-64 of its entries does not match its EOF header; the slice is damaged`);
          ended = true;
        }
      }
      if (!ended || seen !== slice.oplog.entries) throw new IntegrityError(`oplog slice ${slice.id}: holds ${seen} entries${ended ? "" : " and no EOF header"}, its manifest says ${slice.oplog.entries}`);
    } finally {
      await opened.cleanup();
    }
  }
}

/** Entries per `documents` event when the slices' entries are appended to the base's `.oplog`. */
const APPEND_BATCH = 1000;

/** The oplog time just after `ts`: what `mongorestore --oplogLimit` (exclusive) needs to stop after `ts`. */
function timeAfter(ts: OplogTime): OplogTime {
  return ts.i < 0xffffffff ? { t: ts.t, i: ts.i + 1 } : { t: ts.t + 1, i: 0 };
}

/** `--oplogLimit` of mongorestore that stops right after `ts` (`<seconds>:<ordinal>`, exclusive). */
export function oplogLimitAfter(ts: OplogTime): string {
  const next = timeAfter(ts);
  return `${next.t}:${next.i}`;
}

/** What `restoreToTimeDirectory` wrote. */
export interface PitrDirectoryReport {
  readonly dir: string;
  /** The base's namespaces, compared with its manifest (all ok, or the call threw). */
  readonly checks: NamespaceCheck[];
  readonly layers: ArtifactLayers;
  /** `oplog.bson`: the base's own entries, then the slices' entries after the base's end up to and including the target. */
  readonly oplog: { readonly baseEntries: number; readonly sliceEntries: number; readonly entries: number; readonly newest: OplogTime | null };
}

/**
 * Carries out `plan` into the mongodump directory `dir`, laid out as `mongodump --oplog` lays
 * out a dump: the base's collections as `restoreToDirectory` writes them, and `oplog.bson` at the
 * top holding the base's own `.oplog` entries followed by every slice entry after the base's end
 * up to and including the target (`ts` compared exactly), so that a plain
 * `mongorestore --oplogReplay <dir>` gives the database at the target. The directory appears whole
 * or not at all (built beside it, renamed at the end): a damaged base or slice (IntegrityError),
 * a wrong key, a full disk or `signal` leave nothing behind. ConfigError (field "dir") when `dir`
 * exists and is not empty.
 */
export async function restoreToTimeDirectory(dest: Destination, plan: PitrPlan, dir: string, keys: DecryptionKeys, opts: { signal?: AbortSignal; onDownload?: (bytes: number, total: number) => void } = {}): Promise<PitrDirectoryReport> {
  let baseEntries = 0;
  let appended = 0;
  let newest: OplogTime | null = null;
  async function* batches(): AsyncGenerator<ArchiveEvent> {
    let docs: Buffer[] = [];
    for await (const raw of sliceEntries(dest, plan.slices, keys, opts.signal)) {
      if (!replayed(plan, raw)) continue;
      newest = rawTime(raw);
      docs.push(raw);
      if (docs.length >= APPEND_BATCH) {
        appended += docs.length;
        yield { kind: "documents", ns: OPLOG_NS, docs };
        docs = [];
      }
    }
    appended += docs.length;
    if (docs.length) yield { kind: "documents", ns: OPLOG_NS, docs };
  }
  async function* appendOplog(events: AsyncIterable<ArchiveEvent>): AsyncGenerator<ArchiveEvent> {
    let done = false;
    for await (const ev of events) {
      if (ev.kind === "documents" && ev.ns === OPLOG_NS) {
        baseEntries += ev.docs.length;
        if (ev.docs.length) newest = rawTime(ev.docs.at(-1)!);
      }
      if (ev.kind === "eof" && ev.ns === OPLOG_NS) {
        // The slices' entries go after the base's last one, before the file is closed. The EOF
        // event still describes the base's archive (its counts were checked against the manifest).
        yield* batches();
        done = true;
      }
      yield ev;
    }
    if (!done) {
      // A base without an `.oplog` namespace: oplog.bson holds the slices' entries alone.
      yield* batches();
      yield { kind: "eof", ns: OPLOG_NS, documents: appended, bytes: 0, crc: 0n, computedCrc: 0n, crcOk: true };
    }
  }
  const result = await restoreManifestToDirectory(dest, plan.base, dir, keys, { ...opts, extend: appendOplog });
  return { dir, checks: result.checks, layers: result.layers, oplog: { baseEntries, sliceEntries: appended, entries: baseEntries + appended, newest } };
}

/** The document form of a plan, for `--dry-run --json` and the restore's result. */
export function describePlan(plan: PitrPlan): Document {
  return {
    toTime: { ts: formatTime(plan.target), iso: isoOf(plan.target) },
    base: { id: plan.base.id, oplogEnd: formatTime(plan.baseEnd), oplogEntries: plan.baseEntries },
    slices: plan.slices.map((s) => ({ id: s.id, first: formatTime(s.oplog.first), last: formatTime(s.oplog.last), entries: s.oplog.entries })),
  };
}

/** The outcome of `verifyChain`, slice by slice. */
export interface ChainVerification {
  readonly slices: Array<{ readonly id: string; readonly ok: boolean; readonly problem?: string }>;
  /** Chain breaks (a slice that does not continue the one before it). */
  readonly problems: ReadonlyArray<{ readonly slice: string; readonly problem: string }>;
  readonly gaps: readonly Gap[];
  /** "checksum": sizes and SHA-256 only (no key given); "read": decrypted, every CRC and count checked too. */
  readonly level: "checksum" | "read";
  /** Every slice passed and the chain has no break (recorded gaps are reported, not failures). */
  readonly ok: boolean;
}

/**
 * Verifies every oplog slice in `dest` (issue 15 §4): the chain's continuity (each slice
 * continues from the previous one's last entry and names it), each stored object's size and
 * SHA-256 against its manifest, and with `keys` each slice read back, decrypted, its CRC and entry
 * count checked. Never throws for a damaged slice: it is reported in the result.
 */
export async function verifyChain(dest: Destination, keys: DecryptionKeys | undefined, signal?: AbortSignal): Promise<ChainVerification> {
  const slices = await listSlices(dest);
  const { gaps, problems } = chainOf(slices);
  const results: Array<{ id: string; ok: boolean; problem?: string }> = [];
  for (const slice of slices) {
    try {
      if (keys) for await (const _ of sliceEntries(dest, [slice], keys, signal));
      else await (await fetchVerified(dest, slice, signal ? { signal } : {})).cleanup();
      results.push({ id: slice.id, ok: true });
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      results.push({ id: slice.id, ok: false, problem: (err as Error).message });
    }
  }
  return { slices: results, problems, gaps, level: keys ? "read" : "checksum", ok: results.every((r) => r.ok) && problems.length === 0 };
}
