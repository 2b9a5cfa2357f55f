// The implementation of `cloudsync list`, imported by ./list.ts only when the command runs, so that
// its dependencies load only then.
import { listBackups, type VerificationRecord, type VerificationState } from "../../manifest/store.js";
import { destinationOf } from "../../destinations/from-config.js";
import { flagsToConfig } from "../common.js";
import { formatBytes } from "../progress.js";
import type { Run } from "../app.js";
import { table, type ListCommandOptions } from "./list.js";
import type { Destination } from "../../destinations/destination.js";
import { formatTime, type OplogTime } from "../../manifest/manifest.js";
import { chainOf, isoOf, listSlices, restorableWindows } from "../../manifest/slices.js";

/**
 * The last verification's outcome, level and time (`ok read 2026-11-24T03:00:00Z`, `FAILED …`), or
 * "never"; a checksum-only pass after a failed full read says so, since it does not clear it.
 */
function verificationCell(state: VerificationState | undefined): string {
  if (!state) return "never";
  const at = (r: VerificationRecord): string => `${r.level} ${r.verifiedAt.replace(/\.\d{3}Z$/, "Z")}`;
  const cell = `${state.last.ok ? "ok" : "FAILED"} ${at(state.last)}`;
  return state.last.ok && state.lastFull && !state.lastFull.ok ? `${cell} (after FAILED ${at(state.lastFull)})` : cell;
}

/** Runs `cloudsync list`. */
export const run: Run<ListCommandOptions> = async (ctx) => {
  const { flags, names } = flagsToConfig(ctx.opts, "from");
  const config = ctx.config(flags, names);
  const dest = destinationOf(config, config.destination, ctx.destinationWrappers);
  if (ctx.opts.oplog) {
    await listOplog(ctx, dest);
    return;
  }
  const entries = await listBackups(dest, { withVerifications: true, onProblem: (key, err) => ctx.out.warn(`warning: skipped ${key}: ${err.message}`) });
  ctx.out.result(
    entries.map((e) => ({
      id: e.manifest.id,
      key: e.manifest.object.key,
      manifestKey: e.manifestKey,
      createdAt: e.manifest.createdAt,
      size: e.manifest.object.size,
      sha256: e.manifest.object.sha256,
      documents: e.manifest.totals.documents,
      namespaces: e.manifest.totals.namespaces,
      encryption: e.manifest.encryption.scheme,
      consistency: e.manifest.consistency.mode,
      lastVerifiedAt: e.lastVerified?.verifiedAt ?? null,
      lastVerification: e.verification ? { at: e.verification.last.verifiedAt, ok: e.verification.last.ok, level: e.verification.last.level } : null,
      verified: e.lastVerified !== undefined,
    })),
    () => {
      if (entries.length === 0) return `no complete backups in ${dest.url}`;
      const rows = entries.map((e) => [e.manifest.id, e.manifest.createdAt.replace(/\.\d{3}Z$/, "Z"), formatBytes(e.manifest.object.size), String(e.manifest.totals.documents), e.manifest.encryption.scheme, verificationCell(e.verification)]);
      return table(["ID", "CREATED", "SIZE", "DOCS", "ENCRYPTION", "LAST VERIFIED"], rows) + `\n${entries.length} backup${entries.length === 1 ? "" : "s"} in ${dest.url}`;
    },
  );
};

/** `list --oplog`: slices in oplog order, the restorable window of each base, gaps and chain breaks. */
async function listOplog(ctx: Parameters<Run>[0], dest: Destination): Promise<void> {
  const warn = (key: string, err: unknown): void => ctx.out.warn(`warning: skipped ${key}: ${(err as Error).message}`);
  const slices = await listSlices(dest, warn);
  const { segments, gaps, problems } = chainOf(slices);
  const windows = restorableWindows(await listBackups(dest, { onProblem: warn }), segments);
  const time = (ts: OplogTime) => ({ ts: formatTime(ts), iso: isoOf(ts) });
  ctx.out.result(
    {
      slices: slices.map((s) => ({ id: s.id, manifestKey: `oplog/manifests/${s.id}.json`, key: s.object.key, size: s.object.size, sha256: s.object.sha256, entries: s.oplog.entries, after: time(s.oplog.after), first: time(s.oplog.first), last: time(s.oplog.last), previous: s.oplog.previous, base: s.oplog.base, ...(s.oplog.gap ? { gap: { from: time(s.oplog.gap.from), to: time(s.oplog.gap.to) } } : {}) })),
      windows: windows.map((w) => ({ base: w.base, from: time(w.from), to: time(w.to), slices: w.segment?.slices.filter((s) => s.oplog.last.t > w.from.t || (s.oplog.last.t === w.from.t && s.oplog.last.i > w.from.i)).length ?? 0 })),
      gaps: gaps.map((g) => ({ from: time(g.from), to: time(g.to), slice: g.slice })),
      problems,
    },
    () =>
      [
        slices.length ? table(["SLICE", "FIRST", "LAST", "ENTRIES", "SIZE", "BASE"], slices.map((s) => [s.id, formatTime(s.oplog.first), formatTime(s.oplog.last), String(s.oplog.entries), formatBytes(s.object.size), s.oplog.base])) : `no oplog slices in ${dest.url}`,
        ...windows.map((w) => `restorable from base ${w.base}: ${formatTime(w.from)} (${isoOf(w.from)}) to ${formatTime(w.to)} (${isoOf(w.to)})`),
        ...gaps.map((g) => `GAP: entries after ${formatTime(g.from)} (${isoOf(g.from)}) and before ${formatTime(g.to)} (${isoOf(g.to)}) are lost (slice ${g.slice})`),
        ...problems.map((p) => `CHAIN BROKEN at slice ${p.slice}: it ${p.problem}`),
      ].join("\n"),
  );
}
