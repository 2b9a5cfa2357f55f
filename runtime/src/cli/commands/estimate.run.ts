// The implementation of `cloudsync estimate`, imported by ./estimate.ts only when the command runs, so that
// its dependencies load only then.
import { settingOrigin } from "../../config/config.js";
import { DAY, parseDuration, RETENTION } from "../../config/duration.js";
import { ConfigError } from "../../errors.js";
import { calculateEstimate, type DatabaseMeasurement } from "../../estimate/calculate.js";
import { measureDatabase, recentBackups } from "../../estimate/measure.js";
import { DEFAULT_PRICES, loadPriceTable } from "../../estimate/prices.js";
import { redactUri } from "../../secret.js";
import { destinationOf } from "../../destinations/from-config.js";
import { flagsToConfig } from "../common.js";
import { formatBytes } from "../progress.js";
import { table } from "./list.js";
import type { Run } from "../app.js";
import type { EstimateCommandOptions } from "./estimate.js";

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(flag, `must be a number above 0, got "${value}"`);
  return n;
}

const dollars = (n: number): string => `$${n < 1 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;

/** Runs `cloudsync estimate`. */
export const run: Run<EstimateCommandOptions> = async (ctx) => {
  const { flags, names } = flagsToConfig(ctx.opts, "from");
  const config = ctx.config(flags, names);
  const prices = ctx.opts.prices === undefined ? DEFAULT_PRICES : loadPriceTable(ctx.opts.prices);
  const cloudDays = positive("--cloud-days", ctx.opts.cloudDays, 30);
  const backupsPerDay = positive("--per-day", ctx.opts.perDay, 1);
  const localDays = parseDuration(config.retention.keepWithin, { name: "keepWithin", ...RETENTION }) / DAY;
  const dest = destinationOf(config, config.destination, ctx.destinationWrappers);

  const measure = settingOrigin(config, "mongodbUri") !== "default";
  const database: DatabaseMeasurement = measure ? await measureDatabase(config.mongodbUri) : { known: false, reason: "not measured: pass --uri or set MONGODB_URI" };
  // The human output carries this line itself; with --json it goes to stderr as well.
  if (!database.known && ctx.out.json) ctx.out.warn(`database size unknown: ${database.reason}`);
  const backups = await recentBackups(dest, { onProblem: (key, err) => ctx.out.warn(`warning: skipped ${key}: ${err.message}`) });
  const e = calculateEstimate({ database, backups, localDays, cloudDays, backupsPerDay, verifyFromCloud: ctx.opts.verifyFromCloud !== false, prices });

  ctx.out.result(
    {
      database: database.known ? { known: true, uri: redactUri(config.mongodbUri.reveal()), ...database.size } : database,
      backups: { destination: dest.url, count: backups.length, newest: backups[0] ?? null },
      ...e,
      priceNotes: prices.notes,
    },
    () => {
      const growth = e.growthBytesPerMonth === null ? "unknown (needs 2+ backups)" : `${e.growthBytesPerMonth < 0 ? "-" : "+"}${formatBytes(Math.abs(e.growthBytesPerMonth))}/month`;
      return [
        database.known
          ? `database   ${formatBytes(database.size.dataBytes)} of data in ${database.size.collections} collections (${database.size.documents.toLocaleString("en-US")} documents), ${formatBytes(database.size.storageBytes)} on disk, ${formatBytes(database.size.indexBytes)} of indexes`
          : `database   size unknown: ${database.reason}`,
        `backups    ${backups.length} in ${dest.url}; per backup ${formatBytes(e.backupBytes)} (${e.basis === "newest-backup" ? "newest backup" : "database data size: no backups yet, an upper bound"}), growth ${growth}`,
        `storage    local ${e.local.days} d × ${e.backupsPerMonth / 30}/day = ${e.local.backupsKept} backups, ${formatBytes(e.local.bytes)} (in 12 months ${formatBytes(e.local.bytesIn12Months)})`,
        `           cloud ${e.cloud.days} d = ${e.cloud.backupsKept} backups, ${formatBytes(e.cloud.bytes)} (in 12 months ${formatBytes(e.cloud.bytesIn12Months)})`,
        `requests   per month: ${e.requestsPerMonth.writes} writes, ${e.requestsPerMonth.lists} lists, ${e.requestsPerMonth.reads} reads`,
        "",
        table(
          ["PROVIDER", "STORAGE", "REQUESTS", "VERIFY EGRESS", "MONTHLY", "IN 12 MONTHS", "ONE RESTORE"],
          e.providers.map((p) => [p.name, dollars(p.storage), dollars(p.requests), dollars(p.verifyEgress), dollars(p.monthly), dollars(p.monthlyIn12Months), dollars(p.restoreEgress)]),
        ),
        `prices as of ${prices.asOf} (USD; --prices <file> to update)`,
        ...prices.notes.map((n) => `  - ${n}`),
      ].join("\n");
    },
  );
};
