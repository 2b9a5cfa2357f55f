import type { Command } from "commander";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, type DecryptionFlagOptions } from "../common.js";

/** The options of `cloudsync inspect`: the decryption flags. */
export type InspectCommandOptions = DecryptionFlagOptions;

/** `cloudsync inspect <file>`: header and per-namespace counts and CRC status of any archive file. */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("inspect")
    .argument("<file>", "a plain, gzipped, zstd or encrypted (age, OpenPGP) mongodump archive; the layers are detected from the bytes")
    .description("Read an archive file and print its header and, per namespace, document count and CRC status; exits 4 on any integrity problem");
  addDecryptionFlags(cmd).action(app.action<InspectCommandOptions>(async () => (await import("./inspect.run.js")).run));
}
