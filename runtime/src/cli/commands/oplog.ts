import type { Command } from "commander";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, addEncryptionFlags, type DecryptionFlagOptions, type EncryptionFlagOptions } from "../common.js";

/** The options of `cloudsync oplog follow`, declared by its flags below. */
export interface OplogFollowCommandOptions extends EncryptionFlagOptions {
  readonly uri?: string;
  readonly to?: string;
  readonly slice?: string;
  readonly sliceSize?: string;
  readonly state?: string;
  readonly once?: boolean;
  readonly compress?: string;
}

/** The options of `cloudsync oplog verify`. */
export interface OplogVerifyCommandOptions extends DecryptionFlagOptions {
  readonly from?: string;
}

/** `cloudsync oplog follow` and `oplog verify`: capture the oplog into encrypted slices for point-in-time restores. */
export function register(program: Command, app: CliApp): void {
  const oplog = program.command("oplog").description("Capture the oplog for point-in-time restores");
  const follow = oplog
    .command("follow")
    .description("Follow the oplog into encrypted, checksummed slices after the newest base backup (cloudsync backup --oplog), for restore --to-time")
    .option("--uri <mongodb-uri>", "replica set member to read local.oplog.rs from (default MONGODB_URI, else mongodb://127.0.0.1:27017)")
    .option("-t, --to <destination>", "where the base backups are and the slices go (default ./backups or CLOUDSYNC_DESTINATION)")
    .option("--slice <duration>", "cut a slice this long after its first entry (default 5m; see Durations in the README)")
    .option("--slice-size <size>", "…or once its entries reach this size (default 16MiB)")
    .option("--state <file>", "where the position is saved after each stored slice (default <state dir>/oplog-<destination hash>.json)")
    .option("--once", "store what the oplog holds now and exit, instead of following")
    .option("--compress <gzip|zstd|none>", "compression (default gzip)");
  addEncryptionFlags(follow).addHelpText(
    "after",
    `
Capture starts after the newest stored slice that continues the state file's position, else at the
newest base backup's oplog end. Each slice is stored and confirmed before its manifest is written,
and the position is saved after each one: a killed follower resumes with no entry lost or stored
twice. If the oplog rolled past the position while the follower was down, the gap is logged and
recorded in the next slice; restores cannot reach times inside it. A server whose oplog cannot be
tailed (it refuses or closes a tailable cursor) is polled, as the log says.

Examples:
  cloudsync backup --oplog --uri mongodb://db1:27017/?replicaSet=rs0 --to s3://my-bucket/mongo -r age1…
  cloudsync oplog follow --uri mongodb://db1:27017/?replicaSet=rs0 --to s3://my-bucket/mongo -r age1… --slice 5m`,
  );
  follow.action(app.action<OplogFollowCommandOptions>(async () => (await import("./oplog.run.js")).run));
  const verify = oplog
    .command("verify")
    .description("Check the chain of oplog slices: each continues from the one before it, and each stored object matches its manifest's size and SHA-256; with a key, also decrypt each one and check its CRC and entry count")
    .option("-f, --from <destination>", "where the slices are stored (default ./backups or CLOUDSYNC_DESTINATION)");
  addDecryptionFlags(verify).action(app.action<OplogVerifyCommandOptions>(async () => (await import("./oplog.run.js")).runVerify));
}
