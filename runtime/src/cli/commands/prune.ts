import type { Command } from "commander";
import { DURATION_DOC } from "../../config/duration.js";
import { executePrune, planDestinationPrune, type DestinationPrunePlan } from "../../retention/prune.js";
import type { CliApp } from "../app.js";
import { EXIT } from "../../errors.js";
import { newestFirst } from "../../manifest/order.js";
import { destinationOf, flagsToConfig, retentionPolicyOf } from "../common.js";
import { formatBytes } from "../progress.js";
import { table } from "./list.js";

/**
 * `cloudsync prune`: delete backups a retention policy no longer keeps, and orphans. The plan is
 * printed before anything is deleted; `--dry-run` stops there.
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("prune")
    .description("Delete backups the retention policy no longer keeps, and orphaned objects; prints the plan first")
    .option("-f, --from <destination>", "where backups are stored (default ./backups or CLOUDSYNC_DESTINATION)")
    .option("--keep-last <n>", "keep the newest N complete backups")
    .option("--keep-daily <n>", "keep the newest backup of each of the last N days that have one (UTC)")
    .option("--keep-weekly <n>", "keep the newest backup of each of the last N ISO weeks that have one")
    .option("--keep-monthly <n>", "keep the newest backup of each of the last N months that have one (UTC)")
    .option("--keep-within <duration>", `keep everything younger than this: 12h, 7d, 2w, 6mo (months), 1y, or 0 for no time rule; at least 1h and never in m (minutes); ${DURATION_DOC}; default 7d for a local directory, 30d for S3, Azure Blob and GCS`)
    .option("--dry-run", "print the plan and delete nothing")
    .addHelpText(
      "after",
      `
Only complete backups (with a manifest) count toward the rules. Whatever the rules say, the newest
complete backup and the newest verified backup are never deleted; nothing younger than --keep-within
is deleted. A backup counts as verified when its newest verification record passed, at any level:
"checksum" (size and SHA-256 matched, not decrypted: \`cloudsync verify\` or the daemon without an
identity), "read" or "restore-drill". A backup whose manifest cannot be read is damaged: it is kept
and reported, and prune exits 4. Only data objects with no manifest at all, temporary files of
interrupted writes (a killed backup) and verification records of deleted backups, each older than a
day, are removed as orphans.

Examples:
  cloudsync prune --from ./backups --keep-daily 7 --dry-run
  cloudsync prune --from s3://my-bucket/mongo --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --keep-within 30d`,
    )
    .action(
      app.action(async (ctx) => {
        const { flags, names } = flagsToConfig(ctx.opts, "from");
        Object.assign(flags, {
          keepLast: ctx.opts.keepLast as string | undefined,
          keepDaily: ctx.opts.keepDaily as string | undefined,
          keepWeekly: ctx.opts.keepWeekly as string | undefined,
          keepMonthly: ctx.opts.keepMonthly as string | undefined,
          keepWithin: ctx.opts.keepWithin as string | undefined,
        });
        Object.assign(names, { keepLast: "--keep-last", keepDaily: "--keep-daily", keepWeekly: "--keep-weekly", keepMonthly: "--keep-monthly", keepWithin: "--keep-within" });
        const config = ctx.config(flags, names);
        const dest = destinationOf(config);
        const { policy, keepWithin } = retentionPolicyOf(config, { explicit: ctx.opts.keepWithin !== undefined, field: "--keep-within" });
        const planned = await planDestinationPrune(dest, policy);
        // A manifest that exists but cannot be read is a damaged backup: kept with its object, and the
        // run exits 4 so that a script alerts.
        for (const p of planned.problems) ctx.out.warn(`warning: ${p.key} is not a readable manifest: a damaged backup, kept with its data object: ${p.message}`);
        ctx.out.info(renderPlan(planned, keepWithin));
        const dryRun = Boolean(ctx.opts.dryRun);
        const outcome = dryRun ? { deleted: [], orphansDeleted: [] } : await executePrune(dest, planned);
        ctx.out.result(
          {
            destination: planned.destination,
            dryRun,
            policy: { ...policy, keepWithin },
            keep: planned.plan.keep,
            remove: planned.plan.remove,
            orphans: planned.orphans.map((o) => ({ key: o.key, size: o.size, lastModified: o.lastModified.toISOString(), reason: o.reason, temporary: o.temporary === true })),
            deleted: outcome.deleted,
            orphansDeleted: outcome.orphansDeleted,
            problems: planned.problems,
          },
          () =>
            dryRun
              ? `dry run: would delete ${planned.plan.remove.length} backup(s) and ${planned.orphans.length} orphan(s); nothing was deleted`
              : `deleted ${outcome.deleted.length} backup(s) and ${outcome.orphansDeleted.length} orphan(s) from ${planned.destination}; ${planned.plan.keep.length} backup(s) kept`,
        );
        if (planned.problems.length > 0) app.setExitCode(EXIT.integrity);
      }),
    );
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
  return lines.join("\n");
}
