import type { Command } from "commander";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, type DecryptionFlagOptions } from "../common.js";

/** The options of `cloudsync verify`, declared by its flags below. */
export interface VerifyCommandOptions extends DecryptionFlagOptions {
  readonly from?: string;
  readonly restoreTo?: string;
  readonly toTime?: string;
  readonly keep?: boolean;
  /** `--no-record` makes it false. */
  readonly record: boolean;
}

/** `cloudsync verify <id|latest>`: read a backup back and check everything against its manifest. */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("verify")
    .argument("<id|latest>", "backup id (or a unique prefix), or latest: the newest backup (exit 4 if it cannot be read; never an older one); with --to-time, latest is the base that time picks, and an id must be that base")
    .description("Read a backup back: size and SHA-256, decryption, every document parsed, every CRC and count against the manifest (without an identity: size and SHA-256 only); stores a verification record")
    .option("-f, --from <destination>", "where backups are stored (default ./backups or CLOUDSYNC_DESTINATION)")
    .option("--restore-to <scratch-uri>", "also restore into scratch databases on this MongoDB and compare counts, index specs and a content hash (a restore drill); the scratch databases are dropped afterwards unless --keep")
    .option("--to-time <ISO-8601|t,i>", "with --restore-to: a point-in-time restore drill: the base backup and the captured oplog replayed up to and including that time, as restore --to-time picks them, into scratch databases; checks every namespace of the base is there, the replay applied every entry it planned and refused none, and the base's counts against its manifest and verification (stores no record)")
    .option("--keep", "keep the drill's scratch databases (default: dropped afterwards)")
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
  cloudsync verify latest --to-time 2026-12-02T18:30:05Z --restore-to mongodb://127.0.0.1:27018 --from ./backups -i identity.txt
  cloudsync verify latest --from ./backups            # checksum only, on a host without the identity`,
    );
  addDecryptionFlags(cmd).action(app.action<VerifyCommandOptions>(async () => (await import("./verify.run.js")).run));
}
