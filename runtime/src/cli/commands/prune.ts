import type { Command } from "commander";
import { DURATION_DOC } from "../../config/duration.js";
import type { CliApp } from "../app.js";

/** The options of `cloudsync prune`, declared by its flags below. */
export interface PruneCommandOptions {
  readonly from?: string;
  readonly keepLast?: string;
  readonly keepDaily?: string;
  readonly keepWeekly?: string;
  readonly keepMonthly?: string;
  readonly keepWithin?: string;
  readonly dryRun?: boolean;
}

/**
 * `cloudsync prune`: delete backups a retention policy no longer keeps, the oplog slices no kept
 * backup needs, and orphans. The plan is printed before anything is deleted; `--dry-run` stops there.
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

Oplog slices (oplog follow) go only when no kept base backup can use them: those whose entries are
all at or before the oplog end of the oldest kept base in their chain segment, and whole segments
older than every kept base that no kept base starts in (never the newest segment); always the
oldest first, never the newest slice or one stored less than a day ago, and none while a slice or
backup manifest cannot be read. The plan lists each slice it deletes with its first and last entry
and why, and the windows that stay restorable. Slice data objects with no manifest, older than a
day, are orphans.

Examples:
  cloudsync prune --from ./backups --keep-daily 7 --dry-run
  cloudsync prune --from s3://my-bucket/mongo --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --keep-within 30d`,
    )
    .action(app.action<PruneCommandOptions>(async () => (await import("./prune.run.js")).run));
}
