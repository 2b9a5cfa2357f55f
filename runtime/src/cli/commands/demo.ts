import type { Command } from "commander";
import type { CliApp } from "../app.js";

/**
 * `cloudsync demo`: the whole job on an embedded data set, no MongoDB and no cloud account needed —
 * generate a realistic archive, back it up encrypted to ./backups, list, verify, restore.
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("demo")
    .description("Run the main job on generated data: back up encrypted to ./backups, list, verify, restore to a mongodump directory")
    .option("--size <bytes>", "size of the generated data set (e.g. 32MiB, 1GiB)", "32MiB")
    .option("--dir <path>", "working directory (backups/, restored/ and the demo identity go here)", ".")
    .action(app.action(async () => (await import("./demo.run.js")).run));
}
