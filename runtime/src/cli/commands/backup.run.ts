// The implementation of `cloudsync backup`, imported by ./backup.ts only when the command runs, so that
// its dependencies load only then.
import { compressionOf } from "../../config/config.js";
import { ConfigError, UsageError, describeLocalIO } from "../../errors.js";
import { planEncryption } from "../../pipeline/encryption.js";
import { runBackupPipeline } from "../../pipeline/backup.js";
import { openArchiveSource } from "../../pipeline/archive-source.js";
import type { BackupManifest } from "../../manifest/manifest.js";
import type { BackupResult } from "../../pipeline/backup.js";
import { destinationOf } from "../../destinations/from-config.js";
import { flagsToConfig } from "../common.js";
import { formatDuration, SECOND } from "../../config/duration.js";
import { formatBytes } from "../progress.js";
import type { CommandContext, Run } from "../app.js";
import type { BackupCommandOptions } from "./backup.js";

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

/** Runs `cloudsync backup`. */
export const run: Run<BackupCommandOptions> = async (ctx) => {
  const o = ctx.opts;
  const from = o.fromArchive;
  if (from && o.uri) throw new UsageError("give one source: --uri (a live MongoDB) or --from-archive (a mongodump archive), not both");
  const { flags, names } = flagsToConfig(o, "to");
  const config = ctx.config(flags, names);
  const concurrency = o.concurrency === undefined ? undefined : Number(o.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) throw new ConfigError("--concurrency", `must be a whole number from 1 to 64, got "${String(o.concurrency)}"`);
  const encryption = await planEncryption(config);
  const dest = destinationOf(config, config.destination, ctx.destinationWrappers);
  if (!from) {
    const progress = ctx.progress("backup");
    const started = Date.now();
    // The MongoDB driver (and its URL parser's tables: ≈ 10 MiB of heap) loads only for a live source.
    const { backupFromMongo } = await import("../../pipeline/mongo-backup.js");
    const result = await backupFromMongo({
      uri: config.mongodbUri,
      include: o.include,
      exclude: o.exclude,
      includeAuth: Boolean(o.includeAuth),
      oplog: Boolean(o.oplog),
      concurrency,
      destination: dest,
      compression: compressionOf(config),
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
    source: archive.source,
    sourceInfo: archive.info,
    destination: dest,
    compression: compressionOf(config),
    encryption,
    signal: ctx.signal,
    onProgress: (n) => progress.update({ bytes: n }),
  }).catch((err: unknown) => {
    throw describeLocalIO(err, `backup to ${dest.url}`);
  }).finally(() => progress.done());
  report(ctx, dest.url, result, (Date.now() - started) / 1000);
};
