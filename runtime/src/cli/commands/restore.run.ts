// The implementation of `cloudsync restore`, imported by ./restore.ts only when the command runs, so that
// its dependencies load only then.
import { resolve } from "node:path";
import { ConfigError, EXIT, UsageError } from "../../errors.js";
import { createNamespaceFilter, createRenamer, parseRename, type RenameRule } from "../../mongo/namespaces.js";
import { parseOplogTime } from "../../mongo/oplog-apply.js";
import { formatTime } from "../../manifest/manifest.js";
import { isoOf } from "../../manifest/slices.js";
import { countReplay, describePlan, planPointInTime, restoreToTime } from "../../pipeline/pitr.js";
import type { Destination } from "../../destinations/destination.js";
import { checkDumpTarget } from "../../archive/dump-dir.js";
import { connectMongo } from "../../mongo/connect.js";
import { restoreToMongo } from "../../mongo/restore.js";
import { assertMatchesManifest, openBackup, restoreToDirectory } from "../../pipeline/restore.js";
import { verifyBackup } from "../../pipeline/verify.js";
import type { ArtifactLayers } from "../../pipeline/decode.js";
import { Secret, redactUri } from "../../secret.js";
import { findBackup } from "../../manifest/store.js";
import { loadDecryptionKeys, type DecryptionKeys } from "../../pipeline/encryption.js";
import { destinationOf } from "../../destinations/from-config.js";
import { flagsToConfig } from "../common.js";
import { table } from "./list.js";
import type { CommandContext, Run } from "../app.js";
import type { RestoreCommandOptions } from "./restore.js";

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

/** Runs `cloudsync restore`. */
export const run: Run<RestoreCommandOptions> = async (ctx, ref) => {
  const { flags, names } = flagsToConfig(ctx.opts, "from");
  const config = ctx.config(flags, names);
  const target = parseRestoreTarget(ctx.opts.to);
  const dest = destinationOf(config, config.destination, ctx.destinationWrappers);
  const renames = ctx.opts.rename.map((r) => {
    try {
      return parseRename(r);
    } catch (err) {
      throw new ConfigError("--rename", (err as Error).message);
    }
  });
  if (ctx.opts.toTime !== undefined) {
    if (ref !== undefined) throw new UsageError(`give a backup (${ref}) or --to-time, not both: --to-time picks its base backup itself`);
    if (target.kind !== "mongodb") throw new ConfigError("--to", "--to-time restores into MongoDB (a mongodb:// URI); dir:// targets are not supported with it yet");
    await runToTime(ctx, dest, target.uri, ctx.opts.toTime, renames, await loadDecryptionKeys(config));
    return;
  }
  if (ref === undefined) throw new UsageError("give the backup to restore (an id, or latest), or --to-time for a point-in-time restore");
  if (target.kind === "dir" && (renames.length || ctx.opts.include.length || ctx.opts.drop)) throw new ConfigError("--to", "--include, --rename and --drop apply to restores into MongoDB, not to dir:// targets");
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
    const filter = createNamespaceFilter(ctx.opts.include);
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
        include: ctx.opts.include,
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
      if (!report.ok) ctx.setExitCode(EXIT.integrity);
    } finally {
      await opened.cleanup();
    }
    return;
  }
  const result = await restoreToDirectory(dest, ref!, target.path, keys, { signal: ctx.signal, onDownload }).finally(() => progress.done());
  ctx.out.result({ id: result.manifest.id, target: target.path, layers: result.layers, namespaces: result.checks }, () =>
    [`restored ${result.manifest.id} to ${target.path}`, table(["NAMESPACE", "EXPECTED", "RESTORED", "OK"], result.checks.map((c) => [c.ns, String(c.expected), String(c.found), c.ok ? "yes" : "NO"]))].join("\n"),
  );
};

/** `restore --to-time`: plan, then (unless --dry-run) restore the base and replay the oplog. */
async function runToTime(ctx: CommandContext<RestoreCommandOptions>, dest: Destination, uriText: string, toTime: string, renames: RenameRule[], keys: DecryptionKeys): Promise<void> {
  const time = parseOplogTime(toTime, "--to-time");
  createNamespaceFilter(ctx.opts.include);
  createRenamer(renames);
  const uri = new Secret(uriText);
  ctx.out.addSecrets(uri);
  const plan = await planPointInTime(dest, time);
  const where = redactUri(uriText);
  const planLines = (entries: string): string[] => [
    `base ${plan.base.id} (oplog end ${formatTime(plan.baseEnd)}, ${plan.baseEntries} entries of its own)`,
    ...plan.slices.map((s) => `slice ${s.id}: ${formatTime(s.oplog.first)} to ${formatTime(s.oplog.last)}, ${s.oplog.entries} entries`),
    entries,
  ];
  if (ctx.opts.dryRun) {
    const replayed = await countReplay(dest, plan, keys, ctx.signal);
    await (await connectMongo(uri)).close();
    ctx.out.result({ dryRun: true, target: where, ...describePlan(plan), replayEntries: replayed }, () =>
      [`would restore ${where} to ${formatTime(plan.target)} (${isoOf(plan.target)}), writing nothing:`, ...planLines(`${replayed} slice entries after the base's end, up to and including ${formatTime(plan.target)}, would be replayed`)].join("\n"),
    );
    return;
  }
  const progress = ctx.progress("restore");
  const report = await restoreToTime(dest, plan, keys, { uri, include: ctx.opts.include, rename: renames, drop: Boolean(ctx.opts.drop), signal: ctx.signal }).finally(() => progress.done());
  const r = report.replay;
  // The base's .oplog is replayed here, not skipped: only the other skips are reported.
  const restored = { ...report.restore, skipped: report.restore.skipped.filter((k) => k.ns !== ".oplog") };
  ctx.out.result({ target: where, ...describePlan(plan), restore: restored, replay: r, ok: report.ok }, () =>
    [
      `restored ${where} to ${formatTime(plan.target)} (${isoOf(plan.target)})`,
      ...planLines(`replayed ${r.applied} entries (newest ${r.last ? formatTime(r.last) : "none"}); not applied: ${r.noops} no-ops, ${r.before} already in the base, ${r.beyond} after the time, ${r.uncommitted} of uncommitted transactions, ${r.notIncluded} not included, ${r.internal} of internal namespaces; ${r.missing} updates or deletes found no document`),
      table(["NAMESPACE", "TARGET", "EXPECTED", "RESTORED", "OK"], report.restore.namespaces.map((n) => [n.ns, n.target, String(n.expected), String(n.restored), n.ok ? "yes" : "NO"])),
    ].join("\n"),
  );
  if (!report.ok) ctx.setExitCode(EXIT.integrity);
}
