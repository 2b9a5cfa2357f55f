import { resolve } from "node:path";
import type { Command } from "commander";
import { ConfigError, EXIT } from "../../errors.js";
import { createNamespaceFilter, createRenamer, parseRename } from "../../mongo/namespaces.js";
import { checkDumpTarget } from "../../archive/dump-dir.js";
import { connectMongo } from "../../mongo/connect.js";
import { restoreToMongo } from "../../mongo/restore.js";
import { assertMatchesManifest, openBackup, restoreToDirectory } from "../../pipeline/restore.js";
import { verifyBackup } from "../../pipeline/verify.js";
import type { ArtifactLayers } from "../../pipeline/decode.js";
import { Secret, redactUri } from "../../secret.js";
import { findBackup } from "../../manifest/store.js";
import { loadDecryptionKeys } from "../../pipeline/encryption.js";
import type { CliApp } from "../app.js";
import { destinationOf } from "../../destinations/from-config.js";
import { addDecryptionFlags, collect, flagsToConfig } from "../common.js";
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
    .argument("<id|latest>", "backup id (or a unique prefix), or latest: the newest backup (exit 4 if it cannot be read; never an older one)")
    .description("Restore a backup; nothing is written until the stored object's size and SHA-256 match its manifest")
    .option("-f, --from <destination>", "where backups are stored (default ./backups or CLOUDSYNC_DESTINATION)")
    .requiredOption("-t, --to <target>", "a mongodb:// URI, or dir://<path> (mongodump directory layout, for mongorestore --dir and bsondump)")
    .option("--include <pattern>", "restore only namespaces matching db.coll (* wildcards) (repeatable)", collect, [])
    .option("--rename <from:to>", "restore namespace(s) under another name, e.g. shop.*:drill_shop.* (repeatable)", collect, [])
    .option("--drop", "drop each target collection before restoring into it")
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
  cloudsync restore latest --from ./backups --to mongodb://127.0.0.1:27017 --rename 'shop.*:shop_restored.*' -i identity.txt`,
    );
  addDecryptionFlags(cmd).action(
    app.action(async (ctx, ref) => {
      const { flags, names } = flagsToConfig(ctx.opts, "from");
      const config = ctx.config(flags, names);
      const target = parseRestoreTarget(ctx.opts.to as string);
      const dest = destinationOf(config);
      const renames = (ctx.opts.rename as string[]).map((r) => {
        try {
          return parseRename(r);
        } catch (err) {
          throw new ConfigError("--rename", (err as Error).message);
        }
      });
      if (target.kind === "dir" && (renames.length || (ctx.opts.include as string[]).length || ctx.opts.drop)) throw new ConfigError("--to", "--include, --rename and --drop apply to restores into MongoDB, not to dir:// targets");
      const keys = await loadDecryptionKeys(config);
      // Known in the first second, before anything is downloaded.
      if (target.kind === "dir") await checkDumpTarget(target.path, "--to");
      const progress = ctx.progress("download");
      let seen = 0;
      const onDownload = (bytes: number, total: number): void => {
        progress.update({ bytes: bytes - seen, total });
        seen = bytes;
      };
      if (ctx.opts.dryRun) {
        // Everything a restore checks, short of writing: the same read-back as `verify` (size,
        // SHA-256, decryption, every document, every count and CRC), without storing a record.
        const checked = await verifyBackup(dest, ref!, keys, { record: false, signal: ctx.signal, onDownload }).finally(() => progress.done());
        // verifyBackup stops its download on the signal, not its read-back: never vouch after an interrupt.
        ctx.signal.throwIfAborted();
        const { manifest } = await findBackup(dest, checked.record.id);
        assertMatchesManifest(manifest, checked.checks);
        const layers = checked.record.detail.layers as ArtifactLayers;
        if (target.kind === "mongodb") {
          const uri = new Secret(target.uri);
          ctx.out.addSecrets(uri);
          await (await connectMongo(uri)).close();
        }
        const filter = createNamespaceFilter(ctx.opts.include as string[]);
        const rename = createRenamer(renames);
        const where = target.kind === "dir" ? target.path : redactUri(target.uri);
        const plan = manifest.namespaces.filter((n) => filter.matches(n.ns)).map((n) => ({ ns: n.ns, target: target.kind === "dir" ? n.ns : rename(n.ns), documents: n.documents }));
        ctx.out.result({ dryRun: true, id: manifest.id, target: where, drop: Boolean(ctx.opts.drop), checked: checked.record.detail, namespaces: plan }, () =>
          [
            `would restore ${manifest.id} to ${where}${ctx.opts.drop ? ", dropping each target collection first" : ""}:`,
            table(["NAMESPACE", "TARGET", "DOCUMENTS"], plan.map((n) => [n.ns, n.target, String(n.documents)])),
            `checked, writing nothing: size and SHA-256 of the stored object${layers.envelope === "none" ? "" : ", decryption with the given key"}, every document, count and CRC, and ${target.kind === "dir" ? "that the target directory is new or empty" : "that the server answers"}`,
          ].join("\n"),
        );
        return;
      }
      if (target.kind === "mongodb") {
        const uri = new Secret(target.uri);
        ctx.out.addSecrets(uri);
        const opened = await openBackup(dest, ref!, keys, { signal: ctx.signal, onDownload }).finally(() => progress.done());
        try {
          const restoring = ctx.progress("restore");
          const report = await restoreToMongo(opened.events, {
            uri,
            include: ctx.opts.include as string[],
            rename: renames,
            drop: Boolean(ctx.opts.drop),
            expected: new Map(opened.manifest.namespaces.map((n) => [n.ns, n.documents])),
            onProgress: (p) => restoring.update({ label: `restore ${p.target}`, documents: 0 }),
            signal: ctx.signal,
          }).finally(() => restoring.done());
          ctx.out.result({ id: opened.manifest.id, target: redactUri(target.uri), ...report }, () =>
            [
              `restored ${opened.manifest.id} into ${redactUri(target.uri)}`,
              table(["NAMESPACE", "TARGET", "EXPECTED", "RESTORED", "OK"], report.namespaces.map((n) => [n.ns, n.target, String(n.expected), String(n.restored), n.ok ? "yes" : "NO"])),
              ...report.views.map((v) => `view ${v} recreated`),
              ...report.skipped.map((k) => `skipped ${k.ns}: ${k.reason}`),
            ].join("\n"),
          );
          if (!report.ok) app.setExitCode(EXIT.integrity);
        } finally {
          await opened.cleanup();
        }
        return;
      }
      const result = await restoreToDirectory(dest, ref!, target.path, keys, { signal: ctx.signal, onDownload }).finally(() => progress.done());
      ctx.out.result({ id: result.manifest.id, target: target.path, layers: result.layers, namespaces: result.checks }, () =>
        [`restored ${result.manifest.id} to ${target.path}`, table(["NAMESPACE", "EXPECTED", "RESTORED", "OK"], result.checks.map((c) => [c.ns, String(c.expected), String(c.found), c.ok ? "yes" : "NO"]))].join("\n"),
      );
    }),
  );
}
