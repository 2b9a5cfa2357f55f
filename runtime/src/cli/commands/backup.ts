import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Command } from "commander";
import { ConfigError, UsageError, describeLocalIO } from "../../errors.js";
import { planEncryption } from "../../pipeline/encryption.js";
import { runBackupPipeline } from "../../pipeline/backup.js";
import type { CliApp } from "../app.js";
import { addEncryptionFlags, destinationOf, flagsToConfig } from "../common.js";
import { formatBytes, formatDuration } from "../progress.js";

/** `cloudsync backup`: stream an archive (a file or stdin) through the pipeline into a destination. */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("backup")
    .description("Make an encrypted, checksummed backup from a mongodump archive (file or stdin) and store it")
    .option("--from-archive <path|->", "mongodump archive to back up; - reads stdin (mongodump --archive | cloudsync backup --from-archive - …)")
    .option("-t, --to <destination>", "where to store it: a path, file:///path or s3://bucket/prefix (default ./backups or CLOUDSYNC_DESTINATION)")
    .option("--compress <gzip|zstd|none>", "compression (default gzip)")
    .option("--gzip-level <1-9>", "gzip level (default 1: compression sets the speed limit)");
  addEncryptionFlags(cmd).addHelpText(
    "after",
    `
Examples:
  cloudsync keys new --out ~/.config/cloudsync/identity.txt      # once; keep the identity off this host
  mongodump --archive | cloudsync backup --from-archive - --to ./backups -r age1…
  cloudsync backup --from-archive dump.archive --to s3://my-bucket/mongo -r age1… --json`,
  );
  cmd.action(
    app.action(async (ctx) => {
      const o = ctx.opts;
      const from = o.fromArchive as string | undefined;
      if (!from) throw new UsageError("backup needs a source: --from-archive <path|-> (a live MongoDB source comes with --uri)");
      const { flags, names } = flagsToConfig(o, "to");
      const config = ctx.config(flags, names);
      const encryption = await planEncryption(config);
      const dest = destinationOf(config);

      let source: NodeJS.ReadableStream & AsyncIterable<Uint8Array>;
      let total: number | undefined;
      if (from === "-") {
        if (process.stdin.isTTY) throw new UsageError("--from-archive - reads the archive from stdin, but stdin is a terminal; pipe mongodump --archive into it");
        source = process.stdin;
      } else {
        try {
          const s = await stat(from);
          if (!s.isFile()) throw new ConfigError("--from-archive", `${from} is not a file`);
          total = s.size;
        } catch (err) {
          if (err instanceof ConfigError) throw err;
          throw new ConfigError("--from-archive", `cannot read ${from}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        source = createReadStream(from, { highWaterMark: 1 << 20 });
      }
      const progress = ctx.progress("backup");
      if (total) progress.update({ total });
      const started = Date.now();
      const result = await runBackupPipeline({
        source: source as never,
        sourceInfo: from === "-" ? { kind: "stdin", description: "mongodump archive on stdin" } : { kind: "archive-file", description: from },
        destination: dest,
        compression: { algorithm: config.compression, level: config.gzipLevel },
        encryption,
        signal: ctx.signal,
        onProgress: (n) => progress.update({ bytes: n }),
      }).catch((err: unknown) => {
        throw describeLocalIO(err, `backup to ${dest.url}`);
      }).finally(() => progress.done());
      const secs = (Date.now() - started) / 1000;
      const m = result.manifest;
      ctx.out.result(
        { id: m.id, key: m.object.key, manifestKey: result.manifestKey, destination: dest.url, createdAt: m.createdAt, size: m.object.size, sha256: m.object.sha256, totals: m.totals, compression: m.compression, encryption: m.encryption, seconds: secs },
        () =>
          [
            `backup ${m.id} stored in ${dest.url}`,
            `  object   ${m.object.key} (${formatBytes(m.object.size)}, sha256 ${m.object.sha256})`,
            `  archive  ${m.totals.namespaces} namespaces, ${m.totals.documents.toLocaleString("en-US")} documents, ${formatBytes(m.totals.archiveBytes)} of BSON`,
            `  sealed   ${m.compression.algorithm}${m.compression.level ? ` -${m.compression.level}` : ""}, ${m.encryption.scheme}${m.encryption.recipients.length ? ` to ${m.encryption.recipients.join(", ")}` : ""}`,
            `  took     ${formatDuration(secs)} (${formatBytes(m.totals.archiveBytes / Math.max(secs, 0.001))}/s)`,
          ].join("\n"),
      );
    }),
  );
}
