import { resolve } from "node:path";
import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { findBackup } from "../../manifest/store.js";
import { loadDecryptionKeys } from "../../pipeline/encryption.js";
import { restoreToDirectory } from "../../pipeline/restore.js";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, destinationOf, flagsToConfig } from "../common.js";
import { table } from "./list.js";

/** Parses the restore target: `dir://path` (mongodump directory layout). */
export function parseRestoreTarget(spec: string): { kind: "dir"; path: string } | { kind: "mongodb"; uri: string } {
  if (spec.startsWith("dir://")) {
    const path = spec.slice("dir://".length);
    if (!path) throw new ConfigError("--to", "dir:// needs a path, e.g. dir://./restored");
    return { kind: "dir", path: resolve(path) };
  }
  if (/^mongodb(\+srv)?:\/\//.test(spec)) return { kind: "mongodb", uri: spec };
  throw new ConfigError("--to", `"${spec}" is not a restore target; use dir://<path> for a mongodump directory or a mongodb:// URI`);
}

/** `cloudsync restore <id|latest>`: confirm, decrypt and unpack a backup into a target. */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("restore")
    .argument("<id|latest>", "backup id (or a unique prefix), or latest")
    .description("Restore a backup; nothing is written until the stored object's size and SHA-256 match its manifest")
    .option("-f, --from <destination>", "where backups are stored (default ./backups or CLOUDSYNC_DESTINATION)")
    .requiredOption("-t, --to <target>", "dir://<path> (mongodump directory layout, for mongorestore --dir and bsondump)")
    .option("--dry-run", "resolve the backup and show what would be restored, writing nothing");
  addDecryptionFlags(cmd).action(
    app.action(async (ctx, ref) => {
      const { flags, names } = flagsToConfig(ctx.opts, "from");
      const config = ctx.config(flags, names);
      const target = parseRestoreTarget(ctx.opts.to as string);
      const dest = destinationOf(config);
      if (target.kind !== "dir") throw new ConfigError("--to", "restoring into MongoDB is not available in this build; restore to dir://<path> and use mongorestore --dir");
      if (ctx.opts.dryRun) {
        const { manifest } = await findBackup(dest, ref!);
        ctx.out.result({ dryRun: true, id: manifest.id, target: target.path, namespaces: manifest.namespaces }, () =>
          [`would restore ${manifest.id} (${manifest.totals.documents} documents) to ${target.path}:`, table(["NAMESPACE", "DOCUMENTS"], manifest.namespaces.map((n) => [n.ns, String(n.documents)]))].join("\n"),
        );
        return;
      }
      const keys = await loadDecryptionKeys(config);
      const progress = ctx.progress("download");
      let seen = 0;
      const onDownload = (bytes: number, total: number): void => {
        progress.update({ bytes: bytes - seen, total });
        seen = bytes;
      };
      const result = await restoreToDirectory(dest, ref!, target.path, keys, { signal: ctx.signal, onDownload }).finally(() => progress.done());
      ctx.out.result({ id: result.manifest.id, target: target.path, layers: result.layers, namespaces: result.checks }, () =>
        [`restored ${result.manifest.id} to ${target.path}`, table(["NAMESPACE", "EXPECTED", "RESTORED", "OK"], result.checks.map((c) => [c.ns, String(c.expected), String(c.found), c.ok ? "yes" : "NO"]))].join("\n"),
      );
    }),
  );
}
