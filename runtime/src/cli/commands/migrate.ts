import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { Secret } from "../../secret.js";
import type { CliApp } from "../app.js";
import { collect } from "../common.js";

/** The options of `cloudsync migrate`, declared by its flags below. */
export interface MigrateCommandOptions {
  readonly from: string;
  readonly to: string;
  readonly include: string[];
  readonly exclude: string[];
  readonly drop?: boolean;
  readonly verify?: boolean;
  readonly verifyOnly?: boolean;
  readonly dryRun?: boolean;
}

/** Checks that a `--from`/`--to` value is a MongoDB connection string and wraps it as a Secret. */
export function mongoUriFlag(value: unknown, flag: string): Secret {
  if (typeof value !== "string" || !/^mongodb(\+srv)?:\/\/./.test(value)) {
    throw new ConfigError(flag, "must be a mongodb:// or mongodb+srv:// connection string");
  }
  return new Secret(value);
}

/**
 * `cloudsync migrate --from <uri> --to <uri>`: copy collections through the archive pipeline
 * (no temporary file), optionally prove the copy; exit 4 when the proof finds a difference.
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("migrate")
    .description("Copy collections from one MongoDB to another (e.g. to Atlas) through the archive pipeline; --verify compares counts, index specs and content hashes")
    .requiredOption("--from <uri>", "source MongoDB connection string")
    .requiredOption("--to <uri>", "target MongoDB connection string (e.g. mongodb+srv://…atlas…)")
    .option("--include <ns>", "namespace pattern to copy, db.coll or db.* (repeatable; default every database but local and config)", collect, [])
    .option("--exclude <ns>", "namespace pattern to leave out (repeatable)", collect, [])
    .option("--drop", "drop each target collection before copying into it")
    .option("--verify", "after copying, compare every copied collection on both sides (exit 4 on any difference)")
    .option("--verify-only", "copy nothing: compare the included collections on both sides (after a standby caught up, before a roll-back)")
    .option("--dry-run", "list what would be copied, reading no documents and writing nothing")
    .action(app.action<MigrateCommandOptions>(async () => (await import("./migrate.run.js")).run));
}
