// The implementation of `cloudsync verify`, imported by ./verify.ts only when the command runs, so that
// its dependencies load only then.
import { ConfigError, EXIT } from "../../errors.js";
import { findBackup, writeVerification, type VerificationRecord } from "../../manifest/store.js";
import { formatTime, type OplogTime } from "../../manifest/manifest.js";
import { isoOf } from "../../manifest/slices.js";
import type { Destination } from "../../destinations/destination.js";
import type { DecryptionKeys } from "../../pipeline/encryption.js";
import { openBackup } from "../../pipeline/restore.js";
import { Secret, redactUri } from "../../secret.js";
import { loadDecryptionKeys } from "../../pipeline/encryption.js";
import { verifyBackup, verifyChecksum } from "../../pipeline/verify.js";
import { destinationOf } from "../../destinations/from-config.js";
import { flagsToConfig } from "../common.js";
import { table } from "./list.js";
import type { CommandContext, Run } from "../app.js";
import type { VerifyCommandOptions } from "./verify.js";

/** Runs `cloudsync verify`. */
// The MongoDB driver (a drill, --to-time) is imported only where it is used: loading it costs a
// plain read-back ≈ 30 MiB of peak RSS and a tenth of a second.
export const run: Run<VerifyCommandOptions> = async (ctx, ref) => {
  const { flags, names } = flagsToConfig(ctx.opts, "from");
  const config = ctx.config(flags, names);
  const dest = destinationOf(config, config.destination, ctx.destinationWrappers);
  const keys = await loadDecryptionKeys(config);
  const progress = ctx.progress("verify");
  let seen = 0;
  const onDownload = (bytes: number, total: number): void => {
    progress.update({ bytes: bytes - seen, total });
    seen = bytes;
  };
  const scratch = ctx.opts.restoreTo;
  if (scratch !== undefined && !/^mongodb(\+srv)?:\/\//.test(scratch)) throw new ConfigError("--restore-to", "must be a mongodb:// URI of a scratch server");
  const record = ctx.opts.record !== false;
  if (ctx.opts.keep && scratch === undefined) throw new ConfigError("--keep", "keeps a restore drill's scratch databases: give --restore-to <scratch mongodb:// URI> too");
  if (ctx.opts.toTime !== undefined) {
    if (scratch === undefined) throw new ConfigError("--to-time", "a point-in-time drill restores into a scratch server: give --restore-to <scratch mongodb:// URI> too");
    progress.done();
    const { parseOplogTime } = await import("../../mongo/oplog-apply.js");
    await runPitrVerify(ctx, dest, scratch, parseOplogTime(ctx.opts.toTime, "--to-time"), ref!, keys);
    return;
  }
  const { manifest } = await findBackup(dest, ref!);
  if (scratch === undefined && keys.ageIdentities.length === 0 && !keys.passphrase && manifest.encryption.scheme.startsWith("age")) {
    const checked = await verifyChecksum(dest, manifest.id, { record, signal: ctx.signal, onDownload }).finally(() => progress.done());
    ctx.out.result(
      { ...checked.record, recordKey: checked.recordKey ?? null },
      () =>
        `verified (checksum only) ${manifest.id}${checked.recordKey ? ` (record ${checked.recordKey})` : ""}: the stored object's size and SHA-256 match the manifest; ` +
        "it was not decrypted (no identity given: pass --identity FILE for a full read-back)",
    );
    return;
  }
  const result = await verifyBackup(dest, manifest.id, keys, {
    record: record && scratch === undefined,
    signal: ctx.signal,
    onDownload,
  }).finally(() => progress.done());
  if (scratch !== undefined && result.record.ok) {
    const uri = new Secret(scratch);
    ctx.out.addSecrets(uri);
    const opened = await openBackup(dest, result.record.id, keys, { signal: ctx.signal });
    let drill;
    try {
      const { runRestoreDrill } = await import("../../mongo/drill.js");
      drill = await runRestoreDrill(opened.events, { scratchUri: uri, expected: new Map(opened.manifest.namespaces.map((n) => [n.ns, n.documents])), cleanup: !ctx.opts.keep, signal: ctx.signal });
    } finally {
      await opened.cleanup();
    }
    for (const w of drill.warnings) ctx.out.warn(`warning: ${w}`);
    const drillRecord: VerificationRecord = {
      id: result.record.id,
      verifiedAt: new Date().toISOString(),
      ok: drill.ok,
      level: "restore-drill",
      detail: { ...result.record.detail, scratch: redactUri(scratch), drill: drill.namespaces, scratchDatabases: drill.scratchDatabases, cleanedUp: drill.cleanedUp },
    };
    const recordKey = record ? await writeVerification(dest, drillRecord) : undefined;
    ctx.out.result({ ...drillRecord, recordKey: recordKey ?? null }, () =>
      [
        `${drill.ok ? "verified by restore drill" : "RESTORE DRILL FAILED"} ${drillRecord.id}${recordKey ? ` (record ${recordKey})` : ""}`,
        table(
          ["NAMESPACE", "EXPECTED", "RESTORED", "INDEXES", "CONTENT", "OK"],
          drill.namespaces.map((n) => [n.ns, String(n.expected), String(n.restored), n.indexesOk ? "same" : "DIFFER", n.contentOk ? "same" : "DIFFER", n.ok ? "yes" : "NO"]),
        ),
        ...drill.namespaces.flatMap((n) => n.problems.map((p) => `  ${n.ns}: ${p}`)),
      ].join("\n"),
    );
    if (!drill.ok) ctx.setExitCode(EXIT.integrity);
    return;
  }
  ctx.out.result({ ...result.record, recordKey: result.recordKey ?? null }, () =>
    [
      `${result.record.ok ? "verified" : "FAILED"} ${result.record.id}${result.recordKey ? ` (record ${result.recordKey})` : ""}`,
      table(["NAMESPACE", "EXPECTED", "FOUND", "CRC", "OK"], result.checks.map((c) => [c.ns, String(c.expected), String(c.found), c.crcOk ? "ok" : "MISMATCH", c.ok ? "yes" : "NO"])),
    ].join("\n"),
  );
  if (!result.record.ok) ctx.setExitCode(EXIT.integrity);
};

/**
 * `verify --restore-to --to-time`: the point-in-time drill. No verification record is stored: the
 * manifest store's levels (checksum, read, restore-drill) have none for a drill of a base plus
 * replay, and prune's "newest verified" rule must not count one as a full restore drill.
 */
async function runPitrVerify(ctx: CommandContext<VerifyCommandOptions>, dest: Destination, scratch: string, time: OplogTime, ref: string, keys: DecryptionKeys): Promise<void> {
  const [{ describePlan, planPointInTime }, { runPitrDrill }] = await Promise.all([import("../../pipeline/pitr.js"), import("../../pipeline/pitr-drill.js")]);
  const uri = new Secret(scratch);
  ctx.out.addSecrets(uri);
  const plan = await planPointInTime(dest, time);
  // The time picks the base; an id names the base the user expects, and must be that one.
  if (ref !== "latest" && (await findBackup(dest, ref)).manifest.id !== plan.base.id) {
    throw new ConfigError("--to-time", `${formatTime(plan.target)} (${isoOf(plan.target)}) restores from base ${plan.base.id}, not ${ref}; give latest (the base the time picks) or that id`);
  }
  const progress = ctx.progress("drill");
  const drill = await runPitrDrill(dest, plan, keys, { scratchUri: uri, cleanup: !ctx.opts.keep, signal: ctx.signal }).finally(() => progress.done());
  for (const w of drill.warnings) ctx.out.warn(`warning: ${w}`);
  const where = redactUri(scratch);
  const kept = ctx.opts.keep ? `kept (--keep): ${drill.scratchDatabases.join(", ")}` : drill.cleanedUp ? "dropped" : "NOT all dropped (see the warnings)";
  ctx.out.result(
    { ok: drill.ok, level: "pitr-drill", recorded: false, scratch: where, ...describePlan(plan), planned: drill.planned, replayed: drill.handed, checks: drill.checks, replay: drill.replay ?? null, restore: drill.restore ?? null, scratchDatabases: drill.scratchDatabases, cleanedUp: drill.cleanedUp },
    () =>
      [
        `${drill.ok ? "verified by point-in-time restore drill" : "POINT-IN-TIME RESTORE DRILL FAILED"} to ${formatTime(plan.target)} (${isoOf(plan.target)}) into ${where}: base ${plan.base.id}, ${plan.slices.length} slice(s)`,
        table(["CHECK", "OK", "WHAT"], drill.checks.map((c) => [c.check, c.ok ? "yes" : "NO", c.detail])),
        ...drill.checks.filter((c) => c.problem).map((c) => `  ${c.check}: ${c.problem}`),
        `scratch databases ${kept}; no verification record stored (the store has no level for a point-in-time drill)`,
      ].join("\n"),
  );
  if (!drill.ok) ctx.setExitCode(EXIT.integrity);
}
