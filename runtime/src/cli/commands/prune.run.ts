// The implementation of `cloudsync prune`, imported by ./prune.ts only when the command runs, so that
// its dependencies load only then.
import { executePrune, planDestinationPrune, type DestinationPrunePlan } from "../../retention/prune.js";
import { EXIT } from "../../errors.js";
import { formatTime, type OplogTime } from "../../manifest/manifest.js";
import { isoOf, windowSlices } from "../../manifest/slices.js";
import { newestFirst } from "../../manifest/order.js";
import { destinationOf } from "../../destinations/from-config.js";
import { retentionPolicyOf } from "../../retention/policy.js";
import { flagsToConfig } from "../common.js";
import { formatBytes } from "../progress.js";
import { table } from "./list.js";
import type { Run } from "../app.js";
import type { PruneCommandOptions } from "./prune.js";

/** An oplog time as the CLI prints it in text: `t,i (ISO second)`. */
function timeText(ts: OplogTime): string {
  return `${formatTime(ts)} (${isoOf(ts)})`;
}

/** An oplog time in `--json`, as `list --oplog` gives it. */
function timeDoc(ts: OplogTime): { ts: string; iso: string } {
  return { ts: formatTime(ts), iso: isoOf(ts) };
}

/** The slice part of the plan: the slices to delete with why, how many stay, and the windows that stay restorable. */
function renderSlicePlan(planned: DestinationPrunePlan): string[] {
  const { remove, keep, windows, blocked } = planned.slices;
  if (remove.length + keep.length === 0) return [];
  const lines = [`oplog slices: ${remove.length} to delete, ${keep.length} kept${blocked ? ` (${blocked})` : ""}`];
  if (remove.length) lines.push(table(["SLICE", "FIRST", "LAST", "WHY"], remove.map((r) => [r.id, timeText(r.first), timeText(r.last), r.reason])));
  lines.push(windows.length ? "restorable windows after the prune:" : "no kept base backup has an oplog window");
  for (const w of windows) lines.push(`  base ${w.base}: ${timeText(w.from)} to ${timeText(w.to)}, ${windowSlices(w).length} slice(s)`);
  return lines;
}

/** The plan as a table: every backup with its fate and why, then the orphans. */
function renderPlan(planned: DestinationPrunePlan, keepWithin: string): string {
  const rows = newestFirst(
    [
      ...planned.plan.keep.map((k) => ({ id: k.id, action: "keep", why: k.reasons.join(", ") })),
      ...planned.plan.remove.map((r) => ({ id: r.id, action: "DELETE", why: r.reason })),
    ],
    (row) => planned.manifests.get(row.id) ?? { id: row.id, createdAt: "" },
  ).map((row) => {
    const m = planned.manifests.get(row.id);
    return [row.id, m ? m.createdAt.replace(/\.\d{3}Z$/, "Z") : "", m ? formatBytes(m.object.size) : "", row.action, row.why];
  });
  const lines = [`plan for ${planned.destination} (keep within ${keepWithin}):`, rows.length ? table(["ID", "CREATED", "SIZE", "ACTION", "WHY"], rows) : "no complete backups"];
  if (planned.orphans.length) {
    lines.push("orphans (objects without a manifest and temporary files of interrupted writes, older than the grace period):");
    lines.push(table(["KEY", "SIZE", "MODIFIED", "WHY"], planned.orphans.map((o) => [o.key, formatBytes(o.size), o.lastModified.toISOString().replace(/\.\d{3}Z$/, "Z"), o.reason])));
  }
  lines.push(...renderSlicePlan(planned));
  return lines.join("\n");
}

/** Runs `cloudsync prune`. */
export const run: Run<PruneCommandOptions> = async (ctx) => {
  const { flags, names } = flagsToConfig(ctx.opts, "from");
  const o = ctx.opts;
  Object.assign(flags, { keepLast: o.keepLast, keepDaily: o.keepDaily, keepWeekly: o.keepWeekly, keepMonthly: o.keepMonthly, keepWithin: o.keepWithin });
  Object.assign(names, { keepLast: "--keep-last", keepDaily: "--keep-daily", keepWeekly: "--keep-weekly", keepMonthly: "--keep-monthly", keepWithin: "--keep-within" });
  const config = ctx.config(flags, names);
  const dest = destinationOf(config, config.destination, ctx.destinationWrappers);
  const { policy, keepWithin } = retentionPolicyOf(config, { explicit: ctx.opts.keepWithin !== undefined, field: "--keep-within" });
  const planned = await planDestinationPrune(dest, policy);
  // A manifest that exists but cannot be read is a damaged backup: kept with its object, and the
  // run exits 4 so that a script alerts.
  for (const p of planned.problems) ctx.out.warn(`warning: ${p.key} is not a readable manifest: a damaged backup, kept with its data object: ${p.message}`);
  for (const p of planned.sliceProblems) ctx.out.warn(`warning: ${p.key} is not a readable oplog slice manifest: a damaged slice, kept with its data object, and no slice is deleted while it is there: ${p.message}`);
  ctx.out.info(renderPlan(planned, keepWithin));
  const dryRun = Boolean(ctx.opts.dryRun);
  const outcome = dryRun ? { deleted: [], slicesDeleted: [], orphansDeleted: [] } : await executePrune(dest, planned);
  const sp = planned.slices;
  ctx.out.result(
    {
      destination: planned.destination,
      dryRun,
      policy: { ...policy, keepWithin },
      keep: planned.plan.keep,
      remove: planned.plan.remove,
      orphans: planned.orphans.map((o) => ({ key: o.key, size: o.size, lastModified: o.lastModified.toISOString(), reason: o.reason, temporary: o.temporary === true })),
      slices: {
        remove: sp.remove.map((r) => ({ id: r.id, first: timeDoc(r.first), last: timeDoc(r.last), reason: r.reason })),
        keep: sp.keep,
        windows: sp.windows.map((w) => ({ base: w.base, from: timeDoc(w.from), to: timeDoc(w.to), slices: windowSlices(w).length })),
        ...(sp.blocked ? { blocked: sp.blocked } : {}),
      },
      deleted: outcome.deleted,
      slicesDeleted: outcome.slicesDeleted,
      orphansDeleted: outcome.orphansDeleted,
      problems: planned.problems,
      sliceProblems: planned.sliceProblems,
    },
    () => {
      // Slices are named only where there are some, so a destination without PITR reads as before.
      const withSlices = sp.remove.length + sp.keep.length > 0;
      const slices = (n: number): string => (withSlices ? `, ${n} oplog slice(s)` : "");
      return dryRun
        ? `dry run: would delete ${planned.plan.remove.length} backup(s)${slices(sp.remove.length)} and ${planned.orphans.length} orphan(s); nothing was deleted`
        : `deleted ${outcome.deleted.length} backup(s)${slices(outcome.slicesDeleted.length)} and ${outcome.orphansDeleted.length} orphan(s) from ${planned.destination}; ${planned.plan.keep.length} backup(s)${withSlices ? ` and ${sp.keep.length} oplog slice(s)` : ""} kept`;
    },
  );
  if (planned.problems.length > 0 || planned.sliceProblems.length > 0) ctx.setExitCode(EXIT.integrity);
};
