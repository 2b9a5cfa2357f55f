// The implementation of `cloudsync seed export|import|verify|list`, imported by ./seed.ts only when the command runs, so that
// its dependencies load only then.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { UsageError, describeLocalIO } from "../../errors.js";
import { loadDecryptionKeys, planEncryption } from "../../pipeline/encryption.js";
import { exportSeed, type SeedExportReport } from "../../seed/export.js";
import { importSeed } from "../../seed/import.js";
import { listSeedSets, pullSeedSet, pushSeedSet, type SeedPushResult } from "../../seed/store.js";
import { verifySeedSet } from "../../seed/verify.js";
import { destinationOf } from "../../destinations/from-config.js";
import { flagsToConfig } from "../common.js";
import type { Run } from "../app.js";
import type { SeedExportCommandOptions, SeedImportCommandOptions, SeedListCommandOptions, SeedVerifyCommandOptions } from "./seed.js";

/** A scratch directory for a seed set that only passes through this host; removed afterwards. */
async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(path.join(tmpdir(), "cloudsync-seed-"));
  try {
    return await fn(path.join(root, "set"));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Runs `cloudsync seed export`. */
export const exportSet: Run<SeedExportCommandOptions> = async (ctx) => {
  const o = ctx.opts;
  const { to, toDestination } = o;
  if (!to && !toDestination) throw new UsageError("seed export needs --to <dir>, --to-destination <destination>, or both");
  const { flags, names } = flagsToConfig(o);
  const config = ctx.config(flags, names);
  // Key material first: a bad recipient must fail before the database is read.
  const encryption = toDestination ? await planEncryption(config) : undefined;
  const run = async (dir: string): Promise<{ report: SeedExportReport; pushed?: SeedPushResult }> => {
    const report = await exportSeed({ uri: config.mongodbUri, dir, include: o.include, exclude: o.exclude, signal: ctx.signal }).catch((err: unknown) => {
      throw describeLocalIO(err, `seed export to ${dir}`);
    });
    if (!toDestination || !encryption) return { report };
    const destination = destinationOf(config, toDestination, ctx.destinationWrappers);
    const pushed = await pushSeedSet({ dir: report.dir, destination, encryption, id: o.id, signal: ctx.signal });
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
};

/** Runs `cloudsync seed import`. */
export const importSet: Run<SeedImportCommandOptions> = async (ctx) => {
  const o = ctx.opts;
  const { from, fromDestination } = o;
  if (Boolean(from) === Boolean(fromDestination)) throw new UsageError("seed import needs exactly one of --from <dir> or --from-destination <destination> --id <id>");
  if (fromDestination && !o.id) throw new UsageError("--from-destination needs --id <id> (list them with `cloudsync seed list --from-destination …`)");
  const { flags, names } = flagsToConfig(o);
  const config = ctx.config(flags, names);
  const load = (dir: string) => importSeed({ uri: config.mongodbUri, dir, dryRun: Boolean(o.dryRun), signal: ctx.signal });
  const report = from
    ? await load(from)
    : await withScratch(async (dir) => {
        const keys = await loadDecryptionKeys(config);
        await pullSeedSet({ destination: destinationOf(config, fromDestination, ctx.destinationWrappers), id: String(o.id), dir, keys, signal: ctx.signal });
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
};

/** Runs `cloudsync seed verify`. */
export const verifySet: Run<SeedVerifyCommandOptions> = async (ctx) => {
  const dir = path.resolve(ctx.opts.from);
  const index = await verifySeedSet(dir);
  ctx.out.result({ dir, ok: true, collections: index.collections }, () => `seed set ${dir} verified: ${index.collections.length} ${index.collections.length === 1 ? "collection" : "collections"}, every file matches SHA256SUMS`);
};

/** Runs `cloudsync seed list`. */
export const listSets: Run<SeedListCommandOptions> = async (ctx) => {
  const config = ctx.config();
  const destination = destinationOf(config, ctx.opts.fromDestination, ctx.destinationWrappers);
  const ids = await listSeedSets(destination);
  ctx.out.result({ destination: destination.url, ids }, () => (ids.length ? ids.join("\n") : `no seed sets in ${destination.url}`));
};
