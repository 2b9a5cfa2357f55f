import type { Command } from "commander";
import type { CliApp } from "../app.js";
import { addEncryptionFlags, collect, type EncryptionFlagOptions } from "../common.js";

/** The options of `cloudsync backup`, declared by its flags below. */
export interface BackupCommandOptions extends EncryptionFlagOptions {
  readonly uri?: string;
  readonly include: string[];
  readonly exclude: string[];
  readonly includeAuth?: boolean;
  readonly oplog?: boolean;
  readonly concurrency?: string;
  readonly fromArchive?: string;
  readonly to?: string;
  readonly compress?: string;
  readonly gzipLevel?: string;
  readonly zstdLevel?: string;
}

/** `cloudsync backup`: stream an archive (a file or stdin) through the pipeline into a destination. */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("backup")
    .description("Make an encrypted, checksummed backup of a live MongoDB (default) or of a mongodump archive, and store it")
    .option("--uri <mongodb-uri>", "MongoDB to back up (default MONGODB_URI, else mongodb://127.0.0.1:27017)")
    .option("--include <pattern>", "only namespaces matching db.coll (* wildcards), like mongodump --nsInclude (repeatable)", collect, [])
    .option("--exclude <pattern>", "skip namespaces matching db.coll (* wildcards), like mongodump --nsExclude (repeatable)", collect, [])
    .option("--include-auth", "also back up users and roles (admin.system.users/roles/version)")
    .option("--oplog", "add the oplog written during the dump (.oplog) for mongorestore --oplogReplay; needs a replica set")
    .option("--concurrency <n>", "collections read and interleaved at once (default 4)")
    .option("--from-archive <path|->", "back up an existing mongodump archive instead; - reads stdin (mongodump --archive | cloudsync backup --from-archive - …)")
    .option("-t, --to <destination>", "where to store it: a path, file:///path, s3://bucket/prefix, azblob://container/prefix or gs://bucket/prefix (default ./backups or CLOUDSYNC_DESTINATION)")
    .option("--compress <gzip|zstd|none>", "compression (default gzip: `age -d | mongorestore --gzip` restores it; zstd is faster and smaller)")
    .option("--gzip-level <1-9>", "gzip level (default 1: compression sets the speed limit)")
    .option("--zstd-level <1-19>", "zstd level (default 1)");
  addEncryptionFlags(cmd).addHelpText(
    "after",
    `
Examples:
  cloudsync keys new --out ~/.config/cloudsync/identity.txt      # once; keep the identity off this host
  cloudsync backup --uri mongodb://127.0.0.1:27017 --to ./backups -r age1…
  cloudsync backup --include 'models.*' --exclude 'models.tmp*' --to s3://my-bucket/mongo -r age1…
  mongodump --archive | cloudsync backup --from-archive - --to ./backups -r age1…
  cloudsync backup --from-archive dump.archive --to s3://my-bucket/mongo -r age1… --json`,
  );
  cmd.action(app.action<BackupCommandOptions>(async () => (await import("./backup.run.js")).run));
}
