import type { Command } from "commander";
import type { CliApp } from "../app.js";

/** The options of `cloudsync demo`, declared by its flags below. */
export interface DemoCommandOptions {
  readonly size?: string;
  readonly dir: string;
  readonly compress: string;
  readonly archiveOnly?: boolean;
  readonly jongodb?: string;
}

/**
 * `cloudsync demo`: the whole job on an embedded data set, no MongoDB and no cloud account needed.
 * Live path (Linux x64 with glibc, where the optional jongodb package installs): start jongodb on a
 * free loopback port, load the generated data through the driver, `backup --uri` it encrypted to
 * ./backups, list, verify, restore into a second database and compare counts and content, then
 * stop the server (also on Ctrl-C or failure). Elsewhere, or with --archive-only: back up a
 * generated mongodump archive instead and restore it to a mongodump directory; the output says why.
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("demo")
    .description("Run the main job on generated data in an embedded MongoDB (jongodb): back up encrypted to ./backups, list, verify, restore into a second database and compare")
    .option("--size <bytes>", "size of the generated data set, e.g. 16MiB or 1GiB (default 4MiB on the embedded server, whose inserts are slow; 32MiB for the archive demo)")
    .option("--dir <path>", "working directory (backups/, restored/ and the demo identity go here)", ".")
    .option("--compress <gzip|zstd|none>", "compression of the demo backup", "gzip")
    .option("--archive-only", "skip the embedded server: back up a generated mongodump archive and restore it to a directory")
    .option("--jongodb <path>", "the jongodb binary to run (default: the one in the optional npm package @jongodb/memory-server-bin-linux-x64-gnu)")
    .action(app.action<DemoCommandOptions>(async () => (await import("./demo.run.js")).run));
}
