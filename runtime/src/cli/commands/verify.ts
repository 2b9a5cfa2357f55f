import type { Command } from "commander";
import { ConfigError, EXIT } from "../../errors.js";
import { findBackup, writeVerification, type VerificationRecord } from "../../manifest/store.js";
import { runRestoreDrill } from "../../mongo/drill.js";
import { openBackup } from "../../pipeline/restore.js";
import { Secret, redactUri } from "../../secret.js";
import { loadDecryptionKeys } from "../../pipeline/encryption.js";
import { verifyBackup, verifyChecksum } from "../../pipeline/verify.js";
import type { CliApp } from "../app.js";
import { destinationOf } from "../../destinations/from-config.js";
import { addDecryptionFlags, flagsToConfig } from "../common.js";
import { table } from "./list.js";

/** `cloudsync verify <id|latest>`: read a backup back and check everything against its manifest. */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("verify")
    .argument("<id|latest>", "backup id (or a unique prefix), or latest: the newest backup (exit 4 if it cannot be read; never an older one)")
    .description("Read a backup back: size and SHA-256, decryption, every document parsed, every CRC and count against the manifest (without an identity: size and SHA-256 only); stores a verification record")
    .option("-f, --from <destination>", "where backups are stored (default ./backups or CLOUDSYNC_DESTINATION)")
    .option("--restore-to <scratch-uri>", "also restore into scratch databases on this MongoDB and compare counts, index specs and a content hash (a restore drill); the scratch databases are dropped afterwards")
    .option("--no-record", "do not store a verification record")
    .addHelpText(
      "after",
      `
Without --identity (or --passphrase-file), an age-encrypted backup is verified by checksum only: the
stored object's size and SHA-256 against its manifest, nothing decrypted. That is what a backup host
holding only the recipient can check; it is recorded with level "checksum", shown by \`list\`, and
counts for prune's "newest verified" rule. A full check ("read") needs the identity.

Ctrl-C or SIGTERM stops verify with exit 130 and stores no record; a restore drill stops before its
next batch, drops its scratch databases and says what it had restored.

Examples:
  cloudsync verify latest --from ./backups -i ~/.config/cloudsync/identity.txt
  cloudsync verify latest --from ./backups            # checksum only, on a host without the identity`,
    );
  addDecryptionFlags(cmd).action(
    app.action(async (ctx, ref) => {
      const { flags, names } = flagsToConfig(ctx.opts, "from");
      const config = ctx.config(flags, names);
      const dest = destinationOf(config);
      const keys = await loadDecryptionKeys(config);
      const progress = ctx.progress("verify");
      let seen = 0;
      const onDownload = (bytes: number, total: number): void => {
        progress.update({ bytes: bytes - seen, total });
        seen = bytes;
      };
      const scratch = ctx.opts.restoreTo as string | undefined;
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
        if (!drill.ok) app.setExitCode(EXIT.integrity);
        return;
      }
      ctx.out.result({ ...result.record, recordKey: result.recordKey ?? null }, () =>
        [
          `${result.record.ok ? "verified" : "FAILED"} ${result.record.id}${result.recordKey ? ` (record ${result.recordKey})` : ""}`,
          table(["NAMESPACE", "EXPECTED", "FOUND", "CRC", "OK"], result.checks.map((c) => [c.ns, String(c.expected), String(c.found), c.crcOk ? "ok" : "MISMATCH", c.ok ? "yes" : "NO"])),
        ].join("\n"),
      );
      if (!result.record.ok) app.setExitCode(EXIT.integrity);
    }),
  );
}
