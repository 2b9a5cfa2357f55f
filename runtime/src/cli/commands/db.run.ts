// The implementation of `cloudsync db init|schema`, imported by ./db.ts only when the command runs, so that
// its dependencies load only then.
import { ConfigError } from "../../errors.js";
import { productCollections } from "../../schema/collections.js";
import { initDatabase, parseValidationAction, parseValidationLevel, type DbInitAction } from "../../schema/init.js";
import { flagsToConfig } from "../common.js";
import type { Run } from "../app.js";
import type { DbInitCommandOptions, DbSchemaCommandOptions } from "./db.js";

/** Runs `cloudsync db init`. */
export const init: Run<DbInitCommandOptions> = async (ctx) => {
  const o = ctx.opts;
  const validationLevel = parseValidationLevel(o.validationLevel);
  const validationAction = parseValidationAction(o.validationAction);
  const { flags, names } = flagsToConfig(o);
  const config = ctx.config(flags, names);
  const report = await initDatabase({ uri: config.mongodbUri, database: o.database, validationLevel, validationAction, dryRun: Boolean(o.dryRun) });
  const verb = (a: DbInitAction["action"]) => (report.dryRun ? { create: "would create", collMod: "would collMod", unchanged: "unchanged" } : { create: "created", collMod: "collMod", unchanged: "unchanged" })[a];
  ctx.out.result(report, () =>
    [
      `${report.dryRun ? "dry run: " : ""}database ${report.database}, validationLevel ${report.validationLevel}, validationAction ${report.validationAction}`,
      ...report.actions.map((a) => `  ${a.collection.padEnd(12)} ${verb(a.action)}; indexes ${a.indexes.join(", ")}`),
    ].join("\n"),
  );
};

/** Runs `cloudsync db schema`. */
export const schema: Run<DbSchemaCommandOptions> = async (ctx) => {
  const wanted = ctx.opts.collection;
  const defs = productCollections().filter((c) => !wanted || c.name === wanted);
  if (defs.length === 0) throw new ConfigError("--collection", `"${wanted}" is not one of ${productCollections().map((c) => c.name).join(", ")}`);
  const out = Object.fromEntries(defs.map((c) => [c.name, { $jsonSchema: c.jsonSchema }]));
  ctx.out.result(out, () => JSON.stringify(out, null, 2));
};
