// The implementation of `cloudsync restore`, imported by ./restore.ts only when the command runs, so that
// its dependencies load only then.
import { resolve } from "node:path";
import { ConfigError, EXIT, UsageError } from "../../errors.js";
import { createNamespaceFilter, createRenamer, parseRename, type RenameRule } from "../../mongo/namespaces.js";
import { formatTime, type OplogTime } from "../../manifest/manifest.js";
import { isoOf } from "../../manifest/slices.js";
import type { PitrPlan } from "../../pipeline/pitr.js";
import type { Destination } from "../../destinations/destination.js";
import { checkDumpTarget } from "../../archive/dump-dir.js";
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
// The MongoDB driver (mongodb:// targets, --to-time) is imported only where it is used: loading it
// costs a restore into a directory ≈ 30 MiB of peak RSS and a tenth of a second.
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
  if (ctx.opts.toTime !== undefined && ref !== undefined) throw new UsageError(`give a backup (${ref}) or --to-time, not both: --to-time picks its base backup itself`);
  if (target.kind === "dir" && (renames.length || ctx.opts.include.length || ctx.opts.drop)) {
    throw new ConfigError("--to", `--include, --rename and --drop apply to restores into MongoDB, not to dir:// targets${ctx.opts.toTime !== undefined ? " (with --to-time too: the directory holds the whole base and every captured entry; mongorestore's --nsInclude, --nsFrom/--nsTo and --drop choose at restore time)" : ""}`);
  }
  if (ctx.opts.toTime !== undefined) {
    const { parseOplogTime } = await import("../../mongo/oplog-apply.js");
    const time = parseOplogTime(ctx.opts.toTime, "--to-time");
    if (target.kind === "dir") await runToTimeDirectory(ctx, dest, target.path, time, await loadDecryptionKeys(config));
    else await runToTime(ctx, dest, target.uri, time, renames, await loadDecryptionKeys(config));
    return;
  }
  if (ref === undefined) throw new UsageError("give the backup to restore (an id, or latest), or --to-time for a point-in-time restore");
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
      const { connectMongo } = await import("../../mongo/connect.js");
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
      const { restoreToMongo } = await import("../../mongo/restore.js");
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
async function runToTime(ctx: CommandContext<RestoreCommandOptions>, dest: Destination, uriText: string, time: OplogTime, renames: RenameRule[], keys: DecryptionKeys): Promise<void> {
  const { countReplay, describePlan, planPointInTime, restoreToTime } = await import("../../pipeline/pitr.js");
  const { connectMongo } = await import("../../mongo/connect.js");
  createNamespaceFilter(ctx.opts.include);
  createRenamer(renames);
  const uri = new Secret(uriText);
  ctx.out.addSecrets(uri);
  const plan = await planPointInTime(dest, time);
  const where = redactUri(uriText);
  const planLines = (entries: string): string[] => [...describePlanLines(plan), entries];
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

/** The base and the slices of `plan`, one line each, for the text output of every --to-time restore. */
function describePlanLines(plan: PitrPlan): string[] {
  return [
    `base ${plan.base.id} (oplog end ${formatTime(plan.baseEnd)}, ${plan.baseEntries} entries of its own)`,
    ...plan.slices.map((s) => `slice ${s.id}: ${formatTime(s.oplog.first)} to ${formatTime(s.oplog.last)}, ${s.oplog.entries} entries`),
  ];
}

/** A path as one POSIX shell word (single-quoted unless it needs no quoting). */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * `restore --to-time --to dir://`: the base's dump directory with `oplog.bson` holding the base's
 * entries and the slices' up to and including the time, for `mongorestore --oplogReplay`.
 */
async function runToTimeDirectory(ctx: CommandContext<RestoreCommandOptions>, dest: Destination, dir: string, time: OplogTime, keys: DecryptionKeys): Promise<void> {
  const { countReplay, describePlan, oplogLimitAfter, planPointInTime, restoreToTimeDirectory } = await import("../../pipeline/pitr.js");
  // Known in the first second, before anything is downloaded.
  await checkDumpTarget(dir, "--to");
  const plan = await planPointInTime(dest, time);
  const replay = `mongorestore --oplogReplay ${shellWord(dir)}`;
  const limit = oplogLimitAfter(plan.target);
  const advice = [
    `then: ${replay}`,
    `  (add --uri=<mongodb://…> for another server, and --drop to replace collections that already exist there; without it documents already there stay)`,
    `  the directory stops at ${formatTime(plan.target)} by itself; a copy holding later entries stops there with --oplogLimit ${limit} (exclusive)`,
  ];
  const mongorestore = { command: replay, oplogLimit: limit, drop: "add --drop to replace collections that already exist on the target" };
  if (ctx.opts.dryRun) {
    const entries = await countReplay(dest, plan, keys, ctx.signal);
    ctx.out.result({ dryRun: true, target: dir, ...describePlan(plan), replayEntries: entries, oplogEntries: plan.baseEntries + entries, mongorestore }, () =>
      [
        `would write ${dir} as a mongodump --oplog directory for ${formatTime(plan.target)} (${isoOf(plan.target)}), writing nothing now:`,
        ...describePlanLines(plan),
        `oplog.bson would hold ${plan.baseEntries + entries} entries: the base's ${plan.baseEntries}, then ${entries} slice entries after the base's end, up to and including ${formatTime(plan.target)}`,
        ...advice,
      ].join("\n"),
    );
    return;
  }
  const progress = ctx.progress("download");
  let seen = 0;
  const onDownload = (bytes: number, total: number): void => {
    progress.update({ bytes: bytes - seen, total });
    seen = bytes;
  };
  const report = await restoreToTimeDirectory(dest, plan, dir, keys, { signal: ctx.signal, onDownload }).finally(() => progress.done());
  const o = report.oplog;
  ctx.out.result(
    { target: dir, ...describePlan(plan), layers: report.layers, namespaces: report.checks, oplog: { ...o, newest: o.newest ? formatTime(o.newest) : null }, replayEntries: o.sliceEntries, mongorestore },
    () =>
      [
        `wrote ${dir} for ${formatTime(plan.target)} (${isoOf(plan.target)}), laid out as mongodump --oplog lays out a dump:`,
        ...describePlanLines(plan),
        table(["NAMESPACE", "EXPECTED", "RESTORED", "OK"], report.checks.map((c) => [c.ns, String(c.expected), String(c.found), c.ok ? "yes" : "NO"])),
        `oplog.bson holds ${o.entries} entries: the base's ${o.baseEntries}, then ${o.sliceEntries} slice entries after the base's end, up to and including ${formatTime(plan.target)} (newest ${o.newest ? formatTime(o.newest) : "none"})`,
        ...advice,
      ].join("\n"),
  );
}
