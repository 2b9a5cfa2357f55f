import type { Command } from "commander";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, addEncryptionFlags, collect, type DecryptionFlagOptions, type EncryptionFlagOptions } from "../common.js";

/** The options of `cloudsync seed export`, declared by its flags below. */
export interface SeedExportCommandOptions extends EncryptionFlagOptions {
  readonly uri?: string;
  readonly to?: string;
  readonly toDestination?: string;
  readonly id?: string;
  readonly include: string[];
  readonly exclude: string[];
}

/** The options of `cloudsync seed import`. */
export interface SeedImportCommandOptions extends DecryptionFlagOptions {
  readonly from?: string;
  readonly fromDestination?: string;
  readonly id?: string;
  readonly uri?: string;
  readonly dryRun?: boolean;
}

/** The options of `cloudsync seed verify`. */
export interface SeedVerifyCommandOptions {
  readonly from: string;
}

/** The options of `cloudsync seed list`. */
export interface SeedListCommandOptions {
  readonly fromDestination: string;
}

/**
 * `cloudsync seed export|import|verify|list`: seed sets of canonical Extended JSON with checksums,
 * in a directory or (encrypted like backups) in a destination.
 */
export function register(program: Command, app: CliApp): void {
  const seed = program.command("seed").description("Seed sets: collections as canonical Extended JSON with checksums, for fixtures and disaster recovery");

  const exp = seed
    .command("export")
    .description("Write collections as a seed set (one canonical Extended JSON document per line, ordered by _id, plus indexes, options and SHA256SUMS)")
    .option("--uri <mongodb-uri>", "server to read (default MONGODB_URI)")
    .option("--to <dir>", "directory to create (must not exist or be empty)")
    .option("--to-destination <destination>", "also store the set encrypted in a destination (path, file://, s3://, azblob:// or gs://) under seeds/<id>/")
    .option("--id <id>", "seed set id in the destination (default: UTC time and a digest prefix)")
    .option("--include <pattern>", "only namespaces matching db.coll (* wildcards); a list of exact db.coll also works on servers without listCollections (repeatable)", collect, [])
    .option("--exclude <pattern>", "skip namespaces matching db.coll (* wildcards) (repeatable)", collect, []);
  addEncryptionFlags(exp).addHelpText(
    "after",
    `
Examples:
  cloudsync seed export --uri mongodb://localhost --include 'models.*' --to ./seed
  cloudsync seed export --include models.licenses --to-destination s3://my-bucket/mongo -r age1…`,
  );
  exp.action(app.action<SeedExportCommandOptions>(async () => (await import("./seed.run.js")).exportSet));

  const imp = seed
    .command("import")
    .description("Load a seed set: checksums verified first, then documents upserted by _id (idempotent) and indexes created")
    .option("--from <dir>", "seed set directory")
    .option("--from-destination <destination>", "read seed set --id from a destination (decrypted with --identity or --passphrase-file)")
    .option("--id <id>", "seed set id in --from-destination")
    .option("--uri <mongodb-uri>", "server to write (default MONGODB_URI)")
    .option("--dry-run", "verify and count, write nothing (does not connect)");
  addDecryptionFlags(imp).addHelpText(
    "after",
    `
Examples:
  cloudsync seed import --from ./seed --uri mongodb://localhost --dry-run
  cloudsync seed import --from-destination s3://my-bucket/mongo --id 20260102T030405Z-1a2b3c4d -i identity.txt`,
  );
  imp.action(app.action<SeedImportCommandOptions>(async () => (await import("./seed.run.js")).importSet));

  seed
    .command("verify")
    .description("Check a seed set directory against its SHA256SUMS (what import does first)")
    .requiredOption("--from <dir>", "seed set directory")
    .action(app.action<SeedVerifyCommandOptions>(async () => (await import("./seed.run.js")).verifySet));

  seed
    .command("list")
    .description("List the complete seed sets stored in a destination")
    .requiredOption("--from-destination <destination>", "destination (path, file://, s3://, azblob:// or gs://)")
    .action(app.action<SeedListCommandOptions>(async () => (await import("./seed.run.js")).listSets));
}
