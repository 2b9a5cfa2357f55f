import type { Command } from "commander";
import { DEFAULT_DATABASE } from "../../schema/collections.js";
import type { CliApp } from "../app.js";

/** The options of `cloudsync db init`, declared by its flags below. */
export interface DbInitCommandOptions {
  readonly uri?: string;
  readonly database: string;
  readonly validationLevel: string;
  readonly validationAction: string;
  readonly dryRun?: boolean;
}

/** The options of `cloudsync db schema`. */
export interface DbSchemaCommandOptions {
  readonly collection?: string;
}

/** `cloudsync db init|schema`: the product collections and their validators. */
export function register(program: Command, app: CliApp): void {
  const db = program.command("db").description("The product's collections (models, inventories, licenses, events) and their validators");

  db.command("init")
    .description("Create missing collections with their JSON Schema validators, collMod existing ones, create indexes (idempotent)")
    .option("--uri <mongodb-uri>", "server (default MONGODB_URI)")
    .option("--database <name>", "database of the collections", DEFAULT_DATABASE)
    .option("--validation-level <strict|moderate>", "strict checks every write; moderate skips updates to documents that were already invalid", "strict")
    .option("--validation-action <error|warn>", "error refuses invalid writes; warn logs them on the server and accepts them", "error")
    .option("--dry-run", "read the current state and print what would change, change nothing")
    .addHelpText(
      "after",
      `
Examples:
  cloudsync db init --uri mongodb://localhost --dry-run
  cloudsync db init --validation-level moderate --validation-action warn   # while cleaning up old data`,
    )
    .action(app.action<DbInitCommandOptions>(async () => (await import("./db.run.js")).init));

  db.command("schema")
    .description("Print the $jsonSchema validator of each product collection (or one, with --collection)")
    .option("--collection <name>", "only this collection")
    .action(app.action<DbSchemaCommandOptions>(async () => (await import("./db.run.js")).schema));
}
