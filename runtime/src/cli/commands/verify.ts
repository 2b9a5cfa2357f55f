import type { Command } from "commander";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, type DecryptionFlagOptions } from "../common.js";

/** The options of `cloudsync verify`, declared by its flags below. */
export interface VerifyCommandOptions extends DecryptionFlagOptions {
  readonly from?: string;
  readonly restoreTo?: string;
  /** `--no-record` makes it false. */
  readonly record: boolean;
}

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
  addDecryptionFlags(cmd).action(app.action<VerifyCommandOptions>(async () => (await import("./verify.run.js")).run));
}
