// The implementation of `cloudsync verify`, imported by ./verify.ts only when the command runs, so that
// its dependencies load only then.
import { ConfigError, EXIT } from "../../errors.js";
import { findBackup, writeVerification, type VerificationRecord } from "../../manifest/store.js";
import { runRestoreDrill } from "../../mongo/drill.js";
import { openBackup } from "../../pipeline/restore.js";
import { Secret, redactUri } from "../../secret.js";
import { loadDecryptionKeys } from "../../pipeline/encryption.js";
import { verifyBackup, verifyChecksum } from "../../pipeline/verify.js";
import { destinationOf } from "../../destinations/from-config.js";
import { flagsToConfig } from "../common.js";
import { table } from "./list.js";
import type { Run } from "../app.js";
import type { VerifyCommandOptions } from "./verify.js";

/** Runs `cloudsync verify`. */
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
      drill = await runRestoreDrill(opened.events, { scratchUri: uri, expected: new Map(opened.manifest.namespaces.map((n) => [n.ns, n.documents])), signal: ctx.signal });
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
