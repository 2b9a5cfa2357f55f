import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { UsageError, describeLocalIO } from "../../errors.js";
import { loadDecryptionKeys, planEncryption } from "../../pipeline/encryption.js";
import { exportSeed, type SeedExportReport } from "../../seed/export.js";
import { importSeed } from "../../seed/import.js";
import { listSeedSets, pullSeedSet, pushSeedSet, type SeedPushResult } from "../../seed/store.js";
import { verifySeedSet } from "../../seed/verify.js";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, addEncryptionFlags, collect, destinationOf, flagsToConfig } from "../common.js";

/** A scratch directory for a seed set that only passes through this host; removed afterwards. */
async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(path.join(tmpdir(), "cloudsync-seed-"));
  try {
    return await fn(path.join(root, "set"));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
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
  exp.action(
    app.action(async (ctx) => {
      const o = ctx.opts;
      const to = o.to as string | undefined;
      const toDestination = o.toDestination as string | undefined;
      if (!to && !toDestination) throw new UsageError("seed export needs --to <dir>, --to-destination <destination>, or both");
      const { flags, names } = flagsToConfig(o);
      const config = ctx.config(flags, names);
      // Key material first: a bad recipient must fail before the database is read.
      const encryption = toDestination ? await planEncryption(config) : undefined;
      const run = async (dir: string): Promise<{ report: SeedExportReport; pushed?: SeedPushResult }> => {
        const report = await exportSeed({ uri: config.mongodbUri, dir, include: o.include as string[], exclude: o.exclude as string[], signal: ctx.signal }).catch((err: unknown) => {
          throw describeLocalIO(err, `seed export to ${dir}`);
        });
        if (!toDestination || !encryption) return { report };
        const destination = destinationOf(config, toDestination);
        const pushed = await pushSeedSet({ dir: report.dir, destination, encryption, id: o.id as string | undefined, signal: ctx.signal });
        return { report, pushed };
      };
      const { report, pushed } = to ? await run(to) : await withScratch(run);
      for (const w of report.warnings) ctx.out.warn(`seed export: ${w}`);
      ctx.out.result(
        {
          dir: to ? report.dir : null,
          collections: report.collections,
          warnings: report.warnings,
          ...(pushed ? { destination: pushed.destination, id: pushed.id, objects: pushed.objects, encryption: pushed.encryption } : {}),
        },
        () =>
          [
            ...(to ? [`seed set written to ${report.dir}`] : []),
            ...report.collections.map((c) => `  ${c.ns}  ${c.documents.toLocaleString("en-US")} documents, ${c.indexes} ${c.indexes === 1 ? "index" : "indexes"}`),
            ...(pushed ? [`stored as seed set ${pushed.id} in ${pushed.destination} (${pushed.objects.length} objects, ${pushed.encryption.scheme})`] : []),
          ].join("\n"),
      );
    }),
  );

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
  imp.action(
    app.action(async (ctx) => {
      const o = ctx.opts;
      const from = o.from as string | undefined;
      const fromDestination = o.fromDestination as string | undefined;
      if (Boolean(from) === Boolean(fromDestination)) throw new UsageError("seed import needs exactly one of --from <dir> or --from-destination <destination> --id <id>");
      if (fromDestination && !o.id) throw new UsageError("--from-destination needs --id <id> (list them with `cloudsync seed list --from-destination …`)");
      const { flags, names } = flagsToConfig(o);
      const config = ctx.config(flags, names);
      const load = (dir: string) => importSeed({ uri: config.mongodbUri, dir, dryRun: Boolean(o.dryRun), signal: ctx.signal });
      const report = from
        ? await load(from)
        : await withScratch(async (dir) => {
            const keys = await loadDecryptionKeys(config);
            await pullSeedSet({ destination: destinationOf(config, fromDestination), id: String(o.id), dir, keys, signal: ctx.signal });
            return load(dir);
          });
      for (const w of report.warnings) ctx.out.warn(`seed import: ${w}`);
      ctx.out.result({ source: from ? report.dir : `${fromDestination} ${String(o.id)}`, dryRun: report.dryRun, collections: report.collections, warnings: report.warnings }, () =>
        [
          report.dryRun ? "dry run: checksums verified, nothing written" : "seed set imported",
          ...report.collections.map((c) =>
            report.dryRun
              ? `  ${c.ns}  ${c.documents} documents, indexes: ${c.indexes.join(", ") || "none"}`
              : `  ${c.ns}  ${c.inserted} inserted, ${c.updated} updated, ${c.unchanged} unchanged; indexes: ${c.indexes.join(", ") || "none"}`,
          ),
        ].join("\n"),
      );
    }),
  );

  seed
    .command("verify")
    .description("Check a seed set directory against its SHA256SUMS (what import does first)")
    .requiredOption("--from <dir>", "seed set directory")
    .action(
      app.action(async (ctx) => {
        const dir = path.resolve(String(ctx.opts.from));
        const index = await verifySeedSet(dir);
        ctx.out.result({ dir, ok: true, collections: index.collections }, () => `seed set ${dir} verified: ${index.collections.length} ${index.collections.length === 1 ? "collection" : "collections"}, every file matches SHA256SUMS`);
      }),
    );

  seed
    .command("list")
    .description("List the complete seed sets stored in a destination")
    .requiredOption("--from-destination <destination>", "destination (path, file://, s3://, azblob:// or gs://)")
    .action(
      app.action(async (ctx) => {
        const config = ctx.config();
        const destination = destinationOf(config, String(ctx.opts.fromDestination));
        const ids = await listSeedSets(destination);
        ctx.out.result({ destination: destination.url, ids }, () => (ids.length ? ids.join("\n") : `no seed sets in ${destination.url}`));
      }),
    );
}
