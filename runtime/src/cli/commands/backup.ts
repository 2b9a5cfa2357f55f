import type { Command } from "commander";
import { ConfigError, UsageError, describeLocalIO } from "../../errors.js";
import { planEncryption } from "../../pipeline/encryption.js";
import { runBackupPipeline } from "../../pipeline/backup.js";
import { openArchiveSource } from "../../pipeline/archive-source.js";
import type { CliApp, CommandContext } from "../app.js";
import type { BackupManifest } from "../../manifest/manifest.js";
import type { BackupResult } from "../../pipeline/backup.js";
import { backupFromMongo } from "../../pipeline/mongo-backup.js";
import { addEncryptionFlags, collect, destinationOf, flagsToConfig } from "../common.js";
import { formatDuration, SECOND } from "../../config/duration.js";
import { formatBytes } from "../progress.js";

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
    .option("--compress <gzip|zstd|none>", "compression (default gzip)")
    .option("--gzip-level <1-9>", "gzip level (default 1: compression sets the speed limit)");
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
  cmd.action(
    app.action(async (ctx) => {
      const o = ctx.opts;
      const from = o.fromArchive as string | undefined;
      if (from && o.uri) throw new UsageError("give one source: --uri (a live MongoDB) or --from-archive (a mongodump archive), not both");
      const { flags, names } = flagsToConfig(o, "to");
      const config = ctx.config(flags, names);
      const concurrency = o.concurrency === undefined ? undefined : Number(o.concurrency);
      if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) throw new ConfigError("--concurrency", `must be a whole number from 1 to 64, got "${String(o.concurrency)}"`);
      const encryption = await planEncryption(config);
      const dest = destinationOf(config);
      if (!from) {
        const progress = ctx.progress("backup");
        const started = Date.now();
        const result = await backupFromMongo({
          uri: config.mongodbUri,
          include: o.include as string[],
          exclude: o.exclude as string[],
          includeAuth: Boolean(o.includeAuth),
          oplog: Boolean(o.oplog),
          concurrency,
          destination: dest,
          compression: { algorithm: config.compression, level: config.gzipLevel },
          encryption,
          signal: ctx.signal,
          onEstimate: (total) => total && progress.update({ total }),
          onBytes: (n) => progress.update({ bytes: n }),
          onNamespace: (p) => {
            if (p.done) progress.log(`  ${p.ns}: ${p.documents.toLocaleString("en-US")} documents, ${formatBytes(p.bytes)}`);
          },
        })
          .catch((err: unknown) => {
            throw describeLocalIO(err, `backup to ${dest.url}`);
          })
          .finally(() => progress.done());
        for (const w of result.warnings) ctx.out.warn(`warning: ${w}`);
        report(ctx, dest.url, result, (Date.now() - started) / 1000);
        return;
      }

      // A compressed archive (mongodump --archive --gzip) is decompressed on the way in; progress then
      // counts plain archive bytes, so the stored size is only a total for an uncompressed file.
      const archive = await openArchiveSource(from, "--from-archive");
      const total = archive.compressed ? undefined : archive.storedBytes;
      const progress = ctx.progress("backup");
      if (total) progress.update({ total });
      const started = Date.now();
      const result = await runBackupPipeline({
        source: archive.stream as never,
        sourceInfo: archive.info,
        destination: dest,
        compression: { algorithm: config.compression, level: config.gzipLevel },
        encryption,
        signal: ctx.signal,
        onProgress: (n) => progress.update({ bytes: n }),
      }).catch((err: unknown) => {
        throw describeLocalIO(err, `backup to ${dest.url}`);
      }).finally(() => progress.done());
      report(ctx, dest.url, result, (Date.now() - started) / 1000);
    }),
  );
}

/** Prints the outcome of a backup (human table, or the --json object). */
function report(ctx: CommandContext, destUrl: string, result: BackupResult, secs: number): void {
  const m = result.manifest;
  ctx.out.result(
    { id: m.id, key: m.object.key, manifestKey: result.manifestKey, destination: destUrl, createdAt: m.createdAt, size: m.object.size, sha256: m.object.sha256, totals: m.totals, consistency: m.consistency, compression: m.compression, encryption: m.encryption, seconds: secs },
    () =>
      [
        `backup ${m.id} stored in ${destUrl}`,
        `  object       ${m.object.key} (${formatBytes(m.object.size)}, sha256 ${m.object.sha256})`,
        `  archive      ${m.totals.namespaces} namespaces, ${m.totals.documents.toLocaleString("en-US")} documents, ${formatBytes(m.totals.archiveBytes)} of BSON`,
        `  consistency  ${m.consistency.mode}${consistencyNote(m.consistency)}`,
        `  sealed       ${m.compression.algorithm}${m.compression.level ? ` -${m.compression.level}` : ""}, ${m.encryption.scheme}${m.encryption.recipients.length ? ` to ${m.encryption.recipients.join(", ")}` : ""}`,
        `  took         ${formatDuration(secs * SECOND, { parts: 2 })} (${formatBytes(m.totals.archiveBytes / Math.max(secs, 0.001))}/s)`,
      ].join("\n"),
  );
}

/** The reasons a dump fell short of a snapshot, as a short suffix. */
function consistencyNote(c: BackupManifest["consistency"]): string {
  const reasons = (c.detail?.reasons as string[] | undefined) ?? [];
  return reasons.length ? ` (${reasons.join("; ")})` : "";
}
