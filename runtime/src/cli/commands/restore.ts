import type { Command } from "commander";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, collect, type DecryptionFlagOptions } from "../common.js";

/** The options of `cloudsync restore`, declared by its flags below. */
export interface RestoreCommandOptions extends DecryptionFlagOptions {
  readonly from?: string;
  readonly to: string;
  readonly include: string[];
  readonly rename: string[];
  readonly drop?: boolean;
  readonly dryRun?: boolean;
  readonly toTime?: string;
}

/** `cloudsync restore <id|latest>`: confirm, decrypt and unpack a backup into a target. */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("restore")
    .argument("[id|latest]", "backup id (or a unique prefix), or latest: the newest backup (exit 4 if it cannot be read; never an older one); not with --to-time")
    .description("Restore a backup; nothing is written until the stored object's size and SHA-256 match its manifest")
    .option("-f, --from <destination>", "where backups are stored (default ./backups or CLOUDSYNC_DESTINATION)")
    .requiredOption("-t, --to <target>", "a mongodb:// URI, or dir://<path> (mongodump directory layout, for mongorestore --dir and bsondump)")
    .option("--include <pattern>", "restore only namespaces matching db.coll (* wildcards) (repeatable)", collect, [])
    .option("--rename <from:to>", "restore namespace(s) under another name, e.g. shop.*:drill_shop.* (repeatable)", collect, [])
    .option("--drop", "drop each target collection before restoring into it")
    .option("--to-time <ISO-8601|t,i>", "point-in-time restore: the newest base backup (backup --oplog) at or before that time, then the captured oplog (oplog follow) replayed up to and including it; an ISO time means its whole second. With dir://, the base's dump plus an oplog.bson of every entry up to and including it, for mongorestore --oplogReplay <dir>")
    .option("--dry-run", "check everything a restore would, writing nothing: the stored object's size and SHA-256, that the key decrypts it, every document, count and CRC, and that the target is an empty directory or a reachable server; exits as the restore would (4 damaged, 6 wrong or missing key)")
    .addHelpText(
      "after",
      `
A restore writes nothing until the stored object's size and SHA-256 match its manifest. A dir://
target is built under a temporary name beside it and appears whole, or not at all: Ctrl-C or
SIGTERM stops the restore, removes the temporary directory and exits 130. A restore into MongoDB
stops at the next batch and reports what had been written (those documents stay).

Examples:
  cloudsync restore latest --from ./backups --to dir://./restored -i identity.txt --dry-run
  cloudsync restore latest --from ./backups --to mongodb://127.0.0.1:27017 --rename 'shop.*:shop_restored.*' -i identity.txt
  cloudsync restore --to-time 2026-12-02T18:30:05Z --from ./backups --to mongodb://127.0.0.1:27017 -i identity.txt --dry-run
  cloudsync restore --to-time 2026-12-02T18:30:05Z --from ./backups --to dir://./pitr -i identity.txt && mongorestore --oplogReplay ./pitr`,
    );
  addDecryptionFlags(cmd).action(app.action<RestoreCommandOptions>(async () => (await import("./restore.run.js")).run));
}
