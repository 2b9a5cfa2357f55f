import type { Command } from "commander";
import { EXIT } from "../../errors.js";
import { loadDecryptionKeys } from "../../pipeline/encryption.js";
import { verifyBackup } from "../../pipeline/verify.js";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, destinationOf, flagsToConfig } from "../common.js";
import { table } from "./list.js";

/** `cloudsync verify <id|latest>`: read a backup back and check everything against its manifest. */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("verify")
    .argument("<id|latest>", "backup id (or a unique prefix), or latest")
    .description("Read a backup back: size and SHA-256, decryption, every document parsed, every CRC and count against the manifest; stores a verification record")
    .option("-f, --from <destination>", "where backups are stored (default ./backups or CLOUDSYNC_DESTINATION)")
    .option("--no-record", "do not store a verification record");
  addDecryptionFlags(cmd).action(
    app.action(async (ctx, ref) => {
      const { flags, names } = flagsToConfig(ctx.opts, "from");
      const config = ctx.config(flags, names);
      const dest = destinationOf(config);
      const keys = await loadDecryptionKeys(config);
      const progress = ctx.progress("verify");
      let seen = 0;
      const result = await verifyBackup(dest, ref!, keys, {
        record: ctx.opts.record !== false,
        signal: ctx.signal,
        onDownload: (bytes, total) => {
          progress.update({ bytes: bytes - seen, total });
          seen = bytes;
        },
      }).finally(() => progress.done());
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
