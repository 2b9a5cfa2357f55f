import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { DEFAULT_DATABASE, productCollections } from "../../schema/collections.js";
import { initDatabase, parseValidationAction, parseValidationLevel } from "../../schema/init.js";
import type { CliApp } from "../app.js";
import { flagsToConfig } from "../common.js";

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
    .action(
      app.action(async (ctx) => {
        const o = ctx.opts;
        const validationLevel = parseValidationLevel(o.validationLevel as string | undefined);
        const validationAction = parseValidationAction(o.validationAction as string | undefined);
        const { flags, names } = flagsToConfig(o);
        const config = ctx.config(flags, names);
        const report = await initDatabase({ uri: config.mongodbUri, database: String(o.database), validationLevel, validationAction, dryRun: Boolean(o.dryRun) });
        const verb = (a: string) => (report.dryRun ? { create: "would create", collMod: "would collMod", unchanged: "unchanged" } : { create: "created", collMod: "collMod", unchanged: "unchanged" })[a as "create"];
        ctx.out.result(report, () =>
          [
            `${report.dryRun ? "dry run: " : ""}database ${report.database}, validationLevel ${report.validationLevel}, validationAction ${report.validationAction}`,
            ...report.actions.map((a) => `  ${a.collection.padEnd(12)} ${verb(a.action)}; indexes ${a.indexes.join(", ")}`),
          ].join("\n"),
        );
      }),
    );

  db.command("schema")
    .description("Print the $jsonSchema validator of each product collection (or one, with --collection)")
    .option("--collection <name>", "only this collection")
    .action(
      app.action(async (ctx) => {
        const wanted = ctx.opts.collection as string | undefined;
        const defs = productCollections().filter((c) => !wanted || c.name === wanted);
        if (defs.length === 0) throw new ConfigError("--collection", `"${wanted}" is not one of ${productCollections().map((c) => c.name).join(", ")}`);
        const out = Object.fromEntries(defs.map((c) => [c.name, { $jsonSchema: c.jsonSchema }]));
        ctx.out.result(out, () => JSON.stringify(out, null, 2));
      }),
    );
}
